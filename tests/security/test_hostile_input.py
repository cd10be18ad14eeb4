"""Hostile input to the API: huge strings, huge bodies, deeply nested JSON, files that lie about
what they are, a decompression bomb and a hundred files at once. Each is refused quickly, with
the contract's error shape (`{"errors": {pointer: [message]}}`) or a plain 413, never a server
error; nothing is stored, and the worker's memory stays bounded.

Time is measured with time.perf_counter around the request, memory with tracemalloc (the peak
of Python allocations during the request, which is where an expanded image or a parsed body
would show).
"""

import io
import json
import struct
import time
import tracemalloc
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from engine.models import AuditEvent, Submission, SubmissionFile

from tests.engine.api.conftest import client_for

SUBMIT_URL = "/api/v1/forms/minyue/resident-request/submissions/"
UPLOAD_URL = "/api/v1/forms/minyue/resident-request/files/"
FAST = 2.0  # seconds
BOUNDED = 100 * 1024 * 1024  # bytes of Python allocations at the peak of one request
REQUEST = {
    "category": "facilities", "subject": "3号楼楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期，晚上上下楼看不见。",
    "urgency": "normal", "photos": [], "address": {"unit": "grid_1", "room": "2单元301"}, "contact_name": "王芳",
    "mobile": "13812345678", "contact_preference": "phone",
}
TEXT_FIELDS = ["/subject", "/details", "/other_party", "/contact_name", "/address/room"]

pytestmark = pytest.mark.usefixtures("definitions", "private_media")


@pytest.fixture
def client(resident):
    client = client_for(resident)
    client.raise_request_exception = False  # a crash must show as the 500 a visitor would get
    client.post(SUBMIT_URL, json.dumps(REQUEST), content_type="application/json")  # compile the form once
    Submission.objects.all().delete()
    return client


def measured(send):
    """(response, seconds, peak bytes) of one request."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = send()
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response, elapsed, peak


def assert_refused(response, elapsed, peak):
    """Refused, quickly, within bounded memory — never a server error."""
    assert response.status_code != 500, response.content[:300]
    assert response.status_code in (400, 413), (response.status_code, response.content[:300])
    assert elapsed < FAST, f"took {elapsed:.2f} s"
    assert peak < BOUNDED, f"peaked at {peak / 1e6:.0f} MB"


def assert_contract_errors(response, pointer=None):
    """A 400 says what is wrong in the contract's shape, not with an HTML error page."""
    if response.status_code != 400:
        return
    assert response["Content-Type"].startswith("application/json"), (response["Content-Type"],
                                                                       response.content[:200])
    errors = response.json()["errors"]
    assert errors and all(isinstance(m, list) and m and all(isinstance(t, str) and t for t in m)
                          for m in errors.values()), errors
    if pointer is not None:
        assert pointer in errors, errors


def set_pointer(data, pointer, value):
    data = json.loads(json.dumps(data))
    *parents, last = pointer.strip("/").split("/")
    target = data
    for key in parents:
        target = target[key]
    target[last] = value
    return data


# ---------------------------------------------------------------- the submissions API


@pytest.mark.parametrize("pointer", TEXT_FIELDS)
def test_a_100k_character_string_is_refused_quickly(client, pointer):
    body = json.dumps(set_pointer(REQUEST, pointer, "长" * 100_000), ensure_ascii=False)
    response, elapsed, peak = measured(lambda: client.post(SUBMIT_URL, body, content_type="application/json"))
    assert_refused(response, elapsed, peak)
    assert Submission.objects.count() == 0
    assert_contract_errors(response, pointer)


