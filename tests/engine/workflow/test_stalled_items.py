"""No item stalls in silence: a timer whose step is refused (the post filled up during the notice)
takes the state's on_refused when the flow names one, else flags the item for the staff (the
reason on the item page and in the inbox, the admins told, the dashboard counts it) and never
retries for ever. Approving a claim for a post already full — counting the claims waiting out
their notice — is refused up front, naming the post, even when two approvals race."""

import copy
import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from engine.models import (AuditEvent, Community, Definition, FlowInstance, Notification, OrgUnit, Person,
                           PostAssignment, Registration, RoleAssignment, Timer)
from engine.services import org
from engine.services.dashboard import dashboard
from engine.services.submissions import submit
from engine.workflow import adapter, core
from tests.concurrency import race


def make_world():
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    compound = grid.get_parent()
    root = OrgUnit.objects.get(community=community, depth=1)
    users = {}

    def make(key, role, unit):
        user = get_user_model().objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=community, user=user, name=key, unit=grid, is_member=True)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        users[key] = user
        return person

    for n in range(3):
        make(f"member{n}", "member", compound)
    make("branch", "branch_secretary", compound)
    make("secretary", "community_secretary", root)
    make("neighbour", "resident", grid)
    return {"community": community, "grid": grid, "compound": compound, "root": root, "users": users}


@pytest.fixture
def world(db):
    return make_world()


def claim(world, who, post="civility_monitor"):  # civility_monitor: capacity 1 per grid
    form = Definition.objects.get(community=world["community"], kind="form", key="post-claim")
    data = {"post": post, "unit": world["grid"].key, "pledge": "劝导不文明行为，每周巡查两次", "service_times": ["周末"]}
    return submit(form=form, data=data, user=world["users"][who]).submission


def take(world, submission, name, who, **kwargs):
    instance = FlowInstance.objects.get(submission=submission)
    return adapter.take(instance_id=instance.pk, name=name, user=world["users"][who], **kwargs)


def test_approving_a_claim_for_a_post_already_promised_is_refused_up_front_naming_the_post(world, client):
    first, second = claim(world, "member0"), claim(world, "member1")
    assert take(world, first, "approve", "branch").state == "public_notice"
    with pytest.raises(adapter.TransitionRefused) as refused:
        take(world, second, "approve", "branch")
    assert "文明监督岗" in str(refused.value) and "已满" in str(refused.value)
    instance = FlowInstance.objects.get(submission=second)
    assert instance.state == "claimed" and not AuditEvent.objects.filter(instance=instance).exists()
    # the item page says so in Chinese
    client.force_login(world["users"]["branch"])
    page = client.post(reverse("linli_item", kwargs={"pk": second.pk}), {"transition": "approve", "version": 1},
                       follow=True).content.decode()
    assert f"“文明监督岗”在{world['grid'].name}已满 (1 人)" in page
    # a post with two places takes two
    third = claim(world, "member2", post="sanitation")
    other = claim(world, "member0", post="sanitation")
    assert take(world, third, "approve", "branch").state == "public_notice"
    assert take(world, other, "approve", "branch").state == "public_notice"


def fill(world, post="civility_monitor"):
    """Someone else is given the post meanwhile (by hand, outside the flow)."""
    holder = Person.objects.get(user=world["users"]["member2"])
    return PostAssignment.objects.create(community=world["community"], post=post, unit=world["grid"], person=holder,
                                         since=datetime.date(2025, 1, 1))


def test_a_refused_timer_flags_the_item_tells_the_admins_and_is_not_retried(world, client):
    submission = claim(world, "member0")
    take(world, submission, "approve", "branch")
    fill(world)
    instance = FlowInstance.objects.get(submission=submission)
    after = instance.due_at + datetime.timedelta(minutes=1)
    assert adapter.fire_due_timers(now=after) == 1
    instance.refresh_from_db()
    assert instance.state == "public_notice" and instance.stalled_at == after
    assert instance.stalled_reason["transition"] == "confirm" and instance.stalled_reason["code"] == "post_full"
    assert "文明监督岗" in instance.stalled_reason["message"]["zh-hans"]
    assert PostAssignment.objects.filter(person__user=world["users"]["member0"]).count() == 0
    # the timer fired once: not retried, not dropped
    assert Timer.objects.get(instance=instance, transition="confirm").fired_at == after
    assert adapter.fire_due_timers(now=after + datetime.timedelta(days=1)) == 0
    # the admins are told, the member is not
    told = Notification.objects.filter(instance=instance)
    assert {n.user.username for n in told} == {"secretary"}
    assert submission.reference in told.get().message and "文明监督岗" in told.get().message
    event = AuditEvent.objects.get(instance=instance, transition="stalled:confirm")
    assert event.actor_kind == "timer" and "文明监督岗" in event.comment
    # the dashboard counts it
    board = dashboard(world["community"], datetime.date(2020, 1, 1), datetime.date(2030, 1, 1))
    assert board.stalled_tasks == 1
    # the item page and the secretary's inbox show it, in Chinese
    client.force_login(world["users"]["secretary"])
    page = client.get(reverse("linli_item", kwargs={"pk": submission.pk})).content.decode()
    assert "受阻" in page and f"“文明监督岗”在{world['grid'].name}已满" in page and "stalled:" not in page
    inbox = client.get(reverse("linli_inbox")).content.decode()
    assert submission.reference in inbox and "受阻" in inbox
    # the member's neighbour (no admin) is not shown the stalled list
    client.force_login(world["users"]["neighbour"])
    assert submission.reference not in client.get(reverse("linli_inbox")).content.decode()


