"""The points ledger and the points supermarket.

The ledger is append-only: an entry is never edited or deleted; a correction is a new entry.
Each entry carries the person's balance after it (derived when it is written, never edited),
which the database keeps at zero or above; and each is chained by hash to the previous entry
of its community, so an edit behind the application's back breaks the chain and
`verify_ledger` names the first broken link. The rules that the database can keep — non-zero
amounts, non-negative balances, one entry per idempotency key, one successor per entry — are
constraints, not code.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .definitions import Community
from .org import Person


class LedgerHead(models.Model):
    """The last link of a community's chain; locked while an entry is appended, so appends queue."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="ledger_head")
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)


class LedgerEntry(models.Model):
    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.PROTECT,
                                  related_name="ledger")
    sequence = models.PositiveBigIntegerField(_("sequence"))
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="ledger")
    person_sequence = models.PositiveIntegerField()
    category = models.SlugField(_("category"), max_length=64)
    amount = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    rule = models.SlugField(_("rule"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    idempotency_key = models.CharField(max_length=128, blank=True)
    submission = models.ForeignKey("engine.Submission", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="ledger_entries")
    created_at = models.DateTimeField(_("time"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["community", "sequence"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="ledger_balance_not_negative"),
            models.UniqueConstraint(fields=["community", "sequence"], name="ledger_unique_sequence"),
            models.UniqueConstraint(fields=["person", "person_sequence"], name="ledger_unique_person_sequence"),
            models.UniqueConstraint(fields=["community", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="ledger_unique_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["community", "created_at"], name="ledger_by_time"),
            # PostgreSQL answers leaderboards from this index alone (other databases skip it).
            models.Index(fields=["community", "created_at"], include=["person", "amount", "category"],
                         name="ledger_leaderboard"),
            models.Index(fields=["person", "-person_sequence"], name="ledger_by_person"),
        ]

    def __str__(self):
        return f"{self.community_id}#{self.sequence} {self.person_id} {self.amount:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Ledger entries are never edited; append a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are never deleted; append a correcting entry instead.")


class StoreItem(models.Model):
    class Kind(models.TextChoices):
        GOODS = "goods", _("goods")
        SERVICE = "service", _("service")

    community = models.ForeignKey(Community, verbose_name=_("community"), on_delete=models.CASCADE,
                                  related_name="store_items")
    key = models.SlugField(_("identifier"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    cost = models.PositiveIntegerField(_("cost in points"))
    stock = models.IntegerField(_("in stock"))
    per_person = models.PositiveIntegerField(_("at most per person per window"), null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("store item")
        verbose_name_plural = _("store items")
        constraints = [
            models.UniqueConstraint(fields=["community", "key"], name="store_item_unique_key"),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="store_item_stock_not_negative"),
        ]

    def __str__(self):
        return self.title


class Redemption(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved", _("reserved")
        HANDED_OUT = "handed_out", _("handed out")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="redemptions")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="redemptions")
    item = models.ForeignKey(StoreItem, on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveIntegerField(default=1)
    points = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED)
    debit = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    refund = models.OneToOneField(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submission = models.ForeignKey("engine.Submission", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="redemptions")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=1), name="redemption_quantity_positive")]
