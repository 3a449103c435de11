from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from core.tenancy import TenantScoped, tenant_key, tenant_manager

from .registry import rule_kind_choices


class ApprovalRule(TenantScoped):
    """A shop's rule: changes of this kind above the threshold wait for a second person's approval.

    The kinds are registered by the apps that make those changes (``approvals.registry``): a price
    change above a percentage, a stock adjustment above a number of units or a value, a refund above
    an amount, a bulk action or an import above a number of rows, an undo above a number of records.
    """

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    kind = models.CharField(max_length=30, choices=rule_kind_choices)
    threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Changes above this wait for approval (0: every change of this kind).",
    )
    is_active = models.BooleanField("active", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="approval_rule_kind_per_tenant")
        ]

    def __str__(self):
        from .registry import rule_kind

        return rule_kind(self.kind).describe(self.threshold)


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved and applied"
    REJECTED = "rejected", "Rejected"
    OUTDATED = "outdated", "Not applied (changed since)"
    FAILED = "failed", "Approved, refused when applied"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ChangeRequest(TenantScoped):
    """A change a rule held back: who asked, why, exactly what would change (old -> new), and what
    became of it. Its history (asked, approved, rejected) is in the audit log and the sealed trail."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    Status = ChangeRequestStatus

    operation = models.CharField(max_length=64, help_text="The registered operation that applies it.")
    title = models.CharField(max_length=255)
    reason = models.CharField("why", max_length=500)
    status = models.CharField(max_length=10, choices=ChangeRequestStatus.choices, default="pending")
    # The rules it matched: [{"kind", "threshold", "measure", "text"}].
    rules = models.JSONField(default=list)
    # The records it changes (one model): their pages show it.
    content_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    # What a person reads: [{"record", "field", "old", "new"}] (the first rows of a big change).
    changes = models.JSONField(default=list, blank=True)
    # What must still hold when it is approved: {"fields": [...], "rows": {pk: [values]}}.
    expected = models.JSONField(default=dict, blank=True)
    # What its operation needs to make the change again.
    payload = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    outcome = models.TextField(blank=True, help_text="What applying it did, or why it could not be applied.")
    change_set = models.ForeignKey(
        "audit.ChangeSet", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()
    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_changerequest", "Can approve or reject other people's change requests")]
        indexes = [
            models.Index(fields=["tenant", "status", "-requested_at"], name="change_request_status_idx"),
            models.Index(fields=["tenant", "requested_by", "-requested_at"], name="change_request_mine_idx"),
            models.Index(fields=["tenant", "decided_by", "status"], name="change_request_decider_idx"),
            GinIndex(fields=["object_ids"], name="change_request_objects_idx"),
        ]

    def __str__(self):
        return f"Request {self.pk}: {self.title}"

    @property
    def is_pending(self) -> bool:
        return self.status == ChangeRequestStatus.PENDING

    def held_text(self) -> str:
        """What the person who asked is told (``core.admin_base.held_message``)."""
        rules = "; ".join(rule["text"] for rule in self.rules)
        return f"Waiting for approval: {self.title} ({rules}). Someone else approves or rejects it."

    def get_admin_url(self) -> str:
        return reverse("admin:approvals_changerequest_change", args=[self.pk])
