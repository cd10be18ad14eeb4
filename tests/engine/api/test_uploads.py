"""Uploading files for a form: checked by their bytes, images re-encoded without EXIF, served
only to the people who may see them."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from engine.models import Submission, SubmissionFile

from .conftest import client_for

UPLOAD_URL = "/api/v1/forms/minyue/resident-request/files/"
SUBMIT_URL = "/api/v1/forms/minyue/resident-request/submissions/"
GPS_IFD = 0x8825  # 34853

REQUEST = {
    "category": "environment",
    "subject": "垃圾桶满了没人清",
    "details": "芙蓉苑北门垃圾桶三天没有清运，气味很大。",
    "urgency": "normal",
    "address": {"unit": "furongyuan"},
    "contact_name": "王芳",
    "contact_preference": "visit",
}
TYPE_MESSAGE = "文件类型不支持, 请上传 JPG、PNG 或 HEIC 文件"

pytestmark = pytest.mark.usefixtures("definitions", "private_media")


def jpeg_with_gps(size=(64, 48)):
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (40.0, 5.0, 12.5), 3: "E", 4: (113.0, 18.0, 1.0)})
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "JPEG", exif=exif)
    raw = buffer.getvalue()
    assert GPS_IFD in Image.open(io.BytesIO(raw)).getexif()  # the test file really carries a location
    return raw


def png(size=(40, 30), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def huge_png():
    """30000×30000 pixels (900 million) in about 100 KB."""
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, raw, name, field="/photos", url=UPLOAD_URL, content_type="image/jpeg", **headers):
    data = {"file": SimpleUploadedFile(name, raw, content_type=content_type)}
    if field is not None:
        data["field"] = field
    return client.post(url, data, format="multipart", **headers)


def stored_image(token):
    stored = SubmissionFile.objects.get(token=token)
    with stored.file.open("rb") as handle:
        raw = handle.read()
    return stored, raw


# What is accepted.

def test_a_photo_is_stored_re_encoded_without_its_location(resident_client, resident, private_media):
    response = upload(resident_client, jpeg_with_gps(), "IMG_0001.jpg")
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    assert set(response.json()) == {"token"} and len(token) == 32
    stored, raw = stored_image(token)
    assert stored.owner == resident and stored.submission is None
    assert stored.community.slug == "minyue" and stored.form.key == "resident-request"
    assert stored.content_type == "image/jpeg" and stored.original_name == "IMG_0001.jpg"
    assert stored.size == len(raw)
    # kept in private storage, under a name that is not the uploader's
    assert stored.file.path.startswith(str(private_media))
    assert "IMG_0001" not in stored.file.name and token in stored.file.name
    image = Image.open(io.BytesIO(raw))
    assert image.format == "JPEG" and image.size == (64, 48)
    exif = image.getexif()
    assert GPS_IFD not in exif
    assert exif.get_ifd(GPS_IFD) == {}
    assert "exif" not in image.info


def test_a_png_is_accepted(resident_client):
    response = upload(resident_client, png(), "screenshot.png", content_type="image/png")
    assert response.status_code == 201
    stored, raw = stored_image(response.json()["token"])
    assert stored.content_type == "image/png"
    assert Image.open(io.BytesIO(raw)).format == "PNG"


def test_a_heic_photo_is_accepted_and_stored_as_jpeg(resident_client):
    import pillow_heif
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), "blue")).save(buffer, quality=60)
    response = upload(resident_client, buffer.getvalue(), "IMG_0002.HEIC", content_type="image/heic")
    assert response.status_code == 201, response.content
    stored, raw = stored_image(response.json()["token"])
    assert stored.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(raw)).format == "JPEG"


def test_a_big_photo_is_shrunk(resident_client):
    response = upload(resident_client, png(size=(5000, 100)), "wide.png", content_type="image/png")
    assert response.status_code == 201
    _, raw = stored_image(response.json()["token"])
    assert max(Image.open(io.BytesIO(raw)).size) == 4096


def test_a_pdf_for_a_field_that_takes_documents(resident_client):
    raw = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    response = upload(resident_client, raw, "协议.pdf", field="/agreement", content_type="application/pdf",
                      url="/api/v1/forms/minyue/unit-registration/files/")
    assert response.status_code == 201
    stored, stored_raw = stored_image(response.json()["token"])
    assert stored.content_type == "application/pdf" and stored_raw == raw
    assert stored.original_name == "协议.pdf"


# What is refused, whatever its name says.

@pytest.mark.parametrize("raw, name", [
    (b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>", "photo.jpg"),
    (b"<html><body onload=alert(1)>", "photo.jpeg"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "photo.jpg"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "photo.png"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200, "photo.png"),
    (b"%PDF-1.4\n%%EOF\n", "scan.pdf"),  # a PDF is not a photo
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif"),
    (b"", "empty.jpg"),
])
def test_files_that_are_not_photos_are_refused(resident_client, raw, name):
    response = upload(resident_client, raw, name)
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos": [TYPE_MESSAGE]}}
    assert SubmissionFile.objects.count() == 0


def test_refusals_in_english(resident_client):
    response = upload(resident_client, b"MZ" + b"\x00" * 100, "photo.png", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"errors": {"/photos": [
        "This kind of file is not accepted here; upload a JPG, PNG or HEIC file"]}}


def test_a_broken_image_is_refused(resident_client):
    raw = jpeg_with_gps()[:200]  # a JPEG's start and nothing else
    response = upload(resident_client, raw, "cut.jpg")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos": ["图片无法打开, 请换一张"]}}
    assert SubmissionFile.objects.count() == 0


def test_an_image_with_too_many_pixels_is_refused_before_it_is_expanded(resident_client, huge_png):
    assert len(huge_png) < 500_000
    started = time.monotonic()
    response = upload(resident_client, huge_png, "bomb.png", content_type="image/png")
    assert time.monotonic() - started < 3
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos": ["图片尺寸太大"]}}
    response = upload(resident_client, huge_png, "bomb.png", content_type="image/png", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"errors": {"/photos": ["The image has too many pixels"]}}
    assert SubmissionFile.objects.count() == 0


def test_a_file_over_the_fields_size_limit_is_refused(resident_client):
    raw = jpeg_with_gps() + b"\x00" * (10 * 1024 * 1024)  # max_size_mb: 10
    response = upload(resident_client, raw, "big.jpg")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos": ["文件太大, 不能超过 10 MB"]}}
    assert SubmissionFile.objects.count() == 0


@pytest.mark.parametrize("field", ["/subject", "/address/unit", "/address", "/nothing", "photos", ""])
def test_only_file_fields_take_files(resident_client, field):
    response = upload(resident_client, png(), "a.png", field=field, content_type="image/png")
    assert response.status_code == 400
    assert list(response.json()["errors"].values()) == [["这一项不能上传文件"]]
    assert SubmissionFile.objects.count() == 0


def test_a_field_and_no_file(resident_client):
    response = resident_client.post(UPLOAD_URL, {"field": "/photos"}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos": ["请选择要上传的文件"]}}


def test_who_may_upload(anonymous_client, resident_client):
    assert upload(anonymous_client, png(), "a.png", content_type="image/png").status_code in (401, 403)
    # no file field there, but the audience is checked first
    response = upload(resident_client, png(), "a.png", url="/api/v1/forms/minyue/post-claim/files/",
                      content_type="image/png")
    assert response.status_code == 403
    assert upload(resident_client, png(), "a.png", url="/api/v1/forms/minyue/nothing/files/").status_code == 404
    assert SubmissionFile.objects.count() == 0


# Using an upload in a submission.

def test_the_token_attaches_the_file_to_the_submission(resident_client):
    token = upload(resident_client, jpeg_with_gps(), "IMG_0001.jpg").json()["token"]
    data = {**REQUEST, "photos": [token]}
    response = resident_client.post(SUBMIT_URL, data, format="json")
    assert response.status_code == 201, response.content
    submission = Submission.objects.get()
    assert submission.data == data
    assert list(submission.files.values_list("token", flat=True)) == [token]
    assert SubmissionFile.objects.get(token=token).submission == submission


def test_a_token_is_used_once(resident_client):
    token = upload(resident_client, png(), "a.png", content_type="image/png").json()["token"]
    assert resident_client.post(SUBMIT_URL, {**REQUEST, "photos": [token]}, format="json").status_code == 201
    response = resident_client.post(SUBMIT_URL, {**REQUEST, "photos": [token]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos/0": ["请重新上传这个文件"]}}
    assert Submission.objects.count() == 1


def test_someone_elses_token_is_refused(resident_client, neighbour_client):
    token = upload(resident_client, png(), "a.png", content_type="image/png").json()["token"]
    mine = upload(neighbour_client, png(), "b.png", content_type="image/png").json()["token"]
    response = neighbour_client.post(SUBMIT_URL, {**REQUEST, "photos": [mine, token]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos/1": ["请重新上传这个文件"]}}
    response = neighbour_client.post(SUBMIT_URL, {**REQUEST, "photos": [token]}, format="json",
                                     HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"errors": {"/photos/0": ["Upload this file again"]}}
    assert Submission.objects.count() == 0
    assert SubmissionFile.objects.filter(submission__isnull=False).count() == 0
    # the owner can still use it
    assert resident_client.post(SUBMIT_URL, {**REQUEST, "photos": [token]}, format="json").status_code == 201


def test_a_well_formed_token_that_was_never_uploaded_is_refused(resident_client):
    response = resident_client.post(SUBMIT_URL, {**REQUEST, "photos": ["0" * 32]}, format="json")
    assert response.json() == {"errors": {"/photos/0": ["请重新上传这个文件"]}}


def test_a_file_uploaded_for_another_form_is_refused(resident_client):
    """unit-registration's agreement takes PDFs; resident-request's photos do not."""
    raw = b"%PDF-1.4\n%%EOF\n"
    token = upload(resident_client, raw, "a.pdf", field="/agreement", content_type="application/pdf",
                   url="/api/v1/forms/minyue/unit-registration/files/").json()["token"]
    response = resident_client.post(SUBMIT_URL, {**REQUEST, "photos": [token]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/photos/0": ["请重新上传这个文件"]}}
    assert Submission.objects.count() == 0


# Serving files.

def test_the_owner_gets_the_file_and_nobody_else_does(resident_client, neighbour_client, anonymous_client,
                                                         admin_client_api):
    token = upload(resident_client, jpeg_with_gps(), "IMG_0001.jpg").json()["token"]
    _, raw = stored_image(token)
    url = f"/files/{token}/"
    response = resident_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "IMG_0001" not in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    missing = neighbour_client.get(f"/files/{'0' * 32}/")
    assert missing.status_code == 404
    for client in (neighbour_client, anonymous_client, client_for()):
        response = client.get(url)
        assert response.status_code == 404
        assert response.content == missing.content
    # once attached, whoever may see the submission may see the file
    resident_client.post(SUBMIT_URL, {**REQUEST, "photos": [token]}, format="json")
    assert resident_client.get(url).status_code == 200
    assert admin_client_api.get(url).status_code == 200
    assert neighbour_client.get(url).status_code == 404
    assert anonymous_client.get(url).status_code == 404


def test_documents_are_downloaded_not_shown(resident_client):
    raw = b"%PDF-1.4\n%%EOF\n"
    token = upload(resident_client, raw, "a.pdf", field="/agreement", content_type="application/pdf",
                   url="/api/v1/forms/minyue/unit-registration/files/").json()["token"]
    response = resident_client.get(f"/files/{token}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_retry_that_raced_its_first_request_is_answered_with_it_not_with_a_file_error(resident_client, resident,
                                                                                         monkeypatch):
    from engine.models import Definition
    from engine.services import submissions

    token = upload(resident_client, png(), "p.png", content_type="image/png").json()["token"]
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    data = {**REQUEST, "photos": [token]}
    first = submissions.submit(form=form, data=data, user=resident, idempotency_key="retry-1").submission
    # the retry's first look-up ran before the first request committed: it found nothing
    real, calls = submissions._existing, []

    def late(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(submissions, "_existing", late)
    again = submissions.submit(form=form, data=data, user=resident, idempotency_key="retry-1")
    assert len(calls) == 2 and not again.created and again.submission == first
    # a different request whose file is taken is still refused
    monkeypatch.setattr(submissions, "_existing", real)
    with pytest.raises(submissions.SubmissionInvalid):
        submissions.submit(form=form, data=data, user=resident, idempotency_key="retry-2")


def test_a_full_disk_is_a_507_with_no_row_and_no_partial_file(resident_client, private_media, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    real_save = FileSystemStorage._save

    def half_written(storage, name, content):
        real_save(storage, name, ContentFile(b"\xff\xd8\xff partial"))  # some bytes reached the disk…
        raise OSError(28, "No space left on device")  # …then it filled up

    from django.core.files.base import ContentFile

    monkeypatch.setattr(FileSystemStorage, "_save", half_written)
    response = upload(resident_client, png(), "p.png", content_type="image/png", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 507
    assert response.json() == {"errors": {"/photos": ["服务器暂时无法保存文件, 请稍后再试"]}}
    assert not SubmissionFile.objects.exists()
    assert [p for p in private_media.rglob("*") if p.is_file()] == []


def test_a_row_that_cannot_be_saved_takes_its_stored_file_with_it(resident_client, private_media, monkeypatch):
    from django.db import DatabaseError

    def refuse(*args, **kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(SubmissionFile, "save", refuse)
    with pytest.raises(DatabaseError):
        upload(resident_client, png(), "p.png", content_type="image/png")
    assert [p for p in private_media.rglob("*") if p.is_file()] == []
