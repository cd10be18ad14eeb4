"""Wagtail's moderation e-mails (a community page submitted for review, approved, rejected) reach
Chinese reviewers in Chinese: subject and body (issue #16). Wagtail renders them in the recipient's
profile language, else the site's (zh-hans); the words Wagtail's own catalogue lacks are in ours."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from cms.generate import go_public
from cms.models import AnnouncementPage
from cms.sections import community_section
from engine.models import Community

ENGLISH = re.compile(r"[A-Za-z]{3,}")
NAMES = {"admin"}  # a user without a full name is greeted by username


def english(text):
    """English words a reader meets in `text`, links and user names aside."""
    return [word for word in ENGLISH.findall(re.sub(r"https?://\S+", "", text)) if word not in NAMES]


@pytest.fixture
def submitted(db, settings):
    settings.WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    User = get_user_model()
    for user in User.objects.filter(username__startswith="minyue-"):
        user.email = f"{user.username}@example.invalid"
        user.save(update_fields=["email"])
    editor = User.objects.get(username="minyue-grid-leader")
    page = AnnouncementPage(title="议事会通知", slug="meeting", community=community, live=False)
    community_section(community)["announcements"].add_child(instance=page)
    mail.outbox.clear()
    assert go_public(page, community, editor) == "in moderation"
    return page


def test_a_page_sent_for_review_mails_the_reviewers_in_chinese(submitted):
    assert len(mail.outbox) >= 2  # the reviewers, told of the workflow and of its review stage
    for message in mail.outbox:
        assert "议事会通知" in message.subject
        assert english(message.subject) == [], message.subject
        assert english(message.body) == [], message.body
    subjects = {message.subject for message in mail.outbox}
    assert "页面“议事会通知”已提交审核（民悦社区 发布审核）" in subjects
    assert "页面“议事会通知”已提交到“民悦社区 审核”待审批" in subjects


def test_approval_and_rejection_reach_the_editor_in_chinese(submitted):
    reviewer = get_user_model().objects.get(username="minyue-secretary")
    mail.outbox.clear()
    submitted.current_workflow_task_state.approve(user=reviewer)
    to_editor = [m for m in mail.outbox if m.to == ["minyue-grid-leader@example.invalid"]]
    assert to_editor, [m.to for m in mail.outbox]
    for message in to_editor:
        assert english(message.subject) == [] and english(message.body) == [], (message.subject, message.body)


def test_a_reviewer_who_chose_english_reads_english(submitted):
    """The language follows the recipient's profile: the catalogue did not force Chinese on everyone."""
    from wagtail.users.models import UserProfile

    reviewer = get_user_model().objects.get(username="minyue-secretary")
    profile = UserProfile.get_for_user(reviewer)
    profile.preferred_language = "en"
    profile.save()
    editor = get_user_model().objects.get(username="minyue-grid-leader")
    page = AnnouncementPage(title="停水通知", slug="water", community=submitted.community, live=False)
    community_section(submitted.community)["announcements"].add_child(instance=page)
    submitted.current_workflow_state.cancel(user=editor)
    mail.outbox.clear()
    go_public(page, submitted.community, editor)
    to_reviewer = [m for m in mail.outbox if m.to == ["minyue-secretary@example.invalid"]]
    assert to_reviewer and all(m.subject.startswith("The page") for m in to_reviewer)
    others = [m for m in mail.outbox if m.to != ["minyue-secretary@example.invalid"]]
    assert others and all(english(m.subject) == [] for m in others)
