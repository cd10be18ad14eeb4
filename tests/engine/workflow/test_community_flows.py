"""Post claiming with its public-notice window, 双报到 registration and points redemption, each
through its flow with the right people — the Community issue's write paths driven by flows."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from engine.models import (Community, Definition, FlowInstance, LedgerEntry, OrgUnit, Person, PostAssignment,
                           Redemption, Registration, RoleAssignment, StoreItem)
from engine.services import points
from engine.services.submissions import submit
from engine.workflow import adapter


@pytest.fixture
def world(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    compound = grid.get_parent()
    root = OrgUnit.objects.get(community=community, depth=1)
    User = get_user_model()
    users = {}

    def make(key, role, unit):
        user = User.objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=community, user=user, name=key, unit=grid, is_member=True)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        users[key] = user
        return person

    make("member", "member", compound)
    make("branch", "branch_secretary", compound)
    make("neighbour", "resident", grid)
    make("worker", "community_worker", root)
    make("secretary", "community_secretary", root)
    return {"community": community, "grid": grid, "compound": compound, "users": users}


def form(world, key):
    return Definition.objects.get(community=world["community"], kind="form", key=key)


def take(world, submission, name, who, **kwargs):
    instance = FlowInstance.objects.get(submission=submission)
    return adapter.take(instance_id=instance.pk, name=name, user=world["users"][who], **kwargs)


def claim(world):
    data = {"post": "civility_monitor", "unit": world["grid"].key, "pledge": "劝导不文明行为，每周巡查两次",
            "service_times": ["周末"]}
    return submit(form=form(world, "post-claim"), data=data, user=world["users"]["member"]).submission


def test_a_claim_stands_in_public_notice_and_silence_confirms_it(world):
    submission = claim(world)
    assert take(world, submission, "approve", "branch").state == "public_notice"
    instance = FlowInstance.objects.get(submission=submission)
    assert not PostAssignment.objects.exists()  # not before the notice window ends
    assert adapter.fire_due_timers(now=instance.due_at - datetime.timedelta(minutes=1)) == 0
    assert adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1)) == 1
    instance.refresh_from_db()
    assert instance.state == "holding"
    holding = PostAssignment.objects.get()
    assert (holding.post, holding.unit, holding.person.user) == ("civility_monitor", world["grid"],
                                                                 world["users"]["member"])


def test_an_objection_during_the_notice_reopens_the_claim_for_review(world):
    submission = claim(world)
    take(world, submission, "approve", "branch")
    with pytest.raises(adapter.TransitionConflict):
        take(world, submission, "uphold_objection", "branch")  # nothing to review yet: a wrong state, not a refusal
    assert take(world, submission, "object", "neighbour", comment="他从不参加巡查").state == "objection_review"
    instance = FlowInstance.objects.get(submission=submission)
    assert adapter.fire_due_timers(now=timezone.now() + datetime.timedelta(days=30)) == 0  # silence no longer counts
    assert take(world, submission, "uphold_objection", "branch", comment="核实属实").state == "rejected"
    assert not PostAssignment.objects.exists()
    instance.refresh_from_db()
    assert instance.finished_at is not None


def test_a_resident_may_not_claim_a_members_post(world):
    data = {"post": "civility_monitor", "unit": world["grid"].key, "pledge": "x" * 10, "service_times": ["周末"]}
    from engine.services.submissions import SubmissionNotAllowed

    with pytest.raises(SubmissionNotAllowed):
        submit(form=form(world, "post-claim"), data=data, user=world["users"]["neighbour"])


def test_member_registration_puts_the_member_in_the_compounds_roster(world):
    data = {"name": "member", "mobile": "13812345678", "address": {"unit": world["compound"].key, "room": "1-101"},
            "workplace": "区财政局", "party_organisation": "区财政局机关党支部", "teams": ["red_volunteers"],
            "service_times": ["周末"]}
    submission = submit(form=form(world, "member-registration"), data=data, user=world["users"]["member"]).submission
    assert take(world, submission, "confirm", "branch").state == "registered"
    registration = Registration.objects.get()
    assert registration.person.user == world["users"]["member"] and registration.unit == world["compound"]
    assert registration.teams == ["red_volunteers"]
    assert LedgerEntry.objects.filter(person=registration.person).exists()  # the flow's award for registering


def test_redemption_reserves_stock_and_points_hands_out_or_expires(world, monkeypatch):
    monkeypatch.setattr(points, "window_open", lambda window, day: True)
    member = Person.objects.get(user=world["users"]["member"])
    item = StoreItem.objects.filter(community=world["community"]).order_by("cost").first()
    category = points._community_data(world["community"])["points"]["categories"][0]["key"]
    points.award(person=member, category=category, points=item.cost * 2, reason="巡逻")
    stock = item.stock

    def request():
        data = {"item": item.key, "quantity": 1, "collection": "centre"}
        return submit(form=form(world, "redemption"), data=data, user=world["users"]["member"]).submission

    first = request()
    assert take(world, first, "reserve", "worker").state == "reserved"
    item.refresh_from_db()
    assert item.stock == stock - 1 and points.balance(member) == item.cost
    assert take(world, first, "hand_over", "worker").state == "handed_out"
    assert Redemption.objects.get(submission=first).status == Redemption.Status.HANDED_OUT

    second = request()
    take(world, second, "reserve", "worker")
    instance = FlowInstance.objects.get(submission=second)
    # not collected in time: the reminder before the deadline and the expiry both fire
    assert adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1)) == 2
    item.refresh_from_db()
    assert item.stock == stock - 1 and points.balance(member) == item.cost  # stock and points released
    assert Redemption.objects.get(submission=second).status == Redemption.Status.CANCELLED
    assert points.verify_ledger(world["community"]) is None


def test_a_sold_out_reservation_is_refused_with_409_and_nothing_of_the_step_is_kept(world, monkeypatch, client):
    monkeypatch.setattr(points, "window_open", lambda window, day: True)
    member = Person.objects.get(user=world["users"]["member"])
    item = StoreItem.objects.filter(community=world["community"]).order_by("cost").first()
    category = points._community_data(world["community"])["points"]["categories"][0]["key"]
    points.award(person=member, category=category, points=item.cost * 2, reason="巡逻")
    data = {"item": item.key, "quantity": 1, "collection": "centre"}
    submission = submit(form=form(world, "redemption"), data=data, user=world["users"]["member"]).submission
    StoreItem.objects.filter(pk=item.pk).update(stock=0)  # the last one went to someone else meanwhile
    instance = FlowInstance.objects.get(submission=submission)
    events, balance = instance.events.count(), points.balance(member)

    client.force_login(world["users"]["worker"])
    response = client.post(f"/api/v1/submissions/{submission.pk}/transitions/",
                           {"transition": "reserve", "version": instance.version}, content_type="application/json",
                           headers={"accept-language": "zh-hans"})
    assert response.status_code == 409, response.content
    assert response.json()["reason"] == "out_of_stock" and "已兑完" in response.json()["detail"]
    instance.refresh_from_db()
    assert instance.state == "requested" and instance.events.count() == events  # the step was undone
    assert points.balance(member) == balance and not Redemption.objects.filter(submission=submission).exists()

    with pytest.raises(adapter.TransitionRefused) as refused:
        take(world, submission, "reserve", "worker")
    assert refused.value.reason == "out_of_stock" and refused.value.status == 409
