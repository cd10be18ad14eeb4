import pytest


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    """Background tasks run at once, and passwords hash fast (PBKDF2 costs ~0.5 s a user here)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    from cms.cache import local_entries

    cache.clear()  # the database is rolled back after each test; cached pages must go with it
    local_entries.clear()
