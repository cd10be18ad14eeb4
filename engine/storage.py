"""Residents' files live outside MEDIA_ROOT's public URL space: no URL serves them directly;
a view checks permission first (engine.views.serve_file)."""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class PrivateStorage(LazyObject):
    def _setup(self):
        location = Path(getattr(settings, "PRIVATE_MEDIA_ROOT", settings.BASE_DIR / "private_media"))
        self._wrapped = FileSystemStorage(location=location, base_url=None)


private_storage = PrivateStorage()


@receiver(setting_changed)
def _private_root_changed(setting, **kwargs):
    if setting == "PRIVATE_MEDIA_ROOT":
        private_storage._wrapped = empty
