"""Residents' files live outside MEDIA_ROOT's public URL space: no URL serves them directly;
a view checks permission first (engine.views.files)."""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject


class PrivateStorage(LazyObject):
    def _setup(self):
        location = Path(getattr(settings, "PRIVATE_MEDIA_ROOT", settings.BASE_DIR / "private_media"))
        self._wrapped = FileSystemStorage(location=location, base_url=None)


private_storage = PrivateStorage()
