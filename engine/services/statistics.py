"""Public figures of a community, or of a street over its communities: needs received and
resolved, time to resolve, satisfaction, posts filled, month by month.

Everything is counted in the database, in a fixed handful of queries however many items or
communities there are (no query per month or per community, no rows loaded to be counted in
Python). The figures are counts, averages and community names only: this module must never
put a person, a reference number or a free-text answer into `Figures`, since the page is public.

The rules, so that a reader of the page can check them:

- An *item* is a flow instance (`FlowInstance`) of a flow that declares `counts_as_need: true`
  (a resident's need, such as Minyue's 民情直通车), not a post claim, a registration or a
  redemption. A street's figures cover the items of its communities (`Community.parent`).
- An item is *resolved* when its flow reached a final state (`finished_at` is set, written by
  the `finish` effect of a transition into a `final: true` state). Every final state counts —
  closed, but also declined or withdrawn: the item left the community's hands.
- *Days to resolve* run from the submission (`Submission.submit_time`) to `finished_at`.
- *Satisfaction* is the average of the ratings residents gave when taking a step: a transition
  whose form has a `rating` field (the shared 1–5 `rating` definition), such as Minyue's
  评议 (`rate`) and 退回重办 (`reopen`) with the `satisfaction` form, stores its inputs in the
  step's `AuditEvent.data["inputs"]`. Every rating given counts, a bad one that reopened the
  item too. Ratings inside ordinary submissions (Zanan's property evaluation rates the property
  company, not how a need was handled) are not part of it.
- *Posts filled* are the post holdings still open (`PostAssignment.until` is empty).
  *Capacity* comes from the live community.yaml: a post's `capacity` is per unit, so it counts
  once for every active unit at the post's `level` (a post without a level counts once). It is
  None when no community declares posts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, FloatField, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

from engine import clock
from engine.models import AuditEvent, Community, Definition, DefinitionVersion, FlowInstance, OrgUnit, PostAssignment

MONTHS = 12
RATINGS = (1, 2, 3, 4, 5)  # the shared `rating` definition (forms_schemas/_shared/defs.json)


@dataclass(frozen=True)
class CommunityFigures:
    """One community's line in a street's table."""

    name: str
    received: int
    resolved: int
    rate: float | None  # resolved / received, 0..1; None when nothing was received


@dataclass(frozen=True)
class Figures:
    received: int
    resolved: int
    resolution_rate: float | None  # 0..1; None when nothing was received
    median_days_to_resolve: float | None  # one decimal; None when nothing was resolved
    satisfaction: float | None  # average rating 1..5, one decimal; None when nobody rated
    ratings: int  # how many ratings the average is of
    posts_filled: int
    posts_capacity: int | None  # None when no post is declared
    monthly: tuple[tuple[str, int, int], ...]  # ("2026-11", received, resolved), oldest first, this month last
    per_community: tuple[CommunityFigures, ...] = ()  # a street's communities; empty for a community


def figures(community: Community, today: datetime.date | None = None) -> Figures:
    """The public figures of `community`; of its communities when it is a street.

    `today` (the community's local date, engine.clock) picks the last of the twelve months; the totals are
    all-time."""
    if community.kind == Community.Kind.STREET:
        members = list(Community.objects.filter(parent=community).only("pk", "name"))
        ids = [member.pk for member in members]
    else:
        members, ids = [], [community.pk]
    # needs: the items of flows that say they are residents' needs (`counts_as_need: true`),
    # not post claims, registrations or redemptions
    items = FlowInstance.objects.filter(community_id__in=ids,
                                        flow__live_version__content__definition__counts_as_need=True)

    counts = {row["community_id"]: (row["received"], row["resolved"]) for row in (
        items.order_by().values("community_id")
        .annotate(received=Count("pk"), resolved=Count("pk", filter=Q(finished_at__isnull=False))))}
    received = sum(r for r, _ in counts.values())
    resolved = sum(r for _, r in counts.values())
    per_community = tuple(
        CommunityFigures(member.name, *counts.get(member.pk, (0, 0)), _rate(*counts.get(member.pk, (0, 0))))
        for member in members)

    satisfaction, ratings = _satisfaction(ids)
    return Figures(
        received=received, resolved=resolved, resolution_rate=_rate(received, resolved),
        median_days_to_resolve=_median_days(items.filter(finished_at__isnull=False), resolved),
        satisfaction=satisfaction, ratings=ratings,
        posts_filled=PostAssignment.objects.filter(community_id__in=ids, until__isnull=True).count(),
        posts_capacity=_posts_capacity(ids),
        monthly=_monthly(items, today, clock.community_tz(community)),
        per_community=per_community)


def _rate(received, resolved):
    return resolved / received if received else None


def _one_decimal(value) -> float:
    return float(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _median_days(finished, count):
    """The median time to resolve: the database orders the durations and hands back the middle
    one (odd count) or two (even count) — one query of at most two rows."""
    if not count:
        return None
    duration = ExpressionWrapper(F("finished_at") - F("submission__submit_time"), output_field=DurationField())
    ordered = finished.annotate(duration=duration).order_by("duration", "pk").values_list("duration", flat=True)
    middle = list(ordered[(count - 1) // 2:count // 2 + 1])
    if not middle:  # items changed between the count and now: nothing sensible to say
        return None
    seconds = sum(Decimal(str(d.total_seconds())) for d in middle) / len(middle)
    return _one_decimal(seconds / 86400)


def _satisfaction(ids):
    # Only 1..5 are averaged: an inline input that happens to be called "rating" but holds text
    # is left out rather than breaking the cast.
    rated = AuditEvent.objects.filter(community_id__in=ids, data__inputs__rating__in=RATINGS)
    row = rated.aggregate(average=Avg(Cast(KT("data__inputs__rating"), FloatField())), count=Count("pk"))
    if not row["count"]:
        return None, 0
    return _one_decimal(str(row["average"])), row["count"]


def _monthly(items, today, zone):
    """Twelve months to `today` (default: the community's date today), by the months of the
    community's wall clock (`zone`; a street's own zone for its communities)."""
    today = today or clock.today(tz=zone)
    months = []
    year, month = today.year, today.month
    for _ in range(MONTHS):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    start = datetime.datetime(*months[0], 1, tzinfo=zone)
    last = months[-1]
    end = datetime.datetime(last[0] + (last[1] == 12), last[1] % 12 + 1, 1, tzinfo=zone)

    def per_month(field):
        rows = (items.filter(**{f"{field}__gte": start, f"{field}__lt": end}).order_by()
                .annotate(month=TruncMonth(field, tzinfo=zone)).values("month").annotate(n=Count("pk")))
        found = {}
        for row in rows:
            local = timezone.localtime(row["month"], zone) if timezone.is_aware(row["month"]) else row["month"]
            found[(local.year, local.month)] = row["n"]
        return found

    received = per_month("submission__submit_time")
    resolved = per_month("finished_at")
    return tuple((f"{y}-{m:02d}", received.get((y, m), 0), resolved.get((y, m), 0)) for y, m in months)


# ---------------------------------------------------------------- posts

# Declared posts of a published community file: [(level, capacity)], by (version id, content
# hash). Versions are immutable, so an entry never goes stale; the hash guards against a test
# database that hands the same id out again.
_DECLARED: dict[tuple, tuple[tuple[str, int], ...]] = {}


def _declared_posts(ids):
    """{community id: [(level, capacity)]} from the live community files — one light query, and
    one more for the files not yet read by this process."""
    live = list(Definition.objects.filter(community_id__in=ids, kind=Definition.Kind.COMMUNITY,
                                          live_version__isnull=False)
                .order_by().values_list("community_id", "live_version_id", "live_version__content_hash"))
    missing = [version for _, version, digest in live if (version, digest) not in _DECLARED]
    if missing:
        if len(_DECLARED) > 1024:
            _DECLARED.clear()
        for version in DefinitionVersion.objects.filter(pk__in=missing).only("pk", "content_hash", "content"):
            _DECLARED[(version.pk, version.content_hash)] = tuple(
                (post.get("level", ""), post["capacity"])
                for category in version.data.get("posts", {}).get("categories", [])
                for post in category.get("posts", []))
    return {community: _DECLARED.get((version, digest), ()) for community, version, digest in live}


def _posts_capacity(ids):
    declared = {community: posts for community, posts in _declared_posts(ids).items() if posts}
    if not declared:
        return None
    units = {(row["community_id"], row["level"]): row["n"] for row in (
        OrgUnit.objects.filter(community_id__in=list(declared), active=True).order_by()
        .values("community_id", "level").annotate(n=Count("pk")))}
    return sum(capacity * (units.get((community, level), 0) if level else 1)
               for community, posts in declared.items() for level, capacity in posts)
