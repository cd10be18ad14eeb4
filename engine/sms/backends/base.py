"""What every SMS backend is: a class with `send_messages(messages)`.

A provider's backend subclasses `BaseSmsBackend` and implements `send_messages`, returning how
many messages it handed over. It may read its own settings in `__init__` (raise
ImproperlyConfigured there when one is missing) and open a connection in `open()`. It must not
log or keep the text of a message: sign-in codes travel in them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SmsMessage:
    phone: str  # 11 digits, normalised (engine.services.accounts.normalise_phone)
    text: str


class BaseSmsBackend:
    """Override `send_messages`; `open`/`close` are there for backends that hold a connection."""

    def __init__(self, fail_silently: bool = False, **options):
        self.fail_silently = fail_silently

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def send_messages(self, messages: list[SmsMessage]) -> int:
        raise NotImplementedError("an SMS backend implements send_messages(messages) -> number sent")

    def send(self, phone: str, text: str) -> int:
        return self.send_messages([SmsMessage(phone, text)])
