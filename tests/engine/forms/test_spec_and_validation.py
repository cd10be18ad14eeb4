"""Compiling the example forms (no database) and the server's verdict on what residents send."""

import copy
from pathlib import Path

import pytest

from engine.definitions.pipeline import check_paths
from engine.forms.spec import Choice, Condition, compile_form
from engine.forms.validation import as_messages, field_at, validate

ROOT = Path(__file__).resolve().parents[3]
FORMS, FLOWS = ROOT / "forms_schemas", ROOT / "workflows_yaml"


@pytest.fixture(scope="module")
def contents():
    """(community, key) -> the content a published version of the form would hold."""
    result = check_paths([], FORMS, FLOWS, base=ROOT)
    assert result.ok
    return {(d.community, d.key): d.content for d in result.definitions if d.kind == "form"}


@pytest.fixture(scope="module")
def form(contents):
    def compiled(community, key, strip_ui=False):
        content = contents[(community, key)]
        if strip_ui:
            content = copy.deepcopy(content)
            content["definition"]["x-ui"].pop("fields", None)
        return compile_form(community, key, 1, content)
    return compiled


@pytest.fixture(scope="module")
def request_form(form):
    return form("minyue", "resident-request")


def fields_of(spec):
    return {f.name: f for f in spec.fields}


def messages(spec, data, language="zh-hans"):
    return as_messages(validate(spec, data), language)


VALID_REQUEST = {
    "category": "facilities",
    "subject": "3号楼楼道灯坏了",
    "details": "3号楼2单元楼道灯坏了一个星期，晚上上下楼看不见。",
    "urgency": "normal",
    "address": {"unit": "grid_1", "room": "2单元"},
    "contact_name": "王芳",
    "mobile": "13812345678",
    "contact_preference": "phone",
    "publicity_consent": True,
}

VALID_UNIT = {
    "organisation_name": "平城区税务局",
    "organisation_type": "government",
    "party_organisation": "平城区税务局机关党支部",
    "party_members": 35,
    "contact_name": "赵强",
    "contact_mobile": "13912345678",
    "paired_unit": "tongxingyuan",
    "resources": ["志愿者", "法律服务"],
    "projects": [
        {"name": "税法进社区", "content": "每季度一次政策宣讲", "start": "2024-03-01", "end": "2024-12-31"},
        {"name": "结对帮扶", "content": "帮扶困难家庭"},
    ],
}


# Compiling.

def test_every_example_form_compiles_with_one_field_per_property(contents):
    assert len(contents) >= 10
    for (community, key), content in contents.items():
        spec = compile_form(community, key, 3, content)
        assert spec.community == community and spec.key == key and spec.version == 3
        assert {f.name for f in spec.fields} == set(content["definition"]["properties"])
        # every field the steps name exists, and every field is in exactly one step
        named = [name for step in spec.steps for name in step.fields]
        assert sorted(named) == sorted(f.name for f in spec.fields), key


def test_the_resident_request_form(request_form):
    spec = request_form
    assert spec.title == "民情直通车"
    assert spec.reference_prefix == "MQ"
    assert not spec.anonymous
    fields = fields_of(spec)
    assert fields["category"].required and not fields["mobile"].required and not fields["photos"].required
    assert [(name, f.widget) for name, f in fields.items()] == [
        ("category", "select"), ("subject", "text"), ("details", "textarea"), ("urgency", "radio"),
        ("other_party", "text"), ("photos", "photo"), ("address", "fieldset"), ("contact_name", "text"),
        ("mobile", "tel"), ("contact_preference", "radio"), ("publicity_consent", "checkbox"),
    ]
    assert fields["urgency"].default == "normal"
    assert fields["other_party"].private and fields["contact_name"].private
    assert not fields["subject"].private
    assert fields["subject"].constraints == {"minLength": 4, "maxLength": 40}
    assert fields["subject"].errors == {"minLength": "标题请至少写4个字"}


