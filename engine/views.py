"""Serving residents' files: only to people who may see them, never from a public URL."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from engine import policy
from engine.models import SubmissionFile
from engine.refusals import log_refusal


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _may_see_file(user, stored) -> bool:
    """A file of a field the form marks private only for those policy.may_see_private admits:
    for the others it must be among the values they may read."""
    submission = stored.submission
    if policy.may_see_private(user, submission):
        return True
    from engine.forms.display import without_private
    from engine.forms.registry import form_spec

    public = without_private(form_spec(submission.form_version).fields, submission.data)
    return stored.token in set(_strings(public))


@require_GET
def serve_file(request, token):
    stored = get_object_or_404(SubmissionFile.objects.select_related("submission"), token=token)
    if stored.submission is None:
        mine = (request.user.is_authenticated and stored.owner_id == request.user.pk) or (
            not request.user.is_authenticated and stored.session_key and stored.session_key == request.session.session_key)
        if not mine:
            log_refusal(request, "file", token[:8])
            raise Http404
    elif not policy.can_view_submission(request.user, stored.submission) or not _may_see_file(request.user, stored):
        log_refusal(request, "file", token[:8])
        raise Http404  # exactly like a missing file: no hint that it exists
    response = FileResponse(stored.file.open("rb"), content_type=stored.content_type)
    disposition = "inline" if stored.content_type.startswith("image/") else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename=\"{stored.token}\""
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
