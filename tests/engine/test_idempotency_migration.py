"""Migration 0017: keys stored before keys were per person keep answering their own retries."""

import importlib

import pytest
from django.apps import apps

from engine.models import Definition, Submission
from engine.services import submissions as submission_service
from tests.engine.api.conftest import _fresh_registry_caches, definitions  # noqa: F401
from tests.engine.api.test_forms_api import REQUEST

migration = importlib.import_module("engine.migrations.0017_idempotency_per_person")


@pytest.mark.usefixtures("definitions")
def test_old_keys_of_signed_in_people_become_theirs_and_still_replay(django_user_model):
    resident = django_user_model.objects.create_user("wang", password="x" * 12)
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    old = submission_service.submit(form=form, data=REQUEST, user=resident).submission
    anonymous = submission_service.submit(form=form, data=REQUEST, user=resident).submission
    Submission.objects.filter(pk=old.pk).update(idempotency_key="retry-1")  # as stored before 0017
    Submission.objects.filter(pk=anonymous.pk).update(idempotency_key="s:abc:k", submitter=None)
    migration.per_person(apps, None)
    assert Submission.objects.get(pk=old.pk).idempotency_key == f"u:{resident.pk}:retry-1"
    assert Submission.objects.get(pk=anonymous.pk).idempotency_key == "s:abc:k"
    again = submission_service.submit(form=form, data=REQUEST, user=resident, idempotency_key="retry-1")
    assert not again.created and again.submission.pk == old.pk
