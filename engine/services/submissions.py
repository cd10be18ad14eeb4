"""Submitting a form: one action used by the form pages, the API and tests alike.

check: the person may submit this form; the data passes the form's JSON Schema (the
authority), names a unit/post/item/team that the community really has, and refers only to
files this person uploaded for this form. execute: in one transaction, store the submission
with the version it was made under, attach its files, give it a reference number, and run the
handlers registered for new submissions (the Flows issue starts a flow there). A repeated
idempotency key returns the submission already made instead of making a second; keys are per
person (stored with whose they are), and one's own key sent with other data is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from engine import clock, policy
from engine.definitions.problems import LinliError
from engine.forms.registry import community_index, form_spec
from engine.forms.spec import CHOICE_FORMATS
from engine.forms.validation import FieldError, validate
from engine.models import Submission, SubmissionFile

# Called as handler(submission) inside the submission's transaction. Extension point for the
# workflow engine (start the form's flow), notifications and statistics.
SUBMISSION_HANDLERS: list = []


class SubmissionInvalid(LinliError):
    """The resident's mistake: carries FieldErrors keyed by JSON pointer."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.pointer}: {e.text('en')}" for e in errors))


class SubmissionNotAllowed(LinliError):
    """The person may not submit this form (not signed in, or not in its audience)."""


class IdempotencyConflict(LinliError):
    """The key was already used, and the server cannot tell whether by the caller (a visitor with
    no session): answered 409, never with the submission it names."""


class IdempotencyKeyReused(IdempotencyConflict):
    """The caller's own key sent again with another form or other data: a new request under an old
    key. Answered 422 (as Stripe does), never with the first result."""


KEY_LENGTH = 64  # Submission.idempotency_key's max_length


def scoped_key(scope: str, key: str) -> str:
    """The stored form of a caller's key: `scope` (whose key it is) before it, so one person's key
    never meets another's — the unique constraint on (community, idempotency_key) then holds per
    person. A key too long for the column keeps its scope and a digest of the whole key, rather
    than being cut (two long keys that differ only at the end are two keys)."""
    stored = f"{scope}:{key}"
    if len(stored) <= KEY_LENGTH:
        return stored
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{scope}:#{digest}"[:KEY_LENGTH]


@dataclass
class SubmitResult:
    submission: Submission
    created: bool


_NAME_ATTRIBUTES = {"unit": "units", "post": "posts", "store-item": "items", "team": "teams"}
_NAME_MESSAGES = {
    "unit": {"zh-hans": "请选择本社区的单位", "en": "Choose a unit of this community"},
    "post": {"zh-hans": "请选择本社区的岗位", "en": "Choose a post of this community"},
    "store-item": {"zh-hans": "请选择积分超市中的物品", "en": "Choose an item of the points store"},
    "team": {"zh-hans": "请选择本社区的服务队", "en": "Choose a team of this community"},
}
_FILE_MESSAGE = {"zh-hans": "请重新上传这个文件", "en": "Upload this file again"}


def _walk(fields, data, pointer=""):
    """(field, value, pointer) for every value in the data that a field describes."""
    if not isinstance(data, dict):
        return
    for field in fields:
        if field.name not in data:
            continue
        value, here = data[field.name], f"{pointer}/{field.name}"
        yield field, value, here
        if field.type == "object":
            yield from _walk(field.children, value, here)
        elif field.type == "array" and isinstance(value, list) and field.item is not None:
            for index, row in enumerate(value):
                if field.item.type == "object":
                    yield from _walk(field.item.children, row, f"{here}/{index}")
                else:
                    yield field.item, row, f"{here}/{index}"


def check_names_and_files(spec, data, community, user, session_key):
    """Errors for names the community does not have and for files that are not the person's."""
    errors, tokens = [], []
    named = [f for f, _, _ in _walk(spec.fields, data) if f.format in CHOICE_FORMATS]
    index = community_index(community) if named else None  # most forms name nothing from community.yaml
    for field, value, pointer in _walk(spec.fields, data):
        if field.type == "array":
            continue
        if field.format in CHOICE_FORMATS and index is not None and isinstance(value, str):
            if value not in getattr(index, _NAME_ATTRIBUTES[field.format]):
                errors.append(FieldError(pointer, "unknown_name", _NAME_MESSAGES[field.format]))
        if field.format == "file" and isinstance(value, str):
            tokens.append((pointer, value))
    if tokens:
        # only files uploaded for this form: another form's field may accept what this one refuses
        owned = SubmissionFile.objects.filter(token__in=[t for _, t in tokens], submission__isnull=True,
                                              community=community, form__key=spec.key)
        owned = owned.filter(owner=user) if user.is_authenticated else owned.filter(owner__isnull=True,
                                                                                    session_key=session_key or "-")
        found = set(owned.values_list("token", flat=True))
        errors.extend(FieldError(p, "file", _FILE_MESSAGE) for p, t in tokens if t not in found)
    return errors, [t for _, t in tokens]


