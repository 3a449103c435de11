"""A trigram index for searching customers by name, and prefix search on e-mails
within a tenant."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_name_trgm_idx ON orders_customer USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_email_prefix_idx ON orders_customer (tenant_id, email varchar_pattern_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS customer_email_prefix_idx",
    "DROP INDEX IF EXISTS customer_name_trgm_idx",
]


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
