"""ImportJob now belongs to the imports app (imports 0001): removed from this app's state only; its
table and rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_import_job_change_set"),
        ("imports", "0001_initial"),
        # What still pointed at the job in this app's state points at the imports app's first.
        ("notifications", "0002_import_job_moves_to_imports"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ImportJob")],
            database_operations=[],
        ),
    ]
