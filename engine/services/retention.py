"""Keeping personal data no longer than needed (PIPL): a closed item keeps its personal data for
the community's `privacy.retention_days`, then loses it; a deleted account loses it at once.

What goes: fields marked `private`, phone, ID and e-mail fields, uploaded files (the stored
file and its row), and mobiles or ID numbers typed into free text. What stays: the item's
form, version, dates, state, non-personal answers and history, so statistics and the audit
trail still add up, and the points ledger — it names people by row, not by name — still
verifies. Redacting twice changes nothing."""

from __future__ import annotations

import datetime
import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engine.forms.registry import form_spec
from engine.models import Community, Draft, Person, Submission, SubmissionFile
from engine.privacy import NEVER_FORMATS, PHONE_FORMATS
from engine.services.honours import community_data

FORGOTTEN = "已注销居民"
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _personal(field) -> bool:
    return field.private or field.format in NEVER_FORMATS or field.format in PHONE_FORMATS or field.is_file


def _scrub(value):
    if isinstance(value, str):
        return _MOBILE.sub("[已删除]", _ID.sub("[已删除]", value))
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def _redacted(fields, data):
    out = {}
    for field in fields:
        if field.name not in data or _personal(field):
            continue
        value = data[field.name]
        if field.type == "object" and isinstance(value, dict):
            value = _redacted(field.children, value)
        elif field.type == "array" and field.item is not None and field.item.type == "object":
            value = [_redacted(field.item.children, row) for row in value if isinstance(row, dict)]
        out[field.name] = _scrub(value)
    return out


def redact_submission(submission: Submission, now=None) -> bool:
    """Take the personal data out of one submission (in its own transaction). False if done before."""
    with transaction.atomic():
        locked = Submission.objects.select_for_update().filter(pk=submission.pk, redacted_at__isnull=True).first()
        if locked is None:
            return False
        spec = form_spec(locked.form_version)
        locked.data = _redacted(spec.fields, locked.data)
        locked.redacted_at = now or timezone.now()
        locked.save(update_fields=["data", "redacted_at"])
        files = list(SubmissionFile.objects.filter(submission=locked))
        SubmissionFile.objects.filter(pk__in=[f.pk for f in files]).delete()
        # the stored files go once the rows are gone for good
        transaction.on_commit(lambda: [f.file.delete(save=False) for f in files])
    return True


def due_for_redaction(community: Community, now=None):
    """Closed items (and submissions that started no flow) older than the retention period."""
    days = (community_data(community).get("privacy") or {}).get("retention_days")
    if not days:
        return Submission.objects.none()
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    return Submission.objects.filter(community=community, redacted_at__isnull=True).filter(
        Q(flow__finished_at__lt=cutoff) | Q(flow__isnull=True, submit_time__lt=cutoff))


def apply_retention(community: Community, now=None) -> int:
    return sum(redact_submission(s, now) for s in due_for_redaction(community, now).only("pk").iterator())


def forget_account(user, now=None) -> int:
    """An account deleted at the resident's request: their submissions lose their personal data,
    their person records their name, number and consents, the account its identity. Ledger rows
    and history keep pointing at the (now nameless) person, so totals and the chain still hold."""
    redacted = sum(redact_submission(s, now) for s in Submission.objects.filter(submitter=user).only("pk"))
    with transaction.atomic():
        for person in Person.objects.select_for_update().filter(user=user):
            person.name, person.phone, person.external_id = FORGOTTEN, "", ""
            person.show_name_publicly = person.honour_roll_consent = person.contact_consent = False
            person.save()  # (post_save purges the community's cached pages)
        Draft.objects.filter(user=user).delete()
        SubmissionFile.objects.filter(owner=user, submission__isnull=True).delete()
        User = get_user_model()
        User.objects.filter(pk=user.pk).update(username=f"deleted-{user.pk}", first_name="", last_name="", email="",
                                               is_active=False, password="!")
    return redacted
