"""Drafts: a signed-in person saves a form half-way and resumes it later, on the same version.

A draft holds the wizard's own state (which steps are done, what was typed, file tokens) and
the version it began on; resuming after a newer version was published says what changed.
"""

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from engine.forms.registry import form_spec
from engine.forms.spec import text
from engine.models import Draft


def save_draft(*, user, form, version, data, step, wizard_state):
    with transaction.atomic():
        Draft.objects.update_or_create(
            user=user, form=form,
            defaults={"form_version": version, "data": {"instance": data, "wizard": wizard_state}, "step": step})


def draft_for(user, form):
    if not user.is_authenticated:
        return None
    return Draft.objects.filter(user=user, form=form).select_related("form_version").first()


def changes_since(draft_version, live_version, language="zh-hans"):
    """Plain words for what a newer version changed: fields added, removed, renamed in title."""
    if live_version is None or draft_version.pk == live_version.pk:
        return []
    old, new = form_spec(draft_version), form_spec(live_version)
    old_fields, new_fields = old.by_name, new.by_name
    notes = []
    with translation.override(language):
        for name in new_fields.keys() - old_fields.keys():
            title = text(new_fields[name].title, language)
            notes.append(gettext("added “{title}”").format(title=title))
        for name in old_fields.keys() - new_fields.keys():
            title = text(old_fields[name].title, language)
            notes.append(gettext("removed “{title}”").format(title=title))
        for name in old_fields.keys() & new_fields.keys():
            before, after = text(old_fields[name].title, language), text(new_fields[name].title, language)
            if before != after:
                notes.append(gettext("“{before}” is now “{after}”").format(before=before, after=after))
            if old_fields[name].required != new_fields[name].required:
                notes.append((gettext("“{title}” is now required") if new_fields[name].required
                              else gettext("“{title}” is now optional")).format(title=after))
    return sorted(notes)


def load_draft(request, page):
    return draft_for(request.user, page.form)
