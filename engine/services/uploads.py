"""Uploading a file for a form field: checked by content, never by name; images re-encoded.

The bytes decide what a file is (magic numbers), not its name or the browser's claim. Images
are decoded with a pixel limit (a 30k×30k PNG of 50 KB is refused before it is expanded),
re-encoded — which drops EXIF, GPS included, unless the form asks to keep the location — and
shrunk to at most 4096 px. Anything else the form did not accept is refused. Files go to
private storage (engine.storage) and are served only through engine.views.serve_file.
"""

from __future__ import annotations

import hashlib
import io
import logging

from django.core.files.base import ContentFile
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop, pgettext
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.definitions.problems import LinliError
from engine.forms.validation import field_at
from engine.models import SubmissionFile

logger = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000
MAX_SIDE = 4096
HARD_LIMIT_MB = 20
DEFAULT_ACCEPT = {"photo": ["image/jpeg", "image/png", "image/webp", "image/heic"],
                  "file": ["image/jpeg", "image/png", "application/pdf"]}
TYPE_NAMES = {"image/jpeg": "JPG", "image/png": "PNG", "image/webp": "WebP", "image/heic": "HEIC",
              "application/pdf": "PDF"}
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "JPEG"}


class UploadRefused(LinliError):
    """A file not taken; `status` is 400 for the file itself, 507 when the server cannot store it."""

    def __init__(self, code, message, *, status=400, **params):
        """`message`: the English words, marked with gettext_noop (the catalogue holds their Chinese);
        `params` fill it in when it is read."""
        self.code, self.message, self.status, self.params = code, message, status, params
        super().__init__(message.format(**params))

    def text(self, language="zh-hans"):
        with translation.override(language or "zh-hans"):
            return gettext(self.message).format(**{k: str(v) for k, v in self.params.items()})


class _OneOf:
    """"JPG, PNG or HEIC" in the language active when it is shown ("JPG、PNG 或 HEIC")."""

    def __init__(self, names):
        self.names = list(names)

    def __str__(self):
        if len(self.names) < 2:
            return "".join(self.names)
        return (pgettext("list of file kinds", ", ").join(self.names[:-1])
                + pgettext("list of file kinds", " or ") + self.names[-1])


def sniff(head: bytes) -> str:
    """The content type the bytes declare, from their first bytes; '' when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return ""


def _file_field(spec, pointer):
    field = field_at(spec, pointer) if pointer.startswith("/") else None
    if field is None or not field.is_file:
        raise UploadRefused("not_a_file_field", gettext_noop("This field does not take files"))
    return field


def store_upload(*, spec, form, field_pointer, upload, user, session_key=""):
    field = _file_field(spec, field_pointer)
    if upload is None:
        raise UploadRefused("no_file", gettext_noop("Choose a file to upload"))
    ui = field.ui
    limit_mb = min(float(ui.get("max_size_mb", 10)), HARD_LIMIT_MB)
    if upload.size > limit_mb * 1024 * 1024:
        raise UploadRefused("too_large", gettext_noop("The file is larger than {limit} MB"), limit=f"{limit_mb:g}")
    accept = ui.get("accept") or DEFAULT_ACCEPT["photo" if field.widget == "photo" else "file"]
    raw = upload.read(int(limit_mb * 1024 * 1024) + 1)
    kind = sniff(raw[:16])
    if kind not in accept:
        # name the kinds this field takes: a photo field must not invite a PDF it will refuse
        kinds = [TYPE_NAMES.get(t, t) for t in accept]
        raise UploadRefused("type", gettext_noop("This kind of file is not accepted here; upload a {kinds} file"),
                            kinds=_OneOf(kinds))
    if kind in IMAGE_TYPES:
        raw, kind = _reencode(raw, kind, keep_location=bool(spec.ui.get("keep_location")))
    name = (upload.name or "upload").replace("/", "_").replace("\\", "_")[:200]
    stored = SubmissionFile(community=form.community, form=form, owner=user if user.is_authenticated else None,
                            session_key="" if user.is_authenticated else session_key, original_name=name,
                            content_type=kind, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(),
                            # the storage path (SubmissionFile.file's upload_to) is dated by created_at,
                            # which auto_now_add would only fill in at save(), after the file is written
                            created_at=timezone.now())
    try:
        stored.file.save(stored.token, ContentFile(raw), save=False)
    except OSError:  # disk full or read-only: tell the person to try later, leave no partial file
        logger.exception("upload for %s/%s not stored", form.community.slug, form.key)
        _discard(stored)
        raise UploadRefused("storage", gettext_noop("The file cannot be stored just now; try again later"),
                            status=507) from None
    try:
        stored.save()
    except BaseException:
        _discard(stored)  # a file without its row would never be cleaned up
        raise
    return stored


def _discard(stored):
    # a failed write leaves its partial file under the name made from the token (unique to this upload)
    name = stored.file.name or stored.file.field.generate_filename(stored, stored.token)
    try:
        stored.file.storage.delete(name)
    except OSError:
        logger.warning("could not remove %s", name)


def _reencode(raw, kind, keep_location):
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise UploadRefused("too_many_pixels", gettext_noop("The image has too many pixels"))
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            exif = image.info.get("exif") if keep_location else None
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out_format = IMAGE_TYPES[kind]
            if out_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            buffer = io.BytesIO()
            options = {"quality": 85} if out_format in ("JPEG", "WEBP") else {"optimize": True}
            if exif:
                options["exif"] = exif
            image.save(buffer, out_format, **options)
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses to open anything over twice MAX_IMAGE_PIXELS before the size check
        # above runs: that is the same "too many pixels", not an unreadable image.
        raise UploadRefused("too_many_pixels", gettext_noop("The image has too many pixels")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UploadRefused("broken_image", gettext_noop("The image cannot be read")) from None
    new_kind = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[out_format]
    return buffer.getvalue(), new_kind
