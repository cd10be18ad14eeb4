import pytest


@pytest.fixture(autouse=True)
def _tasks_run_in_process(settings):
    """Background tasks run at once in tests, unless a test says otherwise."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
