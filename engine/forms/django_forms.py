"""Django form classes built from a compiled FormSpec — the adapter between JSON Schema and HTML.

One dispatch table maps each widget (chosen when the form was compiled) to a small factory; an
unknown widget is a configuration error that lists the valid ones. Fields coerce what the
browser sends (text to numbers, dates...) and nothing more: whether the data may be stored is
decided by the form's JSON Schema in `LinliForm.clean`, whose errors are put back on the
fields they concern. Nested objects render as fieldsets, arrays of objects as repeat groups
that work without JavaScript, files are stored on arrival and carried as tokens, so a failed
step never loses an upload.

Form classes are built once per (version, step) and cached.
"""

from __future__ import annotations

import datetime
import decimal

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext
from django.utils.datastructures import MultiValueDict

from .spec import CHOICE_FORMATS, FieldSpec, FormSpec, text
from .validation import validate

# ---------------------------------------------------------------- widgets


class TelInput(forms.TextInput):
    input_type = "tel"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class UploadWidget(forms.Widget):
    """A file input plus the tokens of files already uploaded for this field (kept across steps)."""

    template_name = "linli/widgets/upload.html"

    def __init__(self, attrs=None, multiple=False):
        super().__init__(attrs)
        self.multiple = multiple

    def value_from_datadict(self, data, files, name):
        return {"files": files.getlist(name) if files else [], "tokens": data.getlist(f"{name}__token")
                if hasattr(data, "getlist") else data.get(f"{name}__token", [])}

    def value_omitted_from_data(self, data, files, name):
        return False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        tokens = value.get("tokens", []) if isinstance(value, dict) else (value if isinstance(value, list) else
                                                                          ([value] if value else []))
        context["widget"].update({"tokens": tokens, "multiple": self.multiple})
        return context


class GroupWidget(forms.Widget):
    """Renders a fieldset (object) or a repeat group (array of objects) from sub-fields."""

    template_name = "linli/widgets/group.html"

    def __init__(self, children: dict[str, forms.Field], repeat=False, add_label="", attrs=None):
        super().__init__(attrs)
        self.children, self.repeat, self.add_label = children, repeat, add_label

    def _row_value(self, data, files, prefix):
        return {name: field.widget.value_from_datadict(data, files, f"{prefix}__{name}")
                for name, field in self.children.items()}

    def value_from_datadict(self, data, files, name):
        if not self.repeat:
            return self._row_value(data, files, name)
        try:
            count = min(int(data.get(f"{name}__rows", "0")), 100)
        except ValueError:
            count = 0
        rows = []
        for index in range(count):
            if data.get(f"{name}__{index}__DELETE"):
                continue
            rows.append(self._row_value(data, files, f"{name}__{index}"))
        return rows

    def value_omitted_from_data(self, data, files, name):
        return False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.repeat:
            rows = [r for r in (value or []) if isinstance(r, dict)]
            rows = rows + [{}]  # always one empty row: adding works without JavaScript
        else:
            rows = [value if isinstance(value, dict) else {}]  # a fieldset shows its fields even when empty
        rendered = []
        for index, row in enumerate(rows):
            prefix = f"{name}__{index}" if self.repeat else name
            cells = []
            for child_name, field in self.children.items():
                child_value = row.get(child_name)
                html_name = f"{prefix}__{child_name}"
                cells.append({"name": html_name, "label": field.label, "required": field.widget.attrs.get("required"),
                              "help": field.help_text, "html": field.widget.render(
                                  html_name, _widget_value(field, child_value), {"id": f"id_{html_name}"}),
                              "errors": (row.get("__errors__") or {}).get(child_name, [])})
            rendered.append({"index": index, "prefix": prefix, "cells": cells})
        context["widget"].update({"rows": rendered, "repeat": self.repeat, "add_label": self.add_label,
                                  "row_count": len(rendered)})
        return context


def _widget_value(field, value):
    if isinstance(field, forms.MultipleChoiceField):
        return value or []
    if isinstance(value, bool):
        return value
    if isinstance(field.widget, DateInput) and isinstance(value, str):
        return value
    return value


# ---------------------------------------------------------------- fields


class GroupField(forms.Field):
    """An object (fieldset) or an array of objects (repeat group): cleans every sub-field."""

    def __init__(self, children: dict[str, forms.Field], repeat=False, add_label="", **kwargs):
        self.children, self.repeat = children, repeat
        super().__init__(widget=GroupWidget(children, repeat, add_label), **kwargs)

    def _clean_row(self, row):
        cleaned, errors = {}, []
        for name, field in self.children.items():
            try:
                value = field.clean(row.get(name))
            except forms.ValidationError as error:
                errors.extend(f"{field.label}: {m}" for m in error.messages)
                continue
            if not _is_empty(value):
                cleaned[name] = value
        return cleaned, errors

    def clean(self, value):
        if not self.repeat:
            cleaned, errors = self._clean_row(value or {})
            if errors:
                raise forms.ValidationError(errors)
            return cleaned or None
        rows, errors = [], []
        for index, row in enumerate(value or []):
            cleaned, row_errors = self._clean_row(row)
            errors.extend(f"第{index + 1}项 {e}" for e in row_errors)
            if cleaned:
                rows.append(cleaned)
        if errors:
            raise forms.ValidationError(errors)
        return rows or None


