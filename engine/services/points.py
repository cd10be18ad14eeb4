"""Points: awarding, deducting, redeeming in the points supermarket — the ledger's write paths.

Every write appends to the community's ledger while holding the community's ledger head row
(`select_for_update`; on SQLite the IMMEDIATE transaction does the same), so entries are
numbered and chained one after another and a person's balance is read and extended without a
race. The database refuses a negative balance and a second entry with the same idempotency
key even if this code were wrong; the code refuses them first, with a message a person can act
on. Redemptions reserve stock and points together, and a cancellation gives both back.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop, pgettext_lazy

from engine import clock
from engine.definitions.problems import PersonError
from engine.models import Community, Definition, LedgerEntry, LedgerHead, Person, Redemption, StoreItem
from engine.points.core import entry_hash, first_broken_link, period_bounds, rule_allows, window_open

STORE_CATEGORY = "_store"  # redemptions and refunds: spending, not earning; leaderboards leave them out


class PointsError(PersonError):
    """Points refusals, in words a resident acts on."""



class InsufficientPoints(PointsError):
    code = "insufficient_points"
    message = gettext_noop("Not enough points: {balance} available, {needed} needed")


class OutOfStock(PointsError):
    code = "out_of_stock"
    message = gettext_noop("“{item}” is sold out")


class WindowClosed(PointsError):
    code = "window_closed"
    message = gettext_noop("The points store is not open for redemption now")


class RuleLimitReached(PointsError):
    code = "rule_limit"
    message = gettext_noop("“{rule}” has reached its limit for this period ({max} times)")


class UnknownName(PointsError):
    code = "unknown"
    message = gettext_noop("unknown {kind} '{name}'")


class PerPersonLimit(PointsError):
    code = "per_person_limit"
    message = gettext_noop("At most {max} of “{item}” per person in one window")


class WrongState(PointsError):
    code = "wrong_state"
    message = gettext_noop("This redemption is already {status}; it cannot be {action}")


_DATA: dict[tuple, dict] = {}


def _community_data(community):
    """The live community.yaml data; parsed once per version (versions never change)."""
    row = (Definition.objects.filter(community=community, kind="community")
           .values_list("live_version_id", "live_version__content_hash").first())
    if not row or row[0] is None:
        return {}
    if row not in _DATA:
        from engine.models import DefinitionVersion

        if len(_DATA) > 256:
            _DATA.clear()
        _DATA[row] = DefinitionVersion.objects.get(pk=row[0]).data
    return _DATA[row]


def _head(community):
    head, _ = LedgerHead.objects.get_or_create(community=community)
    return LedgerHead.objects.select_for_update().get(pk=head.pk)


def balance(person: Person) -> int:
    last = LedgerEntry.objects.filter(person=person).order_by("-person_sequence").values("balance_after").first()
    return last["balance_after"] if last else 0


def _append(*, community, person, amount, category, reason, rule="", key="", user=None, submission=None):
    """Append one entry (caller holds a transaction). Raises InsufficientPoints below zero."""
    head = _head(community)
    last = (LedgerEntry.objects.filter(person=person).order_by("-person_sequence")
            .values("balance_after", "person_sequence").first())
    before = last["balance_after"] if last else 0
    after = before + amount
    if after < 0:
        raise InsufficientPoints(balance=before, needed=-amount)
    created_at = timezone.now()
    sequence = head.sequence + 1
    fields = dict(community=community.slug, sequence=sequence, person=person.pk, category=category, amount=amount,
                  balance_after=after, rule=rule, reason=reason, idempotency_key=key,
                  created_at=created_at.isoformat(), created_by=user.pk if user else None,
                  submission=submission.pk if submission else None)
    digest = entry_hash(head.hash, **fields)
    entry = LedgerEntry.objects.create(
        community=community, sequence=sequence, person=person, person_sequence=(last["person_sequence"] + 1) if last else 1,
        category=category, amount=amount, balance_after=after, rule=rule, reason=reason, idempotency_key=key,
        submission=submission, created_at=created_at, created_by=user, prev_hash=head.hash, hash=digest)
    head.sequence, head.hash = sequence, digest
    head.save(update_fields=["sequence", "hash"])
    return entry


def _existing(community, key, person):
    entry = LedgerEntry.objects.filter(community=community, idempotency_key=key).first()
    if entry is not None and entry.person_id != person.pk:
        raise IntegrityError(f"idempotency key {key!r} already used for another person")
    return entry


def award(*, person, reason, points=None, category=None, rule=None, idempotency_key="", user=None,
          submission=None, day=None) -> LedgerEntry:
    """Award points by a rule of community.yaml (its points, category and limit) or by hand
    (category and points, with a reason). A retried call with the same key pays once."""
    return _change(person=person, reason=reason, points=points, category=category, rule=rule,
                   idempotency_key=idempotency_key, user=user, submission=submission, day=day, sign=1)


def deduct(*, person, reason, points=None, category=None, rule=None, idempotency_key="", user=None,
           submission=None, day=None) -> LedgerEntry:
    return _change(person=person, reason=reason, points=points, category=category, rule=rule,
                   idempotency_key=idempotency_key, user=user, submission=submission, day=day, sign=-1)


def _change(*, person, reason, points, category, rule, idempotency_key, user, submission, day, sign):
    community = person.community
    data = _community_data(community)
    rules = {r["key"]: r for r in data.get("points", {}).get("rules", [])}
    categories = {c["key"] for c in data.get("points", {}).get("categories", [])}
    limit = None
    if rule is not None:
        if rule not in rules:
            raise UnknownName(kind="rule", name=rule)
        spec = rules[rule]
        category, amount, limit = spec["category"], spec["points"], spec.get("limit")
        if sign < 0 and amount > 0:
            amount = -amount
    else:
        if category not in categories:
            raise UnknownName(kind="category", name=category)
        if not isinstance(points, int) or points <= 0:
            raise ValueError("points must be a positive whole number; say award or deduct")
        amount = sign * points
    try:
        with transaction.atomic():
            if idempotency_key:
                existing = _existing(community, idempotency_key, person)
                if existing is not None:
                    return existing
            if limit is not None:
                _head(community)  # count under the lock, so two racing awards cannot both fit
                # the period of the community's local date, and its local days' moments
                zone = clock.community_tz(community)
                start, end = clock.day_bounds(*period_bounds(limit["per"], day or clock.today(tz=zone)), tz=zone)
                count = LedgerEntry.objects.filter(person=person, rule=rule, created_at__gte=start,
                                                   created_at__lt=end).count()
                if not rule_allows(limit, count):
                    raise RuleLimitReached(rule=rules[rule]["title"] if isinstance(rules[rule]["title"], str)
                                           else rules[rule]["title"]["zh-hans"], max=limit["max"])
            return _append(community=community, person=person, amount=amount, category=category, reason=reason,
                           rule=rule or "", key=idempotency_key, user=user, submission=submission)
    except IntegrityError:
        if idempotency_key:
            existing = LedgerEntry.objects.filter(community=community, idempotency_key=idempotency_key).first()
            if existing is not None and existing.person_id == person.pk:
                return existing
        raise


# ---------------------------------------------------------------- the points supermarket


def redeem(*, person, item_key, quantity=1, user=None, submission=None, day=None) -> Redemption:
    """Reserve `quantity` of an item: stock and points together, or neither."""
    community = person.community
    data = _community_data(community)
    store = data.get("points", {}).get("store", {})
    zone = clock.community_tz(community)
    day = day or clock.today(tz=zone)  # the community's date: the window opens at its midnight
    if not window_open(store.get("window"), day):
        raise WindowClosed()
    with transaction.atomic():
        _head(community)  # one writer per community: stock, limits and balance are read consistently
        item = StoreItem.objects.select_for_update().filter(community=community, key=item_key, active=True).first()
        if item is None:
            raise UnknownName(kind="item", name=item_key)
        if item.stock < quantity:
            raise OutOfStock(item=item.title)
        if item.per_person:
            window_start, _ = clock.day_bounds(_window_start(store.get("window"), day), day, tz=zone)
            taken = (Redemption.objects.filter(person=person, item=item, created_at__gte=window_start)
                     .exclude(status=Redemption.Status.CANCELLED).aggregate(n=Sum("quantity"))["n"] or 0)
            if taken + quantity > item.per_person:
                raise PerPersonLimit(item=item.title, max=item.per_person)
        cost = item.cost * quantity
        debit = _append(community=community, person=person, amount=-cost, category=STORE_CATEGORY,
                        reason=f"兑换 {item.title} × {quantity}", user=user, submission=submission)
        StoreItem.objects.filter(pk=item.pk).update(stock=F("stock") - quantity)
        return Redemption.objects.create(community=community, person=person, item=item, quantity=quantity,
                                         points=cost, debit=debit, submission=submission)


def _window_start(window, day):
    if not window:
        return datetime.date(day.year, 1, 1)
    starts = [datetime.date(day.year, m, window.get("from", 1)) for m in window["months"]]
    past = [s for s in starts if s <= day]
    return max(past) if past else datetime.date(day.year - 1, max(window["months"]), window.get("from", 1))


def hand_out(redemption: Redemption, *, user=None) -> Redemption:
    with transaction.atomic():
        locked = Redemption.objects.select_for_update().get(pk=redemption.pk)
        if locked.status != Redemption.Status.RESERVED:
            raise WrongState(status=locked.get_status_display(), action=pgettext_lazy("redemption action", "handed out"))
        locked.status = Redemption.Status.HANDED_OUT
        locked.save(update_fields=["status", "updated_at"])
    return locked


def cancel(redemption: Redemption, *, user=None, reason="取消兑换") -> Redemption:
    """Give back the points (a new, refunding entry) and the stock."""
    with transaction.atomic():
        _head(redemption.community)
        locked = Redemption.objects.select_for_update().select_related("item", "person").get(pk=redemption.pk)
        if locked.status != Redemption.Status.RESERVED:
            raise WrongState(status=locked.get_status_display(), action=pgettext_lazy("redemption action", "cancelled"))
        refund = _append(community=locked.community, person=locked.person, amount=locked.points,
                         category=STORE_CATEGORY, reason=f"{reason}: {locked.item.title} × {locked.quantity}", user=user)
        StoreItem.objects.filter(pk=locked.item_id).update(stock=F("stock") + locked.quantity)
        locked.status, locked.refund = Redemption.Status.CANCELLED, refund
        locked.save(update_fields=["status", "refund", "updated_at"])
    return locked


# ---------------------------------------------------------------- reading


def leaderboard(community: Community, *, period="quarter", day=None, category=None, limit=20):
    """People by points earned in the period (awards less deductions; spending is not counted)."""
    zone = clock.community_tz(community)
    start, end = clock.day_bounds(*period_bounds(period, day or clock.today(tz=zone)), tz=zone)
    entries = LedgerEntry.objects.filter(community=community, created_at__gte=start, created_at__lt=end
                                         ).exclude(category=STORE_CATEGORY)
    if category:
        entries = entries.filter(category=category)
    rows = (entries.values("person_id").annotate(points=Sum("amount")).order_by("-points", "person_id")[:limit])
    return list(rows)


def history(person: Person):
    return LedgerEntry.objects.filter(person=person).order_by("-person_sequence")


def verify_ledger(community: Community):
    """None when the community's chain is whole; else (sequence, why) of the first broken link."""
    def rows():
        queryset = LedgerEntry.objects.filter(community=community).order_by("sequence")
        for entry in queryset.iterator(chunk_size=2000):
            yield {"community": community.slug, "sequence": entry.sequence, "person": entry.person_id,
                   "category": entry.category, "amount": entry.amount, "balance_after": entry.balance_after,
                   "rule": entry.rule, "reason": entry.reason, "idempotency_key": entry.idempotency_key,
                   "created_at": entry.created_at.isoformat(), "created_by": entry.created_by_id,
                   "submission": entry.submission_id, "prev_hash": entry.prev_hash, "hash": entry.hash}
    broken = first_broken_link(rows())
    if broken is None:
        head = LedgerHead.objects.filter(community=community).first()
        last = LedgerEntry.objects.filter(community=community).order_by("-sequence").first()
        if head and (last is None or head.hash != last.hash or head.sequence != last.sequence):
            return (head.sequence, "the chain's last entry is missing")
    return broken
