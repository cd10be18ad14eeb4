"""The ledger's arithmetic and tamper evidence, without a database."""

import datetime

import pytest

from engine.points.core import GENESIS, entry_hash, first_broken_link, period_bounds, rule_allows, window_open

D = datetime.date


def chain(*amounts):
    entries, prev, balance = [], GENESIS, 0
    for sequence, amount in enumerate(amounts, start=1):
        balance += amount
        fields = dict(community="minyue", sequence=sequence, person=7, category="red", amount=amount,
                      balance_after=balance, rule="", reason="巡逻", idempotency_key=f"k{sequence}",
                      created_at=f"2026-11-0{sequence}T10:00:00+08:00", created_by=None, submission=None)
        digest = entry_hash(prev, **fields)
        entries.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    return entries


def test_a_whole_chain_verifies():
    assert first_broken_link(chain(5, 3, -2)) is None


def test_an_edited_amount_is_the_first_broken_link():
    entries = chain(5, 3, -2)
    entries[1]["amount"] = 30
    assert first_broken_link(entries) == (2, "its content was changed")


def test_a_removed_entry_is_found():
    entries = chain(5, 3, -2)
    del entries[1]
    assert first_broken_link(entries) == (2, "missing entry")


def test_a_recomputed_hash_still_breaks_the_next_link():
    entries = chain(5, 3, -2)
    entries[0]["amount"] = 50
    fields = {k: entries[0][k] for k in entries[0] if k not in ("prev_hash", "hash")}
    entries[0]["hash"] = entry_hash(GENESIS, **fields)
    assert first_broken_link(entries) == (2, "does not follow the previous entry")


@pytest.mark.parametrize("period, day, expected", [
    ("month", D(2026, 11, 21), (D(2026, 11, 1), D(2026, 12, 1))),
    ("month", D(2026, 12, 31), (D(2026, 12, 1), D(2027, 1, 1))),
    ("quarter", D(2026, 11, 21), (D(2026, 10, 1), D(2027, 1, 1))),
    ("quarter", D(2026, 2, 1), (D(2026, 1, 1), D(2026, 4, 1))),
    ("half_year", D(2026, 6, 30), (D(2026, 1, 1), D(2026, 7, 1))),
    ("half_year", D(2026, 7, 1), (D(2026, 7, 1), D(2027, 1, 1))),
    ("year", D(2026, 3, 3), (D(2026, 1, 1), D(2027, 1, 1))),
    ("week", D(2026, 11, 21), (D(2026, 11, 16), D(2026, 11, 23))),
    ("day", D(2026, 11, 21), (D(2026, 11, 21), D(2026, 11, 22))),
])
def test_period_bounds(period, day, expected):
    assert period_bounds(period, day) == expected


def test_unknown_period_names_the_valid_ones():
    with pytest.raises(ValueError, match="month, quarter"):
        period_bounds("fortnight", D(2026, 1, 1))


def test_the_half_year_store_window():
    window = {"months": [6, 12], "from": 20, "days": 10}
    assert window_open(window, D(2026, 6, 20)) and window_open(window, D(2026, 6, 29))
    assert not window_open(window, D(2026, 6, 30)) and not window_open(window, D(2026, 7, 20))
    assert window_open(window, D(2026, 12, 25)) and window_open(None, D(2026, 1, 1))


def test_rule_limits():
    assert rule_allows(None, 99)
    assert rule_allows({"per": "month", "max": 2}, 1) and not rule_allows({"per": "month", "max": 2}, 2)
