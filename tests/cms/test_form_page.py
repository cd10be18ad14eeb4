"""A resident fills a published multi-step form page: errors by the field, nothing lost, one submission."""

import io

import pytest
from django.core.management import call_command
from PIL import Image

from cms.models import HomePage, LinliFormPage
from engine.models import Definition, Draft, Submission, SubmissionFile

URL = "/minyue-resident-request/"
PREFIX = None


@pytest.fixture
def site(db, settings, tmp_path, django_user_model):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    django_user_model.objects.create_user("minyue-resident", password="linli-demo")
    home = HomePage.objects.get()
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    return home.add_child(instance=LinliFormPage(title="民情直通车", slug="minyue-resident-request", form=form))


@pytest.fixture
def resident(client, site):
    client.login(username="minyue-resident", password="linli-demo")
    return client


def management(page, step):
    return {f"linli_form_{page.pk}_v{page.form.live_version.pk}-current_step": step}


def step_one(page, **overrides):
    data = {**management(page, "need"), "need-category": "safety", "need-subject": "楼道灯坏了",
            "need-details": "3号楼2单元楼道灯坏了一个星期, 晚上很黑", "need-urgency": "normal"}
    data.update(overrides)
    return data


def step_two(page, **overrides):
    data = {**management(page, "place"), "place-address__unit": "tongxingyuan", "place-address__room": "2单元301",
            "place-contact_name": "张明", "place-contact_preference": "visit"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def jpeg_with_gps():
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    buffer.seek(0)
    buffer.name = "photo.jpg"
    return buffer


def test_anonymous_visitors_are_sent_to_sign_in(client, site):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_first_step_shows_labels_progress_and_help(resident, site):
    html = resident.get(URL).content.decode()
    assert "诉求类别" in html and "具体情况" in html
    assert "步骤 1 / 3" in html or "Step 1 of 3" in html
    assert "什么时间、什么地方、什么问题" in html


def test_a_mistake_is_shown_next_to_the_field_and_nothing_typed_is_lost(resident, site):
    response = resident.post(URL, step_one(site, **{"need-subject": "灯"}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "标题请至少写4个字" in html
    assert 'id="field-need-subject"' in html and 'class="field has-error"' in html
    assert "3号楼2单元楼道灯坏了一个星期" in html  # what was typed is still there
    assert Submission.objects.count() == 0


def test_a_condition_makes_a_field_required_on_the_server(resident, site):
    html = resident.post(URL, step_one(site, **{"need-category": "neighbour_dispute"})).content.decode()
    assert "此项必填" in html and 'id="field-need-other_party"' in html


def test_three_steps_with_a_photo_end_in_one_submission_with_a_reference(resident, site):
    first = step_one(site)
    first["need-photos"] = jpeg_with_gps()
    response = resident.post(URL, first)
    assert "地点和联系方式" in response.content.decode()
    token = SubmissionFile.objects.get().token
    # going back keeps the photo (its token) and the answers
    back = resident.post(URL, {**management(site, "place"), "wizard_goto_step": "need"}).content.decode()
    assert token in back and "楼道灯坏了" in back
    resident.post(URL, {**step_one(site), "need-photos__token": token})
    response = resident.post(URL, step_two(site))
    assert "确认提交" in response.content.decode()
    response = resident.post(URL, {**management(site, "confirm"), "confirm-publicity_consent": "on"})
    html = response.content.decode()
    submission = Submission.objects.get()
    assert submission.reference and submission.reference in html
    assert submission.reference.startswith("MQ")
    assert submission.data == {
        "category": "safety", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期, 晚上很黑",
        "urgency": "normal", "photos": [token], "address": {"unit": "tongxingyuan", "room": "2单元301"},
        "contact_name": "张明", "contact_preference": "visit", "publicity_consent": True,
    }
    assert submission.form_version == site.form.live_version
    assert SubmissionFile.objects.get().submission == submission
    stored = Image.open(SubmissionFile.objects.get().file.open("rb"))
    assert 0x8825 not in stored.getexif()  # GPS stripped


def test_a_condition_on_an_earlier_step_is_checked_before_storing(resident, site):
    resident.post(URL, step_one(site, **{"need-urgency": "urgent"}))
    response = resident.post(URL, step_two(site, **{"place-contact_preference": "visit"}))
    html = response.content.decode()
    assert "此项必填" in html and 'id="field-place-mobile"' in html  # urgent needs a phone number
    assert Submission.objects.count() == 0


def test_an_unknown_unit_is_refused(resident, site):
    resident.post(URL, step_one(site))
    html = resident.post(URL, step_two(site, **{"place-address__unit": "nowhere"})).content.decode()
    assert Submission.objects.count() == 0
    assert "选择一个有效的选项" in html


def test_a_draft_is_saved_and_resumed(resident, site):
    resident.post(URL, step_one(site))
    resident.post(URL, {**step_two(site), "linli_save_draft": "1"})
    draft = Draft.objects.get()
    assert draft.form_version == site.form.live_version
    html = resident.get(URL + "?resume=1").content.decode()
    assert "张明" in html


def test_the_submissions_are_listed_in_wagtails_form_views(site, admin_client):
    Submission.objects.create(community=site.form.community, form=site.form, form_version=site.form.live_version,
                              data={"subject": "路灯不亮", "category": "facilities"}, reference="MQ1")
    response = admin_client.get(f"/admin/forms/submissions/{site.pk}/")
    html = response.content.decode()
    assert response.status_code == 200 and "路灯不亮" in html and "设施维修" in html
    export = admin_client.get(f"/admin/forms/submissions/{site.pk}/?export=csv")
    body = b"".join(export.streaming_content).decode("utf-8-sig") if export.streaming else export.content.decode()
    assert "路灯不亮" in body


def test_resuming_a_draft_after_a_new_version_keeps_the_old_version_and_says_what_changed(resident, site, tmp_path,
                                                                                          settings):
    import shutil

    resident.post(URL, step_one(site))
    resident.post(URL, {**step_two(site), "linli_save_draft": "1"})
    old_version = site.form.live_version
    # publish a new version in which the subject's title changed
    root = tmp_path / "defs"
    shutil.copytree("forms_schemas", root / "forms_schemas")
    shutil.copytree("workflows_yaml", root / "workflows_yaml")
    schema = root / "forms_schemas" / "minyue" / "resident-request.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"title": "诉求标题"', '"title": "一句话说明"'),
                      encoding="utf-8")
    settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = root / "forms_schemas", root / "workflows_yaml"
    call_command("load_definitions", str(schema), stdout=io.StringIO())
    site.form.refresh_from_db()
    assert site.form.live_version.number == old_version.number + 1
    html = resident.get(URL + "?resume=1").content.decode()
    assert "“诉求标题”改为“一句话说明”" in html
    assert Draft.objects.get().form_version == old_version
    old_prefix = f"linli_form_{site.pk}_v{old_version.pk}-current_step"
    step_two_data = {k: v for k, v in step_two(site).items() if not k.endswith("current_step")}
    response = resident.post(URL, {old_prefix: "place", **step_two_data})
    assert "确认提交" in response.content.decode()
    resident.post(URL, {old_prefix: "confirm"})
    submission = Submission.objects.get()
    assert submission.form_version == old_version  # finished on the version it began on
    assert not Draft.objects.exists()


def test_the_csv_export_neutralises_formulas(site, admin_client):
    Submission.objects.create(community=site.form.community, form=site.form, form_version=site.form.live_version,
                              data={"subject": '=HYPERLINK("http://evil.example","点我")', "category": "facilities"},
                              reference="MQ2")
    export = admin_client.get(f"/admin/forms/submissions/{site.pk}/?export=csv")
    body = b"".join(export.streaming_content).decode("utf-8-sig") if export.streaming else export.content.decode()
    assert "'=HYPERLINK(" in body and ',=HYPERLINK(' not in body


def test_an_editor_without_a_role_in_the_community_sees_no_submissions_in_the_listing(site, client,
                                                                                     django_user_model):
    from django.contrib.auth.models import Group, Permission
    from wagtail.models import GroupPagePermission, Page

    Submission.objects.create(community=site.form.community, form=site.form, form_version=site.form.live_version,
                              data={"subject": "别人的诉求", "category": "facilities"}, reference="MQ3")
    editors = Group.objects.create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    GroupPagePermission.objects.create(group=editors, page=Page.objects.get(depth=1), permission_type="change")
    editor = django_user_model.objects.create_user("editor", password="x" * 12, is_staff=True)
    editor.groups.add(editors)
    client.force_login(editor)
    response = client.get(f"/admin/forms/submissions/{site.pk}/")
    assert response.status_code == 200 and "别人的诉求" not in response.content.decode()