def test_default_widgets_follow_the_schema_when_the_form_names_none(form):
    request = fields_of(form("minyue", "resident-request", strip_ui=True))
    assert request["category"].widget == "select"  # eight labelled choices
    assert request["urgency"].widget == "radio"  # three
    assert request["details"].widget == "textarea"  # maxLength 1000
    assert request["subject"].widget == "text"
    assert request["mobile"].widget == "tel"  # the shared Chinese mobile pattern
    assert request["photos"].widget == "photo"
    assert request["address"].widget == "fieldset"
    assert request["address"].children[0].widget == "building"
    assert request["publicity_consent"].widget == "checkbox"
    claim = fields_of(form("minyue", "post-claim", strip_ui=True))
    assert claim["post"].widget == "select" and claim["unit"].widget == "building"
    assert claim["service_times"].widget == "checkboxes"
    assert fields_of(form("minyue", "redemption", strip_ui=True))["preferred_date"].widget == "date"
    proposal = fields_of(form("minyue", "proposal", strip_ui=True))
    assert proposal["estimated_cost"].widget == "number"
    assert proposal["supporters"].widget == "repeat"
    assert fields_of(form("minyue", "unit-registration", strip_ui=True))["agreement"].widget == "photo"
    # a list of the community's teams is a set of checkboxes, not rows of free text
    assert fields_of(form("minyue", "member-registration", strip_ui=True))["teams"].widget == "checkboxes"


def test_steps(request_form, form):
    steps = request_form.steps
    assert [s.key for s in steps] == ["need", "place", "confirm"]
    assert steps[0].title == "说说您的诉求"
    assert steps[1].fields == ("address", "contact_name", "mobile", "contact_preference")
    assert request_form.step_of("mobile") is steps[1]
    assert request_form.step_of("nothing") is None
    # a form without steps is one step holding every field, in the x-ui order
    claim = form("minyue", "post-claim")
    assert [f.name for f in claim.fields] == ["post", "unit", "pledge", "service_times", "specialties", "in_service",
                                              "workplace"]
    assert len(claim.steps) == 1
    assert claim.steps[0].key == "form" and claim.steps[0].title == "党员认领岗位"
    assert claim.steps[0].fields == tuple(f.name for f in claim.fields)


def test_conditions_come_from_if_then_blocks(request_form, form):
    assert request_form.conditions == (
        Condition((("urgency", ("urgent",)),), ("mobile",)),
        Condition((("contact_preference", ("phone",)),), ("mobile",)),
        Condition((("category", ("neighbour_dispute",)),), ("other_party",)),
    )
    urgent = request_form.conditions[0]
    assert urgent.holds({"urgency": "urgent"})
    assert not urgent.holds({"urgency": "normal"})
    assert not urgent.holds({})
    unit = form("minyue", "unit-registration").conditions
    assert unit == (Condition((("organisation_type", ("government", "public_institution", "state_enterprise")),),
                              ("party_organisation", "party_members")),)
    assert unit[0].holds({"organisation_type": "state_enterprise"})
    assert not unit[0].holds({"organisation_type": "merchant"})
    rating = form("minyue", "satisfaction").conditions[0]
    assert rating.tests == (("rating", (1, 2)),) and rating.then_required == ("comment",)
    assert rating.holds({"rating": 2}) and not rating.holds({"rating": 3})
    assert form("minyue", "member-registration").conditions == ()


def test_shared_definitions_are_resolved_and_the_referring_title_wins(request_form):
    fields = fields_of(request_form)
    address = fields["address"]
    assert address.type == "object" and address.title == "诉求地点" and address.required and address.is_group
    unit, room = address.children
    assert (unit.name, unit.path, unit.format, unit.required, unit.title) == (
        "unit", ("address", "unit"), "unit", True, "所在楼栋或网格")
    assert unit.pointer == "/address/unit" and unit.dotted == "address.unit"
    assert unit.ui == {"widget": "building"}
    assert (room.required, room.private, room.constraints) == (False, True, {"maxLength": 20})
    mobile = fields["mobile"]
    assert mobile.title == "联系电话"
    assert mobile.constraints == {"pattern": "^1[3-9][0-9]{9}$"}
    assert mobile.errors == {"pattern": {"zh-hans": "请输入11位手机号码", "en": "Enter an 11-digit mobile number"}}
    photos = fields["photos"]
    assert photos.type == "array" and photos.multiple and photos.is_file and not photos.is_group
    assert photos.item.format == "file" and photos.constraints == {"maxItems": 3}
    assert photos.ui["accept"] == ["image/jpeg", "image/png", "image/heic"]


