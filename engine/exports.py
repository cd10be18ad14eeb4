"""Spreadsheets of a community's submissions, tasks, points ledger and roster (CSV and Excel),
for its admins. Every cell that a spreadsheet would read as a formula (=HYPERLINK(…), +1, @SUM,
-1) is written as text. Names and phone numbers are shown in full — these files are for the
community's admins, who manage these people — but an ID card number (format cn-id-card) keeps
only its last four characters, however deep in a form it sits: no export needs the whole number.

`start`/`end` (dates, inclusive) narrow each sheet to its own moment: a submission's submit time,
a task's submission (as the dashboard counts it), a ledger entry's time, a registration's time."""

from __future__ import annotations

import csv
import io

from django.utils import timezone

from engine.forms.display import display_value
from engine.forms.registry import form_spec
from engine.forms.spec import text
from engine.models import FlowInstance, LedgerEntry, Registration, Submission

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
KINDS = ("submissions", "tasks", "ledger", "roster")
ID_FORMATS = {"cn-id-card", "id-card"}


def neutralise(value):
    """A cell that starts like a formula is kept as text (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _when(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def mask_id_number(value: str) -> str:
    value = str(value or "")
    return "*" * max(len(value) - 4, 0) + value[-4:] if len(value) > 4 else "*" * len(value)


def _masked(field, value):
    """`value` of `field` with every ID number in it masked (objects and repeat groups too)."""
    if value is None:
        return None
    if field.format in ID_FORMATS and isinstance(value, str):
        return mask_id_number(value)
    if field.children and isinstance(value, dict):
        return {**value, **{c.name: _masked(c, value.get(c.name)) for c in field.children if c.name in value}}
    if field.item is not None and isinstance(value, list):
        return [_masked(field.item, v) for v in value]
    return value


def _within(queryset, field, start, end):
    if start is None and end is None:
        return queryset
    from engine.services.dashboard import _bounds  # the dashboard's own day boundaries, in local time

    begin, until = _bounds(start or end, end or start)
    return queryset.filter(**({f"{field}__gte": begin} if start else {}), **({f"{field}__lt": until} if end else {}))


def rows(kind: str, community_ids, start=None, end=None) -> tuple[list[str], list[list]]:
    if kind == "submissions":
        headers, body = ["编号 reference", "表单 form", "提交时间 submitted", "提交人 submitter"], []
        fields = {}
        submissions = _within(Submission.objects.filter(community_id__in=community_ids), "submit_time", start, end)
        for submission in submissions.select_related("form", "form_version", "submitter").order_by("submit_time", "pk"):
            spec = form_spec(submission.form_version)
            for field in spec.fields:
                fields.setdefault(field.name, text(field.title, "zh-hans"))
            body.append((submission, {f.name: display_value(f, _masked(f, submission.data.get(f.name)))
                                      for f in spec.fields}))
        headers += list(fields.values())
        return headers, [[s.reference, s.form.key, _when(s.submit_time), s.submitter.username if s.submitter else ""]
                         + [data.get(name, "") for name in fields] for s, data in body]
    if kind == "tasks":
        return (["编号 reference", "流程 flow", "状态 state", "经办人 assignee", "进入时间 entered", "期限 due", "办结 finished"],
                [[i.submission.reference, i.flow.key, i.state, i.assignee.username if i.assignee else "",
                  _when(i.entered_at), _when(i.due_at), _when(i.finished_at)]
                 for i in _within(FlowInstance.objects.filter(community_id__in=community_ids),
                                  "submission__submit_time", start, end)
                 .select_related("submission", "flow", "assignee").order_by("entered_at", "pk")])
    if kind == "ledger":
        return (["序号 sequence", "时间 time", "姓名 name", "类别 category", "积分 points", "余额 balance", "规则 rule",
                 "事由 reason", "哈希 hash"],
                [[e.sequence, _when(e.created_at), e.person.name, e.category, e.amount, e.balance_after, e.rule,
                  e.reason, e.hash]
                 for e in _within(LedgerEntry.objects.filter(community_id__in=community_ids), "created_at", start, end)
                 .select_related("person")
                 .order_by("community_id", "sequence")])
    if kind == "roster":
        return (["类型 kind", "姓名/单位 name", "报到地 unit", "服务队 teams", "报到时间 registered"],
                [[r.kind, r.person.name if r.person else r.organisation, r.unit.name, "、".join(r.teams or []),
                  _when(r.registered_at)]
                 for r in _within(Registration.objects.filter(community_id__in=community_ids),
                                  "registered_at", start, end)
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
