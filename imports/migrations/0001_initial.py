"""ImportJob moves from the catalogue app (``inventory``) to this one, keeping its table
(``inventory_importjob``) and its rows: only Django's state moves. The job's content type moves too
(renamed in place), so stock movements that name a job as their cause, and the job permissions that
groups hold, keep pointing at it."""

import core.tenancy
import django.db.models.deletion
import django.db.models.manager
import imports.registry
import imports.uploads
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="inventory", new="imports"):
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    if not content_types.filter(app_label=new, model="importjob").exists():
        content_types.filter(app_label=old, model="importjob").update(app_label=new)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old="imports", new="inventory")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("backoffice", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0002_list_indexes"),
        ("inventory", "0004_import_job_change_set"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("resource", models.CharField(choices=imports.registry.resource_choices, max_length=20)),
                        ("file", models.FileField(max_length=200, storage=imports.uploads.private_storage, upload_to=imports.uploads.import_file_path)),
                        ("file_name", models.CharField(max_length=255)),
                        ("file_format", models.CharField(default="csv", max_length=10)),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")], default="queued", max_length=10)),
                        ("rows_total", models.PositiveIntegerField(default=0)),
                        ("rows_processed", models.PositiveIntegerField(default=0)),
                        ("created_count", models.PositiveIntegerField(default=0, verbose_name="created")),
                        ("updated_count", models.PositiveIntegerField(default=0, verbose_name="updated")),
                        ("skipped_count", models.PositiveIntegerField(default=0, verbose_name="unchanged")),
                        ("failed_count", models.PositiveIntegerField(default=0, verbose_name="invalid")),
                        ("error_report", models.JSONField(blank=True, default=list)),
                        ("error_message", models.TextField(blank=True)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("change_set", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="audit.changeset")),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("tenant", models.ForeignKey(default=core.tenancy.current_tenant_id, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="backoffice.tenant")),
                        ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "inventory_importjob",
                        "ordering": ["-created_at", "-id"],
                        "abstract": False,
                        "base_manager_name": "unscoped",
                        "default_manager_name": "objects",
                        "indexes": [models.Index(fields=["tenant", "status", "-created_at"], name="import_job_status_idx")],
                    },
                    managers=[
                        ("objects", django.db.models.manager.Manager()),
                        ("unscoped", django.db.models.manager.Manager()),
                    ],
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
