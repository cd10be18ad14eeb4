"""Communities and their published definitions.

A published definition is an immutable, numbered `DefinitionVersion`. Editing makes a new
version; rollback re-publishes an old one's content as a new number. A submission points at
the version it was made under, for ever — so versions are never updated or deleted.
"""

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class Community(models.Model):
    """A tenant: a community (社区) or a street above several. Every tenant-owned row points here."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("community")
        STREET = "street", _("street")

    slug = models.SlugField(_("identifier"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.COMMUNITY)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["slug"]
        permissions = [("manage_community", _("Can manage the community's definitions, people and points"))]

    def __str__(self):
        return self.name or self.slug


class Definition(models.Model):
    """A named form, flow or community file of one community; its versions hold the content."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("community")
        FORM = "form", _("form")
        FLOW = "flow", _("flow")

    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="definitions")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    key = models.SlugField(_("identifier"), max_length=64)
    live_version = models.ForeignKey("DefinitionVersion", verbose_name=_("live version"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    # For a form: the live flow that handles its submissions (the flow whose `form:` names it).
    # Kept by publishing, so that submitting reads it with the form instead of looking it up.
    flow = models.ForeignKey("self", verbose_name=_("flow"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="handled_forms", limit_choices_to={"kind": "flow"}, editable=False)

    class Meta:
        verbose_name = _("definition")
        verbose_name_plural = _("definitions")
        constraints = [models.UniqueConstraint(fields=["community", "kind", "key"], name="definition_unique_key")]
        ordering = ["community", "kind", "key"]

    def __str__(self):
        return f"{self.community.slug}/{self.key} ({self.kind})"

    @cached_property
    def draft(self):
        """The admin editor's unpublished draft of this definition, or None."""
        return (DefinitionDraft.objects.select_related("updated_by")
                .filter(community_id=self.community_id, kind=self.kind, key=self.key).first())


class DefinitionVersion(models.Model):
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="+")
    definition = models.ForeignKey(Definition, verbose_name=_("definition"), on_delete=models.CASCADE,
                                   related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    content_hash = models.CharField(_("content hash"), max_length=64, db_index=True)
    source = models.TextField(_("source text"), blank=True)
    source_path = models.CharField(_("source file"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("published by"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("definition version")
        verbose_name_plural = _("definition versions")
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="definition_version_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="definition_version_number_positive"),
        ]
        ordering = ["definition", "-number"]

    def __str__(self):
        return f"{self.definition} v{self.number}"

    @property
    def data(self):
        return self.content["definition"]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Published definition versions are immutable; publish a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Published definition versions are never deleted.")


class DefinitionDraft(models.Model):
    """Work in progress on one definition file in the admin editor: its text, not yet published.

    One draft per definition (or per key not yet published: a new form or flow), shared by the
    community's admins. `revision` goes up by one on every save; a save names the revision it
    started from, so of two admins saving over each other the second hears of it instead of
    silently overwriting the first (optimistic concurrency). Publishing turns the draft into a
    `DefinitionVersion` and deletes it."""

    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="definition_drafts")
    kind = models.CharField(_("kind"), max_length=16, choices=Definition.Kind.choices)
    key = models.SlugField(_("identifier"), max_length=64)
    source = models.TextField(_("source text"), blank=True)
    base_version = models.ForeignKey(DefinitionVersion, verbose_name=_("based on version"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField(_("revision"), default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("last edited by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("last edited at"), auto_now=True)

    class Meta:
        verbose_name = _("definition draft")
        verbose_name_plural = _("definition drafts")
        constraints = [
            models.UniqueConstraint(fields=["community", "kind", "key"], name="definition_draft_unique_key"),
            models.CheckConstraint(condition=models.Q(revision__gte=1), name="definition_draft_revision_positive"),
        ]

    def __str__(self):
        return f"{self.community.slug}/{self.key} ({self.kind}) draft r{self.revision}"