def test_repeat_groups(form):
    projects = fields_of(form("minyue", "unit-registration"))["projects"]
    assert projects.type == "array" and projects.widget == "repeat" and projects.is_group
    assert not projects.multiple and projects.choices == ()
    assert projects.constraints == {"maxItems": 10}
    assert projects.ui == {"add_label": "添加共建项目"}
    row = projects.item
    assert row.type == "object"
    assert [(c.name, c.required, c.widget) for c in row.children] == [
        ("name", True, "text"), ("content", True, "textarea"), ("start", False, "date"), ("end", False, "date")]
    assert row.children[2].format == "date"
    assert row.children[0].path == ("projects", "name")
    deductions = fields_of(form("zanan", "property-evaluation"))["deductions"]
    photo = next(c for c in deductions.item.children if c.name == "photo")
    assert photo.is_file and photo.title == "现场照片" and photo.widget == "photo"
    assert next(c for c in deductions.item.children if c.name == "item").widget == "select"


def test_checkboxes(form):
    fields = fields_of(form("minyue", "member-registration"))
    teams = fields["teams"]
    assert (teams.type, teams.widget, teams.multiple, teams.required) == ("array", "checkboxes", True, False)
    assert teams.item.format == "team"  # the choices are the community's teams
    assert teams.choices == ()
    assert teams.constraints == {"uniqueItems": True, "maxItems": 4}
    specialties = fields["specialties"]
    assert specialties.widget == "checkboxes" and specialties.multiple
    assert specialties.choices[0] == Choice("政策宣传", "政策宣传")
    assert len(specialties.choices) == 8
    assert fields["service_times"].required and fields["service_times"].constraints["minItems"] == 1


def test_labelled_choices(request_form, form):
    category = fields_of(request_form)["category"]
    assert category.choices[:2] == (Choice("environment", "环境卫生"), Choice("facilities", "设施维修（水电路灯、管网）"))
    assert len(category.choices) == 8
    rating = fields_of(form("minyue", "satisfaction"))["rating"]
    assert rating.type == "integer" and rating.widget == "rating" and rating.title == "满意度"
    assert rating.choices == (Choice(5, "非常满意"), Choice(4, "满意"), Choice(3, "基本满意"), Choice(2, "不满意"),
                              Choice(1, "非常不满意"))
    resources = fields_of(form("minyue", "unit-registration"))["resources"]
    assert resources.type == "array" and resources.item.type == "string"  # inferred from the enum
    consent = fields_of(form("zanan", "model-resident"))["nominee_consent"]
    assert consent.const is True and consent.type == "boolean"


# Validation.

def test_a_correct_instance_has_no_errors(request_form, form):
    assert validate(request_form, VALID_REQUEST) == []
    assert validate(form("minyue", "unit-registration"), VALID_UNIT) == []
    assert validate(form("minyue", "satisfaction"), {"resolved": True, "rating": 5}) == []


def test_each_missing_field_is_reported_at_its_own_pointer(request_form):
    assert messages(request_form, {}) == {
        "/category": ["此项必填"], "/subject": ["此项必填"], "/details": ["此项必填"], "/urgency": ["此项必填"],
        "/address": ["此项必填"], "/contact_name": ["此项必填"], "/contact_preference": ["此项必填"],
    }
    assert messages(request_form, {}, "en")["/category"] == ["This field is required"]
    data = {k: v for k, v in VALID_REQUEST.items() if k != "subject"}
    errors = validate(request_form, data)
    assert [(e.pointer, e.code) for e in errors] == [("/subject", "required")]
    assert errors[0].text("en") == "This field is required"