@pytest.mark.parametrize("shape", ["one-string", "many-keys", "long-array"])
def test_a_10_mb_body_is_refused_quickly(client, shape):
    size = 10 * 1024 * 1024
    if shape == "one-string":
        data = {**REQUEST, "details": "x" * size}
    elif shape == "many-keys":
        data = {**REQUEST, **{f"k{n}": "x" * 90 for n in range(size // 100)}}
    else:
        data = {**REQUEST, "photos": ["0" * 32] * (size // 35)}
    body = json.dumps(data)
    assert len(body) >= size
    response, elapsed, peak = measured(lambda: client.post(SUBMIT_URL, body, content_type="application/json"))
    assert_refused(response, elapsed, peak)
    assert Submission.objects.count() == 0
    assert_contract_errors(response)


def nested(depth, kind):
    if kind == "arrays":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("where", ["body", "field", "unknown-key"])
@pytest.mark.parametrize("kind", ["arrays", "objects"])
def test_json_nested_10000_deep_is_refused(client, where, kind):
    inner = nested(10_000, kind)
    if where == "body":
        body = inner
    else:
        key = "details" if where == "field" else "extra"
        body = json.dumps(REQUEST)[:-1] + f', "{key}": {inner}}}'
    response, elapsed, peak = measured(lambda: client.post(SUBMIT_URL, body, content_type="application/json"))
    assert_refused(response, elapsed, peak)
    assert Submission.objects.count() == 0
    assert_contract_errors(response)


@pytest.mark.parametrize("endpoint", ["transitions", "comments"])
def test_json_nested_10000_deep_is_refused_on_an_items_endpoints(client, endpoint):
    created = client.post(SUBMIT_URL, json.dumps(REQUEST), content_type="application/json")
    assert created.status_code == 201
    url = f"/api/v1/submissions/{created.json()['id']}/{endpoint}/"
    body = '{"transition": "withdraw", "comment": ' + nested(10_000, "arrays") + "}"
    response, elapsed, peak = measured(lambda: client.post(url, body, content_type="application/json"))
    assert_refused(response, elapsed, peak)
    assert AuditEvent.objects.count() == 0
    assert Submission.objects.get().flow.state == "collected"
    assert_contract_errors(response)


# ---------------------------------------------------------------- uploads


def jpeg(size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "JPEG")
    return buffer.getvalue()


def png(size=(40, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width=30_000, height=30_000, zeros_mb=50):
    """A PNG whose header says 30000×30000 8-bit RGBA (3.6 GB once decoded), with one IDAT of
    zlib-compressed zeros: about 50 KB on the wire."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    compressor, block = zlib.compressobj(9), bytes(1024 * 1024)
    idat = b"".join(compressor.compress(block) for _ in range(zeros_mb)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
TYPE_MESSAGE = "文件类型不支持, 请上传 JPG、PNG 或 HEIC 文件"
BROKEN_MESSAGE = "图片无法打开, 请换一张"
PIXELS_MESSAGE = "图片尺寸太大"

HOSTILE_FILES = {
    "html-as-jpg": (HTML, "photo.jpg", "image/jpeg", TYPE_MESSAGE),
    "svg-as-jpg": (SVG, "photo.jpg", "image/jpeg", TYPE_MESSAGE),
    "gif-then-html": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + HTML, "photo.jpg", "image/jpeg", TYPE_MESSAGE),
    "jpeg-header-then-html": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + HTML,
                              "photo.jpg", "image/jpeg", BROKEN_MESSAGE),
    "png-header-then-html": (png()[:33] + HTML, "photo.png", "image/png", BROKEN_MESSAGE),
    "windows-exe-as-png": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + b"\x00" * 47
                           + b"\x80\x00\x00\x00" + b"PE\x00\x00" + b"\x00" * 400, "photo.png", "image/png",
                           TYPE_MESSAGE),
    "png-30000x30000": (png_bomb(), "bomb.png", "image/png", PIXELS_MESSAGE),
}


def upload(client, raw, name, content_type):
    return client.post(UPLOAD_URL, {"file": SimpleUploadedFile(name, raw, content_type=content_type),
                                    "field": "/photos"}, format="multipart")


def stored_files(private_media):
    return [p for p in private_media.rglob("*") if p.is_file()] if private_media.exists() else []


def test_the_bomb_is_small_and_claims_900_million_pixels():
    raw = HOSTILE_FILES["png-30000x30000"][0]
    assert 40_000 < len(raw) < 80_000
    assert struct.unpack(">II", raw[16:24]) == (30_000, 30_000)


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_a_hostile_file_is_refused_fast_with_a_clear_error_and_nothing_kept(client, private_media, case):
    raw, name, content_type, message = HOSTILE_FILES[case]
    response, elapsed, peak = measured(lambda: upload(client, raw, name, content_type))
    assert_refused(response, elapsed, peak)
    assert SubmissionFile.objects.count() == 0
    assert stored_files(private_media) == []
    assert response.json() == {"errors": {"/photos": [message]}}


def test_a_real_photo_with_a_page_glued_after_it_is_kept_without_the_page(client, private_media):
    """A valid JPEG followed by HTML opens as a photo; re-encoding keeps the photo, not the page."""
    response = upload(client, jpeg() + HTML, "photo.jpg", "image/jpeg")
    assert response.status_code == 201, response.content
    stored = SubmissionFile.objects.get(token=response.json()["token"])
    with stored.file.open("rb") as handle:
        kept = handle.read()
    assert b"<script" not in kept and b"<html" not in kept.lower()
    served = client.get(f"/files/{stored.token}/")
    assert served["Content-Type"] == "image/jpeg" and served["X-Content-Type-Options"] == "nosniff"


def test_101_files_in_one_request_are_refused_and_none_is_kept(client, private_media):
    photo = png()
    files = [SimpleUploadedFile(f"photo{n}.png", photo, content_type="image/png") for n in range(101)]
    response, elapsed, peak = measured(
        lambda: client.post(UPLOAD_URL, {"field": "/photos", "file": files}, format="multipart"))
    assert_refused(response, elapsed, peak)
    assert SubmissionFile.objects.count() == 0
    assert stored_files(private_media) == []
    assert_contract_errors(response)


# ---------------------------------------------------------------- ids that are not numbers


NOT_NUMBERS = ["false", "1; DROP TABLE engine_person", "99999999999999999999999"]
ID_BODIES = {
    "assignee-person": ("assignee", lambda bad, person: {"person": bad}),
    "ballot-voter": ("ballots", lambda bad, person: {"option": "yes", "voter": bad, "paper": True}),
    "ballot-proxy": ("ballots", lambda bad, person: {"option": "yes", "voter": person, "proxy": bad}),
    "transition-version": ("transitions", lambda bad, person: {"transition": "withdraw", "version": bad}),
}


@pytest.mark.parametrize("bad", NOT_NUMBERS)
@pytest.mark.parametrize("case", list(ID_BODIES))
def test_an_id_that_is_not_a_number_is_refused_not_a_crash(client, resident, case, bad):
    """Found by schemathesis (test_schemathesis.py): `{"person": "false"}` to the item's
    assignee endpoint is a 500. The submitter may reach these endpoints for their own item."""
    from engine.models import Community, Person

    person = Person.objects.create(community=Community.objects.get(slug="minyue"), user=resident, name="王芳")
    created = client.post(SUBMIT_URL, json.dumps(REQUEST), content_type="application/json")
    endpoint, make = ID_BODIES[case]
    url = f"/api/v1/submissions/{created.json()['id']}/{endpoint}/"
    response = client.post(url, json.dumps(make(bad, person.pk)), content_type="application/json")
    assert response.status_code != 500, response.content[:200]
    assert 400 <= response.status_code < 500, response.status_code
    assert Submission.objects.get().flow.state == "collected"


@pytest.mark.parametrize("bad", NOT_NUMBERS)
def test_an_award_to_a_person_that_is_not_a_number_is_refused_not_a_crash(django_user_model, bad):
    admin = client_for(django_user_model.objects.create_superuser("root", "root@example.cn", "x" * 12))
    admin.raise_request_exception = False
    response = admin.post("/api/v1/communities/minyue/points/awards/",
                          json.dumps({"person": bad, "category": "public_welfare", "points": 5, "reason": "巡逻"}),
                          content_type="application/json")
    assert response.status_code != 500, response.content[:200]
    assert response.status_code == 400
    assert "/person" in response.json()["errors"]
