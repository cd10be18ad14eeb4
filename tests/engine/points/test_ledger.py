"""The points ledger against the real database: exact, append-only, tamper-evident, race-safe."""

import io

import pytest
from django.core.management import call_command

from engine.models import Community, LedgerEntry, Person, Redemption, StoreItem
from engine.services import points
from tests.concurrency import race


@pytest.fixture
def minyue(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO())
    return Community.objects.get(slug="minyue")


@pytest.fixture
def person(minyue):
    return Person.objects.create(community=minyue, name="张明")


def categories(community):
    from engine.services.points import _community_data

    return _community_data(community)["points"]


def test_an_award_by_hand_is_appended_and_chained(person):
    category = categories(person.community)["categories"][0]["key"]
    first = points.award(person=person, category=category, points=5, reason="协助调解")
    second = points.award(person=person, category=category, points=3, reason="参加巡逻")
    assert (first.sequence, second.sequence) == (1, 2) and second.prev_hash == first.hash
    assert points.balance(person) == 8 and second.balance_after == 8
    assert points.verify_ledger(person.community) is None


def test_a_rule_gives_its_points_and_category(person):
    rule = categories(person.community)["rules"][0]
    entry = points.award(person=person, rule=rule["key"], reason="按规则")
    assert (entry.amount, entry.category, entry.rule) == (abs(rule["points"]), rule["category"], rule["key"])


def test_a_rule_limit_is_kept(person):
    rules = [r for r in categories(person.community)["rules"] if r.get("limit")]
    assert rules, "the example community has rules with a per-period limit"
    rule = rules[0]
    for n in range(rule["limit"]["max"]):
        points.award(person=person, rule=rule["key"], reason=f"第{n + 1}次")
    with pytest.raises(points.RuleLimitReached) as info:
        points.award(person=person, rule=rule["key"], reason="再一次")
    assert "本期已达到上限" in info.value.text("zh-hans")


def test_a_deduction_cannot_take_the_balance_below_zero(person):
    category = categories(person.community)["categories"][0]["key"]
    points.award(person=person, category=category, points=2, reason="奖励")
    with pytest.raises(points.InsufficientPoints) as info:
        points.deduct(person=person, category=category, points=3, reason="扣分")
    assert info.value.text("zh-hans") == "积分不足: 现有 2 分, 需要 3 分"
    assert LedgerEntry.objects.count() == 1 and points.balance(person) == 2


def test_unknown_category_and_zero_points_are_refused(person):
    with pytest.raises(points.UnknownName):
        points.award(person=person, category="nope", points=1, reason="x")
    category = categories(person.community)["categories"][0]["key"]
    with pytest.raises(ValueError):
        points.award(person=person, category=category, points=0, reason="x")
    assert not LedgerEntry.objects.exists()


def test_a_retried_award_pays_once(person):
    category = categories(person.community)["categories"][0]["key"]
    first = points.award(person=person, category=category, points=5, reason="办结", idempotency_key="flow:1:resolve")
    again = points.award(person=person, category=category, points=5, reason="办结", idempotency_key="flow:1:resolve")
    assert first.pk == again.pk and points.balance(person) == 5


def test_entries_are_never_edited_or_deleted(person):
    category = categories(person.community)["categories"][0]["key"]
    entry = points.award(person=person, category=category, points=5, reason="x")
    entry.amount = 50
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_an_edit_behind_the_applications_back_is_found_by_verify_ledger(person):
    category = categories(person.community)["categories"][0]["key"]
    for n in range(3):
        points.award(person=person, category=category, points=n + 1, reason=f"第{n}次")
    LedgerEntry.objects.filter(sequence=2).update(amount=100)  # what a direct SQL edit would do
    out = io.StringIO()
    with pytest.raises(SystemExit) as info:
        call_command("verify_ledger", "minyue", stdout=out)
    assert info.value.code == 1
    assert out.getvalue().strip() == "minyue: broken at entry 2: its content was changed"


def test_verify_ledger_reports_whole_chains(person):
    category = categories(person.community)["categories"][0]["key"]
    points.award(person=person, category=category, points=1, reason="x")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "minyue: ok (1 entries)" in out.getvalue()