def test_x_error_overrides_the_message(request_form, form):
    data = {**VALID_REQUEST, "mobile": "12345"}
    assert messages(request_form, data) == {"/mobile": ["请输入11位手机号码"]}
    assert messages(request_form, data, "en") == {"/mobile": ["Enter an 11-digit mobile number"]}
    # a plain string is the message in every language
    data = {**VALID_REQUEST, "subject": "灯坏"}
    assert messages(request_form, data) == {"/subject": ["标题请至少写4个字"]}
    assert messages(request_form, data, "en") == {"/subject": ["标题请至少写4个字"]}
    nomination = {"nomination_type": "self", "nominee_name": "张桂兰", "nominee_unit": "grid_1", "category": "helping",
                  "deeds": "十年如一日照顾楼里的孤寡老人，" * 5, "citation": "十年如一日的热心邻居",
                  "recommender_mobile": "13812345678", "nominee_consent": False}
    assert messages(form("zanan", "model-resident"), nomination) == {"/nominee_consent": ["须经被推荐人同意后才能推荐"]}
    evaluation = form("zanan", "property-evaluation")
    assert messages(evaluation, {"period": "2024年三季度"})["/period"] == ["请按“年份-Q季度”填写，例如 2024-Q3"]


def test_messages_without_an_override(form):
    unit = form("minyue", "unit-registration")
    assert messages(unit, {**VALID_UNIT, "organisation_name": "税"}) == {"/organisation_name": ["至少输入2个字"]}
    assert messages(unit, {**VALID_UNIT, "organisation_name": "税"}, "en") == {
        "/organisation_name": ["Enter at least 2 characters"]}
    assert messages(unit, {**VALID_UNIT, "contact_mobile": "1381234567"}) == {"/contact_mobile": ["请输入11位手机号码"]}
    assert messages(unit, {**VALID_UNIT, "organisation_type": "club"}) == {"/organisation_type": ["请从选项中选择"]}


def test_conditional_requirements(request_form, form):
    no_phone = {k: v for k, v in VALID_REQUEST.items() if k != "mobile"}
    visit = {**no_phone, "contact_preference": "visit"}
    assert validate(request_form, visit) == []
    assert messages(request_form, {**visit, "urgency": "urgent"}) == {"/mobile": ["此项必填"]}
    assert messages(request_form, {**no_phone, "contact_preference": "phone"}) == {"/mobile": ["此项必填"]}
    # required by two conditions at once: still one message
    assert messages(request_form, {**no_phone, "urgency": "urgent"}) == {"/mobile": ["此项必填"]}
    assert messages(request_form, {**VALID_REQUEST, "category": "neighbour_dispute"}) == {"/other_party": ["此项必填"]}
    unit = form("minyue", "unit-registration")
    plain = {k: v for k, v in VALID_UNIT.items() if k not in ("party_organisation", "party_members")}
    assert messages(unit, plain) == {"/party_organisation": ["此项必填"], "/party_members": ["此项必填"]}
    assert validate(unit, {**plain, "organisation_type": "merchant"}) == []
    satisfaction = form("minyue", "satisfaction")
    assert messages(satisfaction, {"resolved": False, "rating": 1}) == {"/comment": ["此项必填"]}
    # a condition's own constraint (three supporters for a neighbours' nomination)
    nomination = {"nomination_type": "neighbours", "nominee_name": "张桂兰", "nominee_unit": "grid_1",
                  "category": "helping", "deeds": "十年如一日照顾楼里的孤寡老人，" * 5, "citation": "十年如一日的热心邻居",
                  "recommender_mobile": "13812345678", "nominee_consent": True,
                  "supporters": [{"name": "李四", "room": "1-101"}, {"name": "王五", "room": "1-102"}]}
    assert messages(form("zanan", "model-resident"), nomination) == {"/supporters": ["至少需要3项"]}


