"""Importing a roster of people and their roles from CSV or Excel: dry run first, then all or nothing.

Columns (Chinese or English headers): 姓名/name (required), 手机/phone, 单位/unit (a unit id or
its exact name), 角色/role (a role key or title), 组织/organisation, 编号/roster_number, 党员/member
(是/否). A dry run lists every bad row with its row number, column and reason and writes
nothing; an import with any bad row writes nothing either. Rows with a roster number update the
person who has it; others create a person.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from django.db import transaction

from engine.forms.spec import text
from engine.models import Definition, OrgUnit, Person, RoleAssignment

HEADERS = {
    "name": ("姓名", "name"), "phone": ("手机", "手机号", "phone"), "unit": ("单位", "所在单位", "unit"),
    "role": ("角色", "role"), "organisation": ("组织", "organisation"), "roster_number": ("编号", "roster_number"),
    "member": ("党员", "member"),
}
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
            problems.append(RowProblem(number, "单位", "有角色的人必须写明在哪个单位"))
        if role and unit is not None and roles[role].get("level") and roles[role]["level"] != unit.level:
            problems.append(RowProblem(number, "单位", f"角色“{role_value}”设在{roles[role]['level']}一级, "
                                                       f"“{unit.name}”是{unit.level}一级"))
        organisation = item.get("organisation", "")
        if organisation and organisation not in organisations:
            problems.append(RowProblem(number, "组织", f"组织“{organisation}”不存在"))
        roster_number = item.get("roster_number", "")
        if roster_number:
            if roster_number in numbers:
                problems.append(RowProblem(number, "编号", f"编号“{roster_number}”与第{numbers[roster_number]}行重复"))
            numbers.setdefault(roster_number, number)
        member_value = item.get("member", "").strip()
        if member_value not in ("", "是", "否", "yes", "no", "1", "0"):
            problems.append(RowProblem(number, "党员", f"“{member_value}”应为“是”或“否”"))
        rows.append(RosterRow(number, name, phone, unit, role, organisation, roster_number,
                              member_value in ("是", "yes", "1")))
    return rows, problems


def import_roster(community, filename: str, content: bytes) -> tuple[int, list[RowProblem]]:
    """Import when the dry run is clean, in one transaction; returns (people written, problems)."""
    rows, problems = check(community, filename, content)
    if problems:
        return 0, problems
    with transaction.atomic():
        for row in rows:
            defaults = {"name": row.name, "phone": row.phone, "unit": row.unit, "is_member": row.member}
            if row.roster_number:
                person, _ = Person.objects.update_or_create(community=community, external_id=row.roster_number,
                                                            defaults=defaults)
            else:
                person = Person.objects.create(community=community, **defaults)
            if row.role:
                RoleAssignment.objects.get_or_create(community=community, person=person, role=row.role,
                                                     unit=row.unit, organisation=row.organisation)
    return len(rows), []
