"""三议: a resident proposes, the three reds countersign, the household representatives vote —
a vote that passes, one that fails, one without a quorum; paper ballots and proxies by staff."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from engine.models import AuditEvent, Community, Definition, FlowInstance, OrgUnit, Person, RoleAssignment
from engine.services.submissions import submit
from engine.workflow import adapter


@pytest.fixture
def world(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    compound = OrgUnit.objects.filter(community=community, level="compound").order_by("path").first()
    root = OrgUnit.objects.get(community=community, depth=1)
    User = get_user_model()
    users, reps = {}, []

    def make(key, role, unit, home=None):
        user = User.objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=community, user=user, name=key, unit=home or compound)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        users[key] = user
        return person

    make("proposer", "resident", OrgUnit.objects.filter(community=community, level="grid", path__startswith=compound.path).first())
    make("branch", "branch_secretary", compound)
    make("owners", "owners_committee_member", compound)
    make("worker", "community_worker", root)
    for n in range(10):
        reps.append(make(f"rep{n}", "household_representative", compound))
    form = Definition.objects.get(community=community, kind="form", key="proposal")
    data = {"topic_type": "facilities", "subject": "加装电梯", "background": "老人多，上下楼困难，希望加装电梯。",
            "content": "在3号楼加装电梯一部，由住户按楼层分摊费用。", "funding": "owners_share", "estimated_cost": 480000}
    submission = submit(form=form, data=data, user=users["proposer"]).submission
    return {"users": users, "reps": reps, "submission": submission}


def to_vote(world):
    instance = FlowInstance.objects.get(submission=world["submission"])
    adapter.take(instance_id=instance.pk, name="accept", user=world["users"]["branch"])
    seats = ["branch", "owners", "worker"]
    for n, who in enumerate(seats):
        instance = adapter.take(instance_id=instance.pk, name="approve_for_assembly", user=world["users"][who])
        assert instance.state == ("assembly_vote" if n == len(seats) - 1 else "committee_review")
    return instance


def test_the_countersign_needs_every_seat_and_one_person_cannot_sign_twice(world):
    instance = FlowInstance.objects.get(submission=world["submission"])
    adapter.take(instance_id=instance.pk, name="accept", user=world["users"]["branch"])
    adapter.take(instance_id=instance.pk, name="approve_for_assembly", user=world["users"]["branch"])
    with pytest.raises(adapter.TransitionConflict):
        adapter.take(instance_id=instance.pk, name="approve_for_assembly", user=world["users"]["branch"])
    with pytest.raises(adapter.TransitionNotAllowed):
        adapter.take(instance_id=instance.pk, name="approve_for_assembly", user=world["users"]["rep0"])
    instance.refresh_from_db()
    assert instance.state == "committee_review" and len(instance.signatures["approve_for_assembly"]) == 1


def vote(world, instance, options, paper=()):
    client = APIClient()
    for rep, option in zip(world["reps"], options):
        if rep.name in paper:
            client.force_authenticate(world["users"]["branch"])
            body = {"option": option, "voter": rep.pk, "paper": True}
        else:
            client.force_authenticate(rep.user)
            body = {"option": option}
        response = client.post(f"/api/v1/submissions/{world['submission'].pk}/ballots/", body, format="json")
        assert response.status_code == 201, response.content


def close(instance):
    return adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1))


def test_a_vote_that_passes_is_adopted_with_its_tally(world):
    instance = to_vote(world)
    vote(world, instance, ["yes"] * 5 + ["no"] * 2, paper={"rep3"})
    assert close(instance) == 1
    instance.refresh_from_db()
    assert instance.state == "adopted"
    tally = AuditEvent.objects.get(instance=instance, transition="tally:resolution_passed").data
    assert tally == {"electorate": 10, "cast": 7, "counts": {"yes": 5, "no": 2, "abstain": 0}, "outcome": "passed",
                     "paper": 1, "proxy": 0}


def test_a_tie_fails(world):
    instance = to_vote(world)
    vote(world, instance, ["yes"] * 3 + ["no"] * 3)
    close(instance)
    instance.refresh_from_db()
    assert instance.state == "not_adopted"


def test_too_few_ballots_miss_the_quorum(world):
    instance = to_vote(world)
    vote(world, instance, ["yes"] * 4)  # 4 of 10 is under half
    close(instance)
    instance.refresh_from_db()
    assert instance.state == "awaiting_reconvene"


def test_one_ballot_per_voter_and_none_after_the_window(world):
    instance = to_vote(world)
    rep = world["reps"][0]
    adapter.cast_ballot(instance, voter=rep, option="yes")
    with pytest.raises(adapter.TransitionConflict):
        adapter.cast_ballot(instance, voter=rep, option="no")
    with pytest.raises(adapter.TransitionConflict) as info:
        adapter.cast_ballot(instance, voter=world["reps"][1], option="yes",
                            now=instance.due_at + datetime.timedelta(seconds=1))
    assert info.value.reason == "vote_closed"
    outsider = Person.objects.get(user=world["users"]["proposer"])
    with pytest.raises(adapter.TransitionNotAllowed):
        adapter.cast_ballot(instance, voter=outsider, option="yes")


def test_a_representative_votes_on_the_items_page(world, client):
    instance = to_vote(world)
    rep = world["reps"][0]
    client.force_login(rep.user)
    page = client.get(f"/items/{world['submission'].pk}/").content.decode()
    assert 'name="ballot" value="yes"' in page and "同意" in page
    done = client.post(f"/items/{world['submission'].pk}/", {"ballot": "yes"}, follow=True).content.decode()
    assert "已投票" in done
    again = client.post(f"/items/{world['submission'].pk}/", {"ballot": "no"}, follow=True).content.decode()
    assert "您已投过票" in again
    from engine.models import Ballot

    assert list(Ballot.objects.filter(instance=instance).values_list("option", flat=True)) == ["yes"]
