"""One file per message in a folder (`settings.SMS_FILE_PATH`): for tests, the demo and
end-to-end checks that must read a sign-in code. Each file holds the number on its first line
and the text after it; names sort by the time they were written."""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from engine.sms.backends.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    def __init__(self, *, file_path=None, **options):
        super().__init__(**options)
        path = file_path or getattr(settings, "SMS_FILE_PATH", "")
        if not path:
            raise ImproperlyConfigured("SMS_BACKEND=file needs SMS_FILE_PATH, the folder to write messages to.")
        self.folder = Path(path)
        if self.folder.exists() and not self.folder.is_dir():
            raise ImproperlyConfigured(f"SMS_FILE_PATH {str(self.folder)!r} exists and is not a folder.")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ImproperlyConfigured(f"SMS_FILE_PATH {str(self.folder)!r} cannot be made: {error}") from error

    def send_messages(self, messages):
        for message in messages:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{uuid.uuid4().hex[:12]}.sms"
            partial = self.folder / f".{name}.part"
            partial.write_text(f"{message.phone}\n{message.text}\n", encoding="utf-8")
            os.replace(partial, self.folder / name)  # a reader never sees half a message
        return len(messages)
