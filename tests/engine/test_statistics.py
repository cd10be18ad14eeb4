"""Public statistics against the real database: items are submitted and moved through their
flows by the project's own services, at known moments, so every figure is known exactly.

Minyue (a community of Kaiyuan street), days to resolve in brackets:
  H  submitted 2025-11-30 23:00, withdrawn 2025-12-01 01:00 (1/12) — before the twelve months
  A  submitted 2026-09-01 10:00, withdrawn 2026-09-02 10:00 (1.0)
  B  submitted 2026-10-05 09:00, rated 1 (reopened), rated 5 and closed 2026-10-08 21:00 (3.5)
  C  submitted 2026-11-02 08:00, rated 4 and closed 2026-11-04 08:00 (2.0)
  D  submitted 2026-11-10 09:00, open
Zanan (made a community of Kaiyuan for these tests):
  E  submitted 2026-11-03 12:00, withdrawn 2026-11-03 18:00 (0.25)
  G  submitted 2026-11-01 00:30 local (still October in UTC), open
"""

import datetime
import io
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from engine.models import Community, Definition, DefinitionVersion, FlowInstance, OrgUnit, Person, RoleAssignment
from engine.services import org, statistics
from engine.services.statistics import CommunityFigures, figures
from engine.services.submissions import submit
from engine.workflow import adapter

TZ = datetime.timezone(datetime.timedelta(hours=8))
TODAY = datetime.date(2026, 11, 20)
NOMINATION = {"nomination_type": "self", "nominee_name": "张桂兰", "nominee_unit": "grid_1", "category": "helping",
              "deeds": "十年如一日照顾楼里的孤寡老人，" * 5, "citation": "十年如一日的热心邻居",
              "recommender_mobile": "13812345678", "nominee_consent": True}


def at(*when):
    return time_machine.travel(datetime.datetime(*when, tzinfo=TZ), tick=False)


class World:
    def __init__(self):
        call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "workflows_yaml/zanan",
                     "forms_schemas/minyue", "forms_schemas/zanan", stdout=io.StringIO())
        self.street = Community.objects.get(slug="kaiyuan")
        self.minyue = Community.objects.get(slug="minyue")
        self.zanan = Community.objects.get(slug="zanan")
        Community.objects.filter(pk=self.zanan.pk).update(parent=self.street)
        grid = OrgUnit.objects.filter(community=self.minyue, level="grid").order_by("path").first()
        self.grid = grid
        self.users = {}
        self.resident = self.person(self.minyue, "resident", "resident", grid)
        self.person(self.minyue, "leader", "grid_leader", grid)
        self.handler = self.person(self.minyue, "handler", "member", grid.get_parent())
        self.person(self.zanan, "nominator", None, None)
        self.request_form = Definition.objects.get(community=self.minyue, kind="form", key="resident-request")
        self.nomination_form = Definition.objects.get(community=self.zanan, kind="form", key="model-resident")
        # Zanan's examples have no needs flow: its nominations stand in for a second community's
        # needs here, by a version of the flow that says `counts_as_need: true`.
        flow = Definition.objects.get(community=self.zanan, kind="flow", key="model-resident")
        content = {**flow.live_version.content}
        content["definition"] = {**content["definition"], "counts_as_need": True}
        flow.live_version = DefinitionVersion.objects.create(
            community=self.zanan, definition=flow, number=flow.live_version.number + 1, content=content,
            content_hash="test-counts-as-need")
        flow.save(update_fields=["live_version"])

    def person(self, community, key, role, unit):
        user = get_user_model().objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=community, user=user, name=f"{key} 张明", unit=unit)
        if role:
            RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        self.users[key] = user
        return person

    def request(self, *when):
        data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
                "urgency": "normal", "address": {"unit": self.grid.key}, "contact_name": "张明",
                "contact_preference": "visit"}
        with at(*when):
            return submit(form=self.request_form, data=data, user=self.users["resident"]).submission.flow

    def nomination(self, *when):
        with at(*when):
            return submit(form=self.nomination_form, data=NOMINATION, user=self.users["nominator"]).submission.flow

    def take(self, item, name, who, *when, **inputs):
        with at(*when):
            return adapter.take(instance_id=item.pk, name=name, user=self.users[who], inputs=inputs,
                                comment="已处理" if name in ("resolve", "decline") else "")

    def handle(self, item, *when):
        """Analyse, take the order and resolve, all on the day of `when`."""
        self.take(item, "analyse", "leader", *when, analysis="属实", handling_level="网格办理")
        self.take(item, "take_order", "handler", *when)
        self.take(item, "resolve", "handler", *when)


