from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from core.tenancy import TenantScoped, tenant_manager


class ChangeSet(TenantScoped):
    """One multi-row change (a bulk action, an import, a revert, an undo) as a unit."""

    class Kind(models.TextChoices):
        BULK_ACTION = "bulk_action", "Bulk action"
        IMPORT = "import", "Import"
        REVERT = "revert", "Revert"
        UNDO = "undo", "Undo"

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

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"

    created_at = models.DateTimeField("when")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField("object", max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=255, blank=True)
    changed_fields = models.JSONField(default=list, blank=True)
    history_id = models.BigIntegerField(help_text="The row in the model's own history table.")
    change_set = models.ForeignKey(
        ChangeSet, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
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
