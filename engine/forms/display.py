"""Submission data as people read it: choices by their labels, groups joined, files counted."""

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
            return f"{len(value)} 个文件" if language.startswith("zh") else f"{len(value)} file(s)"
        if field.item is not None and field.item.type == "object":
            return " / ".join(display_value(field.item, row, language, names) for row in value)
        labels = {c.value: text(c.label, language) for c in field.choices}
        return "、".join(str(labels.get(v, v)) for v in value)
    if field.choices:
        labels = {c.value: text(c.label, language) for c in field.choices}
        return str(labels.get(value, value))
    if field.type == "boolean":
        return ("是" if value else "否") if language.startswith("zh") else ("yes" if value else "no")
    if field.is_file:
        return "1 个文件" if language.startswith("zh") else "1 file"
    return str(value)


def flat_data(submission, language="zh-hans"):
    spec = form_spec(submission.form_version)
    return {f.name: display_value(f, submission.data.get(f.name), language) for f in spec.fields}
