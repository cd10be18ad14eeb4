"""Prints each message (the default: the demo and development have no SMS provider)."""

import sys
import threading

from engine.sms.backends.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    def __init__(self, *, stream=None, **options):
        super().__init__(**options)
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, messages):
        with self._lock:
            for message in messages:
                self.stream.write(f"SMS to {message.phone}\n{message.text}\n{'-' * 40}\n")
            self.stream.flush()
        return len(messages)