def test_dependent_requirements(form):
    unit = form("minyue", "unit-registration")
    data = {k: v for k, v in VALID_UNIT.items() if k != "projects"}
    assert validate(unit, data) == []
    assert messages(unit, {**data, "agreement": "0" * 32}) == {"/projects": ["此项必填"]}
    redemption = form("zanan", "redemption")
    assert messages(redemption, {"item": "towel", "quantity": 1, "child_name": "小明"}) == {"/child_grade": ["此项必填"]}


def test_fields_the_form_does_not_have(request_form):
    assert messages(request_form, {**VALID_REQUEST, "extra": "x"}) == {"/extra": ["表单中没有这一项"]}
    assert messages(request_form, {**VALID_REQUEST, "extra": "x"}, "en") == {"/extra": ["This form has no such field"]}
    assert messages(request_form, {**VALID_REQUEST, "a": 1, "b": 2}) == {"/a": ["表单中没有这一项"],
                                                                          "/b": ["表单中没有这一项"]}
    nested = {**VALID_REQUEST, "address": {"unit": "grid_1", "floor": 3}}
    assert messages(request_form, nested) == {"/address/floor": ["表单中没有这一项"]}


def test_type_errors(request_form, form):
    assert messages(request_form, {**VALID_REQUEST, "publicity_consent": "yes"}) == {
        "/publicity_consent": ["请选择是或否"]}
    assert messages(request_form, {**VALID_REQUEST, "contact_name": 12}) == {"/contact_name": ["请输入文字"]}
    assert messages(request_form, {**VALID_REQUEST, "address": "3号楼"}) == {"/address": ["格式不对: 应为一组字段"]}
    assert messages(request_form, {**VALID_REQUEST, "photos": "f" * 32}) == {"/photos": ["格式不对: 应为一组值"]}
    unit = form("minyue", "unit-registration")
    assert messages(unit, {**VALID_UNIT, "party_members": "35"}) == {"/party_members": ["请输入整数"]}
    assert messages(unit, {**VALID_UNIT, "party_members": 3.5}, "en") == {"/party_members": ["Enter a whole number"]}
    proposal = form("minyue", "proposal")
    assert messages(proposal, {"estimated_cost": "很多"})["/estimated_cost"] == ["请输入数字"]
    # not an object at all: one message for the whole form
    assert messages(request_form, ["not", "a", "form"]) == {"": ["格式不对: 应为一组字段"]}


def test_nested_pointers(request_form):
    assert messages(request_form, {**VALID_REQUEST, "address": {"room": "301"}}) == {"/address/unit": ["此项必填"]}
    assert messages(request_form, {**VALID_REQUEST, "address": {"unit": "3号楼"}}) == {"/address/unit": ["请选择所在单位"]}
    assert messages(request_form, {**VALID_REQUEST, "address": {"unit": "grid_1", "room": "x" * 21}}) == {
        "/address/room": ["最多输入20个字"]}


def test_array_item_pointers(request_form, form):
    unit = form("minyue", "unit-registration")
    data = copy.deepcopy(VALID_UNIT)
    data["projects"][0]["name"] = "税"
    data["projects"][0]["start"] = "2024-02-30"
    del data["projects"][1]["content"]
    data["projects"][1]["budget"] = 100
    assert messages(unit, data) == {
        "/projects/0/name": ["至少输入2个字"],
        "/projects/0/start": ["请输入日期 (年-月-日)"],
        "/projects/1/content": ["此项必填"],
        "/projects/1/budget": ["表单中没有这一项"],
    }
    assert messages(request_form, {**VALID_REQUEST, "photos": ["f" * 32, "not-a-token"]}) == {
        "/photos/1": ["请重新上传这个文件"]}
    member = form("minyue", "member-registration")
    base = {"name": "刘洋", "mobile": "13812345678", "address": {"unit": "grid_2"}, "workplace": "平城区税务局",
            "party_organisation": "税务局机关党支部", "service_times": ["周末"]}
    assert validate(member, {**base, "teams": ["red_volunteers"]}) == []
    assert messages(member, {**base, "teams": ["red_volunteers", "Red Volunteers"]}) == {"/teams/1": ["请选择服务队"]}


