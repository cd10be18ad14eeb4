"""Spreadsheets of a community's submissions, tasks, points ledger and roster (CSV and Excel),
for its admins. Every cell that a spreadsheet would read as a formula (=HYPERLINK(…), +1, @SUM,
-1) is written as text; names and numbers are shown in full — these files are for staff."""

from __future__ import annotations

import csv
import io

from django.utils import timezone

from engine.forms.display import flat_data
from engine.forms.registry import form_spec
from engine.forms.spec import text
from engine.models import FlowInstance, LedgerEntry, Registration, Submission

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
KINDS = ("submissions", "tasks", "ledger", "roster")


def neutralise(value):
    """A cell that starts like a formula is kept as text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _when(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def rows(kind: str, community_ids) -> tuple[list[str], list[list]]:
    if kind == "submissions":
        headers, body = ["编号 reference", "表单 form", "提交时间 submitted", "提交人 submitter"], []
        fields = {}
        for submission in (Submission.objects.filter(community_id__in=community_ids)
                           .select_related("form", "form_version", "submitter").order_by("submit_time", "pk")):
            spec = form_spec(submission.form_version)
            for field in spec.fields:
                fields.setdefault(field.name, text(field.title, "zh-hans"))
            body.append((submission, flat_data(submission)))
        headers += list(fields.values())
        return headers, [[s.reference, s.form.key, _when(s.submit_time), s.submitter.username if s.submitter else ""]
                         + [data.get(name, "") for name in fields] for s, data in body]
    if kind == "tasks":
        return (["编号 reference", "流程 flow", "状态 state", "经办人 assignee", "进入时间 entered", "期限 due", "办结 finished"],
                [[i.submission.reference, i.flow.key, i.state, i.assignee.username if i.assignee else "",
                  _when(i.entered_at), _when(i.due_at), _when(i.finished_at)]
                 for i in FlowInstance.objects.filter(community_id__in=community_ids)
                 .select_related("submission", "flow", "assignee").order_by("entered_at", "pk")])
    if kind == "ledger":
        return (["序号 sequence", "时间 time", "姓名 name", "类别 category", "积分 points", "余额 balance", "规则 rule",
                 "事由 reason", "哈希 hash"],
                [[e.sequence, _when(e.created_at), e.person.name, e.category, e.amount, e.balance_after, e.rule,
                  e.reason, e.hash]
                 for e in LedgerEntry.objects.filter(community_id__in=community_ids).select_related("person")
                 .order_by("community_id", "sequence")])
    if kind == "roster":
        return (["类型 kind", "姓名/单位 name", "报到地 unit", "服务队 teams", "报到时间 registered"],
                [[r.kind, r.person.name if r.person else r.organisation, r.unit.name, "、".join(r.teams or []),
                  _when(r.registered_at)]
                 for r in Registration.objects.filter(community_id__in=community_ids)
                 .select_related("person", "unit").order_by("registered_at", "pk")])
    raise ValueError(f"unknown export {kind!r}; one of {', '.join(KINDS)}")


def as_csv(headers, body) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([[neutralise(v) for v in row] for row in body])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read it as UTF-8


def as_xlsx(headers, body) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(headers)
    for row in body:
        sheet.append([neutralise(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