class UploadField(forms.Field):
    """Stores what arrives (through `store`, set by the form) and returns the file token(s)."""

    def __init__(self, multiple=False, **kwargs):
        self.multiple = multiple
        self.store = None
        super().__init__(widget=UploadWidget(multiple=multiple), **kwargs)

    def clean(self, value):
        value = value or {}
        tokens = [t for t in value.get("tokens", []) if t]
        for upload in value.get("files", []):
            if self.store is None:
                raise forms.ValidationError("uploads are not available here")
            tokens.append(self.store(upload))
        if self.multiple:
            return tokens or None
        return tokens[-1] if tokens else None


def _is_empty(value):
    return value is None or value == "" or value == [] or value == {}


def _choices(spec: FieldSpec, names: dict, language):
    if spec.choices:
        return [(c.value, text(c.label, language)) for c in spec.choices]
    if spec.format in CHOICE_FORMATS:
        return [(key, title) for key, title in names.get(spec.format, [])]
    if spec.type == "boolean":  # a yes/no question drawn as radios (x-ui widget: radio)
        return [(True, gettext("Yes")), (False, gettext("No"))]
    return []


def _common(spec: FieldSpec, language):
    attrs = {}
    if spec.required:
        attrs["required"] = True
    placeholder = spec.ui.get("placeholder")
    if placeholder:
        attrs["placeholder"] = text(placeholder, language)
    if spec.readonly:
        attrs["readonly"] = True
    for keyword, attribute in (("maxLength", "maxlength"), ("minLength", "minlength"), ("minimum", "min"),
                               ("maximum", "max"), ("multipleOf", "step")):
        if keyword in spec.constraints:
            attrs[attribute] = spec.constraints[keyword]
    help_text = text(spec.ui.get("help") or spec.description, language)
    # required=False: whether a value is missing is the schema's verdict (conditions included).
    # A read-only field is disabled: Django then ignores what is posted and keeps the initial value.
    return {"label": text(spec.title, language), "help_text": help_text, "required": False,
            "initial": spec.default if spec.const is None else spec.const, "disabled": spec.readonly}, attrs


def text_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.CharField(widget=forms.TextInput(attrs), strip=True, **kwargs)


def textarea_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    attrs["rows"] = spec.ui.get("rows", 4)
    return forms.CharField(widget=forms.Textarea(attrs), strip=True, **kwargs)


def tel_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    attrs.update({"inputmode": "tel", "autocomplete": "tel"})
    return forms.CharField(widget=TelInput(attrs), strip=True, **kwargs)


def idcard_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    attrs.update({"autocomplete": "off", "maxlength": 18})
    return forms.CharField(widget=forms.TextInput(attrs), strip=True, **kwargs)


def email_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.CharField(widget=forms.EmailInput(attrs), strip=True, **kwargs)


def url_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.CharField(widget=forms.URLInput(attrs), strip=True, **kwargs)


def hidden_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.CharField(widget=forms.HiddenInput(attrs), **kwargs)


def number_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    attrs["inputmode"] = "numeric" if spec.type == "integer" else "decimal"
    if spec.type == "integer":
        return forms.IntegerField(widget=forms.NumberInput(attrs), **kwargs)
    return forms.DecimalField(widget=forms.NumberInput(attrs), **kwargs)


def _typed(spec):
    if spec.type == "integer":
        return int
    if spec.type == "number":
        return float
    if spec.type == "boolean":
        return lambda v: v in (True, "True", "true", "1")
    return str


def select_field(spec, names, language, widget=forms.Select):
    kwargs, attrs = _common(spec, language)
    choices = [("", "—")] + _choices(spec, names, language) if widget is forms.Select else _choices(spec, names, language)
    attrs.pop("placeholder", None)
    return forms.TypedChoiceField(choices=choices, coerce=_typed(spec), empty_value=None,
                                  widget=widget(attrs), **kwargs)


def radio_field(spec, names, language):
    return select_field(spec, names, language, widget=forms.RadioSelect)


def checkboxes_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    attrs.pop("required", None)
    item = spec.item or spec
    return forms.TypedMultipleChoiceField(choices=_choices(item, names, language) or _choices(spec, names, language),
                                          coerce=_typed(item), widget=forms.CheckboxSelectMultiple(attrs), **kwargs)


def checkbox_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    attrs.pop("required", None)
    kwargs["initial"] = bool(kwargs["initial"])
    return forms.BooleanField(widget=forms.CheckboxInput(attrs), **kwargs)


def date_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.DateField(widget=DateInput(attrs), input_formats=["%Y-%m-%d"], **kwargs)