def submit(*, form, data, user, version=None, idempotency_key="", page=None, session_key="", language="",
           key_is_secret=False, validated=None) -> SubmitResult:
    """Submit `data` to the form Definition `form` (its live version unless `version` is given).

    `validated` is a form's (spec, data) that the schema has just passed: when it is this
    version's spec and equal data, the verdict is the same and the schema is not run twice."""
    version = version or form.live_version
    spec = form_spec(version)
    community = form.community
    if not policy.can_submit(user, spec, community):
        raise SubmissionNotAllowed(f"{user} may not submit {community.slug}/{form.key}")
    # Keys are per person: whoever sends a key, it names only their own requests.
    if idempotency_key and user.is_authenticated:
        idempotency_key = scoped_key(f"u:{user.pk}", idempotency_key)
    elif idempotency_key and key_is_secret:
        # a key the server issued and signed for this one form view: whoever holds it made it
        idempotency_key = scoped_key("t", idempotency_key)
    elif idempotency_key:
        # Anonymous people are told apart only by their session: scope the key to it, so one
        # visitor cannot replay another's key to learn their reference number. Without a
        # session a repeated key is refused (409) rather than answered.
        idempotency_key = scoped_key(f"s:{session_key}", idempotency_key) if session_key else \
            scoped_key("x", idempotency_key)
    if idempotency_key and not key_is_secret:
        existing = _existing(community, idempotency_key, user, form, data)
        if existing is not None:
            return SubmitResult(existing, created=False)
    # (a server-signed key is checked by the unique constraint alone: a replay fails the insert
    # and finds the first submission below, which saves a query on every first submission)
    already = validated is not None and validated[0] is spec and validated[1] == data
    errors = [] if already else validate(spec, data)
    tokens = []
    if not errors:
        errors, tokens = check_names_and_files(spec, data, community, user, session_key)
    if errors:
        # a retry that raced its own first request finds that request's files already taken:
        # once the first has committed, the retry is answered with it, not with an error
        existing = _existing(community, idempotency_key, user, form, data) if idempotency_key else None
        if existing is not None:
            return SubmitResult(existing, created=False)
        raise SubmissionInvalid(errors)
    submitter = user if user.is_authenticated else None
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                community=community, form=form, form_version=version, submitter=submitter, data=data,
                idempotency_key=idempotency_key, page=page, language=language,
                unit=_unit_of(spec, data, community, user),
                reference_stem=f"{spec.reference_prefix}{clock.today(community):%Y%m%d}",  # the community's date
            )
            if tokens:
                attached = SubmissionFile.objects.filter(token__in=tokens, submission__isnull=True).update(
                    submission=submission)
                if attached != len(set(tokens)):  # another submission took a file meanwhile
                    raise SubmissionInvalid([FieldError("", "file", _FILE_MESSAGE)])
            for handler in SUBMISSION_HANDLERS:
                handler(submission)
    except (IntegrityError, SubmissionInvalid):
        existing = _existing(community, idempotency_key, user, form, data) if idempotency_key else None
        if existing is None:
            raise
        return SubmitResult(existing, created=False)
    return SubmitResult(submission, created=True)


def _unit_of(spec, data, community, user):
    """The org unit the item belongs to: the value of the form's first unit field, if any."""
    from engine.models import OrgUnit

    for field, value, _ in _walk(spec.fields, data):
        if field.format == "unit" and isinstance(value, str):
            return OrgUnit.objects.filter(community=community, key=value).first()
    # a form without a place belongs where its submitter lives ("the submitter's unit")
    return _submitter_unit(community, user)


def _submitter_unit(community, user):
    from engine.models import Person

    if user is None or not user.is_authenticated:
        return None
    person = Person.objects.filter(community=community, user=user).select_related("unit").first()
    return person.unit if person else None


def _existing(community, key, user, form, data):
    # exclude(""): the unique index is partial (WHERE NOT key = ''), and SQLite uses it only when
    # the query says so in the same words; without it every submission of the community is scanned.
    existing = Submission.objects.filter(community=community, idempotency_key=key).exclude(idempotency_key="").first()
    if existing is None:
        return None
    same_person = existing.submitter_id == user.pk if user.is_authenticated else key.startswith(("s:", "t:"))
    if not same_person:
        raise IdempotencyConflict(key)
    # A replay is the same request again; the key reused for another form or other data must
    # not answer with a submission that is not what was sent.
    if existing.form_id != form.pk or existing.data != data:
        raise IdempotencyKeyReused(key)
    return existing