def test_the_leaderboard_counts_earned_points_in_the_period(minyue):
    category = categories(minyue)["categories"][0]["key"]
    a, b = Person.objects.create(community=minyue, name="甲"), Person.objects.create(community=minyue, name="乙")
    points.award(person=a, category=category, points=5, reason="x")
    points.award(person=b, category=category, points=8, reason="x")
    points.deduct(person=b, category=category, points=2, reason="y")
    board = points.leaderboard(minyue, period="quarter")
    assert [(row["person_id"], row["points"]) for row in board] == [(b.pk, 6), (a.pk, 5)]
    assert points.leaderboard(minyue, period="quarter", category="nope") == []


# ---------------------------------------------------------------- the store


@pytest.fixture
def open_store(minyue, monkeypatch):
    monkeypatch.setattr(points, "window_open", lambda window, day: True)
    return StoreItem.objects.filter(community=minyue, active=True).order_by("cost").first()


def test_a_redemption_takes_points_and_stock_and_a_cancellation_gives_both_back(person, open_store):
    category = categories(person.community)["categories"][0]["key"]
    points.award(person=person, category=category, points=open_store.cost * 2, reason="x")
    stock = open_store.stock
    redemption = points.redeem(person=person, item_key=open_store.key)
    open_store.refresh_from_db()
    assert open_store.stock == stock - 1 and points.balance(person) == open_store.cost
    points.cancel(redemption)
    open_store.refresh_from_db()
    assert open_store.stock == stock and points.balance(person) == open_store.cost * 2
    with pytest.raises(points.WrongState):
        points.hand_out(Redemption.objects.get())
    # spending is not earning: the leaderboard is unchanged by the round trip
    assert points.leaderboard(person.community)[0]["points"] == open_store.cost * 2


def test_a_closed_window_refuses_redemption(person):
    import datetime

    window = categories(person.community)["store"]["window"]
    closed_day = next(datetime.date(2026, 1, 1) + datetime.timedelta(days=n) for n in range(366)
                      if not points.window_open(window, datetime.date(2026, 1, 1) + datetime.timedelta(days=n)))
    with pytest.raises(points.WindowClosed) as info:
        points.redeem(person=person, item_key="anything", day=closed_day)
    assert info.value.text("zh-hans") == "积分超市现在不开放兑换"


def test_sold_out_is_said_plainly(person, open_store):
    StoreItem.objects.filter(pk=open_store.pk).update(stock=0)
    points.award(person=person, category=categories(person.community)["categories"][0]["key"], points=500, reason="x")
    with pytest.raises(points.OutOfStock) as info:
        points.redeem(person=person, item_key=open_store.key)
    assert info.value.text("zh-hans") == f"“{open_store.title}”已兑完"


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_overspend(open_store_tx):
    person, item = open_store_tx
    results, errors = race(50, lambda _: points.redeem(person=Person.objects.get(pk=person.pk), item_key=item.key).pk)
    # refusals are the expected answer for the 40 that come too late; anything else is a bug
    assert [e for e in errors if not isinstance(e, (points.InsufficientPoints, points.OutOfStock))] == []
    item.refresh_from_db()
    assert len(results) == 10
    assert points.balance(person) == 0
    assert item.stock == 100 - 10
    assert points.verify_ledger(person.community) is None


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_retries_of_one_award_pay_once(minyue_tx):
    person = Person.objects.create(community=minyue_tx, name="王五")
    category = categories(minyue_tx)["categories"][0]["key"]
    ids, errors = race(20, lambda _: points.award(person=Person.objects.get(pk=person.pk), category=category, points=7,
                                                  reason="办结", idempotency_key="submission:42:resolve").pk)
    assert errors == [] and len(ids) == 20 and len(set(ids)) == 1
    assert LedgerEntry.objects.count() == 1 and points.balance(person) == 7


@pytest.fixture
def minyue_tx(transactional_db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO())
    return Community.objects.get(slug="minyue")


@pytest.fixture
def open_store_tx(minyue_tx, monkeypatch):
    monkeypatch.setattr(points, "window_open", lambda window, day: True)
    item = StoreItem.objects.filter(community=minyue_tx, active=True).order_by("cost").first()
    StoreItem.objects.filter(pk=item.pk).update(stock=100, per_person=None)
    item.refresh_from_db()
    person = Person.objects.create(community=minyue_tx, name="李四")
    points.award(person=person, category=categories(minyue_tx)["categories"][0]["key"], points=item.cost * 10,
                 reason="备用")
    return person, item
