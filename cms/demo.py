"""The demo's public site: each community's pages, a few residents with posts and points, an
announcement, and honour rolls drawn from the ledger — enough to see every public page type.
Run by seed_demo; running it again adds nothing."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cms.generate import draw_roll_from_points
from cms.models import AnnouncementPage
from cms.sections import community_section
from engine.models import Community, LedgerEntry, OrgUnit, Person, PostAssignment, RoleAssignment
from engine.services import honours, org, points

# name, mobile, consents (name on pages, name on honour rolls, may be contacted)
RESIDENTS = [
    ("张晓明", "13800138001", (False, False, False)),
    ("李秀英", "13912345678", (False, True, False)),
    ("王建国", "13700001111", (True, True, True)),
    ("赵丽", "13655556666", (False, False, True)),
    ("欧阳文华", "13511112222", (False, False, False)),
]


def seed_public_site(stdout=None):
    admin = get_user_model().objects.filter(username="admin").first()
    for community in Community.objects.order_by("kind", "slug"):
        with transaction.atomic():
            section = community_section(community)
            if community.kind == Community.Kind.COMMUNITY:
                _needs(community)
                people = _residents(community)
                _posts(community, people)
                _points(community, people)
                for roll in honours.community_data(community).get("honour_rolls", []):
                    if "points" in roll["source"]:
                        # the ledger only grows forward in time: the demo's roll is this period's so far
                        page, created = draw_roll_from_points(community, roll["key"], user=admin, current=True)
                        if created:
                            _approve(page, admin)
            _announcement(community, section["announcements"], admin)
    if stdout:
        stdout.write("Public site: each community's home, announcements, honour rolls, post board and statistics.")


NEEDS = [("facilities", "3号楼楼道灯坏了", "3号楼2单元楼道灯坏了一个星期，晚上上下楼看不见。"),
         ("environment", "小区东门垃圾清运不及时", "东门垃圾桶每天傍晚就满了，气味很大，希望增加清运次数。"),
         ("facilities", "健身器材松动", "中心花园的健身器材螺丝松动，老人锻炼时不安全。")]


def _needs(community):
    """A few residents' requests in flight, so the statistics have something to count."""
    from engine.models import Definition, Submission
    from engine.services.submissions import submit

    form = Definition.objects.filter(community=community, kind="form", key="resident-request",
                                     live_version__isnull=False).first()
    resident = get_user_model().objects.filter(username=f"{community.slug}-resident").first()
    grid = OrgUnit.objects.filter(community=community, level="grid", active=True).order_by("path").first()
    if form is None or resident is None or grid is None or Submission.objects.filter(form=form).exists():
        return
    for category, subject, details in NEEDS:
        submit(form=form, user=resident, idempotency_key=f"demo:{subject}", data={
            "category": category, "subject": subject, "details": details, "urgency": "normal", "photos": [],
            "address": {"unit": grid.key, "room": "2单元301"}, "contact_name": "王芳", "mobile": "13812345678",
            "contact_preference": "phone", "publicity_consent": False})


def _residents(community):
    grids = list(OrgUnit.objects.filter(community=community, level="grid", active=True).order_by("path"))
    people = []
    for n, (name, phone, (show, honour, contact)) in enumerate(RESIDENTS):
        unit = grids[n % len(grids)] if grids else None
        person, _ = Person.objects.get_or_create(
            community=community, name=name,
            defaults={"phone": phone, "is_member": True, "unit": unit,
                      "show_name_publicly": show, "honour_roll_consent": honour, "contact_consent": contact})
        if unit is not None:  # members may claim posts
            RoleAssignment.objects.get_or_create(community=community, person=person, role="member", unit=unit)
        people.append(person)
    # the demo member may be asked to call back (their post board entry shows the link)
    member = Person.objects.filter(community=community, user__username=f"{community.slug}-member").first()
    if member is not None and not member.contact_consent:
        Person.objects.filter(pk=member.pk).update(contact_consent=True)
    return people + ([member] if member else [])


def _posts(community, people):
    if PostAssignment.objects.filter(community=community).exists():
        return
    posts = [p for c in honours.community_data(community).get("posts", {}).get("categories", []) for p in c["posts"]]
    for n, post in enumerate(posts):
        units = OrgUnit.objects.filter(community=community, level=post.get("level") or "grid", active=True)
        unit = units.order_by("path")[n % max(units.count(), 1)] if units.exists() else None
        if unit is None:
            continue
        try:
            org.claim_post(person=people[n % len(people)], post=post["key"], unit=unit)
        except Exception:  # a post this demo person may not hold (eligibility, capacity): skip it
            continue


def _points(community, people):
    if LedgerEntry.objects.filter(community=community).exists():
        return
    data = honours.community_data(community)
    categories = [c["key"] for c in data.get("points", {}).get("categories", [])]
    rolls = [r for r in data.get("honour_rolls", []) if "points" in r["source"]]
    for roll in rolls:
        wanted = roll["source"]["points"].get("categories") or categories
        for n, person in enumerate(people):
            amount = roll["source"]["points"].get("minimum", 0) + 10 * (len(people) - n)
            points.award(person=person, reason=f"{roll['key']} 演示积分", points=amount, category=wanted[n % len(wanted)],
                         idempotency_key=f"demo:{roll['key']}:{person.pk}")


def _approve(page, user):
    """In the demo the community's reviewer has already approved the drafted roll."""
    state = page.current_workflow_state
    if state is not None and state.current_task_state is not None:
        state.current_task_state.approve(user=user)


def _announcement(community, index, user):
    if AnnouncementPage.objects.descendant_of(index).exists():
        return
    page = AnnouncementPage(
        title=f"{community.name}欢迎使用邻里", slug="welcome", community=community,
        kind=AnnouncementPage.Kind.ANNOUNCEMENT, date=timezone.localdate(),
        body="<p>居民可以在手机上提交诉求、认领岗位、参与议事，并在这里查看公告、公示和光荣榜。</p>")
    index.add_child(instance=page)
    page.save_revision(user=user).publish(user=user)
