"""Points rules without a database: the hash chain, periods, the redemption window, rule limits.

Everything here takes plain values and returns plain values, so the ledger's arithmetic and
its tamper evidence are tested without Django. The service (engine.services.points) does the
locking and writing.
"""

from __future__ import annotations

import datetime
import hashlib
import json

GENESIS = "0" * 64
PERIODS = ("day", "week", "month", "quarter", "half_year", "year")


def entry_hash(prev_hash: str, *, community: str, sequence: int, person: int, category: str, amount: int,
               balance_after: int, rule: str, reason: str, idempotency_key: str, created_at: str,
               created_by: int | None, submission: int | None) -> str:
    """The link of an entry: a hash of the previous link and every field that matters."""
    payload = json.dumps(
        [prev_hash, community, sequence, person, category, amount, balance_after, rule, reason, idempotency_key,
         created_at, created_by, submission], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def first_broken_link(entries) -> tuple[int, str] | None:
    """(sequence, why) of the first entry whose link does not hold, or None when the chain is whole.

    `entries` are dicts in sequence order with the fields of `entry_hash` plus prev_hash and hash.
    """
    expected_prev, expected_sequence = GENESIS, 1
    for entry in entries:
        if entry["sequence"] != expected_sequence:
            return expected_sequence, "missing entry"
        if entry["prev_hash"] != expected_prev:
            return entry["sequence"], "does not follow the previous entry"
        fields = {k: entry[k] for k in ("community", "sequence", "person", "category", "amount", "balance_after",
                                        "rule", "reason", "idempotency_key", "created_at", "created_by", "submission")}
        if entry_hash(entry["prev_hash"], **fields) != entry["hash"]:
            return entry["sequence"], "its content was changed"
        expected_prev, expected_sequence = entry["hash"], expected_sequence + 1
    return None


def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """[start, end) of the period containing `day`."""
    if period == "day":
        return day, day + datetime.timedelta(days=1)
    if period == "week":
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
    elif period == "quarter":
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    elif period == "half_year":
        start = day.replace(month=1 if day.month <= 6 else 7, day=1)
    elif period == "year":
        start = day.replace(month=1, day=1)
    else:
        raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    months = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[period]
    year, month = divmod(start.month - 1 + months, 12)
    return start, datetime.date(start.year + year, month + 1, 1)


def window_open(window: dict | None, day: datetime.date) -> bool:
    """Is the store's redemption window open on `day`? (months, from day `from`, for `days` days)."""
    if not window:
        return True
    for month in window["months"]:
        start = datetime.date(day.year, month, window.get("from", 1))
        if start <= day < start + datetime.timedelta(days=window["days"]):
            return True
    return False


def rule_allows(limit: dict | None, awards_in_period: int) -> bool:
    """A rule with a limit pays at most `max` times per person per period."""
    return limit is None or awards_in_period < limit["max"]
