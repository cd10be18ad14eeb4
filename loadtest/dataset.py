"""The city of the load test, written quickly: definitions as files, then people, roles, history,
points and pages bulk-written in the throwaway database.

Definitions: the kaiyuan street, and under it `City.communities` copies of Minyue's forms and
flows (slugs city-01, city-02, ...) whose community.yaml gets a generated org tree — general
branch → compounds → grids → buildings (Minyue's two household levels become one `building`
level) — and a store open all year with the rush item; plus bench/forms_http.py's one-step
`benchville` form, for the form comparison with Wagtail's form builder. All of them pass
`check_definitions` and are published by `load_definitions`, as an admin would.

Rows: accounts share one precomputed password hash and get an API token each (bulk); people
live in buildings; the reviewers hold their roles at the right units; a year of resident
requests (submissions, flow instances and the audit events of the steps they went through,
dated over the past year); points this quarter through `engine.services.points.award` (one
transaction per community, so the chain is the real one); the public pages of each community
(bench/publishing.py's post holdings and honour rolls, a few announcements).
"""

from __future__ import annotations

import datetime
import random
import secrets
import shutil
import time
from pathlib import Path

import yaml

from bench import forms_http, publishing

from .profile import City, Profile

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "linli-load-2026"  # every account's (one hash, computed once)
STREET = "kaiyuan"
RUSH_ITEM = "rush_item"
REQUEST_FORM = "resident-request"
REDEEM_FORM = "redemption"


def slug_of(n):
    return f"city-{n + 1:02d}"


# ---------------------------------------------------------------- definitions


