"""The indexes the migrations leave in the database: every foreign key is still checked and still led
by an index (deleting a customer, a product or a shop must not scan a million rows), and no key keeps
a one-column index that another index of its table already starts with (upkeep on every write that no
query needs)."""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations.state import ProjectState

from core.migration_operations import AlterKeyIndex

pytestmark = pytest.mark.django_db

OUR_APPS = ("approvals", "audit", "backoffice", "imports", "inventory", "notifications", "orders")


def our_foreign_keys():
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or not model._meta.managed:
            continue
        if model.__name__.startswith("Historical"):
            continue  # django-simple-history indexes every key of its tables itself
        for field in model._meta.local_fields:
            if isinstance(field, models.ForeignKey):
                yield model, field


def indexes_of(table: str) -> list[tuple[str, list[str], bool]]:
    """(name, key columns in order, unique) of the btree indexes of ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, i.indisunique,
                   array(SELECT a.attname
                         FROM unnest(i.indkey[:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                         ORDER BY k.n)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
            WHERE i.indrelid = %s::regclass AND am.amname = 'btree' AND i.indpred IS NULL
            """,
            [table],
        )
        return [(name, list(columns), unique) for name, unique, columns in cursor.fetchall()]


def foreign_key_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_constraint k
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
            WHERE k.conrelid = %s::regclass AND k.contype = 'f'
            """,
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_foreign_key_is_checked_and_led_by_an_index():
    unled, unchecked = [], []
    for model, field in our_foreign_keys():
        table = model._meta.db_table
        if not any(columns[0] == field.column for _, columns, _ in indexes_of(table)):
            unled.append(f"{table}.{field.column}")
        if field.db_constraint and field.column not in foreign_key_columns(table):
            unchecked.append(f"{table}.{field.column}")
    assert unled == [], "keys no index starts with (a delete of the row they point at scans the table)"
    assert unchecked == [], "keys whose constraint is gone"


def test_no_key_keeps_a_one_column_index_another_index_starts_with():
    redundant = []
    for model, field in our_foreign_keys():
        indexes = indexes_of(model._meta.db_table)
        single = [name for name, columns, unique in indexes if columns == [field.column] and not unique]
        wider = [name for name, columns, _ in indexes if len(columns) > 1 and columns[0] == field.column]
        if single and wider:
            redundant.append(f"{single[0]} (led by {wider[0]})")
    assert redundant == [], "set db_index=False on these keys (core.tenancy.tenant_key for the shop's)"


def test_alter_key_index_changes_nothing_but_the_index():
    """The operation refuses a change it would not carry out (it only drops or builds the index)."""
    state = ProjectState.from_apps(apps)
    operation = AlterKeyIndex(
        model_name="payment",
        name="order",
        field=models.ForeignKey("orders.Order", on_delete=models.CASCADE, db_index=False),
    )
    new_state = state.clone()
    operation.state_forwards("orders", new_state)
    with connection.schema_editor(atomic=True) as editor, pytest.raises(ValueError, match="db_index only"):
        operation.database_forwards("orders", editor, state, new_state)
