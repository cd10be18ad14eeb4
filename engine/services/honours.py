"""Honour rolls from the points ledger, and the privacy rules public pages apply.

A roll from points (`source: {points: {categories, minimum}}`) takes, for one period, the
people holding one of the roll's audience roles with the most points earned in those
categories (awards less deductions, spending not counted), at least `minimum`, at most
`size`; ties at the cut are broken by who reached the total first (the earlier last entry).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import F, Max, Q, Sum

from engine import clock, policy
from engine.definitions.durations import parse_duration
from engine.models import Community, DefinitionVersion, LedgerEntry, Person
from engine.points.core import period_bounds
from engine.services.points import STORE_CATEGORY
from engine.privacy import PrivacyRules
from engine.workflow.calendar import deadline, local_date

_RULES: dict[tuple, PrivacyRules] = {}


def _live_community_version(community: Community):
    return DefinitionVersion.objects.filter(definition__community=community, definition__kind="community",
                                            definition__live_version=F("pk"))


def community_data(community: Community) -> dict:
    version = _live_community_version(community).only("content").first()
    return version.data if version else {}


def rules_for(community: Community) -> PrivacyRules:
    """The privacy rules of the community's live definition (cached per version)."""
    live = _live_community_version(community).values_list("pk", "content_hash").first()
    if live is None:
        return PrivacyRules()
    if live not in _RULES:
        version = DefinitionVersion.objects.only("content").get(pk=live[0])
        _RULES[live] = PrivacyRules.from_definition(version.data)
    return _RULES[live]


def roll_definition(community: Community, key: str) -> dict | None:
    return next((r for r in community_data(community).get("honour_rolls", []) if r.get("key") == key), None)


def period_label(period: str, start: datetime.date) -> str:
    if period == "quarter":
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    if period == "half_year":
        return f"{start.year}H{1 if start.month <= 6 else 2}"
    if period == "year":
        return str(start.year)
    if period == "month":
        return f"{start:%Y-%m}"
    return start.isoformat()


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime.date
    end: datetime.date  # exclusive


def period_of(roll: dict, day: datetime.date) -> Period:
    start, end = period_bounds(roll["period"], day)
    return Period(period_label(roll["period"], start), start, end)


def previous_period(roll: dict, day: datetime.date) -> Period:
    """The last period that has ended by `day` (a roll is drawn up once its period is over)."""
    start, _ = period_bounds(roll["period"], day)
    return period_of(roll, start - datetime.timedelta(days=1))


@dataclass(frozen=True)
class Candidate:
    person: Person
    points: int


def candidates_from_points(community: Community, roll: dict, period: Period) -> list[Candidate]:
    source = roll["source"]["points"]
    zone = clock.community_tz(community)
    begin, until = clock.day_bounds(period.start, period.end, tz=zone)  # the community's local days
    entries = LedgerEntry.objects.filter(community=community, created_at__gte=begin, created_at__lt=until
                                         ).exclude(category=STORE_CATEGORY)
    if source.get("categories"):
        entries = entries.filter(category__in=source["categories"])
    audience = set(roll.get("audience") or [])
    if audience and "resident" not in audience:  # "resident": anyone of the community
        # the roles in force on the period's last day (or today, for a period not over yet)
        day = min(period.end - datetime.timedelta(days=1), clock.today(tz=zone))
        holders = Q(person_id__in=policy.current_assignments(day=day).filter(community=community, role__in=audience)
                    .values("person_id"))
        if "member" in audience:
            holders |= Q(person__is_member=True)
        entries = entries.filter(holders)
    rows = (entries.values("person_id").annotate(points=Sum("amount"), last=Max("sequence"))
            .filter(points__gte=max(source.get("minimum", 0), 1)).order_by("-points", "last", "person_id")
            [: roll["size"]])
    rows = list(rows)
    people = Person.objects.in_bulk([r["person_id"] for r in rows])
    return [Candidate(people[r["person_id"]], r["points"]) for r in rows]


def notice_end(roll: dict, now=None, community=None) -> datetime.date | None:
    """The last day of the roll's public-notice window (公示期) started now, if it has one: a
    date on the community's calendar (settings.TIME_ZONE when no community is given)."""
    if not roll.get("notice"):
        return None
    zone = clock.community_tz(community)
    return local_date(deadline(now or clock.now(), parse_duration(roll["notice"]), zone), zone)
