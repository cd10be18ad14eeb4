"""The item page tells the whole story (issue #16): the subject as heading, photos as thumbnails
only for those who may see them, where the item stands and who acts next, every step with its
inputs in words, inputs drawn from the transition's input spec, one comment box, the rating form
drawn once with its own widgets and the flow's guard message, 撤回 as a secondary action."""

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from engine.models import AuditEvent, Definition, FlowInstance, Person, Submission
from engine.services.submissions import submit
from engine.services.uploads import store_upload
from engine.forms.registry import form_spec
from tests.concurrency import race
from tests.engine.workflow.test_resident_request import act, build

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return build()


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def _submit_with_photo(resident, grid, form=None, private_photo=False):
    form = form or Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    spec = form_spec(form.live_version)
    stored = store_upload(spec=spec, form=form, field_pointer="/photos", user=resident,
                          upload=SimpleUploadedFile("lamp.png", _png(), content_type="image/png"))
    data = {"category": "facilities", "subject": "路灯不亮了", "details": "小区东门路灯连续三晚不亮",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明",
            "contact_preference": "visit", "photos": [stored.token]}
    return submit(form=form, data=data, user=resident).submission, stored


def _page(client, submission):
    response = client.get(f"/items/{submission.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _post(client, submission, data):
    version = FlowInstance.objects.get(submission=submission).version
    return client.post(f"/items/{submission.pk}/", {"version": version, **data}, follow=True)


def _grid(people):
    return Person.objects.get(user=people["resident"]).unit


# ---------------------------------------------------------------- what the page shows


def test_the_heading_is_the_subject_with_the_reference_below(client, world):
    community, people, handler, submission = world
    client.force_login(people["resident"])
    page = _page(client, submission)
    assert re.search(r"<h1[^>]*>楼道灯坏了</h1>", page)
    assert f"受理编号 {submission.reference}" in page
    assert "<title>楼道灯坏了" in page


def test_photos_show_as_thumbnails_to_those_who_may_see_the_item_and_404_to_a_stranger(client, world):
    community, people, handler, submission = world
    photographed, stored = _submit_with_photo(people["resident"], _grid(people))
    url = f"/files/{stored.token}/"
    for key in ("resident", "leader", "secretary"):
        client.force_login(people[key])
        page = _page(client, photographed)
        assert f'<img src="{url}"' in page and "个文件" not in page, key
        assert client.get(url).status_code == 200, key
    client.force_login(people["other_leader"])  # a grid leader of another grid: a stranger here
    assert client.get(f"/items/{photographed.pk}/").status_code == 404
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 404


def test_a_private_fields_file_is_served_only_to_those_who_may_see_private_fields(client, world, tmp_path, settings):
    community, people, handler, submission = world
    # the same form with its photos marked private, published as a new version
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms_schemas", forms)
    path = forms / "minyue" / "resident-request.schema.json"
    schema = json.loads(path.read_text())
    schema["x-ui"].setdefault("fields", {})["photos"] = {"private": True}
    path.write_text(json.dumps(schema, ensure_ascii=False))
    settings.LINLI_FORMS_DIR = forms
    out = io.StringIO()
    try:
        call_command("load_definitions", str(forms / "minyue"), stdout=out)
    except SystemExit:
        pytest.fail(out.getvalue())
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    assert form_spec(form.live_version).by_name["photos"].private
    photographed, stored = _submit_with_photo(people["resident"], _grid(people), form)
    url = f"/files/{stored.token}/"
    act(people["leader"], photographed, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], photographed, "dispatch", {"assignee": handler.pk})
    client.force_login(people["handler"])  # the assignee sees the item, not its private fields
    page = _page(client, photographed)
    assert "路灯不亮了" in page and url not in page and "张明" not in page
    assert client.get(url).status_code == 404
    client.force_login(people["secretary"])
    assert url in _page(client, photographed) and client.get(url).status_code == 200


def test_status_in_words_with_who_acts_next(client, world):
    community, people, handler, submission = world
    client.force_login(people["resident"])
    page = _page(client, submission)
    assert "已收集" in page and "诉求已提交，等待网格长研判。" in page  # the state's title and description
    assert "下一步由" in page and "网格长" in page