def time_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.TimeField(widget=TimeInput(attrs), input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


def datetime_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    return forms.DateTimeField(widget=DateTimeInput(attrs), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                               **kwargs)


def upload_field(spec, names, language):
    kwargs, attrs = _common(spec, language)
    field = UploadField(multiple=spec.type == "array", **kwargs)
    accept = spec.ui.get("accept")
    field.widget.attrs.update({"accept": ",".join(accept) if accept else "image/*" if spec.widget == "photo" else ""})
    if spec.widget == "photo":
        field.widget.attrs["capture"] = "environment"
    return field


def group_field(spec, names, language):
    kwargs, _ = _common(spec, language)
    row = spec.item if spec.type == "array" else spec
    children = {child.name: build_field(child, names, language) for child in row.children}
    return GroupField(children, repeat=spec.type == "array", add_label=text(spec.ui.get("add_label") or "", language),
                      **kwargs)


def building_field(spec, names, language):
    return select_field(spec, names, language)


FIELD_FACTORIES = {
    "text": text_field, "textarea": textarea_field, "tel": tel_field, "idcard": idcard_field, "email": email_field,
    "url": url_field, "hidden": hidden_field, "number": number_field, "select": select_field, "radio": radio_field,
    "rating": radio_field, "checkboxes": checkboxes_field, "checkbox": checkbox_field, "date": date_field,
    "time": time_field, "datetime": datetime_field, "photo": upload_field, "file": upload_field,
    "building": building_field, "fieldset": group_field, "repeat": group_field,
}


def build_field(spec: FieldSpec, names, language) -> forms.Field:
    if spec.type == "object" or (spec.type == "array" and spec.item is not None and spec.item.type == "object"):
        factory = group_field
    elif spec.is_file:
        factory = upload_field
    elif spec.type == "array":
        factory = checkboxes_field
    else:
        factory = FIELD_FACTORIES.get(spec.widget)
    if factory is None:
        raise ImproperlyConfigured(f"unknown widget {spec.widget!r} for field {spec.dotted!r}; "
                                   f"valid widgets: {', '.join(sorted(FIELD_FACTORIES))}")
    field = factory(spec, names, language)
    field.spec = spec
    return field


# ---------------------------------------------------------------- to JSON


def to_json(spec: FieldSpec, value):
    """A cleaned Django value as the JSON the schema describes (None: leave the key out)."""
    if _is_empty(value):
        return None
    if spec.type == "object":
        out = {c.name: to_json(c, value.get(c.name)) for c in spec.children}
        return {k: v for k, v in out.items() if v is not None} or None
    if spec.type == "array" and spec.item is not None and spec.item.type == "object":
        rows = [to_json(spec.item, row) for row in value]
        return [r for r in rows if r] or None
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="minutes")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat() if not isinstance(value, datetime.time) else value.strftime("%H:%M")
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# ---------------------------------------------------------------- the form


class LinliForm(forms.Form):
    """One step of a published form. `previous` is the data of the steps before it; the schema
    is checked over everything so far, and only this step's problems are shown here."""

    spec: FormSpec = None
    step_fields: tuple = ()

    def __init__(self, *args, previous=None, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.previous = previous or {}
        for field in self.fields.values():
            if isinstance(field, UploadField):
                field.store = store
        self.instance = {}
        self.validated = None  # (spec, data) once the schema found nothing wrong with data

    def clean(self):
        cleaned = super().clean()
        step_data = {}
        for name in self.step_fields:
            if name in self.errors:
                continue
            value = to_json(self.fields[name].spec, cleaned.get(name))
            if value is not None:
                step_data[name] = value
        self.instance = step_data
        data = {**self.previous, **step_data}
        errors = validate(self.spec, data)
        self.validated = None if errors else (self.spec, data)
        for error in errors:
            top = error.pointer.split("/")[1] if error.pointer.count("/") >= 1 else ""
            if top in self.step_fields and top not in self.errors:
                label = ""
                if error.pointer.count("/") > 1:
                    label = error.pointer.split("/", 2)[2].replace("/", " ") + ": "
                self.add_error(top, label + error.text(translation.get_language() or "zh-hans"))
        return cleaned


def form_class(spec: FormSpec, step_key: str, names: dict, language: str):
    step = next(s for s in spec.steps if s.key == step_key)
    fields = {name: build_field(spec.by_name[name], names, language) for name in step.fields if name in spec.by_name}
    attrs = {**fields, "spec": spec, "step_fields": tuple(fields)}
    return type(f"LinliForm_{spec.key}_{spec.version}_{step_key}".replace("-", "_"), (LinliForm,), attrs)


def step_data_with_tokens(form: LinliForm) -> MultiValueDict:
    """What the wizard stores for a finished step: what was posted, with uploads replaced by
    their tokens — files are never kept in the session."""
    data = form.data.copy() if hasattr(form.data, "copy") else MultiValueDict(form.data)
    for name, field in form.fields.items():
        if isinstance(field, UploadField):
            html_name = form.add_prefix(name)
            value = form.cleaned_data.get(name)
            tokens = value if isinstance(value, list) else ([value] if value else [])
            data.setlist(f"{html_name}__token", tokens)
    return data
