"""JSON Schema → Django form fields, one construct at a time (no database)."""

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.utils.datastructures import MultiValueDict

from engine.forms.django_forms import FIELD_FACTORIES, build_field, form_class
from engine.forms.spec import FieldSpec, compile_form

SCHEMA = {
    "title": "测试",
    "type": "object",
    "required": ["name", "age"],
    "properties": {
        "name": {"title": "姓名", "type": "string", "minLength": 2, "maxLength": 20},
        "note": {"title": "说明", "type": "string", "maxLength": 1000},
        "age": {"title": "年龄", "type": "integer", "minimum": 0, "maximum": 120},
        "score": {"title": "分数", "type": "number", "multipleOf": 0.5},
        "day": {"title": "日期", "type": "string", "format": "date"},
        "at": {"title": "时间", "type": "string", "format": "time"},
        "when": {"title": "日期时间", "type": "string", "format": "date-time"},
        "mail": {"title": "邮箱", "type": "string", "format": "email"},
        "site": {"title": "网址", "type": "string", "format": "uri"},
        "mobile": {"title": "手机", "type": "string", "pattern": "^1[3-9][0-9]{9}$"},
        "agree": {"title": "同意", "type": "boolean", "default": False},
        "kind": {"title": "类别", "type": "string", "oneOf": [{"const": "a", "title": "甲"}, {"const": "b", "title": "乙"}]},
        "size": {"title": "大小", "type": "string", "enum": ["s", "m", "l", "xl", "xxl", "xxxl"]},
        "tags": {"title": "标签", "type": "array", "uniqueItems": True, "items": {"enum": ["x", "y"]}},
        "fixed": {"title": "固定", "type": "string", "default": "已定", "readOnly": True},
        "place": {"title": "地点", "type": "object", "properties": {
            "unit": {"title": "楼栋", "type": "string", "format": "unit"}, "room": {"title": "门牌", "type": "string"}}},
        "people": {"title": "家庭成员", "type": "array", "items": {"type": "object", "properties": {
            "who": {"title": "姓名", "type": "string"}, "born": {"title": "出生年份", "type": "integer"}}}},
        "photo": {"title": "照片", "type": "string", "format": "file"},
    },
    "additionalProperties": False,
    "x-ui": {"fields": {"note": {"widget": "textarea", "rows": 6}}},
}
NAMES = {"unit": [("b1", "一号楼"), ("b2", "二号楼")], "post": [], "store-item": [], "team": []}


@pytest.fixture
def spec():
    return compile_form("test", "all", 1, {"definition": SCHEMA, "shared": {}})


@pytest.fixture
def Form(spec):
    return form_class(spec, "form", NAMES, "zh-hans")


@pytest.mark.parametrize("name, field_type, widget_type", [
    ("name", forms.CharField, forms.TextInput),
    ("note", forms.CharField, forms.Textarea),
    ("age", forms.IntegerField, forms.NumberInput),
    ("score", forms.DecimalField, forms.NumberInput),
    ("day", forms.DateField, forms.DateInput),
    ("at", forms.TimeField, forms.TimeInput),
    ("when", forms.DateTimeField, forms.DateTimeInput),
    ("mail", forms.CharField, forms.EmailInput),
    ("site", forms.CharField, forms.URLInput),
    ("agree", forms.BooleanField, forms.CheckboxInput),
    ("kind", forms.TypedChoiceField, forms.RadioSelect),
    ("size", forms.TypedChoiceField, forms.Select),
    ("tags", forms.TypedMultipleChoiceField, forms.CheckboxSelectMultiple),
])
def test_each_construct_gets_its_field_and_widget(Form, name, field_type, widget_type):
    field = Form.base_fields[name]
    assert isinstance(field, field_type) and isinstance(field.widget, widget_type)


def test_html_attributes_carry_the_schema_limits_and_input_modes(Form):
    html = str(Form()["name"]) + str(Form()["age"]) + str(Form()["mobile"]) + str(Form()["day"])
    assert 'maxlength="20"' in html and 'minlength="2"' in html and "required" in html
    assert 'min="0"' in html and 'max="120"' in html and 'inputmode="numeric"' in html
    assert 'type="tel"' in html and 'inputmode="tel"' in html
    assert 'type="date"' in html


def test_labelled_choices_show_their_labels(Form):
    html = str(Form()["kind"])
    assert "甲" in html and "乙" in html and 'value="a"' in html


def test_unit_fields_offer_the_communitys_units(Form):
    html = str(Form()["place"])
    assert "一号楼" in html and 'value="b2"' in html


def data(**values):
    return MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in values.items()})


def test_posted_values_become_the_json_the_schema_describes(Form):
    form = Form(data(**{
        "name": "张明", "age": "70", "score": "4.5", "day": "2026-11-21", "at": "09:30", "when": "2026-11-21T09:30",
        "agree": "on", "kind": "b", "size": "m", "tags": ["x", "y"], "fixed": "changed!",
        "place__unit": "b1", "place__room": "301", "people__rows": "3", "people__0__who": "李华",
        "people__0__born": "1950", "people__1__who": "王芳", "people__1__DELETE": "1", "people__2__who": "",
    }))
    assert form.is_valid(), form.errors
    assert form.instance == {
        "name": "张明", "age": 70, "score": 4.5, "day": "2026-11-21", "at": "09:30", "when": "2026-11-21T09:30",
        "agree": True, "kind": "b", "size": "m", "tags": ["x", "y"], "fixed": "已定",
        "place": {"unit": "b1", "room": "301"}, "people": [{"who": "李华", "born": 1950}],
    }


def test_the_schema_decides_and_its_words_are_put_on_the_fields(Form):
    form = Form(data(name="张", age="200", mobile="123"))
    assert not form.is_valid()
    assert form.errors["name"] == ["至少输入2个字"]
    assert form.errors["age"] == ["不能大于120"]
    assert form.errors["mobile"] == ["格式不正确"]


def test_a_missing_required_field_is_reported_by_the_schema(Form):
    form = Form(data(age="5"))
    assert not form.is_valid() and form.errors["name"] == ["此项必填"]


def test_coercion_errors_come_first_and_nothing_else_is_claimed(Form):
    form = Form(data(name="张明", age="abc"))
    assert not form.is_valid() and list(form.errors) == ["age"]


def test_an_unknown_widget_is_a_configuration_error_that_lists_the_valid_ones():
    bogus = FieldSpec(name="x", path=("x",), type="string", widget="slider")
    with pytest.raises(ImproperlyConfigured) as info:
        build_field(bogus, NAMES, "zh-hans")
    assert "slider" in str(info.value) and ", ".join(sorted(FIELD_FACTORIES)) in str(info.value)


def test_the_repeat_group_always_offers_an_empty_row_without_javascript(Form):
    html = str(Form()["people"])
    assert 'name="people__rows" value="1"' in html and 'name="people__0__who"' in html


def test_a_file_field_stores_uploads_through_the_form_and_keeps_tokens(Form):
    from django.core.files.uploadedfile import SimpleUploadedFile

    stored = []
    form = Form(data(name="张明", age="5"), MultiValueDict({"photo": [SimpleUploadedFile("a.jpg", b"x")]}),
                store=lambda upload: stored.append(upload.name) or "f" * 32)
    assert form.is_valid(), form.errors
    assert form.instance["photo"] == "f" * 32 and stored == ["a.jpg"]
    again = Form(data(name="张明", age="5", photo__token="e" * 32))
    assert again.is_valid() and again.instance["photo"] == "e" * 32
