"""The org tree, posts with capacity, 双报到 and the roster import."""

import io

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from engine.models import Community, OrgUnit, Person, PostAssignment, RoleAssignment
from engine.services import org, roster
from tests.concurrency import race


@pytest.fixture
def minyue(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO())
    return Community.objects.get(slug="minyue")


def test_the_tree_follows_community_yaml_with_its_own_levels(minyue):
    root = OrgUnit.objects.get(community=minyue, depth=1)
    assert root.level == "general_branch"
    levels = set(OrgUnit.objects.filter(community=minyue).values_list("level", flat=True))
    assert {"general_branch", "compound", "grid"} <= levels
    grid = OrgUnit.objects.filter(community=minyue, level="grid").first()
    assert grid.get_parent().level == "compound"


def test_a_unit_covering_another_reaches_its_subtree(minyue):
    spanning = OrgUnit.objects.filter(community=minyue).exclude(covers=None).first()
    covered = spanning.covers.first()
    inside = set(org.units_within(spanning).values_list("key", flat=True))
    assert covered.key in inside and spanning.key in inside


def test_a_unit_removed_from_the_file_is_deactivated_not_deleted(minyue):
    from engine.definitions.publishing import publish_definitions  # noqa: F401  (the sync runs on publish)

    data = minyue.definitions.get(kind="community").live_version.data
    pruned = {**data, "units": [{**data["units"][0], "children": data["units"][0]["children"][:1]}]}
    org.sync_org_tree(minyue, pruned)
    assert OrgUnit.objects.filter(community=minyue, active=False).exists()
    assert OrgUnit.objects.filter(community=minyue).count() >= OrgUnit.objects.filter(community=minyue, active=True).count()


def _post(community):
    data = community.definitions.get(kind="community").live_version.data
    return next(p for c in data["posts"]["categories"] for p in c["posts"])


def _unit_for(community, post):
    level = post.get("level")
    query = OrgUnit.objects.filter(community=community, active=True)
    return (query.filter(level=level) if level else query).first()


def _eligible_person(community, post, name="党员"):
    person = Person.objects.create(community=community, name=name, is_member=True)
    for role in post.get("eligible", [])[:1]:
        RoleAssignment.objects.create(community=community, person=person, role=role,
                                      unit=OrgUnit.objects.get(community=community, depth=1))
    return person


def test_claiming_a_post_respects_level_eligibility_and_capacity(minyue):
    post = _post(minyue)
    unit = _unit_for(minyue, post)
    holders = [org.claim_post(person=_eligible_person(minyue, post, f"党员{n}"), post=post["key"], unit=unit)
               for n in range(post["capacity"])]
    assert len(holders) == post["capacity"]
    with pytest.raises(org.PostFull) as info:
        org.claim_post(person=_eligible_person(minyue, post, "晚来者"), post=post["key"], unit=unit)
    assert "已满" in info.value.text("zh-hans")
    with pytest.raises(org.AlreadyHolds):
        org.claim_post(person=holders[0].person, post=post["key"], unit=unit)
    org.release_post(person=holders[0].person, post=post["key"], unit=unit)
    org.claim_post(person=_eligible_person(minyue, post, "补上"), post=post["key"], unit=unit)
    if post.get("eligible"):
        with pytest.raises(org.NotEligible):
            org.claim_post(person=Person.objects.create(community=minyue, name="居民"), post=post["key"], unit=unit)


def test_the_post_board_lists_holders_under_a_unit(minyue):
    post = _post(minyue)
    unit = _unit_for(minyue, post)
    person = _eligible_person(minyue, post)
    org.claim_post(person=person, post=post["key"], unit=unit)
    root = OrgUnit.objects.get(community=minyue, depth=1)
    assert [(u.key, p, [x.name for x in people]) for u, p, people in org.post_board(root)] == [
        (unit.key, post["key"], ["党员"])]


