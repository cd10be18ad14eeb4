"""Pages drafted from what happens in Linli: a flow's `publish_announcement` and
`publish_honour` actions, and the honour rolls drawn from the points ledger each period.

Each page is created as a draft and then goes public the way the community's `publishing:`
says: at once, or through Wagtail's own moderation workflow (a reviewer approves it in the
admin). What a page shows of a resident is masked here, before the first revision is saved.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from wagtail.models import GroupApprovalTask, GroupPagePermission, Workflow, WorkflowPage, WorkflowTask

from cms.models import AnnouncementPage, HonourEntry, HonourRollPage
from cms.sections import community_section
from engine.forms.display import display_value
from engine.forms.registry import community_choices, form_spec
from engine.forms.spec import text
from engine import policy
from engine.models import AuditEvent, OrgUnit, Person
from engine.privacy import NEVER_FORMATS, PHONE_FORMATS
from engine.services import honours

# ---------------------------------------------------------------- going public


def go_public(page, community, user=None):
    """Publish the page's latest revision, or submit it to the community's review workflow."""
    revision = page.save_revision(user=user, log_action=True)
    settings = honours.community_data(community).get("publishing", {})
    if settings.get("approval") != "review":
        revision.publish(user=user)
        page.refresh_from_db(fields=["live", "has_unpublished_changes", "live_revision", "first_published_at"])
        return "published"
    if page.workflow_in_progress:
        return "in moderation"  # reviewers approve the latest revision, this one included
    workflow = ensure_moderation(community)
    workflow.start(page, user)
    return "in moderation"


def ensure_moderation(community):
    """The community's review workflow: a Wagtail group of the reviewer role's holders, allowed to
    edit and publish the community's pages, approving in one GroupApprovalTask."""
    settings = honours.community_data(community).get("publishing", {})
    role = settings.get("reviewer_role", "community_secretary")
    home = community_section(community)["home"]
    group, _ = Group.objects.get_or_create(name=f"{community.slug}: page reviewers")
    for codename in ("add_page", "change_page", "publish_page"):
        GroupPagePermission.objects.get_or_create(group=group, page=home,
                                                  permission=Permission.objects.get(codename=codename,
                                                                                    content_type__app_label="wagtailcore"))
    group.permissions.add(Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"))
    holders = (policy.current_assignments().filter(community=community, role=role, person__user__isnull=False)
               .values_list("person__user", flat=True))
    group.user_set.set(holders)
    workflow, created = Workflow.objects.get_or_create(name=f"{community.name} 发布审核")
    if created or not workflow.workflow_tasks.exists():
        task = GroupApprovalTask.objects.create(name=f"{community.name} 审核")
        task.groups.set([group])
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowPage.objects.update_or_create(page=home, defaults={"workflow": workflow})
    return workflow


# ---------------------------------------------------------------- announcements from flows


def public_details(submission, include, rules, language="zh-hans"):
    """[{"label", "value"}] of the item's fields a page may show: private fields, ID numbers
    and e-mail never; phone numbers masked or left out; places cut at the building."""
    spec = form_spec(submission.form_version)
    names = community_choices(submission.community, language)
    details = []
    for reference in include:
        name = reference.split(".")[-1]
        field = spec.by_name.get(reference) or spec.by_name.get(name)
        value = submission.data.get(reference, submission.data.get(name))
        if field is None or value in (None, "", [], {}) or field.private or field.format in NEVER_FORMATS:
            continue
        if field.format in PHONE_FORMATS:
            shown = rules.phone(str(value))
        elif field.format == "unit" and isinstance(value, str):
            shown = _place(submission.community, value, rules)
        elif field.type == "object" and isinstance(value, dict):
            shown = _object_value(submission.community, field, value, rules, language, names)
        elif field.is_file:
            continue  # residents' photos stay private media
        elif field.type == "array" and field.item is not None and field.item.type == "object":
            shown = " / ".join(_object_value(submission.community, field.item, row, rules, language, names)
                               for row in value if isinstance(row, dict))
        else:
            shown = display_value(field, value, language, names)
        shown = scrub(shown, rules)
        if shown.strip(" /；"):
            details.append({"label": text(field.title, language), "value": shown})
    return details


ROOM_KEYS = {"room", "door", "house_number"}  # 门牌: never public, whatever the form says
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def scrub(text_value: str, rules) -> str:
    """Free text can hold a number a resident typed: mask mobiles, remove ID numbers."""
    text_value = _ID_IN_TEXT.sub("[身份证号已隐去]", str(text_value))
    return _MOBILE_IN_TEXT.sub(lambda m: rules.phone(m.group()) or "[电话已隐去]", text_value)


def _object_value(community, field, value, rules, language, names):
    return "；".join(f"{text(c.title, language)}: {_child_value(community, c, value.get(c.name), rules, language, names)}"
                    for c in field.children
                    if not c.private and c.name not in ROOM_KEYS and value.get(c.name) not in (None, "", [])
                    and _child_value(community, c, value.get(c.name), rules, language, names))


def _child_value(community, field, value, rules, language, names):
    if field.format in NEVER_FORMATS or field.is_file or field.private or field.name in ROOM_KEYS:
        return ""
    if field.format in PHONE_FORMATS:
        return rules.phone(str(value))
    if field.format == "unit" and isinstance(value, str):
        return _place(community, value, rules)
    return display_value(field, value, language, names)


def _place(community, key, rules):
    from engine.forms.registry import community_index

    unit = OrgUnit.objects.filter(community=community, key=key).first()
    if unit is None:
        return ""
    index = community_index(community)
    chain = [*unit.get_ancestors(), unit]
    return rules.unit_path([(u.level, u.name) for u in chain], list(index.levels) if index else [])


def _tally(instance):
    event = (AuditEvent.objects.filter(instance=instance, transition__startswith="tally:")
             .order_by("-pk").first())
    if event is None:
        return None
    from engine.workflow.adapter import compiled

    labels = {}
    for state in compiled(instance).states.values():
        if state.vote is not None:
            labels.update(_option_titles(instance, state.name))
    return {"electorate": event.data.get("electorate"), "cast": event.data.get("cast"),
            "counts": event.data.get("counts", {}), "labels": labels, "outcome": event.data.get("outcome")}


def _option_titles(instance, state_name):
    raw = instance.flow_version.data["states"][state_name]["vote"]["options"]
    return {o["key"]: text(o.get("title", o["key"]), "zh-hans") if isinstance(o, dict) else str(o) for o in raw}


def draft_announcement(instance, spec, user=None, notice=False):
    """A flow's `publish_announcement` (a page with the item's public details and the vote's
    tally), or a state's public notice (公示, open until its silence timer falls due)."""
    community = instance.community
    rules = honours.rules_for(community)
    submission = instance.submission
    index = community_section(community)["announcements"]
    title = text(spec.get("title") or "", "zh-hans") or ("公示" if notice else "公告")
    subject = submission.data.get("subject") or submission.data.get("title")
    if isinstance(subject, str) and subject.strip():
        title = f"{title}：{subject.strip()}"[:255]
    page = AnnouncementPage(
        title=title, slug=slugify(f"{submission.reference}-{instance.version}{'-notice' if notice else ''}"),
        community=community, kind="notice" if notice else spec.get("kind", "announcement"), date=timezone.localdate(),
        notice_until=_notice_end(instance, spec) if notice else None,
        details=public_details(submission, spec.get("include", []), rules),
        tally=_tally(instance) if spec.get("include_tally") else None, source=instance, live=False)
    with transaction.atomic():
        _lock(community)
        if AnnouncementPage.objects.filter(slug=page.slug).descendant_of(index).exists():
            return None  # the same step announced twice (a retried task): once is enough
        index.add_child(instance=page)
        go_public(page, community, user)
    return page


def _notice_end(instance, spec):
    """The last day of a state's public-notice window: the day its silence timer falls due."""
    from engine.models import Timer

    timer = (Timer.objects.filter(instance=instance, state=spec["state"], fired_at__isnull=True, reminder__isnull=True)
             .order_by("-due_at").first())
    return timezone.localtime(timer.due_at).date() if timer else None


# ---------------------------------------------------------------- honour rolls


def _roll_page(community, roll, period):
    index = community_section(community)["honours"]
    page = HonourRollPage.objects.filter(community=community, roll_key=roll["key"], period=period.label).first()
    if page is not None:
        return page, False
    page = HonourRollPage(
        title=f"{text(roll['title'], 'zh-hans')} {period.label}", slug=slugify(f"{roll['key']}-{period.label}"),
        community=community, roll_key=roll["key"], period=period.label, period_start=period.start,
        period_end=period.end, notice_until=honours.notice_end(roll), live=False)
    index.add_child(instance=page)
    return page, True


def draw_roll_from_points(community, roll_key, day=None, user=None, current=False):
    """The roll for the last finished period (or, with current, the period so far), from the
    ledger. Drawing it again changes nothing."""
    roll = honours.roll_definition(community, roll_key)
    if roll is None or "points" not in roll["source"]:
        raise ValueError(f"{community.slug} has no honour roll {roll_key!r} drawn from points")
    day = day or timezone.localdate()
    period = honours.period_of(roll, day) if current else honours.previous_period(roll, day)
    with transaction.atomic():
        _lock(community)  # racing draws (two cron hosts, a retried task) make one roll
        page, created = _roll_page(community, roll, period)
        if not created:
            return page, False
        for n, candidate in enumerate(honours.candidates_from_points(community, roll, period)):
            HonourEntry.objects.create(page=page, sort_order=n, person=candidate.person, points=candidate.points,
                                       place=_person_place(candidate.person, rules=honours.rules_for(community)))
        go_public(page, community, user)
    return page, True


def _lock(community):
    from engine.models import Community

    list(Community.objects.select_for_update().filter(pk=community.pk).values_list("pk"))


def _person_place(person, rules):
    if person.unit_id is None:
        return ""
    return _place(person.community, person.unit.key, rules)


def add_to_roll(instance, spec, user=None):
    """A flow's `publish_honour`: the submitter or assignee joins the roll of the current period."""
    community = instance.community
    roll = honours.roll_definition(community, spec["roll"])
    if roll is None:
        return None
    who = instance.submission.submitter if spec["person"] == "submitter" else instance.assignee
    person = Person.objects.filter(community=community, user=who).first() if who else None
    if person is None:
        return None
    citation = ""
    if spec.get("citation"):
        latest = AuditEvent.objects.filter(instance=instance).order_by("-pk").first()
        inputs = (latest.data.get("inputs") or {}) if latest else {}
        citation = str(inputs.get(spec["citation"]) or instance.submission.data.get(spec["citation"]) or "")[:500]
    with transaction.atomic():
        _lock(community)
        page, _ = _roll_page(community, roll, honours.period_of(roll, timezone.localdate()))
        # the roll as last edited (a pending revision included), so the live page is changed
        # only by publishing, through review where the community asks for it
        draft = page.get_latest_revision_as_object()
        entries = list(draft.entries.all())
        if any(e.person_id == person.pk for e in entries) or len(entries) >= roll["size"]:
            return page
        entries.append(HonourEntry(person=person, citation=scrub(citation, honours.rules_for(community)),
                                   sort_order=len(entries), place=_person_place(person, honours.rules_for(community))))
        draft.entries = entries
        go_public(draft, community, user)
    return page


def on_publication_requested(sender, instance, kind, spec, **kwargs):
    if kind in ("publish_announcement", "publish_notice"):
        draft_announcement(instance, spec, notice=kind == "publish_notice")
    elif kind == "publish_honour":
        add_to_roll(instance, spec)
