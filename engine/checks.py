"""System checks: unsafe or broken configuration is caught when the server starts."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def definitions_folders(app_configs, **kwargs):
    problems = []
    for name in ("LINLI_FORMS_DIR", "LINLI_WORKFLOWS_DIR"):
        path = getattr(settings, name)
        if not path.is_dir():
            problems.append(Warning(f"{name} ({path}) is not a folder.", id="engine.W001",
                                    hint="Set it in the environment, or create the folder; load_definitions reads it."))
    return problems


@register(Tags.security, deploy=True)
def production_backends(app_configs, **kwargs):
    problems = []
    backend = settings.TASKS["default"]["BACKEND"]
    if backend.endswith(("ImmediateBackend", "DummyBackend")):
        problems.append(Error(
            "The task backend runs timers and notifications in the request, or never.", id="engine.E001",
            hint="Set TASKS_BACKEND=database and run `python manage.py db_worker` beside the web processes."))
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(Warning("SQLite is the embedded demo database.", id="engine.W002",
                                hint="Set DATABASE_URL to PostgreSQL in production."))
    return problems
