from django.conf import settings
from django.db import models

from core.tenancy import TenantScoped, tenant_key, tenant_manager

from .registry import resource_choices
from .uploads import fix_file_path, import_file_path, private_storage


class ImportJob(TenantScoped):
    """One import of a file, run in the request for small files and by a Celery worker for big ones."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        # Held by the shop's rule for imports (``imports.approval``): queued once approved.
        AWAITING_APPROVAL = "approval", "Waiting for approval"
        NOT_APPROVED = "unapproved", "Not approved"

    # The registered resource (imports.registry): products, categories, customers...
    resource = models.CharField(max_length=20, choices=resource_choices)
    # Named by the server and kept where no URL reaches (imports.uploads); file_name is the name the
    # person uploaded, shown only.
    file = models.FileField(upload_to=import_file_path, storage=private_storage, max_length=200)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10, default="csv")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # How the file is read and mapped (imports.sources.ImportOptions as JSON).
    options = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)  # the first pass: every row checked
    rows_processed = models.PositiveIntegerField(default=0)  # the second pass: rows written
    created_count = models.PositiveIntegerField("created", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    skipped_count = models.PositiveIntegerField("unchanged", default=0)
    # Rows the file's system marks as no product of their own (a variable product's parent), with why.
    set_aside_count = models.PositiveIntegerField("skipped", default=0)
    failed_count = models.PositiveIntegerField("invalid", default=0)
    error_report = models.JSONField(default=list, blank=True)
    set_aside_report = models.JSONField(default=list, blank=True)
    # The invalid rows, as the file had them, with a "problem" column: to fix and import again.
    fix_file = models.FileField(upload_to=fix_file_path, storage=private_storage, max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Every attempt records into this one change set (a retried job is undone as one).
    change_set = models.ForeignKey(
        "audit.ChangeSet", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        # The table of the days when imports lived in the catalogue app: existing rows stay where they are.
        db_table = "inventory_importjob"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="import_job_status_idx")]

    def __str__(self):
        return f"Import of {self.file_name} ({self.get_status_display().lower()})"

    @property
    def progress_percent(self) -> int:
        """How far the current pass is: checking, then writing."""
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        done = self.rows_processed if self.rows_processed else self.rows_checked
        return min(100, round(100 * done / self.rows_total))


class ImportMapping(TenantScoped):
    """A column mapping a shop saved under a name, to choose next time it imports such a file: the
    file's headers (as ``imports.mapping.words`` spells them) -> the resource's columns ("" ignored)."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    resource = models.CharField(max_length=20, choices=resource_choices)
    name = models.CharField(max_length=100)
    columns = models.JSONField(default=dict)
    preset = models.CharField(max_length=30, blank=True)
    create_missing = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["resource", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "resource", "name"], name="import_mapping_name_per_shop"
            )
        ]

    def __str__(self):
        return self.name
