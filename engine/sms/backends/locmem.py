"""Keeps messages in `engine.sms.outbox` (like Django's locmem mail backend), for tests."""

from engine.sms.backends.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    def send_messages(self, messages):
        from engine import sms

        sms.outbox.extend(messages)
        return len(messages)
