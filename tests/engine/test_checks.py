from pathlib import Path

from engine.checks import definitions_folders, production_backends


def test_missing_definitions_folder_is_reported(settings, tmp_path):
    settings.LINLI_FORMS_DIR = Path(tmp_path / "nowhere")
    assert [c.id for c in definitions_folders(None)] == ["engine.W001"]


def test_immediate_tasks_are_an_error_in_deployment_checks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    assert "engine.E001" in [c.id for c in production_backends(None)]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert "engine.E001" not in [c.id for c in production_backends(None)]
