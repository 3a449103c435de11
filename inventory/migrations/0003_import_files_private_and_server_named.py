# Import files move out of MEDIA_ROOT (served in development, and by any web server that serves
# media) into the private storage, under names the server chose.

from django.db import migrations, models

import imports.uploads


def move_import_files(apps, schema_editor):
    from django.core.files.storage import default_storage

    ImportJob = apps.get_model("inventory", "ImportJob")
    private = imports.uploads.private_storage()
    for job in ImportJob.objects.exclude(file="").iterator():
        old = job.file.name
        if old.startswith(f"imports/{job.tenant_id}/") or not default_storage.exists(old):
            continue
        with default_storage.open(old, "rb") as source:
            new = private.save(imports.uploads.import_file_path(job, old), source)
        ImportJob.objects.filter(pk=job.pk).update(file=new)
        default_storage.delete(old)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_postgres_search_and_ledger_guard"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importjob",
            name="file",
            field=models.FileField(
                max_length=200,
                storage=imports.uploads.private_storage,
                upload_to=imports.uploads.import_file_path,
            ),
        ),
        migrations.RunPython(move_import_files, migrations.RunPython.noop),
    ]
