"""The flow simulator in the Linli admin: who may open it, stepping through the live version or a
posted draft, hostile drafts refused on their line, nothing ever written, and shadow replay of
real items through a draft — through the HTTP client."""

import json
import re

from django.apps import apps
from django.test import TestCase
from django.utils.html import escape

from engine.definitions.problems import render_message
from engine.models import Definition, OrgUnit, Person, RoleAssignment
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.cms.test_admin_area import client_for, make_people

URL = "/admin/linli/minyue/flow/resident-request/simulate/"
ROLES = ["superuser", "minyue_admin", "zanan_admin", "staff", "resident"]


HOSTILE = [
    ("tag", "flow: resident-request\ntitle: x\nform: !!python/object/apply:os.system ['touch /tmp/pwned']\n", 3,
     render_message("yaml.tag", {"tag": "!!python/object/apply:os.system"})),
    ("alias", "flow: resident-request\nbomb: &a [x, x, x]\nmore: [*a, *a, *a]\n", 2, render_message("yaml.alias", {})),
]


def make_item(users):
    """A real resident request taken through analyse and take_order by the adapter."""
    community = users["minyue_admin"].people.first().community
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    leader, member = users["staff"], users["zanan_admin"]
    RoleAssignment.objects.create(community=community, role="grid_leader", unit=grid,
                                  person=Person.objects.get(community=community, user=leader))
    RoleAssignment.objects.create(community=community, role="member", unit=grid.get_parent(),
                                  person=Person.objects.create(community=community, user=member, name="member"))
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
    submission = submit(form=form, data=data, user=users["resident"]).submission
    instance = submission.flow
    adapter.take(instance_id=instance.pk, name="analyse", user=leader,
                 inputs={"analysis": "属实", "handling_level": "网格办理"})
    adapter.take(instance_id=instance.pk, name="take_order", user=member)
    return submission


def live_source():
    return Definition.objects.get(community__slug="minyue", kind="flow", key="resident-request").live_version.source


def hidden_path(html):
    match = re.search(r'<input type="hidden" name="path" value="([^"]*)">', html)
    return match.group(1).replace("&quot;", '"')


def row_counts():
    """Every row of every engine and cms table (and Wagtail's pages and revisions)."""
    models = [m for m in apps.get_models() if m._meta.app_label in ("engine", "cms", "wagtailcore", "django_tasks")
              and not m._meta.proxy]
    return {m._meta.label: m._default_manager.count() for m in models}


