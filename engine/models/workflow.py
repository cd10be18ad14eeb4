"""A submission's journey through its flow: the instance, its audit trail, timers, ballots and
notifications.

`FlowInstance.version` grows by one with every transition; a transition updates the row only
where the version is still the one it read (a conditional UPDATE, which also works on SQLite
where SELECT … FOR UPDATE does nothing), so of two people acting at once one succeeds and the
other learns where the item moved. The audit trail is append-only.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .definitions import Community, Definition, DefinitionVersion
from .org import Person
from .submissions import Submission


class FlowInstance(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="flow_instances")
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="flow")
    flow = models.ForeignKey(Definition, on_delete=models.PROTECT, related_name="instances")
    flow_version = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="+")
    state = models.SlugField(_("state"), max_length=64)
    version = models.PositiveIntegerField(default=1)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_items")
    signatures = models.JSONField(default=dict, blank=True)  # countersigns in progress: {transition: {seat: user}}
    entered_at = models.DateTimeField(_("in this state since"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # a timer's transition was refused (a post full at the end of its notice) and the flow names
    # no fallback, or the fallback was refused too: the item waits for the community's staff, who
    # are told; cleared when a step is next taken. {"transition", "code", "message": {zh-hans, en}}
    stalled_at = models.DateTimeField(_("stalled since"), null=True, blank=True)
    stalled_reason = models.JSONField(_("why it stalled"), default=dict, blank=True)

    class Meta:
        verbose_name = _("flow instance")
        verbose_name_plural = _("flow instances")
        indexes = [
            # the inbox: open items, overdue first (a partial index holds only the open ones)
            models.Index(fields=["due_at", "entered_at"], condition=models.Q(finished_at__isnull=True),
                         name="inbox_open_by_due"),
        ]

    def __str__(self):
        return f"{self.submission} · {self.state}"

    @property
    def stalled_message(self) -> str:
        """Why the item stalled, in the active language ("" when it has not)."""
        from django.utils import translation

        message = (self.stalled_reason or {}).get("message") or {}
        language = (translation.get_language() or "zh-hans").lower()
        return message.get("zh-hans" if language.startswith("zh") else "en") or message.get("zh-hans", "")


class AuditEvent(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    instance = models.ForeignKey(FlowInstance, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_kind = models.CharField(max_length=16, default="person")  # person | timer | vote | system
    transition = models.SlugField(max_length=64)
    from_state = models.SlugField(max_length=64, blank=True)
    to_state = models.SlugField(max_length=64, blank=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)  # inputs given and fields changed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The audit trail is append-only.")
        super().save(*args, **kwargs)


class Timer(models.Model):
    """A deadline: when it passes, `transition` is taken by the timer (or a vote is closed).
    `fired_at` is set in the same transaction as the transition, so a timer fires once."""

    instance = models.ForeignKey(FlowInstance, on_delete=models.CASCADE, related_name="timers")
    state = models.SlugField(max_length=64)
    transition = models.SlugField(max_length=64, blank=True)
    close_vote = models.BooleanField(default=False)
    reminder = models.JSONField(null=True, blank=True)  # {"to": recipients, "message": text}: remind, don't move
    due_at = models.DateTimeField(db_index=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)


class Ballot(models.Model):
    instance = models.ForeignKey(FlowInstance, on_delete=models.CASCADE, related_name="ballots")
    state = models.SlugField(max_length=64)
    voter = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="ballots")
    option = models.SlugField(max_length=64)
    paper = models.BooleanField(default=False)
    proxy = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="proxy_ballots")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "state", "voter"], name="one_ballot_per_voter")]


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    instance = models.ForeignKey(FlowInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