def test_a_stalled_item_that_moves_on_is_no_longer_flagged(world):
    submission = claim(world, "member0")
    take(world, submission, "approve", "branch")
    fill(world)
    instance = FlowInstance.objects.get(submission=submission)
    adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1))
    take(world, submission, "object", "neighbour", comment="岗位已有人")
    instance.refresh_from_db()
    assert instance.state == "objection_review" and instance.stalled_at is None and instance.stalled_reason == {}
    board = dashboard(world["community"], datetime.date(2020, 1, 1), datetime.date(2030, 1, 1))
    assert board.stalled_tasks == 0


@pytest.fixture
def with_fallback(monkeypatch):
    """post-claim whose notice names a fallback: on_refused: lapse (by timer, to rejected)."""
    real = adapter.compiled
    cache = {}

    def compiled(instance_or_version):
        flow = real(instance_or_version)
        if flow.key != "post-claim":
            return flow
        if "flow" not in cache:
            version = getattr(instance_or_version, "flow_version", instance_or_version)
            data = copy.deepcopy(version.data)
            data["states"]["public_notice"]["on_refused"] = "lapse"
            data["transitions"].append({"name": "lapse", "title": "岗位已满，未能上岗", "from": "public_notice",
                                        "to": "rejected", "by": "timer",
                                        "actions": [{"notify": {"to": "submitter", "message": "岗位已满，本次认岗未能上岗。"}}]})
            cache["flow"] = core.compile_flow(data)
        return cache["flow"]

    monkeypatch.setattr(adapter, "compiled", compiled)


def test_the_flows_fallback_is_taken_when_it_names_one(world, with_fallback):
    submission = claim(world, "member0")
    take(world, submission, "approve", "branch")
    fill(world)
    instance = FlowInstance.objects.get(submission=submission)
    assert adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1)) == 1
    instance.refresh_from_db()
    assert instance.state == "rejected" and instance.finished_at is not None and instance.stalled_at is None
    lapse = AuditEvent.objects.get(instance=instance, transition="lapse")
    assert lapse.actor_kind == "timer" and "“公示期满上岗”未能执行" in lapse.comment and "文明监督岗" in lapse.comment
    assert Notification.objects.filter(instance=instance, user=world["users"]["member0"],
                                       message="岗位已满，本次认岗未能上岗。").exists()


@pytest.mark.django_db(transaction=True)
def test_two_approvals_of_the_last_place_at_once_one_succeeds_the_other_is_refused_naming_the_post():
    from tests.test_production import wagtail_home

    wagtail_home()  # the notice's page needs Wagtail's tree, which an earlier transactional test may have emptied
    world = make_world()
    claims = [claim(world, "member0"), claim(world, "member1")]
    branch = world["users"]["branch"]

    def approve(index):
        instance = FlowInstance.objects.get(submission=claims[index])
        return adapter.take(instance_id=instance.pk, name="approve", user=branch).state

    results, errors = race(2, approve)
    assert results == ["public_notice"], errors
    assert len(errors) == 1 and isinstance(errors[0], adapter.TransitionRefused)
    assert "文明监督岗" in str(errors[0])
    assert FlowInstance.objects.filter(state="public_notice").count() == 1


def test_member_level_registers_the_member_at_the_compound_above_the_grid_they_chose(world):
    form = Definition.objects.get(community=world["community"], kind="form", key="member-registration")
    data = {"name": "member0", "mobile": "13812345678", "address": {"unit": world["grid"].key, "room": "1-101"},
            "workplace": "区财政局", "party_organisation": "区财政局机关党支部", "teams": ["red_volunteers"],
            "service_times": ["周末"]}
    submission = submit(form=form, data=data, user=world["users"]["member0"]).submission
    assert take(world, submission, "confirm", "branch").state == "registered"
    registration = Registration.objects.get()
    assert registration.unit == world["compound"]  # member_level: compound, not the grid chosen


def test_member_level_refuses_a_unit_above_it_and_writes_nothing(world):
    form = Definition.objects.get(community=world["community"], kind="form", key="member-registration")
    data = {"name": "member0", "mobile": "13812345678", "address": {"unit": world["root"].key, "room": "1-101"},
            "workplace": "区财政局", "party_organisation": "区财政局机关党支部", "teams": ["red_volunteers"],
            "service_times": ["周末"]}
    submission = submit(form=form, data=data, user=world["users"]["member0"]).submission
    with pytest.raises(adapter.TransitionRefused) as refused:
        take(world, submission, "confirm", "secretary")
    assert "小区" in str(refused.value) and world["root"].name in str(refused.value)
    assert not Registration.objects.exists()
    assert FlowInstance.objects.get(submission=submission).state == "submitted"


def test_without_member_level_the_unit_chosen_is_kept(world, monkeypatch):
    monkeypatch.setattr(org, "_community_data", lambda community: {})
    assert org.member_unit(world["community"], world["grid"]) == world["grid"]