class Simulator(TestCase):
    """One set of people for the whole module (loading the definitions is the slow part); each
    test runs in its own transaction, rolled back after it."""

    @classmethod
    def setUpTestData(cls):
        cls.people = make_people()

    def setUp(self):
        self.users = {key: type(user).objects.get(pk=user.pk) for key, user in self.people.items()}

    # --- who may open it -------------------------------------------------------------------------------

    def test_only_the_communitys_admins_may_simulate_its_flows(self):
        for who in ROLES:
            with self.subTest(who=who):
                client = client_for(self.users[who])
                response = client.get(URL)
                if who == "resident":
                    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
                elif who in ("superuser", "minyue_admin"):
                    assert response.status_code == 200 and "name=\"role\"" in response.content.decode()
                else:
                    missing = client.get("/admin/linli/nowhere/flow/resident-request/simulate/")
                    assert response.status_code == missing.status_code == 404
                    assert response.content == missing.content
                    assert client.post(URL, {"source": live_source()}).status_code == 404

    def test_only_flows_have_a_simulator(self):
        client = client_for(self.users["minyue_admin"])
        assert client.get("/admin/linli/minyue/form/resident-request/simulate/").status_code == 404
        assert client.get("/admin/linli/minyue/flow/no-such-flow/simulate/").status_code == 404

    # --- stepping --------------------------------------------------------------------------------------

    def test_stepping_through_the_live_version_shows_reasons_and_effects(self):
        client = client_for(self.users["minyue_admin"])
        html = client.get(URL).content.decode()
        assert "collected" in html and "只有角色 网格长 (grid_leader)（提交人所在grid）可以办理" in html
        assert 'name="role"' in html and '<option value="grid_leader">' in html

        html = client.post(URL, {"role": "grid_leader", "take": "analyse", "path": ""}).content.decode()
        assert "<code>analysed</code>" in html
        path = hidden_path(html)
        assert json.loads(path) == [{"t": "analyse", "as": {"roles": ["grid_leader"], "submitter": False,
                                                              "assignee": False, "system": ""}}]

        html = client.post(URL, {"role": "member", "take": "take_order", "path": path}).content.decode()
        assert "<code>in_progress</code>" in html
        assert "期限 5个工作日" in html and "逾期上报街道 (escalate)" in html  # the deadline, in words
        assert "通知提交人：您的诉求已有党员接单办理。" in html
        path = hidden_path(html)

        # the clock's step is offered as such and taken by the clock, whatever role is chosen
        html = client.post(URL, {"role": "resident", "take": "escalate", "path": path}).content.decode()
        assert "<code>escalated</code>" in html and "通知角色 开源街道包联干部 (street_liaison)" in html

        html = client.post(URL, {"assignee": "1", "take": "resolve", "path": hidden_path(html)}).content.decode()
        assert "给承办人 +5 积分（类别 红色积分 (red)，规则 resolve_request）" in html

    def test_a_step_not_allowed_is_refused_and_a_forged_path_is_not_trusted(self):
        client = client_for(self.users["minyue_admin"])
        html = client.post(URL, {"role": "resident", "take": "analyse", "path": ""}).content.decode()
        assert "<code>collected</code>" in html and "（not_actor）" in html and "现在不能办理" in html
        forged = json.dumps([{"t": "resolve", "as": {"roles": [], "assignee": True}}])
        html = client.post(URL, {"path": forged}).content.decode()
        assert "<code>collected</code>" in html and "模拟停在这一步之前" in html
        for garbage in ("{", json.dumps([{"t": "analyse", "as": {"roles": ["root"]}}]), "[" * 5000):
            html = client.post(URL, {"path": garbage}).content.decode()
            assert "<code>collected</code>" in html and "已重新开始" in html

    def test_a_real_submission_can_be_the_sample_and_is_shown_masked(self):
        community = self.users["minyue_admin"].people.first().community
        grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
        form = Definition.objects.get(community=community, kind="form", key="resident-request")
        data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
                "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
        submission = submit(form=form, data=data, user=self.users["resident"]).submission
        client = client_for(self.users["minyue_admin"])
        html = client.get(URL).content.decode()
        assert f'<option value="submission:{submission.pk}">' in html
        html = client.post(URL, {"sample": f"submission:{submission.pk}", "update": "1"}).content.decode()
        assert "张明" not in html and "楼道灯坏了" not in html and "张*" in html
        assert "&quot;facilities&quot;" in html  # a choice is not personal

    # --- drafts ----------------------------------------------------------------------------------------

    def test_a_posted_draft_is_simulated_instead_of_the_live_version(self):
        draft = live_source().replace("title: 研判\n", "title: 草稿研判\n", 1)
        html = client_for(self.users["minyue_admin"]).post(URL, {"source": draft, "role": "grid_leader"}).content.decode()
        assert "草稿研判" in html and "正在模拟下面的草稿" in html
        assert '<textarea id="id_source" name="source"' in html

    def test_a_hostile_draft_is_refused_on_its_line_and_nothing_runs(self):
        for name, source, line, message in HOSTILE:
            with self.subTest(name):
                before = row_counts()
                html = client_for(self.users["minyue_admin"]).post(URL, {"source": source}).content.decode()
                assert f"workflows_yaml/minyue/resident-request.flow.yaml:{line}:" in html
                assert escape(message) in html
                row = html[html.index(f'id="line-{line}"'):]
                assert "⚠" in row[:row.index("</tr>")]
                assert 'name="take"' not in html  # no simulation of a refused draft
                assert row_counts() == before

    def test_an_invalid_draft_shows_the_linters_problem_on_its_line(self):
        draft = live_source().replace("to: analysed\n", "to: analysd\n", 1)
        line = draft.splitlines().index("    to: analysd") + 1
        html = client_for(self.users["minyue_admin"]).post(URL, {"source": draft}).content.decode()
        assert f"resident-request.flow.yaml:{line}:" in html and "analysed" in html

    def test_hostile_titles_are_escaped(self):
        script = "<script>alert(1)</script>"
        draft = live_source().replace("title: 研判\n", f"title: \"{script}\"\n", 1).replace(
            "title: 已收集\n", f"title: \"{script}\"\n", 1)
        html = client_for(self.users["minyue_admin"]).post(URL, {"source": draft, "role": "grid_leader"}).content.decode()
        assert script not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        html = client_for(self.users["minyue_admin"]).post(URL, {"source": draft + f"\n# {script}\nbogus: 1\n"}).content.decode()
        assert script not in html

    # --- nothing is written ----------------------------------------------------------------------------

    def test_simulating_writes_nothing(self):
        client = client_for(self.users["minyue_admin"])
        client.get(URL)  # warm caches and sessions before counting
        before = row_counts()
        path = ""
        for role, flags, transition in [("grid_leader", {}, "analyse"), ("member", {}, "take_order"),
                                        ("", {"assignee": "1"}, "resolve"), ("", {"submitter": "1"}, "rate")]:
            html = client.post(URL, {"role": role, "take": transition, "path": path, **flags}).content.decode()
            path = hidden_path(html)
        assert "<code>closed</code>" in html and "+5 积分" in html
        client.post(URL, {"source": live_source(), "take": "analyse", "role": "grid_leader", "replay": "1"})
        assert row_counts() == before

    # --- shadow replay ---------------------------------------------------------------------------------

    def test_shadow_replay_lists_items_whose_path_a_draft_would_break(self):
        submission = make_item(self.users)
        client = client_for(self.users["minyue_admin"])
        same = client.post(URL, {"replay": "1", "months": "3"}).content.decode()
        assert "已回放最近 3 个月的 1 件事项；其中 0 件会不同。" in same
        start = live_source().index("  - name: take_order")
        end = live_source().index("  - name: escalate")
        draft = live_source()[:start] + live_source()[end:]
        before = row_counts()
        html = client.post(URL, {"source": draft, "replay": "1", "months": "3"}).content.decode()
        assert row_counts() == before
        assert "已回放最近 3 个月的 1 件事项；其中 1 件会不同。" in html
        row = html[html.index('class="linli-sim-differs"'):]
        row = row[:row.index("</tr>")]
        assert submission.reference in row and "草稿中没有步骤 take_order" in row
