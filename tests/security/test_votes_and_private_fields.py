"""Issue #17, defects 3, 4 and 5: nobody stuffs a vote, an ended role neither votes nor counts, and
fields a form marks private are for the staff in charge (and the submitter) only.

The world is the 三议 proposal of tests/engine/workflow/test_deliberation.py: a proposer, a branch
secretary at the compound, a community worker at the root, ten household representatives."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from engine import policy
from engine.forms.display import without_private
from engine.models import AuditEvent, Ballot, Definition, FlowInstance, OrgUnit, Person, RoleAssignment
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.concurrency import race
from tests.engine.workflow.test_deliberation import close, to_vote, world  # noqa: F401

SUPPORTERS = [{"name": "赵六六", "room": "3号楼201"}, {"name": "钱七七", "room": "5号楼102"}]


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def ballots_url(world):
    return f"/api/v1/submissions/{world['submission'].pk}/ballots/"


def make(world, key, role, unit):
    community = world["submission"].community
    user = get_user_model().objects.create_user(key, password="x" * 12, first_name=key)
    person = Person.objects.create(community=community, user=user, name=key, unit=unit)
    RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
    world["users"][key] = user
    return user


@pytest.fixture
def voting(world):  # noqa: F811
    """The proposal at its vote, with an assignee who holds no staff role, the community's secretary
    (an admin), and a grid leader of another compound (staff, elsewhere)."""
    instance = to_vote(world)
    community = world["submission"].community
    root = OrgUnit.objects.get(community=community, depth=1)
    compound = world["submission"].unit
    other = (OrgUnit.objects.filter(community=community, level="grid").exclude(path__startswith=compound.path)
             .order_by("path").first())
    assignee = make(world, "assignee", "resident", compound)
    FlowInstance.objects.filter(pk=instance.pk).update(assignee=assignee)
    make(world, "secretary", "community_secretary", root)
    make(world, "far_leader", "grid_leader", other)
    instance.refresh_from_db()
    return instance


# ---------------------------------------------------------------- defect 3: ballot stuffing


@pytest.mark.parametrize("who, status", [
    ("proposer", 403),    # the submitter opens the item, and is not staff
    ("assignee", 403),    # so does the assignee
    ("rep0", 403),        # a voter casts their own ballot only
    ("far_leader", 404),  # staff of another unit: the item is not theirs to see
])
def test_only_the_staff_of_the_vote_enter_paper_ballots_and_proxies(world, voting, who, status):  # noqa: F811
    rep1, rep2 = world["reps"][1], world["reps"][2]
    for body in ({"option": "yes", "voter": rep1.pk, "paper": True},
                 {"option": "yes", "voter": rep1.pk, "proxy": rep2.pk},
                 {"option": "no", "voter": rep1.pk}):
        response = api(world["users"][who]).post(ballots_url(world), body, format="json")
        assert response.status_code == status, response.content
        if status == 403:
            assert response.json()["detail"] == ("只有负责本次表决的工作人员可以录入纸质选票和委托投票；"
                                                 "投自己的票只需提交选项")
    assert not Ballot.objects.filter(instance=voting).exists()


@pytest.mark.parametrize("who", ["branch", "worker", "secretary"])
def test_staff_at_or_above_the_items_unit_and_the_communitys_admins_enter_ballots(world, voting, who):  # noqa: F811
    rep1, rep2 = world["reps"][1], world["reps"][2]
    client = api(world["users"][who])
    paper = client.post(ballots_url(world), {"option": "yes", "voter": rep1.pk, "paper": True}, format="json")
    assert paper.status_code == 201, paper.content
    proxy = client.post(ballots_url(world), {"option": "no", "voter": rep2.pk, "proxy": rep1.pk}, format="json")
    assert proxy.status_code == 201, proxy.content
    entered = {b.voter_id: b for b in Ballot.objects.filter(instance=voting)}
    assert entered[rep1.pk].paper and entered[rep1.pk].entered_by == world["users"][who]
    assert entered[rep2.pk].proxy_id == rep1.pk and entered[rep2.pk].entered_by == world["users"][who]
    assert policy.may_enter_ballots(world["users"][who], voting)


def test_the_policy_says_who_enters_ballots(world, voting):  # noqa: F811
    users = world["users"]
    assert [name for name in ("proposer", "assignee", "rep0", "far_leader", "branch", "worker", "secretary")
            if policy.may_enter_ballots(users[name], voting)] == ["branch", "worker", "secretary"]


def test_a_voter_casts_their_own_ballot_and_someone_outside_the_electorate_cannot(world, voting):  # noqa: F811
    assert api(world["users"]["rep0"]).post(ballots_url(world), {"option": "yes"}, format="json").status_code == 201
    refused = api(world["users"]["proposer"]).post(ballots_url(world), {"option": "yes"}, format="json")
    assert refused.status_code == 403 and refused.json()["detail"] == "不在本次表决的选民之列"
    assert list(Ballot.objects.filter(instance=voting).values_list("voter__name", "entered_by__username")) == [
        ("rep0", "rep0")]


@pytest.mark.parametrize("body, pointer", [
    ({"option": "yes", "voter": "rep1", "paper": True}, "/voter"),
    ({"option": "yes", "voter": "REP1", "paper": "yes"}, "/paper"),
    ({"option": "yes", "voter": "REP1", "proxy": True}, "/proxy"),
    ({"option": "yes", "voter": 10 ** 9, "paper": True}, "/voter"),
    ({"option": "yes", "voter": "REP1", "proxy": 10 ** 9}, "/proxy"),
])
def test_bad_ballot_entries_name_the_field_and_write_nothing(world, voting, body, pointer):  # noqa: F811
    body = {k: (world["reps"][1].pk if v == "REP1" else v) for k, v in body.items()}
    response = api(world["users"]["branch"]).post(ballots_url(world), body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == [pointer], response.content
    assert not Ballot.objects.exists()


def test_an_unknown_option_and_a_second_ballot_are_refused_in_words(world, voting):  # noqa: F811
    client = api(world["users"]["branch"])
    rep1 = world["reps"][1].pk
    bad = client.post(ballots_url(world), {"option": "maybe", "voter": rep1, "paper": True}, format="json")
    assert bad.status_code == 400 and bad.json()["detail"] == "请选择一个选项"
    assert client.post(ballots_url(world), {"option": "yes", "voter": rep1, "paper": True}, format="json").status_code == 201
    again = client.post(ballots_url(world), {"option": "no", "voter": rep1, "paper": True}, format="json")
    assert again.status_code == 409 and again.json()["detail"] == "这位选民已经投过票"
    assert list(Ballot.objects.values_list("option", flat=True)) == ["yes"]


@pytest.mark.django_db(transaction=True)
def test_two_ballots_for_one_voter_at_once_make_one(world):  # noqa: F811
    instance = to_vote(world)
    rep = world["reps"][0]
    results, errors = race(2, lambda i: adapter.cast_ballot(instance, voter=rep, option=("yes", "no")[i],
                                                             entered_by=world["users"]["branch"]))
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], adapter.TransitionConflict) and errors[0].reason == "voted"
    assert Ballot.objects.filter(instance=instance, voter=rep).count() == 1


def test_ballots_entered_for_others_are_in_the_history_with_who_entered_them(world, voting, client):  # noqa: F811
    branch, rep1 = world["users"]["branch"], world["reps"][1]
    api(branch).post(ballots_url(world), {"option": "yes", "voter": rep1.pk, "paper": True}, format="json")
    api(world["users"]["rep0"]).post(ballots_url(world), {"option": "no"}, format="json")
    history = api(world["users"]["worker"]).get(f"/api/v1/submissions/{world['submission'].pk}/").json()["history"]
    entered = [e for e in history if e["transition"] == "ballot_entered"]
    assert entered == [{**entered[0], "paper": True, "proxy": False, "voter": "rep1", "entered_by": "branch",
                        "by": "staff"}]  # rep0's own ballot is not listed, and no option is
    assert "option" not in entered[0]
    # the proposer (not staff) reads that a paper ballot was entered, not for whom nor by whom
    mine = api(world["users"]["proposer"]).get(f"/api/v1/submissions/{world['submission'].pk}/").json()["history"]
    assert [{k: e.get(k) for k in ("transition", "voter", "entered_by")} for e in mine
            if e["transition"] == "ballot_entered"] == [{"transition": "ballot_entered", "voter": None, "entered_by": None}]
    client.force_login(world["users"]["worker"])
    page = client.get(f"/items/{world['submission'].pk}/").content.decode()
    assert "录入纸质选票" in page and "选民：rep1；录入人：branch" in page
    client.force_login(world["users"]["proposer"])
    page = client.get(f"/items/{world['submission'].pk}/").content.decode()
    assert "录入纸质选票" in page and "录入人" not in page


def test_the_item_page_takes_only_the_persons_own_ballot(world, voting, client):  # noqa: F811
    """The page's ballot form has no voter: whatever else is posted, the ballot is the poster's."""
    client.force_login(world["users"]["rep0"])
    client.post(f"/items/{world['submission'].pk}/", {"ballot": "yes", "voter": world["reps"][1].pk, "paper": "1"})
    assert list(Ballot.objects.values_list("voter__name", "paper")) == [("rep0", False)]
    client.force_login(world["users"]["proposer"])
    refused = client.post(f"/items/{world['submission'].pk}/", {"ballot": "yes"}, follow=True).content.decode()
    assert "不在本次表决的选民之列" in refused and Ballot.objects.count() == 1


# ---------------------------------------------------------------- defect 4: roles whose end has passed


def _end_role(person, role="household_representative"):
    RoleAssignment.objects.filter(person=person, role=role).update(until=timezone.localdate() - datetime.timedelta(days=1))


def test_an_expired_household_representative_cannot_vote_and_is_not_counted(world, client):  # noqa: F811
    instance = to_vote(world)
    gone = world["reps"][9], world["reps"][8]
    for rep in gone:
        _end_role(rep)
    assert [p.name for p in adapter.electorate(instance, instance.state)] == [f"rep{n}" for n in range(8)]
    url = ballots_url(world)
    assert api(gone[0].user).post(url, {"option": "yes"}, format="json").status_code == 404
    with pytest.raises(adapter.TransitionNotAllowed):  # nor through staff
        adapter.cast_ballot(instance, voter=gone[1], option="yes", paper=True, entered_by=world["users"]["branch"])
    entered = api(world["users"]["branch"]).post(url, {"option": "yes", "voter": gone[1].pk, "paper": True},
                                                 format="json")
    assert entered.status_code == 403 and entered.json()["reason"] == "not_actor"
    client.force_login(gone[0].user)  # and the item page offers no ballot (the item is not theirs to see)
    assert client.get(f"/items/{world['submission'].pk}/").status_code == 404
    # 4 of the 8 still in office meet the quorum of one half: the two whose role ended are not counted
    for rep in world["reps"][:4]:
        assert api(rep.user).post(url, {"option": "yes"}, format="json").status_code == 201
    close(instance)
    instance.refresh_from_db()
    assert instance.state == "adopted"
    tally = AuditEvent.objects.get(instance=instance, transition__startswith="tally:").data
    assert tally["electorate"] == 8 and tally["cast"] == 4


def test_a_representative_whose_role_has_not_begun_cannot_vote_either(world):  # noqa: F811
    instance = to_vote(world)
    rep = world["reps"][0]
    RoleAssignment.objects.filter(person=rep).update(since=timezone.localdate() + datetime.timedelta(days=1))
    assert rep not in adapter.electorate(instance, instance.state)
    assert api(rep.user).post(ballots_url(world), {"option": "yes"}, format="json").status_code == 404


def test_staff_whose_role_ended_enter_no_ballots(world, voting):  # noqa: F811
    _end_role(Person.objects.get(user=world["users"]["branch"]), role="branch_secretary")
    response = api(world["users"]["branch"]).post(ballots_url(world), {"option": "yes", "voter": world["reps"][1].pk,
                                                                       "paper": True}, format="json")
    assert response.status_code == 404 and not Ballot.objects.exists()


# ---------------------------------------------------------------- defect 5: private fields


@pytest.fixture
def supported(world):  # noqa: F811
    """A second proposal, with supporters (names and rooms are private), taken to its vote."""
    form = Definition.objects.get(community=world["submission"].community, kind="form", key="proposal")
    data = {**world["submission"].data, "subject": "增设充电桩", "supporters": SUPPORTERS}
    world["submission"] = submit(form=form, data=data, user=world["users"]["proposer"]).submission
    to_vote(world)
    instance = FlowInstance.objects.get(submission=world["submission"])
    assignee = make(world, "assignee", "resident", world["submission"].unit)
    FlowInstance.objects.filter(pk=instance.pk).update(assignee=assignee)
    make(world, "secretary", "community_secretary", OrgUnit.objects.get(community=instance.community, depth=1))
    return world["submission"]


@pytest.mark.parametrize("who, sees", [
    ("proposer", True), ("branch", True), ("worker", True), ("secretary", True),
    ("rep0", False), ("assignee", False),
])
def test_private_fields_only_for_the_submitter_and_the_staff_in_charge(world, supported, client, who, sees):  # noqa: F811
    user = world["users"][who]
    assert policy.may_see_private(user, supported) is sees
    response = api(user).get(f"/api/v1/submissions/{supported.pk}/")
    if who == "rep0":  # a voter reads the item on its page only (the API's detail is not theirs)
        assert response.status_code == 404 and "赵六六" not in response.content.decode()
    else:
        data = response.json()["data"]
        assert data["subject"] == "增设充电桩"
        assert ("supporters" in data) is sees
        if sees:
            assert data["supporters"] == SUPPORTERS
    client.force_login(user)
    page = client.get(f"/items/{supported.pk}/").content.decode()
    assert "增设充电桩" in page
    for secret in ("赵六六", "3号楼201", "钱七七", "5号楼102"):
        assert (secret in page) is sees, secret


def test_without_private_drops_private_fields_at_any_depth():
    from engine.forms.spec import compile_form

    schema = {"type": "object", "properties": {
        "subject": {"type": "string"},
        "contact": {"type": "object", "properties": {"name": {"type": "string"}, "building": {"type": "string"}}},
        "supporters": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "room": {"type": "string"}}}},
        "phone": {"type": "string"}},
        "x-ui": {"fields": {"contact.name": {"private": True}, "supporters.name": {"private": True},
                            "supporters.room": {"private": True}, "phone": {"private": True}}}}
    spec = compile_form("t", "f", 1, {"definition": schema})
    data = {"subject": "灯", "contact": {"name": "张明", "building": "3号楼"}, "phone": "13800000000",
            "supporters": [{"name": "赵六", "room": "201"}], "extra": 1}
    assert without_private(spec.fields, data) == {"subject": "灯", "contact": {"building": "3号楼"}, "extra": 1}
    assert data["phone"] == "13800000000"  # the data itself is untouched
    only_private = {"contact": {"name": "张明"}}
    assert without_private(spec.fields, only_private) == {}


def test_notifications_carry_no_field_of_the_submission(world, supported):  # noqa: F811
    from engine.models import Notification

    for message in Notification.objects.values_list("message", flat=True):
        for secret in ("赵六六", "3号楼201", "钱七七", "5号楼102"):
            assert secret not in message


def test_the_public_pages_leave_private_fields_out(world, supported):  # noqa: F811
    """A page a flow publishes may name the supporters field: its private names and rooms stay out."""
    from cms.generate import public_details
    from engine.privacy import PrivacyRules

    shown = public_details(supported, ["subject", "supporters", "supporters.name"], PrivacyRules())
    text = " ".join(str(row["value"]) for row in shown)
    assert "增设充电桩" in text
    for secret in ("赵六六", "3号楼201", "钱七七", "5号楼102"):
        assert secret not in text