def write_definitions(target: Path, profile: Profile):
    """The definition folders (forms, flows) of the run."""
    forms, flows = forms_http.write_definitions(target)  # benchville, _shared
    shutil.copytree(ROOT / "workflows_yaml" / STREET, flows / STREET)
    source = yaml.safe_load((ROOT / "workflows_yaml" / "minyue" / "community.yaml").read_text(encoding="utf-8"))
    for n in range(profile.city.communities):
        slug = slug_of(n)
        shutil.copytree(ROOT / "forms_schemas" / "minyue", forms / slug)
        shutil.copytree(ROOT / "workflows_yaml" / "minyue", flows / slug)
        data = city_community(source, slug, n, profile)
        (flows / slug / "community.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
    return forms, flows


def city_community(source: dict, slug: str, n: int, profile: Profile) -> dict:
    city = profile.city
    data = dict(source)
    data["community"] = slug
    data["name"] = {"zh-hans": f"城{n + 1:02d}社区", "en": f"City community {n + 1:02d}"}
    data["description"] = "负载测试用社区：民悦社区的表单和流程，生成的组织树。"
    levels = [lv for lv in source["levels"] if lv["key"] not in ("member_household", "resident_household")]
    data["levels"] = levels + [{"key": "building", "title": "楼栋长", "unit_title": "楼栋"}]
    data["roles"] = [r for r in source["roles"] if r.get("level") not in ("member_household", "resident_household")]
    compounds = []
    for c in range(city.compounds):
        grids = []
        for g in range(city.grids_per_compound):
            buildings = [{"id": f"c{c + 1}_g{g + 1}_b{b + 1:02d}", "name": f"{c + 1}区{g + 1}网格{b + 1}号楼",
                          "level": "building"} for b in range(city.buildings_per_grid)]
            grids.append({"id": f"c{c + 1}_g{g + 1}", "name": f"第{c + 1}小区第{g + 1}网格", "level": "grid",
                          "children": buildings})
        compounds.append({"id": f"c{c + 1}", "name": f"第{c + 1}小区", "level": "compound", "children": grids})
    data["units"] = [{"id": slug.replace("-", ""), "name": f"城{n + 1:02d}社区党总支", "level": "general_branch",
                      "children": compounds}]
    store = dict(source["points"]["store"])
    store["window"] = {"months": list(range(1, 13)), "from": 1, "days": 31}  # open all year
    store["items"] = [{"key": RUSH_ITEM, "title": "限量福利米面油套装", "kind": "goods", "cost": 50,
                       "stock": profile.rush.stock, "per_person": 1}] + list(store["items"])
    data["points"] = {**source["points"], "store": store}
    return data


# ---------------------------------------------------------------- rows


def build(profile: Profile, log=print):
    """Migrate, publish the definitions, and write the city. Returns seconds per step."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from engine.models import Community

    timings = {}
    started = time.monotonic()
    site = forms_http.set_up_site()  # migrate, check and publish every definition, the two form pages
    timings["migrate and publish definitions"] = time.monotonic() - started
    rng = random.Random(20261122)
    password = make_password(PASSWORD)
    User = get_user_model()
    per_community_people = profile.city.people // profile.city.communities
    per_community_accounts = profile.city.accounts // profile.city.communities
    for n in range(profile.city.communities):
        step = time.monotonic()
        community = Community.objects.get(slug=slug_of(n))
        marks = [time.monotonic()]
        people = _people(community, n, per_community_people, per_community_accounts, password, rng, User)
        marks.append(time.monotonic())
        reviewers = _roles(community, profile.city, people)
        _history(community, profile.city, people, reviewers, rng)
        marks.append(time.monotonic())
        _points(community, profile, people, reviewers, rng, rush=(n == 0))
        marks.append(time.monotonic())
        _pages(community, profile.city, reviewers, rng)
        marks.append(time.monotonic())
        steps = ", ".join(f"{name} {b - a:.1f} s" for name, a, b in
                          zip(("people", "roles and history", "points", "pages"), marks, marks[1:]))
        log(f"  {community.slug}: {len(people)} people, {profile.city.reviewers} reviewers ({steps})")
    timings["people, roles, history, points, pages"] = time.monotonic() - started - sum(timings.values())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE") if connection.vendor == "postgresql" and not connection.in_atomic_block \
            else None
    timings["total"] = time.monotonic() - started
    return site, timings


def _people(community, n, count, accounts, password, rng, User):
    from rest_framework.authtoken.models import Token

    from engine.models import OrgUnit, Person

    buildings = list(OrgUnit.objects.filter(community=community, level="building").order_by("path"))
    users = User.objects.bulk_create(
        [User(username=f"c{n + 1:02d}u{i:06d}", password=password, first_name=_name(rng)) for i in range(accounts)],
        batch_size=5000)
    Token.objects.bulk_create([Token(key=secrets.token_hex(20), user=u) for u in users], batch_size=5000)
    batch = []
    for i in range(count):
        user = users[i] if i < accounts else None
        batch.append(Person(
            community=community, user=user, name=user.first_name if user else _name(rng),
            phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}", unit=buildings[i % len(buildings)],
            is_member=False, show_name_publicly=rng.random() < 0.25, honour_roll_consent=rng.random() < 0.5,
            contact_consent=rng.random() < 0.3, external_id=f"P{i:06d}"))
    # bulk_create sends no post_save: the cache purges of engine/cms signals are not needed here
    return Person.objects.bulk_create(batch, batch_size=5000)


def _name(rng):
    return rng.choice(publishing.SURNAMES) + "".join(rng.choice(publishing.GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _roles(community, city: City, people):
    """The reviewers among the first accounts: {role: [Person]} and grid leaders by grid id."""
    from engine.models import OrgUnit, Person, RoleAssignment

    root = OrgUnit.objects.get(community=community, level="general_branch")
    compounds = list(OrgUnit.objects.filter(community=community, level="compound").order_by("path"))
    grids = list(OrgUnit.objects.filter(community=community, level="grid").order_by("path"))
    staff = iter(people)
    assignments, reviewers = [], {"secretary": [], "worker": [], "branch": [], "leader": {}, "member": []}

    def appoint(role, unit):
        person = next(staff)
        assignments.append(RoleAssignment(community=community, person=person, role=role, unit=unit))
        return person

    reviewers["secretary"].append(appoint("community_secretary", root))
    reviewers["worker"] = [appoint("community_worker", root) for _ in range(city.workers)]
    reviewers["branch"] = [appoint("branch_secretary", c) for c in compounds]
    reviewers["leader"] = {g.pk: appoint("grid_leader", g) for g in grids}
    reviewers["member"] = [appoint("member", compounds[i % len(compounds)]) for i in range(city.members)]
    RoleAssignment.objects.bulk_create(assignments)
    Person.objects.filter(pk__in=[p.pk for p in reviewers["member"]]).update(is_member=True)
    return reviewers


def _history(community, city: City, people, reviewers, rng):
    """A year of resident requests: 15 % waiting for analysis, 10 % analysed, 75 % closed — the
    rows submit(), start() and the steps taken would have left (no timers: none of these states
    has a deadline)."""
    from django.db import connection

    from engine.models import AuditEvent, Definition, FlowInstance, OrgUnit, Submission

    form = Definition.objects.get(community=community, kind="form", key=REQUEST_FORM)
    flow = Definition.objects.get(community=community, kind="flow", key=REQUEST_FORM)
    flow_data = flow.live_version.data
    level = next(t for t in flow_data["transitions"] if t["name"] == "analyse")["input"]["handling_level"]["choices"][0]
    grids = {u.pk: u for u in OrgUnit.objects.filter(community=community, level="grid")}
    grid_of = {}
    for building in OrgUnit.objects.filter(community=community, level="building"):
        grid_of[building.pk] = next(g for g in grids.values() if building.path.startswith(g.path))
    residents = [p for p in people[city.reviewers:] if p.user_id]
    submissions = []
    for i in range(city.history):
        person = residents[i % len(residents)]
        submissions.append(Submission(
            community=community, form=form, form_version=form.live_version, submitter_id=person.user_id,
            data=request_data(rng, person.unit.key, i), unit=person.unit, language="zh-hans",
            reference_stem=f"MQ{datetime.date.today():%Y%m%d}"))
    submissions = Submission.objects.bulk_create(submissions, batch_size=2000)
    now = datetime.datetime.now(datetime.UTC)
    instances, events = [], []
    members = reviewers["member"]
    for i, submission in enumerate(submissions):
        draw = rng.random()
        state = "collected" if draw < 0.15 else "analysed" if draw < 0.25 else "closed"
        version = {"collected": 1, "analysed": 2, "closed": 5}[state]
        handler = members[i % len(members)]
        instances.append(FlowInstance(
            community=community, submission=submission, flow=flow, flow_version=flow.live_version, state=state,
            version=version, entered_at=now, assignee_id=handler.user_id if state == "closed" else None,
            finished_at=now if state == "closed" else None))
    instances = FlowInstance.objects.bulk_create(instances, batch_size=2000)
    for instance in instances:
        leader = reviewers["leader"][grid_of[instance.submission.unit_id].pk]
        steps = []
        if instance.state in ("analysed", "closed"):
            steps.append((leader.user_id, "analyse", "collected", "analysed",
                          {"inputs": {"analysis": "情况属实", "handling_level": level}}))
        if instance.state == "closed":
            steps += [(reviewers["worker"][0].user_id, "dispatch", "analysed", "in_progress",
                       {"inputs": {"assignee": members[0].pk}}),
                      (instance.assignee_id, "resolve", "in_progress", "feedback", {"inputs": {}}),
                      (instance.submission.submitter_id, "rate", "feedback", "closed",
                       {"inputs": {"resolved": True, "rating": rng.choice((3, 4, 5, 5, 5))}})]
        events += [AuditEvent(community=community, instance=instance, actor_id=actor, transition=name,
                              from_state=source, to_state=target, data=data)
                   for actor, name, source, target, data in steps]
    AuditEvent.objects.bulk_create(events, batch_size=5000)
    # spread over the past year: submitted up to 365 days ago, closed 1–20 days later
    ids = [s.pk for s in submissions]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE engine_submission SET submit_time = now() - random() * interval '365 days' "
                       "WHERE id BETWEEN %s AND %s AND community_id = %s", [min(ids), max(ids), community.pk])
        cursor.execute("UPDATE engine_flowinstance fi SET entered_at = s.submit_time + interval '1 day', "
                       "finished_at = CASE WHEN fi.finished_at IS NULL THEN NULL "
                       "ELSE s.submit_time + (1 + random() * 19) * interval '1 day' END "
                       "FROM engine_submission s WHERE fi.submission_id = s.id AND s.id BETWEEN %s AND %s "
                       "AND s.community_id = %s", [min(ids), max(ids), community.pk])


CATEGORIES = ["environment", "facilities", "safety", "property_service", "elderly_disabled", "policy", "other"]
SUBJECTS = ["楼道灯坏了", "垃圾桶满了没人清", "单元门禁坏了", "楼顶漏水", "小区路面坑洼", "电动车乱停放", "下水道堵塞"]


def request_data(rng, building_key, n, photos=()):
    """A valid resident request of the Minyue form (contact in person, so no mobile needed)."""
    data = {"category": rng.choice(CATEGORIES), "subject": rng.choice(SUBJECTS),
            "details": f"第{n}号诉求：{rng.choice(SUBJECTS)}，已经好几天了，请尽快处理。", "urgency": "normal",
            "address": {"unit": building_key, "room": f"{rng.randrange(1, 7)}单元{rng.randrange(101, 1802)}"},
            "contact_name": "居民", "contact_preference": "visit"}
    if photos:
        data["photos"] = list(photos)
    return data


def _points(community, profile: Profile, people, reviewers, rng, rush=False):
    """Points earned this quarter (the leaderboard), and in the first community enough for the
    rush, awarded through points.award in one transaction."""
    from django.db import transaction

    from engine.services import points

    residents = [p for p in people[profile.city.reviewers:] if p.user_id]
    earners = residents[:profile.city.awards]
    rushers = rush_people(residents, profile) if rush else []
    with transaction.atomic():
        for person in earners:
            points.award(person=person, category="volunteer", points=rng.randrange(1, 40), reason="参加志愿服务活动")
        for person in rushers:
            points.award(person=person, category="volunteer", points=100, reason="志愿服务积分（活动前发放）")


def rush_people(residents, profile: Profile):
    """The residents who join the rush: the last accounts of the community."""
    return residents[-profile.rush.people:]


def _pages(community, city: City, reviewers, rng):
    from cms.models import AnnouncementPage
    from cms.sections import community_section
    from engine.models import OrgUnit
    from engine.services import honours

    section = community_section(community)
    units = list(OrgUnit.objects.filter(community=community).order_by("path"))
    data = honours.community_data(community)
    posts = [p["key"] for c in data["posts"]["categories"] for p in c["posts"]]
    members = reviewers["member"]
    publishing._holdings(community, units, posts, members[:city.holdings], rng)
    publishing._honour_rolls(community, section["honours"], units, members, 15, rng)
    for k in range(city.announcements):
        page = AnnouncementPage(title=f"关于第{k + 1}批民情诉求办理情况的通报", slug=f"notice-{k + 1}", community=community,
                                body="<p>本月共收到居民诉求若干件，已全部分派办理。感谢居民朋友的支持。</p>")
        section["announcements"].add_child(instance=page)
        page.save_revision().publish()


# ---------------------------------------------------------------- what the loader needs


def manifest(profile: Profile):
    """Everything the loader needs, read back from the database (so that a copy of a template
    database works as well as a freshly built one)."""
    from django.db.models import Max
    from rest_framework.authtoken.models import Token

    from cms.models import (AnnouncementIndexPage, AnnouncementPage, HomePage, HonourRollPage, LinliFormPage,
                            PostBoardPage, SimpleFormPage, StatisticsPage)
    from engine.models import Community, FlowInstance, OrgUnit, Person, RoleAssignment, Submission

    tokens = dict(Token.objects.values_list("user_id", "key"))
    out = {"communities": [], "max_submission": Submission.objects.aggregate(m=Max("id"))["m"] or 0}
    for n in range(profile.city.communities):
        community = Community.objects.get(slug=slug_of(n))
        grids = {u.pk: u.path for u in OrgUnit.objects.filter(community=community, level="grid")}
        buildings = {}
        for pk, key, path in OrgUnit.objects.filter(community=community, level="building").values_list(
                "pk", "key", "path"):
            buildings[key] = next(g for g, gpath in grids.items() if path.startswith(gpath))
        roles = {}
        for role, unit_id, user_id, person_id in RoleAssignment.objects.filter(community=community).values_list(
                "role", "unit_id", "person__user_id", "person_id"):
            roles.setdefault(role, []).append({"unit": unit_id, "token": tokens[user_id], "person": person_id,
                                               "user": user_id})
        reviewer_people = {r["person"] for rs in roles.values() for r in rs}
        residents = [{"token": tokens[u], "building": b, "person": p} for p, u, b in
                     Person.objects.filter(community=community, user__isnull=False).exclude(pk__in=reviewer_people)
                     .order_by("pk").values_list("pk", "user_id", "unit__key")]
        rushers = rush_people(residents, profile)
        grid_of_submission = {}
        open_items = {"collected": [], "analysed": []}
        for sid, state, unit_key in FlowInstance.objects.filter(
                community=community, state__in=("collected", "analysed"), flow__key=REQUEST_FORM).values_list(
                "submission_id", "state", "submission__unit__key"):
            open_items[state].append((sid, buildings[unit_key]))
            grid_of_submission[sid] = buildings[unit_key]
        home = HomePage.objects.get(community=community)
        pages = {
            "home": home.url,
            "announcements": AnnouncementIndexPage.objects.get(community=community).url,
            "announcement": AnnouncementPage.objects.filter(community=community).first().url,
            "honour roll": HonourRollPage.objects.filter(community=community).order_by("-period_start").first().url,
            "post board": PostBoardPage.objects.get(community=community).url,
            "statistics": StatisticsPage.objects.get(community=community).url,
        }
        out["communities"].append({
            "slug": community.slug, "id": community.pk, "pages": pages, "buildings": buildings,
            "leaders": {r["unit"]: r["token"] for r in roles["grid_leader"]},
            "workers": [r["token"] for r in roles["community_worker"]],
            "members": [r["person"] for r in roles["member"]],
            "member_tokens": {r["person"]: r["token"] for r in roles["member"]},
            "member_users": {r["person"]: r["user"] for r in roles["member"]},
            "worker_users": [r["user"] for r in roles["community_worker"]],
            "leader_users": {r["unit"]: r["user"] for r in roles["grid_leader"]},
            "residents": residents[:-len(rushers)] if rushers else residents, "rushers": rushers,
            "collected": open_items["collected"], "analysed": open_items["analysed"],
        })
    street = HomePage.objects.filter(community__slug=STREET).first()
    out["street_pages"] = {"street home": street.url} if street else {}
    linli_page = LinliFormPage.objects.filter(form__community__slug=forms_http.COMMUNITY).first()
    wagtail_page = SimpleFormPage.objects.first()
    out["compare"] = {
        "linli": linli_page.url if linli_page else None,
        "wagtail": wagtail_page.url if wagtail_page else None,
        "wagtail_names": [f.clean_name for f in wagtail_page.form_fields.all()] if wagtail_page else [],
    }
    return out


def write_city(work: Path, profile: Profile, log=print):
    """Definitions into work/defs; returns (forms dir, flows dir)."""
    target = work / "defs"
    if target.exists():
        shutil.rmtree(target)
    return write_definitions(target, profile)

