"""The work pages: a reviewer's inbox, an item with its steps and history, a resident's list."""

from tests.engine.workflow.test_resident_request import build  # noqa: F401  (the same world)

import pytest

from engine.models import FlowInstance


@pytest.fixture
def world(db):
    return build()


def test_the_leader_sees_the_item_in_the_inbox_and_takes_a_step_on_its_page(client, world):
    community, people, handler, submission = world
    client.force_login(people["leader"])
    inbox = client.get("/inbox/").content.decode()
    assert submission.reference in inbox and "研判" in inbox
    page = client.get(f"/items/{submission.pk}/").content.decode()
    assert "楼道灯坏了" in page and "研判意见" in page
    version = FlowInstance.objects.get(submission=submission).version
    missing = client.post(f"/items/{submission.pk}/", {"transition": "analyse", "version": version}, follow=True)
    assert "请把内容填写完整" in missing.content.decode()
    done = client.post(f"/items/{submission.pk}/", {"transition": "analyse", "version": version,
                                                   "input-analysis": "属实", "input-handling_level": "社区办理"},
                       follow=True)
    assert "已完成" in done.content.decode() and "已研判" in done.content.decode()
    assert FlowInstance.objects.get(submission=submission).state == "analysed"
    stale = client.post(f"/items/{submission.pk}/", {"transition": "decline", "version": version, "comment": "x"},
                        follow=True)
    assert "事项已被他人处理" in stale.content.decode()


def test_the_resident_follows_their_submission_and_others_cannot_see_it(client, world):
    community, people, handler, submission = world
    client.force_login(people["resident"])
    assert submission.reference in client.get("/my/").content.decode()
    page = client.get(f"/items/{submission.pk}/").content.decode()
    assert "已收集" in page and "提交" in page and "研判意见" not in page  # progress, and no staff step
    client.force_login(people["other_leader"])
    assert client.get(f"/items/{submission.pk}/").status_code == 404
    client.logout()
    assert client.get("/inbox/").status_code == 302


def test_the_resident_rates_the_result_on_the_items_page(client, world):
    from tests.engine.workflow.test_resident_request import act

    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    act(people["handler"], submission, "resolve", comment="已修好")
    client.force_login(people["resident"])
    page = client.get(f"/items/{submission.pk}/").content.decode()
    assert 'value="rate"' in page and 'value="reopen"' in page and "满意度" in page
    version = FlowInstance.objects.get(submission=submission).version
    refused = client.post(f"/items/{submission.pk}/", {"transition": "rate", "version": version,
                                                      "input-resolved": "False", "input-rating": "1",
                                                      "input-comment": "没修好"}, follow=True)
    assert "评价为不满意或问题未解决时，请选择“不满意，退回重办”。" in refused.content.decode()  # the flow's guard_message
    done = client.post(f"/items/{submission.pk}/", {"transition": "rate", "version": version,
                                                   "input-resolved": "True", "input-rating": "5"}, follow=True)
    assert "已办结" in done.content.decode()
    assert FlowInstance.objects.get(submission=submission).state == "closed"