def test_the_due_date_is_on_the_communitys_clock_and_the_assignee_is_named(client, world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    instance = FlowInstance.objects.get(submission=submission)
    local = instance.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    client.force_login(people["resident"])
    page = _page(client, submission)
    assert f"办理期限：{local:%Y-%m-%d %H:%M} 前" in page
    status = page[page.index('class="item-status"'):page.index('id="data-heading"')]
    assert re.search(r"下一步由[^<]*handler[^<]*办理", status)  # the assignee by name


def test_the_history_lists_every_step_with_who_its_inputs_in_words_and_its_comment(client, world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "情况属实，需更换灯具", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    act(people["handler"], submission, "resolve", comment="已更换灯泡")
    client.force_login(people["resident"])
    page = _page(client, submission)
    history = page[page.index('id="history-heading"'):]
    assert "研判" in history and "leader" in history
    assert "<dt>研判意见</dt><dd>情况属实，需更换灯具</dd>" in history
    assert "<dt>办理层级</dt><dd>社区办理</dd>" in history
    assert "<dt>承办人</dt><dd>handler</dd>" in history  # a person by name
    assert f"<dd>{handler.pk}</dd>" not in history  # never an id
    assert "已更换灯泡" in history and "secretary" in history


def test_history_output_is_escaped(client, world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "<script>alert(1)</script>", "handling_level": "社区办理"})
    client.force_login(people["resident"])
    page = _page(client, submission)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# ---------------------------------------------------------------- acting


def test_analyse_shows_its_inputs_by_kind_and_one_comment_box(client, world):
    community, people, handler, submission = world
    client.force_login(people["leader"])
    page = _page(client, submission)
    form = re.search(r'<form[^>]*data-step="analyse".*?</form>', page, re.S).group(0)
    assert '<textarea id="analyse-analysis" name="input-analysis"' in form  # text as a textarea
    assert form.count('type="radio" name="input-handling_level"') == 3  # few choices as radios
    assert 'name="comment"' not in form  # the 研判意见 is the one comment box
    decline = re.search(r'<details class="step step-secondary".*?</details>', page, re.S).group(0)
    assert 'data-step="decline"' in decline and 'name="comment"' in decline  # required: its own box


def test_the_leader_analyses_and_the_banner_says_what_was_done(client, world):
    community, people, handler, submission = world
    client.force_login(people["leader"])
    done = _post(client, submission, {"transition": "analyse", "input-analysis": "属实",
                                      "input-handling_level": "网格办理"}).content.decode()
    assert "“研判”已完成，事项转入“已研判”" in done
    assert FlowInstance.objects.get(submission=submission).state == "analysed"


def test_a_wrong_choice_is_refused_next_to_its_field_in_chinese_and_nothing_is_written(client, world):
    community, people, handler, submission = world
    client.force_login(people["leader"])
    events = AuditEvent.objects.count()
    page = _post(client, submission, {"transition": "analyse", "input-analysis": "属实",
                                      "input-handling_level": "街道办理"}).content.decode()
    assert re.search(r'id="analyse-handling_level-error"[^>]*>请从以下选项中选择', page)
    assert "属实</textarea>" in page  # what was typed is kept
    assert FlowInstance.objects.get(submission=submission).state == "collected"
    assert AuditEvent.objects.count() == events


def test_the_secretary_picks_the_handler_by_name_among_eligible_people(client, world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    client.force_login(people["secretary"])
    page = _page(client, submission)
    select = re.search(r'<select id="dispatch-assignee".*?</select>', page, re.S).group(0)
    assert re.search(rf'<option value="{handler.pk}">handler（[^<]+）</option>', select)
    assert 'type="number"' not in page  # never an id typed by hand
    done = _post(client, submission, {"transition": "dispatch", "input-assignee": str(handler.pk)}).content.decode()
    assert "“派单”已完成，事项转入“办理中”" in done
    assert FlowInstance.objects.get(submission=submission).assignee == people["handler"]


def test_a_person_from_another_community_is_refused_in_chinese_next_to_the_picker(client, world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    client.force_login(people["secretary"])
    page = _post(client, submission, {"transition": "dispatch", "input-assignee": "999999"}).content.decode()
    assert re.search(r'id="dispatch-assignee-error"[^>]*>所选人员不是本社区的在册人员', page)
    assert FlowInstance.objects.get(submission=submission).state == "analysed"


@pytest.mark.django_db(transaction=True)
def test_two_secretaries_dispatch_at_once_one_wins(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    community, people, handler, submission = build()
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    version = FlowInstance.objects.get(submission=submission).version

    def dispatch(_):
        from django.test import Client

        client = Client()
        client.force_login(people["secretary"])
        return client.post(f"/items/{submission.pk}/", {"transition": "dispatch", "version": version,
                                                         "input-assignee": str(handler.pk)}, follow=True)

    results, errors = race(2, dispatch)
    assert not errors
    pages = [r.content.decode() for r in results]
    assert sum("“派单”已完成" in p for p in pages) == 1
    assert sum("事项已被他人处理" in p for p in pages) == 1
    assert AuditEvent.objects.filter(instance__submission=submission, transition="dispatch").count() == 1


def test_withdraw_is_a_secondary_action_behind_a_confirmation(client, world):
    community, people, handler, submission = world
    client.force_login(people["resident"])
    page = _page(client, submission)
    details = re.search(r'<details class="step step-secondary".*?</details>', page, re.S).group(0)
    assert '<summary class="button secondary">撤回</summary>' in details
    assert "确定要“撤回”吗？" in details and ">确定撤回</button>" in details
    done = _post(client, submission, {"transition": "withdraw"}).content.decode()
    assert "“撤回”已完成，事项转入“已撤回”" in done


def _to_feedback(people, handler, submission):
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    act(people["handler"], submission, "resolve", comment="已修好")


def test_the_rating_form_is_drawn_once_with_its_own_widgets(client, world):
    community, people, handler, submission = world
    _to_feedback(people, handler, submission)
    client.force_login(people["resident"])
    page = _page(client, submission)
    assert page.count('data-form-steps="satisfaction"') == 1
    assert page.count('name="input-comment"') == 1 and 'name="comment"' not in page  # one comment box
    assert page.count('type="radio" name="input-rating"') == 5  # the rating widget
    assert page.count('type="radio" name="input-resolved"') == 2  # a yes/no radio, as the form says
    assert "请说明原因" in page  # the form's own help
    assert re.search(r'<button class="button" type="submit" name="transition" value="rate">评议</button>', page)
    assert re.search(r'<button class="button secondary" type="submit" name="transition" value="reopen">', page)


def test_a_rating_that_does_not_fit_the_step_gets_the_flows_guard_message(client, world):
    community, people, handler, submission = world
    _to_feedback(people, handler, submission)
    client.force_login(people["resident"])
    page = _post(client, submission, {"transition": "rate", "input-resolved": "False", "input-rating": "1",
                                      "input-comment": "没修好"}).content.decode()
    assert "评价为不满意或问题未解决时，请选择“不满意，退回重办”。" in page and "此项必填" not in page
    assert "没修好</textarea>" in page  # the answers are kept
    assert FlowInstance.objects.get(submission=submission).state == "feedback"
    done = _post(client, submission, {"transition": "reopen", "input-resolved": "False", "input-rating": "1",
                                      "input-comment": "没修好"}).content.decode()
    assert "“不满意，退回重办”已完成，事项转入“办理中”" in done


def test_the_rating_forms_own_rules_are_shown_next_to_their_fields(client, world):
    community, people, handler, submission = world
    _to_feedback(people, handler, submission)
    client.force_login(people["resident"])
    page = _post(client, submission, {"transition": "reopen", "input-resolved": "False",
                                      "input-rating": "9"}).content.decode()
    assert re.search(r'id="error-input-rating">[^<]+', page)
    assert FlowInstance.objects.get(submission=submission).state == "feedback"


def test_the_pages_words_are_chinese_for_each_role(client, world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    for key in ("resident", "secretary", "leader"):
        client.force_login(people[key])
        page = _page(client, submission)
        visible = re.sub(r"<[^>]+>|<script.*?</script>", " ", page, flags=re.S)
        for english in ("Reference", "Next:", "Due by", "Submitted", "Choose a person", "is done", "Yes,"):
            assert english not in visible, (key, english)
    assert Submission.objects.count() == 1


def test_a_voter_sees_the_subject_and_the_vote_but_not_private_fields(client, db):
    from tests.engine.workflow import test_deliberation as deliberation

    world = deliberation.world.__wrapped__(db)  # the same world as the deliberation tests
    submission = world["submission"]
    submission.data = {**submission.data, "supporters": [{"name": "李四", "room": "3-201"}]}
    submission.save(update_fields=["data"])
    deliberation.to_vote(world)
    client.force_login(world["reps"][0].user)
    page = _page(client, submission)
    assert re.search(r"<h1[^>]*>加装电梯</h1>", page) and 'name="ballot" value="yes"' in page
    assert "老人多，上下楼困难" in page  # what is not private is shown
    assert "李四" not in page and "3-201" not in page
    client.force_login(world["users"]["proposer"])  # the submitter sees their own supporters
    assert "李四" in _page(client, submission)