def build():
    world = World()
    h = world.request(2025, 11, 30, 23, 0)
    world.take(h, "withdraw", "resident", 2025, 12, 1, 1, 0)
    a = world.request(2026, 9, 1, 10, 0)
    world.take(a, "withdraw", "resident", 2026, 9, 2, 10, 0)
    b = world.request(2026, 10, 5, 9, 0)
    world.handle(b, 2026, 10, 6, 9, 0)
    world.take(b, "reopen", "resident", 2026, 10, 7, 9, 0, resolved=False, rating=1, comment="灯还是不亮")
    world.take(b, "resolve", "handler", 2026, 10, 8, 9, 0)
    world.take(b, "rate", "resident", 2026, 10, 8, 21, 0, resolved=True, rating=5)
    c = world.request(2026, 11, 2, 8, 0)
    world.handle(c, 2026, 11, 3, 8, 0)
    world.take(c, "rate", "resident", 2026, 11, 4, 8, 0, resolved=True, rating=4)
    world.request(2026, 11, 10, 9, 0)
    e = world.nomination(2026, 11, 3, 12, 0)
    world.take(e, "withdraw", "nominator", 2026, 11, 3, 18, 0)
    world.nomination(2026, 11, 1, 0, 30)
    # posts: two claimed in grid 1, one of them given up again
    org.claim_post(person=world.handler, post="sanitation", unit=world.grid)
    org.claim_post(person=world.handler, post="mediation", unit=world.grid)
    org.release_post(person=world.handler, post="mediation", unit=world.grid)
    return world


@pytest.fixture
def world(db):
    statistics._DECLARED.clear()
    return build()


def months(**figures_by_month):
    """The twelve months up to TODAY, zero where not given: months(m2026_11=(2, 1))."""
    labels = [f"{2025 + (m > 0)}-{(m - 1) % 12 + 1:02d}" for m in range(0, 12)]
    return tuple((label, *figures_by_month.get("m" + label.replace("-", "_"), (0, 0))) for label in labels)


def test_the_twelve_months_end_with_this_month():
    assert [label for label, *_ in months()] == [
        "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
        "2026-09", "2026-10", "2026-11"]


def test_figures_of_a_community(world):
    stats = figures(world.minyue, today=TODAY)
    assert (stats.received, stats.resolved, stats.resolution_rate) == (5, 4, 0.8)
    assert stats.median_days_to_resolve == 1.5  # even count: (1.0 + 2.0) / 2
    assert (stats.satisfaction, stats.ratings) == (3.3, 3)  # (1 + 5 + 4) / 3, the reopening rating too
    # 9 places per grid (1+1+2+1+2+1+1) in 7 grids; one post held, one given up
    assert (stats.posts_filled, stats.posts_capacity) == (1, 63)
    # H was submitted in November 2025 (outside) and withdrawn in December (inside)
    assert stats.monthly == months(m2025_12=(0, 1), m2026_09=(1, 1), m2026_10=(1, 1), m2026_11=(2, 1))
    assert stats.per_community == ()


def test_figures_of_the_other_community_with_an_odd_count_and_the_local_month(world):
    stats = figures(world.zanan, today=TODAY)
    assert (stats.received, stats.resolved, stats.resolution_rate) == (2, 1, 0.5)
    assert stats.median_days_to_resolve == 0.3  # 0.25, rounded half up
    assert (stats.satisfaction, stats.ratings) == (None, 0)
    assert (stats.posts_filled, stats.posts_capacity) == (0, None)  # zanan declares no posts
    # G was submitted at 00:30 on 1 November in Shanghai (16:30 on 31 October in UTC)
    assert stats.monthly == months(m2026_11=(2, 1))


