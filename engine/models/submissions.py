"""Submissions of published forms, the files attached to them, and residents' drafts.

A submission's data is JSON because its shape is the community's; everything around it —
who, which version, when, its reference number, its files — is a real column.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy as _

from engine.storage import private_storage

from .definitions import Community, Definition, DefinitionVersion


def new_token():
    return uuid.uuid4().hex


def _file_path(instance, filename):
    # The stored name never contains the uploader's file name (it is shown, never trusted).
    return f"{instance.community.slug}/{instance.created_at:%Y/%m}/{instance.token}"


class PaddedId(models.Func):
    """The row's id with at least six digits: 42 → "000042", 1234567 → "1234567".

    Written per database because the portable LPad truncates longer values and, on SQLite, is
    a Python function that a generated column cannot call."""

    output_field = models.CharField()

    def __init__(self):
        super().__init__(models.F("id"))

    def as_sql(self, compiler, connection, **extra):
        return self.as_sqlite(compiler, connection, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = ("CASE WHEN %(expressions)s < 1000000 THEN substr('00000' || %(expressions)s, -6) "
                    "ELSE CAST(%(expressions)s AS TEXT) END")
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = ("CASE WHEN %(expressions)s < 1000000 THEN lpad(%(expressions)s::text, 6, '0') "
                    "ELSE %(expressions)s::text END")
        return super().as_sql(compiler, connection, template=template, **extra)


class Submission(models.Model):
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.PROTECT,
                                  related_name="submissions")
    form = models.ForeignKey(Definition, verbose_name=_("form"), on_delete=models.PROTECT, related_name="submissions")
    form_version = models.ForeignKey(DefinitionVersion, verbose_name=_("form version"), on_delete=models.PROTECT,
                                     related_name="submissions")
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitter"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="submissions")
    data = models.JSONField(_("data"))
    # The reference number is the form's prefix and the local date (known before the INSERT)
    # followed by the row's id (known only by the INSERT): the database joins them, so storing a
    # submission is one INSERT rather than an INSERT and an UPDATE. It is unique because the id is.
    reference_stem = models.CharField(_("reference prefix and date"), max_length=24, editable=False)
    reference = models.GeneratedField(verbose_name=_("reference number"),
                                      expression=Concat(models.F("reference_stem"), PaddedId()),
                                      output_field=models.CharField(max_length=32), db_persist=True, unique=True)
    submit_time = models.DateTimeField(_("submitted at"), auto_now_add=True, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True)
    page = models.ForeignKey("wagtailcore.Page", verbose_name=_("page"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    # Where the item belongs in the org tree (the form's first unit field): reviewers see items
    # of the units their roles cover.
    unit = models.ForeignKey("engine.OrgUnit", verbose_name=_("unit"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="submissions")
    language = models.CharField(_("language"), max_length=16, blank=True)
    # When the retention period (or the submitter's account deletion) took its personal data out
    redacted_at = models.DateTimeField(_("personal data removed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-submit_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="submission_unique_idempotency_key"),
        ]
        indexes = [models.Index(fields=["form", "-submit_time"], name="submission_form_time")]

    def __str__(self):
        return self.reference or f"#{self.pk}"

    def get_data(self):
        """Flat values for Wagtail's submissions listing and export (see cms.models.LinliFormPage)."""
        from engine.forms.display import flat_data

        return {"submit_time": self.submit_time, "reference": self.reference, **flat_data(self)}


class SubmissionFile(models.Model):
    """An uploaded file: checked, re-encoded where it is an image, kept in private storage and
    served only after a permission check."""

    token = models.CharField(_("token"), max_length=32, unique=True, default=new_token, editable=False)
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+")
    form = models.ForeignKey(Definition, verbose_name=_("form"), on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    session_key = models.CharField(max_length=64, blank=True)
    submission = models.ForeignKey(Submission, verbose_name=_("submission"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="files")
    file = models.FileField(_("file"), storage=private_storage, upload_to=_file_path, max_length=300)
    original_name = models.CharField(_("original name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("uploaded file")
        verbose_name_plural = _("uploaded files")

    def __str__(self):
        return self.original_name


class Draft(models.Model):
    """A form a signed-in person started and will finish later; it keeps the version it began on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="form_drafts")
    form = models.ForeignKey(Definition, on_delete=models.CASCADE, related_name="drafts")
    form_version = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(default=dict)
    step = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        constraints = [models.UniqueConstraint(fields=["user", "form"], name="draft_one_per_form")]