def test_member_registration_puts_them_in_the_compounds_roster_with_posts_and_teams(minyue):
    compound = OrgUnit.objects.filter(community=minyue, level="compound").first()
    person = Person.objects.create(community=minyue, name="在职党员", is_member=True)
    org.register_member(person=person, unit=compound, teams=["patrol"])
    org.register_member(person=person, unit=compound, teams=["patrol", "clean"])  # once, updated
    (entry,) = org.roster(compound)
    assert entry["person"] == person and entry["teams"] == ["patrol", "clean"]


@pytest.mark.django_db(transaction=True)
def test_racing_claims_never_exceed_capacity():
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO())
    minyue = Community.objects.get(slug="minyue")
    post = _post(minyue)
    unit = _unit_for(minyue, post)
    people = [_eligible_person(minyue, post, f"p{n}") for n in range(post["capacity"] + 5)]
    claimed, errors = race(len(people), lambda i: org.claim_post(person=people[i], post=post["key"], unit=unit))
    assert [e for e in errors if not isinstance(e, org.PostFull)] == []  # the late ones hear "full"
    assert len(claimed) == post["capacity"]
    assert PostAssignment.objects.filter(post=post["key"], unit=unit, until__isnull=True).count() == post["capacity"]


# ---------------------------------------------------------------- roster


def roles_and_units(community):
    data = community.definitions.get(kind="community").live_version.data
    role = next(r for r in data["roles"] if r.get("level") == "grid")
    grid = OrgUnit.objects.filter(community=community, level="grid").first()
    return role, grid


def test_a_roster_dry_run_lists_every_bad_row_and_writes_nothing(minyue):
    role, grid = roles_and_units(minyue)
    content = (f"姓名,手机,单位,角色,编号\n张明,13812345678,{grid.key},{role['key']},A1\n"
               f",1381234,{grid.key},,A2\n李华,,不存在的楼,{role['key']},A1\n").encode("utf-8")
    rows, problems = roster.check(minyue, "名单.csv", content)
    assert [str(p) for p in problems] == [
        "第3行 姓名: 姓名不能为空",
        "第3行 手机: “1381234”不是11位手机号码",
        "第4行 单位: 单位“不存在的楼”不存在",
        "第4行 单位: 有角色的人必须写明在哪个单位",
        "第4行 编号: 编号“A1”与第2行重复",
    ]
    written, _ = roster.import_roster(minyue, "名单.csv", content)
    assert written == 0 and not Person.objects.exists()


def test_a_clean_excel_roster_is_imported_whole_and_a_second_import_updates(minyue):
    role, grid = roles_and_units(minyue)
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "单位", "角色", "编号", "党员"])
    sheet.append(["张明", "13812345678", grid.name, role["title"] if isinstance(role["title"], str)
                  else role["title"]["zh-hans"], "A1", "是"])
    sheet.append(["李华", None, grid.key, None, "A2", "否"])
    buffer = io.BytesIO()
    book.save(buffer)
    written, problems = roster.import_roster(minyue, "roster.xlsx", buffer.getvalue())
    assert (written, problems) == (2, [])
    zhang = Person.objects.get(external_id="A1")
    assert zhang.is_member and zhang.unit == grid and zhang.roles.get().role == role["key"]
    roster.import_roster(minyue, "roster.xlsx", buffer.getvalue())
    assert Person.objects.count() == 2 and RoleAssignment.objects.count() == 1


def test_import_roster_command_is_a_dry_run_by_default(minyue, tmp_path):
    role, grid = roles_and_units(minyue)
    path = tmp_path / "roster.csv"
    path.write_text(f"name,unit,role\n王五,{grid.key},{role['key']}\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_roster", "minyue", str(path), stdout=out)
    assert "1 rows OK (dry run" in out.getvalue() and not Person.objects.exists()
    call_command("import_roster", "minyue", str(path), "--commit", stdout=out)
    assert Person.objects.get().name == "王五"


