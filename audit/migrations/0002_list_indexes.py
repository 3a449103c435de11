"""A trigram index for the audit log's search on the object's name
(``object_repr ILIKE '%term%'``), which otherwise reads the whole log."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS audit_object_repr_trgm_idx ON audit_auditentry "
    "USING gin (object_repr gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS audit_object_repr_trgm_idx"]


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
