"""The org tree, people and the roles they hold at its nodes.

`OrgUnit` is a materialised-path tree (django-treebeard, which Wagtail already ships): a grant
at a unit covers its subtree with one indexed prefix query. A unit may also cover other
units (one branch for two compounds). The tree is built from the live community.yaml
(`engine.org.sync`); units that disappear from the file are deactivated, never deleted, since
submissions and roles point at them.

A `Person` is a resident or member as the community knows them (from a roster), with or
without an account. `RoleAssignment` puts a person in a role at a unit, optionally for an
organisation (the branch, the owners' committee, the property company) — a person may hold
seats in two.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from .definitions import Community


class OrgUnit(MP_Node):
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="units")
    key = models.SlugField(_("identifier"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    level = models.SlugField(_("level"), max_length=64)
    covers = models.ManyToManyField("self", verbose_name=_("also covers"), symmetrical=False, blank=True,
                                    related_name="covered_by")
    active = models.BooleanField(_("active"), default=True)

    node_order_by = ["key"]

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [models.UniqueConstraint(fields=["community", "key"], name="orgunit_unique_key")]

    def __str__(self):
        return self.name


class Person(models.Model):
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="people")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="people")
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("mobile number"), max_length=20, blank=True)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("lives in"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="residents")
    is_member = models.BooleanField(_("party member"), default=False)
    show_name_publicly = models.BooleanField(_("agrees to appear by name on public pages"), default=False)
    # Separate consents (PIPL: making personal information public needs its own consent).
    honour_roll_consent = models.BooleanField(_("agrees to appear by name on honour rolls"), default=False)
    contact_consent = models.BooleanField(_("agrees to be contacted by residents about their posts"), default=False)
    external_id = models.CharField(_("roster number"), max_length=64, blank=True)
    # A person who moved away or left is deactivated, never deleted: submissions, ballots and the
    # ledger point at them. An inactive person holds no role (engine.policy.current_assignments).
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(fields=["community", "user"], condition=models.Q(user__isnull=False),
                                    name="person_one_per_account"),
            models.UniqueConstraint(fields=["community", "external_id"], condition=~models.Q(external_id=""),
                                    name="person_unique_roster_number"),
        ]

    def __str__(self):
        return self.name


class RoleAssignment(models.Model):
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="role_assignments")
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="roles")
    role = models.SlugField(_("role"), max_length=64)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("at unit"), on_delete=models.PROTECT, related_name="roles")
    organisation = models.SlugField(_("organisation"), max_length=64, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["person", "role", "unit", "organisation"],
                                               name="role_assignment_unique")]
        indexes = [models.Index(fields=["community", "role"], name="role_by_community")]

    def __str__(self):
        return f"{self.person} · {self.role} @ {self.unit}"


class PeopleChange(models.Model):
    """The audit trail of the people and roles screens and API: who changed what, when and why.

    Append-only, like the flow's AuditEvent; `data` holds the values before and after."""

    class Action(models.TextChoices):
        ADD_PERSON = "add_person", _("person added")
        EDIT_PERSON = "edit_person", _("person edited")
        DEACTIVATE_PERSON = "deactivate_person", _("person deactivated")
        REACTIVATE_PERSON = "reactivate_person", _("person reactivated")
        GIVE_ROLE = "give_role", _("role given")
        TAKE_ROLE = "take_role", _("role taken away")
        INVITE = "invite", _("invited")
        LINK_ACCOUNT = "link_account", _("account linked")
        GRANT_PERMISSION = "grant_permission", _("permission granted")
        REVOKE_PERMISSION = "revoke_permission", _("permission revoked")
        IMPORT = "import", _("roster imported")

    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="people_changes")
    person = models.ForeignKey(Person, verbose_name=_("person"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("change to people and roles")
        verbose_name_plural = _("changes to people and roles")
        ordering = ["-created_at", "-pk"]


class PostAssignment(models.Model):
    """A member holding a post (设岗定责) at a unit; `until` set when they step down."""

    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="post_assignments")
    post = models.SlugField(_("post"), max_length=64)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="posts")
    person = models.ForeignKey(Person, verbose_name=_("holder"), on_delete=models.PROTECT, related_name="posts")
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    submission = models.ForeignKey("engine.Submission", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("post holder")
        verbose_name_plural = _("post holders")
        constraints = [models.UniqueConstraint(fields=["post", "unit", "person"], condition=models.Q(until__isnull=True),
                                               name="post_held_once")]


class Registration(models.Model):
    """双报到: a member registered with the compound where they live, or a unit with its paired community."""

    class Kind(models.TextChoices):
        MEMBER = "member", _("in-service member")
        UNIT = "unit", _("paired unit")

    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="registrations")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    person = models.ForeignKey(Person, verbose_name=_("member"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="registrations")
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("registered at"), on_delete=models.PROTECT,
                             related_name="registrations")
    teams = models.JSONField(_("service teams"), default=list, blank=True)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    submission = models.ForeignKey("engine.Submission", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(fields=["community", "person"], condition=models.Q(kind="member"),
                                    name="member_registers_once"),
            models.CheckConstraint(condition=models.Q(kind="unit") | models.Q(person__isnull=False),
                                   name="member_registration_has_person"),
        ]
