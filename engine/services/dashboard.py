"""The admin dashboard of a community (or a street over its communities) for a date range:
submissions by form, open and overdue tasks, resolution rate and median time to resolve,
satisfaction, points issued and redeemed, posts filled — and, as of now, the roles its flows need
that nobody holds where they are needed (engine.services.vacancies). Staff-only figures: unlike the public
statistics every flow counts, and the range is the admin's to choose."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from engine import clock
from engine.models import AuditEvent, Community, FlowInstance, LedgerEntry, PostAssignment, Submission
from engine.services.points import STORE_CATEGORY
from engine.services.statistics import RATINGS, _median_days, _one_decimal, _rate


@dataclass(frozen=True)
class Dashboard:
    start: datetime.date
    end: datetime.date  # inclusive
    by_form: tuple  # (form key, title, count)
    received: int
    resolved: int
    resolution_rate: float | None
    median_days_to_resolve: float | None
    open_tasks: int
    overdue_tasks: int
    satisfaction: float | None
    ratings: int
    points_issued: int
    points_redeemed: int
    posts_filled: int
    # open items a refused timer step left held up, waiting for the staff (FlowInstance.stalled_at)
    stalled_tasks: int = 0
    # roles the live flows need that nobody holds where they are needed, now (not in the range):
    # engine.services.vacancies.Vacancy, community by community
    vacancies: tuple = ()


def _bounds(start, end, community=None):
    """The moments of the local days start … end (inclusive) on the community's wall clock."""
    return clock.day_bounds(start, end + datetime.timedelta(days=1), community)


def community_ids(community: Community) -> list[int]:
    if community.kind == Community.Kind.STREET:
        return list(Community.objects.filter(parent=community).values_list("pk", flat=True))
    return [community.pk]


def dashboard(community: Community, start: datetime.date, end: datetime.date, now=None,
              with_vacancies=True) -> Dashboard:
    if end < start:
        raise ValueError("the range ends before it starts")
    ids, (begin, until) = community_ids(community), _bounds(start, end, community)
    now = now or clock.now()
    submissions = Submission.objects.filter(community_id__in=ids, submit_time__gte=begin, submit_time__lt=until)
    by_form = tuple((row["form__key"], _title(row["form__live_version__content__definition__title"]), row["n"])
                    for row in submissions.order_by().values("form__key", "form__live_version__content__definition__title")
                    .annotate(n=Count("pk")).order_by("-n", "form__key"))
    items = FlowInstance.objects.filter(community_id__in=ids, submission__submit_time__gte=begin,
                                        submission__submit_time__lt=until)
    counts = items.aggregate(received=Count("pk"), resolved=Count("pk", filter=Q(finished_at__isnull=False)))
    open_items = FlowInstance.objects.filter(community_id__in=ids, finished_at__isnull=True)
    tasks = open_items.aggregate(open=Count("pk"), overdue=Count("pk", filter=clock.overdue_q(now)),
                                 stalled=Count("pk", filter=Q(stalled_at__isnull=False)))
    rated = AuditEvent.objects.filter(community_id__in=ids, data__inputs__rating__in=RATINGS,
                                      created_at__gte=begin, created_at__lt=until)
    ratings = [int(r) for r in rated.values_list("data__inputs__rating", flat=True)]
    ledger = LedgerEntry.objects.filter(community_id__in=ids, created_at__gte=begin, created_at__lt=until)
    points = ledger.aggregate(
        issued=Sum("amount", filter=Q(amount__gt=0) & ~Q(category=STORE_CATEGORY)),
        redeemed=Sum("amount", filter=Q(category=STORE_CATEGORY)))
    return Dashboard(
        start=start, end=end, by_form=by_form, received=counts["received"], resolved=counts["resolved"],
        resolution_rate=_rate(counts["received"], counts["resolved"]),
        median_days_to_resolve=_median_days(items.filter(finished_at__isnull=False), counts["resolved"]),
        open_tasks=tasks["open"], overdue_tasks=tasks["overdue"], stalled_tasks=tasks["stalled"],
        satisfaction=_one_decimal(sum(ratings) / len(ratings)) if ratings else None, ratings=len(ratings),
        points_issued=points["issued"] or 0, points_redeemed=-(points["redeemed"] or 0),
        posts_filled=PostAssignment.objects.filter(community_id__in=ids, until__isnull=True).count(),
        vacancies=tuple(_vacancies(ids) if with_vacancies else ()))


def _vacancies(ids):
    from engine.services.vacancies import vacancies

    for community in Community.objects.filter(pk__in=ids).order_by("slug"):
        yield from vacancies(community)


def _title(value):
    if isinstance(value, dict):
        return value.get("zh-hans") or next(iter(value.values()), "")
    return value or ""
