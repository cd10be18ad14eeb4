"""Importing a roster of people and their roles from CSV or Excel: dry run first, then all or nothing.

Columns (Chinese or English headers): 姓名/name (required), 手机/phone, 单位/unit (a unit id or
its exact name), 角色/role (a role key or title), 组织/organisation, 编号/roster_number, 党员/member
(是/否), 截止/until (the role's end date, YYYY-MM-DD), 邀请/invite (是/否: create or link the
person's account by their number and send them an SMS on how to sign in). A dry run lists every
bad row with its row number, column and reason and writes nothing; an import with any bad row
writes nothing either.

A row names a person by their roster number, else by their mobile number, else by name and unit;
several rows may name one person (one row per role they hold). Importing the same file again
changes nothing: people are updated only where a value differs, roles and accounts that exist are
left as they are, and no audit row is written for a row that changed nothing.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass

from django.db import transaction

from engine import clock
from engine.forms.spec import text
from engine.models import Definition, OrgUnit, PeopleChange, Person, RoleAssignment

HEADERS = {
    "name": ("姓名", "name"), "phone": ("手机", "手机号", "phone"), "unit": ("单位", "所在单位", "unit"),
    "role": ("角色", "role"), "organisation": ("组织", "organisation"), "roster_number": ("编号", "roster_number"),
    "member": ("党员", "member"), "until": ("截止", "截止日期", "until"), "invite": ("邀请", "invite"),
}
YES, NO = ("是", "yes", "1", "y", "true"), ("", "否", "no", "0", "n", "false")
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
MAX_ROWS = 20_000


@dataclass(frozen=True)
class RowProblem:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    message: str

    def __str__(self):
        return f"第{self.row}行 {self.column}: {self.message}"


@dataclass
class RosterRow:
    row: int
    name: str
    phone: str
    unit: OrgUnit | None
    role: str
    organisation: str
    roster_number: str
    member: bool
    until: datetime.date | None = None
    invite: bool = False

    @property
    def identity(self):
        return (("number", self.roster_number) if self.roster_number else ("phone", self.phone) if self.phone
                else ("name", self.name, self.unit.pk if self.unit else None))


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    roles: int = 0
    invited: int = 0

    @property
    def changed(self):
        return bool(self.created or self.updated or self.roles or self.invited)


def read_rows(filename: str, content: bytes) -> list[dict]:
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        rows = [["" if cell is None else str(cell).strip() for cell in row] for row in sheet.iter_rows(values_only=True)]
    else:
        text_content = content.decode("utf-8-sig")
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text_content))]
    if not rows:
        return []
    header = rows[0]
    columns = {}
    for index, title in enumerate(header):
        for key, names in HEADERS.items():
            if title.strip().lower() in names:
                columns[key] = index
    out = []
    for number, row in enumerate(rows[1:MAX_ROWS + 1], start=2):
        if not any(row):
            continue
        out.append({"_row": number, "_columns": columns, **{key: (row[i] if i < len(row) else "")
                                                          for key, i in columns.items()}})
    return out


def check(community, filename: str, content: bytes) -> tuple[list[RosterRow], list[RowProblem]]:
    """The dry run: the rows as they would be imported, and every problem (nothing is written)."""
    record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
    data = record.live_version.data if record and record.live_version else {}
    roles = {r["key"]: r for r in data.get("roles", [])}
    role_by_title = {text(r["title"]): r["key"] for r in data.get("roles", [])}
    organisations = {o["key"] for o in data.get("organisations", [])}
    units = {u.key: u for u in OrgUnit.objects.filter(community=community, active=True)}
    unit_by_name = {u.name: u for u in units.values()}
    root = next((u for u in units.values() if u.depth == 1), None)
    try:
        raw = read_rows(filename, content)
    except (UnicodeDecodeError, csv.Error, ValueError, KeyError, OSError) as exc:
        return [], [RowProblem(1, "-", f"文件无法读取: {exc}")]
    problems, rows, numbers = [], [], {}
    if raw and "name" not in raw[0]["_columns"]:
        return [], [RowProblem(1, "姓名", "缺少“姓名”列")]
    for item in raw:
        number = item["_row"]
        name = item.get("name", "")
        if not name:
            problems.append(RowProblem(number, "姓名", "姓名不能为空"))
        phone = item.get("phone", "")
        if phone and not MOBILE.match(phone):
            problems.append(RowProblem(number, "手机", f"“{phone}”不是11位手机号码"))
        unit_value = item.get("unit", "")
        unit = units.get(unit_value) or unit_by_name.get(unit_value)
        if unit_value and unit is None:
            problems.append(RowProblem(number, "单位", f"单位“{unit_value}”不存在"))
        role_value = item.get("role", "")
        role = role_value if role_value in roles else role_by_title.get(role_value, "")
        if role_value and not role:
            problems.append(RowProblem(number, "角色", f"角色“{role_value}”不存在"))
        if role and unit is None:
            if unit_value or roles[role].get("level"):
                problems.append(RowProblem(number, "单位", "有角色的人必须写明在哪个单位"))
            else:  # a role of no level (an organisation's, the street's) is held at the root
                unit = root
        if role and unit is not None and roles[role].get("level") and roles[role]["level"] != unit.level:
            problems.append(RowProblem(number, "单位", f"角色“{role_value}”设在{roles[role]['level']}一级, "
                                                       f"“{unit.name}”是{unit.level}一级"))
        organisation = item.get("organisation", "") or (roles[role].get("organisation", "") if role else "")
        if organisation and organisation not in organisations:
            problems.append(RowProblem(number, "组织", f"组织“{organisation}”不存在"))
        roster_number = item.get("roster_number", "")
        if roster_number:
            if roster_number in numbers:
                problems.append(RowProblem(number, "编号", f"编号“{roster_number}”与第{numbers[roster_number]}行重复"))
            numbers.setdefault(roster_number, number)
        member_value = item.get("member", "").strip()
        if member_value.lower() not in YES + NO:
            problems.append(RowProblem(number, "党员", f"“{member_value}”应为“是”或“否”"))
        until = _until(item.get("until", "").strip(), number, problems, community)
        if until and not role:
            problems.append(RowProblem(number, "截止", "没有角色的行不能写截止日期"))
        invite_value = item.get("invite", "").strip()
        if invite_value.lower() not in YES + NO:
            problems.append(RowProblem(number, "邀请", f"“{invite_value}”应为“是”或“否”"))
        invite = invite_value.lower() in YES
        if invite and not phone:
            problems.append(RowProblem(number, "手机", "邀请需要手机号码"))
        rows.append(RosterRow(number, name, phone, unit, role, organisation, roster_number,
                              member_value.lower() in YES, until, invite))
    if not problems:
        problems.extend(_identity_problems(community, rows))
    return rows, problems


def _until(value, number, problems, community):
    if not value:
        return None
    try:
        day = datetime.date.fromisoformat(value[:10])
    except ValueError:
        problems.append(RowProblem(number, "截止", f"“{value}”不是日期, 请写成2027-06-30这样"))
        return None
    if day < clock.today(community):
        problems.append(RowProblem(number, "截止", f"截止日期{value}已经过去"))
    return day


def _identity_problems(community, rows):
    """Rows naming one person must agree on who they are; a number belongs to one person."""
    problems, seen, phones = [], {}, {}
    for row in rows:
        first = seen.setdefault(row.identity, row)
        if first is not row and (first.name, first.phone, first.unit, first.member) != (row.name, row.phone, row.unit,
                                                                                         row.member):
            problems.append(RowProblem(row.row, "姓名", f"与第{first.row}行是同一人, 但姓名、手机、单位或党员不一致"))
        if row.phone:
            other = phones.setdefault(row.phone, row)
            if other.identity != row.identity:
                problems.append(RowProblem(row.row, "手机", f"手机号与第{other.row}行（{other.name}）相同"))
    for row in rows:
        if row.phone and row.roster_number:
            holder = (Person.objects.filter(community=community, phone=row.phone, active=True)
                      .exclude(external_id=row.roster_number).first())
            if holder is not None:
                problems.append(RowProblem(row.row, "手机", f"手机号已登记给{holder.name}"))
    return problems


def import_roster(community, filename: str, content: bytes, *, actor=None) -> tuple[int, list[RowProblem]]:
    """Import when the dry run is clean, in one transaction; returns (rows read, problems).
    `import_roster_summary` says what changed."""
    summary, problems = import_roster_summary(community, filename, content, actor=actor)
    return summary.rows, problems


def import_roster_summary(community, filename: str, content: bytes, *, actor=None):
    rows, problems = check(community, filename, content)
    if problems:
        return ImportSummary(), problems
    from engine.services.people import _audit, _link, _lock, _send_invitation

    summary = ImportSummary(rows=len(rows))
    reason = f"名册导入 {filename}"[:500]
    invitations = []
    with transaction.atomic():
        _lock(community)
        people = {}
        for row in rows:
            person = people.get(row.identity)
            if person is None:
                person = people[row.identity] = _person_for(community, row, summary, actor, reason)
            if row.role:
                _role_for(community, person, row, summary, actor, reason)
            if row.invite and person.user_id is None:
                from engine.services.accounts import account_for_phone

                _link(person, account_for_phone(person.phone))
                summary.invited += 1
                _audit(community, PeopleChange.Action.INVITE, actor=actor, person=person, reason=reason,
                       account=person.user.get_username())
                invitations.append(person.phone)
        if summary.changed:
            _audit(community, PeopleChange.Action.IMPORT, actor=actor, reason=reason, file=filename[:200],
                   rows=summary.rows, created=summary.created, updated=summary.updated, roles=summary.roles,
                   invited=summary.invited)
        name = community.name
        for phone in invitations:
            transaction.on_commit(lambda phone=phone: _send_invitation(phone, name))
    return summary, []


def _person_for(community, row, summary, actor, reason):
    from engine.services.people import _audit, _snapshot

    kind, *key = row.identity
    people = Person.objects.filter(community=community)
    person = (people.filter(external_id=key[0]) if kind == "number" else
              people.filter(phone=key[0], active=True) if kind == "phone" else
              people.filter(name=key[0], unit_id=key[1], phone="", active=True)).order_by("pk").first()
    values = {"name": row.name, "phone": row.phone, "unit": row.unit, "is_member": row.member,
              "external_id": row.roster_number}
    if person is None:
        person = Person.objects.create(community=community, **values)
        summary.created += 1
        _audit(community, PeopleChange.Action.ADD_PERSON, actor=actor, person=person, reason=reason,
               after=_snapshot(person))
        return person
    before = _snapshot(person)
    changed = [key for key, value in values.items() if getattr(person, key) != value]
    if changed:
        for key in changed:
            setattr(person, key, values[key])
        person.save(update_fields=changed)
        summary.updated += 1
        after = _snapshot(person)
        _audit(community, PeopleChange.Action.EDIT_PERSON, actor=actor, person=person, reason=reason,
               before={k: v for k, v in before.items() if after[k] != v},
               after={k: v for k, v in after.items() if before[k] != v})
    return person


def _role_for(community, person, row, summary, actor, reason):
    from engine.services.people import _audit

    assignment, created = RoleAssignment.objects.get_or_create(
        community=community, person=person, role=row.role, unit=row.unit, organisation=row.organisation,
        defaults={"since": clock.today(community), "until": row.until})
    if not created and assignment.until == row.until:
        return
    if not created:
        assignment.until = row.until
        assignment.save(update_fields=["until"])
    summary.roles += 1
    _audit(community, PeopleChange.Action.GIVE_ROLE, actor=actor, person=person, reason=reason, role=row.role,
           unit=row.unit.key, organisation=row.organisation, until=row.until.isoformat() if row.until else None,
           assignment=assignment.pk)