def test_figures_of_a_street_cover_its_communities(world):
    stats = figures(world.street, today=TODAY)
    assert (stats.received, stats.resolved) == (7, 5)
    assert stats.resolution_rate == 5 / 7
    assert stats.median_days_to_resolve == 1.0  # odd count: 1/12, 0.25, 1.0, 2.0, 3.5
    assert (stats.satisfaction, stats.ratings) == (3.3, 3)
    assert (stats.posts_filled, stats.posts_capacity) == (1, 63)
    assert stats.monthly == months(m2025_12=(0, 1), m2026_09=(1, 1), m2026_10=(1, 1), m2026_11=(4, 2))
    assert stats.per_community == (CommunityFigures("民悦社区", 5, 4, 0.8), CommunityFigures("酂南社区", 2, 1, 0.5))


def test_the_months_follow_today(world):
    stats = figures(world.minyue, today=datetime.date(2026, 10, 1))
    assert [label for label, *_ in stats.monthly][::11] == ["2025-11", "2026-10"]
    # November 2026 is after "today": left out of the months, not of the totals
    assert dict((label, (r, s)) for label, r, s in stats.monthly if r or s) == {
        "2025-11": (1, 0), "2025-12": (0, 1), "2026-09": (1, 1), "2026-10": (1, 1)}
    assert stats.received == 5


def test_an_empty_community_and_an_empty_street(db):
    for community in (Community.objects.create(slug="empty", name="空社区"),
                      Community.objects.create(slug="lonely", name="空街道", kind=Community.Kind.STREET)):
        stats = figures(community, today=TODAY)
        assert (stats.received, stats.resolved, stats.resolution_rate) == (0, 0, None)
        assert (stats.median_days_to_resolve, stats.satisfaction, stats.ratings) == (None, None, 0)
        assert (stats.posts_filled, stats.posts_capacity) == (0, None)
        assert stats.monthly == months() and stats.per_community == ()


def test_a_street_lists_a_community_without_items(world):
    Community.objects.create(slug="xinjian", name="新建社区", parent=world.street)
    stats = figures(world.street, today=TODAY)
    assert [row.name for row in stats.per_community] == ["民悦社区", "新建社区", "酂南社区"]  # by identifier
    assert stats.per_community[1] == CommunityFigures("新建社区", 0, 0, None)
    assert stats.received == 7


def test_a_few_queries_however_many_items_communities_and_months(world, django_assert_max_num_queries):
    # a third community and more items cost no more queries
    world.request(2026, 6, 1, 9, 0)
    Community.objects.create(slug="xinjian", name="新建社区", parent=world.street)
    statistics._DECLARED.clear()  # the community files are read on the first call only
    # (each budget holds one query for the community's time zone: months are its local months)
    with django_assert_max_num_queries(11):
        stats = figures(world.street, today=TODAY)
    assert stats.received == 8
    with django_assert_max_num_queries(10):
        figures(world.street, today=TODAY)
    with django_assert_max_num_queries(9):
        figures(world.minyue, today=TODAY)


def test_no_personal_data_in_the_figures(world):
    shown = repr(figures(world.street, today=TODAY))
    assert "张明" not in shown and "灯" not in shown and "resident" not in shown
    assert not re.search(r"[A-Z]{2}\d{6,}", shown)  # no reference numbers


def test_only_flows_that_count_as_needs_are_counted(world):
    before = figures(world.minyue).received
    claim = Definition.objects.get(community=world.minyue, kind="flow", key="post-claim")
    assert not claim.live_version.data.get("counts_as_need")
    instance = FlowInstance.objects.filter(community=world.minyue).first()
    # the same item under a post claim's flow is a flow item, not a resident's need
    FlowInstance.objects.filter(pk=instance.pk).update(flow=claim)
    assert figures(world.minyue).received == before - 1