def test_minimum_maximum_and_counts(request_form, form):
    unit = form("minyue", "unit-registration")
    assert messages(unit, {**VALID_UNIT, "party_members": -1}) == {"/party_members": ["不能小于0"]}
    assert messages(unit, {**VALID_UNIT, "party_members": 10001}) == {"/party_members": ["不能大于10000"]}
    assert messages(unit, {**VALID_UNIT, "party_members": 10001}, "en") == {
        "/party_members": ["Enter a number at most 10000"]}
    assert messages(unit, {**VALID_UNIT, "resources": []}) == {"/resources": ["至少需要1项"]}
    assert messages(unit, {**VALID_UNIT, "resources": ["资金", "资金"]}) == {"/resources": ["有重复的选项"]}
    assert messages(unit, {**VALID_UNIT, "resources": ["资金", "现金"]}) == {"/resources/1": ["请从选项中选择"]}
    redemption = form("minyue", "redemption")
    assert messages(redemption, {"item": "rice_5kg", "quantity": 0, "collection": "centre"}) == {
        "/quantity": ["不能小于1"]}
    assert messages(redemption, {"item": "rice_5kg", "quantity": 6, "collection": "centre"}) == {
        "/quantity": ["不能大于5"]}
    assert messages(request_form, {**VALID_REQUEST, "photos": ["f" * 32] * 4})["/photos"] == ["最多3项"]
    assert messages(request_form, {**VALID_REQUEST, "details": "太短了"}) == {
        "/details": ["请把情况说得具体一些（至少10个字）"]}
    assert messages(request_form, {**VALID_REQUEST, "subject": "长" * 41}) == {"/subject": ["最多输入40个字"]}


def test_every_error_has_a_code_and_both_languages(request_form):
    errors = validate(request_form, {"category": 1, "subject": "", "urgency": "whenever", "address": {"unit": 7},
                                     "photos": [1], "publicity_consent": None, "other": 1})
    assert errors
    for error in errors:
        assert error.code and error.pointer.startswith("/")
        assert set(error.message) == {"zh-hans", "en"}
        assert error.text("zh-hans") and error.text("en")


# field_at.

def test_field_at(request_form, form):
    unit = field_at(request_form, "/address/unit")
    assert unit.name == "unit" and unit.format == "unit"
    assert field_at(request_form, "/address").widget == "fieldset"
    assert field_at(request_form, "/mobile").name == "mobile"
    photo = field_at(request_form, "/photos/2")
    assert photo.format == "file" and photo is fields_of(request_form)["photos"].item
    projects = form("minyue", "unit-registration")
    assert field_at(projects, "/projects").widget == "repeat"
    assert field_at(projects, "/projects/0") is field_at(projects, "/projects").item
    name = field_at(projects, "/projects/0/name")
    assert name.name == "name" and name.constraints == {"minLength": 2, "maxLength": 40}
    assert field_at(projects, "/projects/3/start").format == "date"
    for missing in ["", "/", "/nothing", "/address/floor", "/mobile/0", "/projects/name", "/projects/0/nothing",
                    "/0"]:
        assert field_at(request_form if not missing.startswith("/projects") else projects, missing) is None, missing


def test_nul_characters_are_refused_at_their_pointer(request_form):
    """Valid JSON, but PostgreSQL's jsonb cannot store U+0000: one clear message, not a crash."""
    data = {**VALID_REQUEST, "details": "3号楼2单元楼道灯坏了\x00一个星期", "address": {"unit": "grid_1", "room": "3\x00"}}
    assert messages(request_form, data) == {"/details": ["含有无法保存的空字符, 请删除后再提交"],
                                            "/address/room": ["含有无法保存的空字符, 请删除后再提交"]}
    assert messages(request_form, {**VALID_REQUEST, "mobile": "1381234567\x00"}, "en") == {
        "/mobile": ["Enter an 11-digit mobile number", "Contains a NUL character, which cannot be stored"]}
