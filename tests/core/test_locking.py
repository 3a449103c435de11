"""``locked_fields_in_pk_order``: the rows ``locked_in_pk_order`` locks, read with only some fields, by
the SQL the ORM compiles for that query (kept once per shape), so the lock can't drift from it."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backoffice.models import Tenant
from core.locking import locked_fields_in_pk_order
from core.tenancy import activate
from inventory.models import Product

pytestmark = pytest.mark.django_db
FIELDS = ("name", "stock")


def test_the_active_shops_rows_locked_in_pk_order_with_only_the_fields_asked(make_product, make_category):
    mine = [make_product(stock=n) for n in (3, 4, 5)]
    acme = Tenant.objects.create(name="Acme", subdomain="acme")
    with activate(acme):
        theirs = make_product(category=make_category("Acme's"), stock=9)

    for asked in (mine, [mine[2], mine[0]], [*mine, theirs]):
        with CaptureQueriesContext(connection) as statements:
            locked = locked_fields_in_pk_order(Product, [p.pk for p in asked], fields=FIELDS)

        expected = sorted((p for p in asked if p.tenant_id != acme.pk), key=lambda p: p.pk)
        assert [(p.pk, p.name, p.stock) for p in locked] == [(p.pk, p.name, p.stock) for p in expected]
        assert all(p.get_deferred_fields() >= {"sku", "price", "description"} for p in locked)
        # The statement is the ORM's for the same query, with these ids.
        orm = Product.objects.locked_in_pk_order([p.pk for p in asked]).only(*FIELDS)
        (statement,) = statements.captured_queries
        assert orm.query.sql_with_params()[0] in statement["sql"]

    with activate(acme):
        locked = locked_fields_in_pk_order(Product, [mine[0].pk, theirs.pk], fields=FIELDS)
        assert [p.pk for p in locked] == [theirs.pk]


def test_an_id_given_twice_is_asked_once(make_product):
    mug = make_product(name="Mug")
    with CaptureQueriesContext(connection) as statements:
        locked = locked_fields_in_pk_order(Product, [mug.pk, str(mug.pk)], fields=FIELDS)

    assert [p.name for p in locked] == ["Mug"]
    assert str(mug.pk) in statements.captured_queries[0]["sql"]
    assert statements.captured_queries[0]["sql"].count(str(mug.pk)) == 1


def test_values_come_back_as_the_orm_reads_them(make_product):
    lamp = make_product(name="Lamp", metadata={"colour": "red", "watts": 40})
    (locked,) = locked_fields_in_pk_order(Product, [lamp.pk], fields=("metadata",))
    assert locked.metadata == {"colour": "red", "watts": 40}


def test_no_ids_lock_nothing():
    with transaction.atomic():
        assert locked_fields_in_pk_order(Product, [], fields=FIELDS) == []
