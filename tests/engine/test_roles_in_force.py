"""Every reader of role assignments counts only the roles in force (policy.current_assignments):
a vote's electorate, the page reviewers' group, an honour roll's audience, the simulator's shadow
replay — and the replay follows a step taken standing in for a vacant role."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from cms.admin_simulator import shadow_replay
from engine.models import Community, Definition, FlowInstance, OrgUnit, Person, RoleAssignment
from engine.services import honours, points
from engine.services.submissions import submit
from engine.workflow import adapter, core
from engine.workflow.simulate import Vocabulary, actor_words

TODAY = timezone.localdate
YESTERDAY = lambda: timezone.localdate() - datetime.timedelta(days=1)  # noqa: E731


@pytest.fixture
def minyue(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO(), stderr=io.StringIO())
    return Community.objects.get(slug="minyue")


def person(community, key, role=None, unit=None, **assignment):
    user = get_user_model().objects.create_user(key, password="x" * 12, first_name=key)
    found = Person.objects.create(community=community, user=user, name=key, unit=unit)
    if role:
        RoleAssignment.objects.create(community=community, person=found, role=role, unit=unit, **assignment)
    return found


def request(community, resident, unit):
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": unit.key}, "contact_name": "张明", "contact_preference": "visit"}
    return submit(form=form, data=data, user=resident.user).submission


def test_a_representative_whose_term_ended_is_not_in_the_electorate(minyue):
    compound = OrgUnit.objects.get(key="tongxingyuan")
    grid = OrgUnit.objects.get(key="grid_1")
    proposer = person(minyue, "proposer", "resident", grid)
    sitting = person(minyue, "sitting", "household_representative", compound)
    person(minyue, "former", "household_representative", compound, until=YESTERDAY())
    person(minyue, "future", "household_representative", compound, since=TODAY() + datetime.timedelta(days=3))
    form = Definition.objects.get(community=minyue, kind="form", key="proposal")
    data = {"topic_type": "facilities", "subject": "加装电梯", "background": "老人多，上下楼困难，希望加装电梯。",
            "content": "在3号楼加装电梯一部，由住户按楼层分摊费用。", "funding": "owners_share", "estimated_cost": 480000}
    instance = submit(form=form, data=data, user=proposer.user).submission.flow
    assert adapter.electorate(instance, "assembly_vote") == [sitting]


def test_the_page_reviewers_are_the_reviewer_roles_current_holders(minyue):
    from cms.generate import ensure_moderation

    root = OrgUnit.objects.get(community=minyue, depth=1)
    current = person(minyue, "current", "community_secretary", root)
    person(minyue, "former", "community_secretary", root, until=YESTERDAY())
    ensure_moderation(minyue)
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="minyue: page reviewers")
    assert list(group.user_set.all()) == [current.user]


def test_an_honour_rolls_audience_is_those_holding_the_role_on_the_periods_last_day(minyue):
    grid = OrgUnit.objects.get(key="grid_1")
    roll = next(r for r in honours.community_data(minyue)["honour_rolls"] if r["key"] == "service_star")
    period = honours.period_of(roll, TODAY())
    last_day = period.end - datetime.timedelta(days=1)
    holder = person(minyue, "holder", "member", grid.get_parent())
    left_before = person(minyue, "left_before", "member", grid.get_parent(),
                         until=min(TODAY(), last_day) - datetime.timedelta(days=1))
    resident = person(minyue, "resident", "resident", grid)
    for someone in (holder, left_before, resident):
        points.award(person=someone, reason="巡逻", points=30, category="red")
    chosen = {c.person for c in honours.candidates_from_points(minyue, roll, period)}
    assert chosen == {holder}


def test_shadow_replay_follows_a_step_taken_standing_in_for_a_vacant_role(minyue):
    root, grid = OrgUnit.objects.get(community=minyue, depth=1), OrgUnit.objects.get(key="grid_1")
    secretary = person(minyue, "secretary", "community_secretary", root)
    member = person(minyue, "member", "member", grid.get_parent())
    resident = person(minyue, "resident", "resident", grid)
    submission = request(minyue, resident, grid)
    instance = FlowInstance.objects.get(submission=submission)
    adapter.take(instance_id=instance.pk, name="analyse", user=secretary.user,  # nobody leads grid_1
                 inputs={"analysis": "属实", "handling_level": "网格办理"})
    adapter.take(instance_id=instance.pk, name="take_order", user=member.user)
    record = Definition.objects.get(community=minyue, kind="flow", key="resident-request")
    result = shadow_replay(record, record.live_version.data, 3, "zh-hans")
    assert result["count"] == 1 and result["differing"] == []


def test_the_simulator_says_whom_a_flow_names_to_stand_in():
    actor = core.Actor("role", role=core.RoleActor("grid_leader", "submitter_unit", "grid",
                                                     fallback="community_worker"))
    words = actor_words(actor, Vocabulary(roles={"grid_leader": "网格长", "community_worker": "社区“两委”成员"}))
    assert words["zh-hans"] == ("角色 网格长 (grid_leader)（提交人所在grid）（空缺时由 社区“两委”成员 (community_worker) 代办，"
                                "再空缺时由社区管理员代办）")
    assert words["en"].endswith("(when vacant: 社区“两委”成员 (community_worker), then the community's admins)")
    plain = actor_words(core.Actor("role", role=core.RoleActor("grid_leader")), Vocabulary())
    assert plain == {"zh-hans": "角色 grid_leader", "en": "role grid_leader"}
