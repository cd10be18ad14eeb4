"""Fixtures for the REST API tests: the real example definitions, residents, a superuser and
private storage in a temporary folder."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.functional import empty
from rest_framework.test import APIClient

from engine.forms import registry
from engine.storage import private_storage


@pytest.fixture(autouse=True)
def _fresh_registry_caches():
    """Compiled forms are cached by version id; a rolled-back test database hands the same ids
    out again, so every test starts with empty caches."""
    caches = [getattr(registry, name) for name in ("_SPECS", "_INDEXES", "_CHOICES") if hasattr(registry, name)]
    for cache in caches:
        cache.clear()
    yield
    for cache in caches:
        cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def definitions(db):
    """The example communities (minyue, zanan, kaiyuan) published as in `make demo`."""
    call_command("load_definitions", stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    private_storage._wrapped = empty  # the storage reads the setting once
    yield settings.PRIVATE_MEDIA_ROOT
    private_storage._wrapped = empty


@pytest.fixture
def resident(django_user_model):
    return django_user_model.objects.create_user("wangfang", password="linli-test")


@pytest.fixture
def neighbour(django_user_model):
    return django_user_model.objects.create_user("lisi", password="linli-test")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.cn", "linli-test")


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def anonymous_client():
    return client_for()


@pytest.fixture
def resident_client(resident):
    return client_for(resident)


@pytest.fixture
def neighbour_client(neighbour):
    return client_for(neighbour)


@pytest.fixture
def admin_client_api(superuser):
    return client_for(superuser)