ROSTER = ("姓名,手机,单位,角色,截止,邀请,编号\n"
          "王网格,13900007001,grid_1,grid_leader,2099-06-30,是,\n"
          "王网格,13900007001,grid_1,building_head,,是,\n"
          "陈书记,13900007002,minyue,community_worker,,否,B7\n"
          "刘商户,,,merchant,,,\n")


def test_a_roster_gives_roles_with_end_dates_and_invites_and_a_second_import_changes_nothing(
        minyue, settings, django_capture_on_commit_callbacks):
    from engine import sms
    from engine.models import PeopleChange

    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        summary, problems = roster.import_roster_summary(minyue, "roster.csv", ROSTER.encode())
    assert problems == []
    assert (summary.created, summary.roles, summary.invited) == (3, 4, 1)
    wang = Person.objects.get(phone="13900007001")
    assert sorted(wang.roles.values_list("role", flat=True)) == ["building_head", "grid_leader"]
    assert str(wang.roles.get(role="grid_leader").until) == "2099-06-30"
    assert wang.user is not None and wang.user.username == "13900007001"
    assert [m.phone for m in sms.outbox] == ["13900007001"]
    merchant = Person.objects.get(name="刘商户").roles.get()
    assert merchant.unit.depth == 1 and merchant.organisation == "zhongxiang_alliance"
    state = (Person.objects.count(), RoleAssignment.objects.count(), PeopleChange.objects.count())
    again, problems = roster.import_roster_summary(minyue, "roster.csv", ROSTER.encode())
    assert problems == [] and not again.changed
    assert (Person.objects.count(), RoleAssignment.objects.count(), PeopleChange.objects.count()) == state
    assert len(sms.outbox) == 1
    # a changed end date is an update, not a second role
    changed = ROSTER.replace("2099-06-30", "2098-01-01")
    third, _ = roster.import_roster_summary(minyue, "roster.csv", changed.encode())
    assert third.roles == 1 and RoleAssignment.objects.count() == state[1]


def test_a_roster_refuses_one_number_for_two_people_and_bad_dates(minyue):
    Person.objects.create(community=minyue, name="老住户", phone="13900007009", external_id="Z9")
    content = ("姓名,手机,单位,角色,截止,邀请,编号\n"
               "甲,13900007003,grid_1,,,,\n"
               "乙,13900007003,grid_2,,,,C2\n"
               "丙,13900007009,grid_1,,,,C3\n"
               "丁,,grid_1,grid_leader,明年,,\n"
               "戊,,grid_1,grid_leader,2001-01-01,也许,\n"
               "己,,grid_1,,,是,\n").encode()
    rows, problems = roster.check(minyue, "r.csv", content)
    assert [str(p) for p in problems] == [
        "第5行 截止: “明年”不是日期, 请写成2027-06-30这样",
        "第6行 截止: 截止日期2001-01-01已经过去",
        "第6行 邀请: “也许”应为“是”或“否”",
        "第7行 手机: 邀请需要手机号码",
    ]
    rows, problems = roster.check(minyue, "r.csv", content.replace("明年".encode(), b"").replace(
        "2001-01-01,也许".encode(), b",").replace("己,,grid_1,,,是".encode(), "己,,grid_1,,,".encode()))
    assert [str(p) for p in problems] == ["第3行 手机: 手机号与第2行（甲）相同", "第4行 手机: 手机号已登记给老住户"]
    assert not Person.objects.exclude(name="老住户").exists()


def test_the_import_command_reports_what_changed_and_who_imported(minyue, tmp_path, django_user_model):
    from engine.models import PeopleChange

    admin = django_user_model.objects.create_user("importer", password="x" * 12)
    path = tmp_path / "roster.csv"
    path.write_text("姓名,单位,角色\n赵六,grid_1,grid_leader\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_roster", "minyue", str(path), "--commit", "--by", "importer", stdout=out)
    assert "1 people added" in out.getvalue() and "1 roles given" in out.getvalue()
    assert PeopleChange.objects.get(action="import").actor == admin
    call_command("import_roster", "minyue", str(path), "--commit", stdout=out)
    assert "(nothing changed)" in out.getvalue()
