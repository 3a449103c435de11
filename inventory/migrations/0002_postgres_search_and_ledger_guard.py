"""Trigram search on product names, SKU prefix search per tenant, and a database-level
guard that keeps the stock ledger append-only: an UPDATE or DELETE of a movement fails, whatever code
tries it, except the one sanctioned purge (the undo of a change set that created a product removes it
with the movements that change set wrote; inventory.services.ledger_purge says so for its statement).
Also writes an opening-balance movement for any product whose stock the ledger doesn't explain yet."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS product_name_trgm_idx ON inventory_product USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS product_sku_prefix_idx ON inventory_product (tenant_id, sku varchar_pattern_ops)",
    """
    CREATE OR REPLACE FUNCTION inventory_movement_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('backoffice.ledger_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'stock movements are append-only: write a correction movement instead';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER inventory_movement_append_only
    BEFORE UPDATE OR DELETE ON inventory_stockmovement
    FOR EACH ROW EXECUTE FUNCTION inventory_movement_append_only()
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS inventory_movement_append_only ON inventory_stockmovement",
    "DROP FUNCTION IF EXISTS inventory_movement_append_only()",
    "DROP INDEX IF EXISTS product_sku_prefix_idx",
    "DROP INDEX IF EXISTS product_name_trgm_idx",
]


def opening_balances(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    StockMovement = apps.get_model("inventory", "StockMovement")
    ledger = (
        StockMovement.objects.filter(product=OuterRef("pk"))
        .values("product")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    unexplained = Product.objects.annotate(ledger=Coalesce(Subquery(ledger), 0)).exclude(stock=F("ledger"))
    batch = []
    for product in unexplained.only("pk", "tenant_id", "stock").iterator(chunk_size=5000):
        batch.append(
            StockMovement(
                tenant_id=product.tenant_id,
                product_id=product.pk,
                quantity=product.stock - product.ledger,
                kind="correction",
                reason="Opening balance (stock before the ledger existed)",
                stock_after=product.stock,
            )
        )
        if len(batch) >= 5000:
            StockMovement.objects.bulk_create(batch)
            batch = []
    StockMovement.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [
        migrations.RunPython(opening_balances, migrations.RunPython.noop),
        migrations.RunSQL(POSTGRES_FORWARD, POSTGRES_BACKWARD),
    ]
