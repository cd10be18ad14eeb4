"""Submission data as people read it: choices by their labels, groups joined, files counted."""

from django.utils import translation
from django.utils.translation import gettext, ngettext

from engine.forms.registry import form_spec
from engine.forms.spec import text


def display_value(field, value, language="zh-hans", names=None):
    """`names`: (key, title) lists per format (unit, post, store-item, team), to show titles, not keys."""
    if value is None:
        return ""
    if names and field.format in names and isinstance(value, str):
        return dict(names[field.format]).get(value, value).strip()
    if field.type == "object" and isinstance(value, dict):
        return "；".join(f"{text(c.title, language)}: {display_value(c, value.get(c.name), language, names)}"
                        for c in field.children if value.get(c.name) not in (None, ""))
    if field.type == "array" and isinstance(value, list):
        if field.is_file:
            with translation.override(language):
                return ngettext("%(count)s file", "%(count)s files", len(value)) % {"count": len(value)}
        if field.item is not None and field.item.type == "object":
            return " / ".join(display_value(field.item, row, language, names) for row in value)
        labels = {c.value: text(c.label, language) for c in field.choices}
        return "、".join(str(labels.get(v, v)) for v in value)
    if field.choices:
        labels = {c.value: text(c.label, language) for c in field.choices}
        return str(labels.get(value, value))
    if field.type == "boolean":
        with translation.override(language):
            return gettext("yes") if value else gettext("no")
    if field.is_file:
        with translation.override(language):
            return ngettext("%(count)s file", "%(count)s files", 1) % {"count": 1}
    return str(value)


def without_private(fields, data):
    """`data` without the values of fields the form marks `private` (`x-ui.fields.<path>.private`),
    however deep: inside groups and in every row of a repeat group. For whoever
    `engine.policy.may_see_private` says no to; values no field describes are kept as they are."""
    if not isinstance(data, dict):
        return data
    described = {f.name: f for f in fields}
    out = {}
    for name, value in data.items():
        field = described.get(name)
        if field is None:
            out[name] = value
            continue
        if field.private:
            continue
        if field.type == "object" and isinstance(value, dict):
            value = without_private(field.children, value)
            if not value:
                continue  # a group of private fields only: nothing of it is shown
        elif field.type == "array" and field.item is not None and field.item.type == "object" and isinstance(value, list):
            value = [without_private(field.item.children, row) for row in value]
            if value and not any(value):
                continue  # rows of private fields only (supporters' names and rooms)
        out[name] = value
    return out


def flat_data(submission, language="zh-hans"):
    spec = form_spec(submission.form_version)
    return {f.name: display_value(f, submission.data.get(f.name), language) for f in spec.fields}
