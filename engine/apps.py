from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = _("Linli engine")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .services.submissions import SUBMISSION_HANDLERS
        from .workflow.adapter import start

        if start not in SUBMISSION_HANDLERS:
            SUBMISSION_HANDLERS.append(start)  # a form with a flow starts it with the submission
