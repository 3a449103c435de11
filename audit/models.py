from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.tenancy import TenantScoped, tenant_key, tenant_manager


class ChangeSet(TenantScoped):
    """One multi-row change (a bulk action, an import, a revert, an undo) as a unit."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop

    class Kind(models.TextChoices):
        BULK_ACTION = "bulk_action", "Bulk action"
        IMPORT = "import", "Import"
        REVERT = "revert", "Revert"
        UNDO = "undo", "Undo"
        # One record changed once a second person approved it (``approvals``).
        APPROVED = "approved", "Approved change"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    row_count = models.PositiveIntegerField(default=0)
    undoes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="change_set_created_idx")]

    def __str__(self):
        return self.title


class AuditEntry(TenantScoped):
    """One line of the audit log: a history row of any tracked model, in one table.

    Written in the same transaction as the history row it describes, so the log can be listed,
    filtered and paginated across all models with one indexed query.
    """

    tenant = tenant_key(db_index=False)  # its indexes start with the shop

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"

    created_at = models.DateTimeField("when")
    # Entries are append-only (a database trigger): a deleted user's entries keep the user's id.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    # The keys below are led by indexes of their own (audit_object_idx, audit_change_set_idx).
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField("object", max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=255, blank=True)
    changed_fields = models.JSONField(default=list, blank=True)
    history_id = models.BigIntegerField(help_text="The row in the model's own history table.")
    change_set = models.ForeignKey(
        ChangeSet, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", db_index=False
    )

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="audit_created_idx"),
            models.Index(fields=["tenant", "user", "-created_at"], name="audit_user_idx"),
            models.Index(fields=["tenant", "content_type", "-created_at"], name="audit_model_idx"),
            models.Index(fields=["tenant", "action", "-created_at"], name="audit_action_idx"),
            models.Index(fields=["content_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["change_set", "id"], name="audit_change_set_idx"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.object_repr}"


class AuditSeal(TenantScoped):
    """One block of a shop's sealed audit trail (see ``audit.sealing``). Append-only."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    number = models.PositiveIntegerField()
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    root = models.CharField("Merkle root", max_length=64)
    entry_ids = ArrayField(models.BigIntegerField())
    leaves = models.BinaryField(help_text="The SHA-256 digests of the entries, in the order of entry_ids.")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    sequence_value = models.BigIntegerField(help_text="The entries' id sequence when this block was sealed.")
    snapshot_xmax = models.BigIntegerField(help_text="The first transaction id not yet given out then.")
    pending_from = models.BigIntegerField(help_text="The smallest entry id that could still be missing then.")
    sealed_at = models.DateTimeField(auto_now_add=True)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="audit_seal_number_per_tenant")
        ]
        indexes = [models.Index(fields=["tenant", "last_id"], name="audit_seal_last_id_idx")]

    def __str__(self):
        return f"Seal {self.number} ({self.digest[:12]}…)"


class TrailCheck(TenantScoped):
    """One verification of a shop's whole chain of seals, for the audit log's banner and the dashboard."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    checked_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    blocks = models.PositiveIntegerField(default=0)
    entries = models.PositiveBigIntegerField(default=0)
    up_to_entry = models.BigIntegerField(null=True, blank=True)
    first_bad_entry = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-checked_at"], name="trail_check_latest_idx")]

    def __str__(self):
        return f"{'Verified' if self.ok else 'FAILED'} at {self.checked_at:%Y-%m-%d %H:%M}"
