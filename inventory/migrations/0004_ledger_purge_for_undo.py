"""PostgreSQL only: the append-only guard on stock movements lets exactly one thing through: the
undo of a change set that created a product, which removes that product with the movements the same
change set wrote (inventory.services.ledger_purge sets backoffice.ledger_purge for its statement)."""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION inventory_movement_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('backoffice.ledger_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'stock movements are append-only: write a correction movement instead';
END;
$$ LANGUAGE plpgsql
"""
STRICT_GUARD = """
CREATE OR REPLACE FUNCTION inventory_movement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stock movements are append-only: write a correction movement instead';
END;
$$ LANGUAGE plpgsql
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT_GUARD)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_history_reason_text")]

    operations = [migrations.RunPython(forward, backward)]
