"""Retention and account deletion: personal data leaves, history and the ledger still hold."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from engine.models import Community, Definition, FlowInstance, OrgUnit, Person, Submission, SubmissionFile
from engine.services import points
from engine.services.retention import FORGOTTEN, apply_retention, forget_account
from engine.services.submissions import submit

ID_NUMBER = "110101199003074514"


@pytest.fixture
def world(db):
    call_command("load_definitions", stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").first()
    user = get_user_model().objects.create_user("wangfang", password="x" * 12, email="w@example.invalid")
    person = Person.objects.create(community=community, user=user, name="王芳", phone="13812345678", unit=grid,
                                   is_member=True, honour_roll_consent=True)
    form = Definition.objects.get(community=community, kind="form", key="resident-request")

    def request(subject):
        data = {"category": "facilities", "subject": subject, "details": f"我的身份证号{ID_NUMBER}，电话13812345678",
                "urgency": "normal", "address": {"unit": grid.key, "room": "2单元301"}, "contact_name": "王芳",
                "mobile": "13812345678", "contact_preference": "phone", "publicity_consent": False}
        submission = submit(form=form, data=data, user=user).submission
        upload = SubmissionFile(community=community, form=form, owner=user, submission=submission,
                                created_at=timezone.now(), original_name="photo.jpg", content_type="image/jpeg",
                                size=4, sha256="x")
        upload.file.save("photo.jpg", ContentFile(b"\xff\xd8\xff\xd9"), save=True)
        return submission

    return {"community": community, "user": user, "person": person, "request": request}


def test_closed_items_past_the_retention_period_lose_their_personal_data(world, django_capture_on_commit_callbacks):
    old, recent = world["request"]("楼道灯坏了"), world["request"]("门禁坏了")
    now = timezone.now()
    FlowInstance.objects.filter(submission=old).update(finished_at=now - datetime.timedelta(days=1100))
    FlowInstance.objects.filter(submission=recent).update(finished_at=now - datetime.timedelta(days=10))
    stored = SubmissionFile.objects.get(submission=old).file
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_retention(world["community"], now) == 1
    old.refresh_from_db()
    assert old.redacted_at is not None
    assert set(old.data) == {"category", "subject", "details", "urgency", "address", "contact_preference",
                             "publicity_consent"}
    assert old.data["address"] == {"unit": old.data["address"]["unit"]}  # the room is gone, the grid stays
    assert ID_NUMBER not in old.data["details"] and "13812345678" not in old.data["details"]
    assert not SubmissionFile.objects.filter(submission=old).exists() and not stored.storage.exists(stored.name)
    recent.refresh_from_db()
    assert recent.redacted_at is None and recent.data["mobile"] == "13812345678"
    assert SubmissionFile.objects.filter(submission=recent).exists()
    assert apply_retention(world["community"], now) == 0  # done once


def test_a_deleted_account_leaves_pages_and_data_but_the_ledger_still_verifies(world, client):
    from cms.generate import draw_roll_from_points

    world["request"]("楼道灯坏了")
    points.award(person=world["person"], reason="巡逻", points=50, category="red")
    page, _ = draw_roll_from_points(world["community"], "service_star", current=True)
    page.current_workflow_state.current_task_state.approve(
        user=get_user_model().objects.create_superuser("root", password="x" * 12))
    page.refresh_from_db()
    assert "王芳" in client.get(page.url).content.decode()
    forget_account(world["user"])
    html = Client().get(page.url).content.decode()
    assert "王芳" not in html and FORGOTTEN not in html  # shown as the community's anonymous label
    person = Person.objects.get(pk=world["person"].pk)
    assert person.name == FORGOTTEN and person.phone == "" and not person.honour_roll_consent
    user = get_user_model().objects.get(pk=world["user"].pk)
    assert not user.is_active and user.email == "" and not user.has_usable_password()
    submission = Submission.objects.get(submitter=user)
    assert submission.redacted_at is not None and "mobile" not in submission.data
    assert points.verify_ledger(world["community"]) is None
