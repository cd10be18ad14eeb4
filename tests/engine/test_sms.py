"""SMS backends (engine.sms): chosen in settings like Django's mail backend — console, file,
locmem or a dotted path — and a clear ImproperlyConfigured for anything else."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from engine import sms
from engine.sms.backends.base import BaseSmsBackend, SmsMessage

PROJECT = Path(__file__).resolve().parents[2]


class RecordingBackend(BaseSmsBackend):
    """A provider's backend as an integrator would write one (see docs/operations.md)."""

    sent: list = []

    def __init__(self, *, sender="LINLI", **options):
        super().__init__(**options)
        self.sender = sender

    def send_messages(self, messages):
        RecordingBackend.sent.extend((self.sender, m.phone, m.text) for m in messages)
        return len(messages)


class NotABackend:
    def send_messages(self, messages):
        return 0


def test_the_file_backend_writes_one_file_per_message_with_the_number_and_the_text(settings, tmp_path):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms")
    assert sms.send_sms("13800138000", "第一条") == 1
    assert sms.send_sms("13900139000", "第二条\n两行") == 1
    files = sorted((tmp_path / "sms").iterdir())
    assert len(files) == 2 and all(f.suffix == ".sms" for f in files)
    contents = sorted(f.read_text(encoding="utf-8") for f in files)
    assert contents == ["13800138000\n第一条\n", "13900139000\n第二条\n两行\n"]


def test_the_file_backend_needs_a_folder(settings, tmp_path):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", ""
    with pytest.raises(ImproperlyConfigured, match="SMS_FILE_PATH"):
        sms.get_backend()
    (tmp_path / "plain").write_text("x")
    settings.SMS_FILE_PATH = str(tmp_path / "plain")
    with pytest.raises(ImproperlyConfigured, match="is not a folder"):
        sms.get_backend()


def test_the_console_backend_prints(settings):
    stream = io.StringIO()
    backend = sms.get_backend("console", stream=stream)
    assert backend.send("13800138000", "您好") == 1
    assert "13800138000" in stream.getvalue() and "您好" in stream.getvalue()


def test_the_console_backend_is_the_default(settings):
    del settings.SMS_BACKEND
    assert type(sms.get_backend()).__module__ == "engine.sms.backends.console"


def test_the_locmem_backend_keeps_messages_in_the_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    sms.send_sms("13800138000", "您好")
    assert sms.outbox == [SmsMessage("13800138000", "您好")]
    sms.outbox.clear()


def test_a_dotted_path_loads_a_providers_class(settings):
    settings.SMS_BACKEND = "tests.engine.test_sms.RecordingBackend"
    RecordingBackend.sent.clear()
    backend = sms.get_backend(sender="民悦社区")
    assert isinstance(backend, RecordingBackend)
    assert sms.send_sms("13800138000", "您好", backend=backend) == 1
    assert RecordingBackend.sent == [("民悦社区", "13800138000", "您好")]


@pytest.mark.parametrize(("value", "message"), [
    ("carrier-pigeon", "SMS_BACKEND must be one of console, file, locmem or the dotted path of a class, not 'carrier-pigeon'"),
    ("no.such.module.Backend", "SMS_BACKEND 'no.such.module.Backend' cannot be imported"),
    ("tests.engine.test_sms.Missing", "SMS_BACKEND 'tests.engine.test_sms.Missing' cannot be imported"),
    ("tests.engine.test_sms.NotABackend",
     "SMS_BACKEND 'tests.engine.test_sms.NotABackend' is not a subclass of engine.sms.backends.base.BaseSmsBackend"),
])
def test_a_bad_backend_is_a_clear_configuration_error(settings, value, message):
    settings.SMS_BACKEND = value
    with pytest.raises(ImproperlyConfigured) as caught:
        sms.get_backend()
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("environment", "message"), [
    ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND must be console, file, locmem or the dotted path of a class, not 'carrier-pigeon'"),
    ({"SMS_BACKEND": "file"}, "SMS_BACKEND=file needs SMS_FILE_PATH"),
])
def test_settings_refuse_a_bad_backend_at_start_up(environment, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_")} | environment
    result = subprocess.run([sys.executable, "-c", "import config.settings"], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_a_backend_must_implement_send_messages():
    with pytest.raises(NotImplementedError):
        BaseSmsBackend().send("13800138000", "您好")
