import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from core.figures import midnight, period_start
from core.summaries import summaries_check
from inventory.metrics import stock_flow
from inventory.models import Product, StockMovement
from inventory.selectors import stock_mismatches
from inventory.services import ledger_purge
from orders.metrics import top_products_by_units
from orders.models import Customer, Order, OrderItem, OrderReturnLine, OrderStatus, OrderSummary

pytestmark = pytest.mark.django_db


def logins():
    """Users who can log in (the demo data's own author can't: inactive, no password)."""
    return get_user_model().objects.filter(is_active=True).exclude(password__startswith="!")


def seed(*args, **settings_overrides):
    out = io.StringIO()
    call_command("seed_demo", "--products", "40", "--customers", "10", "--orders", "30", *args, stdout=out)
    return out.getvalue()


def snapshot():
    return (
        list(Product.objects.order_by("sku").values_list("sku", "name", "price", "stock", "is_published")),
        list(Order.objects.order_by("number").values_list("number", "status", "total")),
    )


def test_seed_is_deterministic_for_a_seed_and_the_ledger_explains_every_stock(settings):
    settings.DEBUG = True
    output = seed("--seed", "7")
    first = snapshot()
    assert len(first[0]) == 40 and len(first[1]) == 30 and Customer.objects.count() == 10
    assert not stock_mismatches().exists()
    logins = [line.split()[:3] for line in output.splitlines() if " / " in line]
    assert logins == [
        ["admin", "/", "admin-demo"],
        ["ops", "/", "ops-demo"],
        ["support", "/", "support-demo"],
        ["auditor", "/", "auditor-demo"],
    ]

    with connection.cursor() as cursor:  # the payments ledger refuses deletes: start over from empty tables
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE orders_payment, orders_orderreturnline, orders_orderreturn, orders_ordernote, "
            "orders_orderitem, orders_order, orders_customer CASCADE"
        )
    ledger_purge(product_ids=Product.objects.values_list("pk", flat=True))
    Product.objects.all().delete()
    get_user_model().objects.filter(username="demo-data").delete()
    seed("--seed", "7")
    assert snapshot() == first


def test_seed_refuses_to_fill_a_database_that_has_data_unless_asked_to_skip(settings):
    settings.DEBUG = True
    seed()
    with pytest.raises(CommandError, match="already holds 40 products"):
        seed()
    assert "demo data left as it is" in seed("--if-empty")


def test_no_known_passwords_when_debug_is_off(settings):
    settings.DEBUG = False
    output = seed()
    assert "demo logins with known passwords were not created" in output
    assert not get_user_model().objects.filter(username__in=["admin", "ops", "support", "auditor"]).exists()


def test_demo_data_tells_one_story_through_the_ledger(settings):
    """Every placed seeded order took its units through the ledger (cancelled ones gave them back,
    returns brought units back), drafts took none, so the dashboard's "sold" agrees with the orders;
    opening stock is dated when the product was created; every history row says who wrote it; the
    payments reconcile, and support finds orders in every state."""
    settings.DEBUG = True
    call_command(
        "seed_demo", "--products", "60", "--customers", "15", "--orders", "300", stdout=io.StringIO()
    )
    assert not stock_mismatches().exists()
    # Loaded with the summaries' triggers paused, then built: the dashboard's figures are exact.
    assert not any(summaries_check().values())
    assert not OrderSummary.objects.filter(folded=False).exists()
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "Every order agrees with its payments." in out.getvalue()
    assert set(OrderStatus.values) <= set(Order.objects.values_list("status", flat=True))

    order_type = ContentType.objects.get_for_model(Order)
    sold = dict(
        StockMovement.objects.filter(kind=StockMovement.Kind.SALE, reference_type=order_type)
        .values_list("reference_id")
        .annotate(units=Sum("quantity"))
    )
    placed = Order.objects.exclude(status=OrderStatus.DRAFT)
    ordered = dict(placed.values_list("pk").annotate(units=Sum("items__quantity")))
    assert {int(pk): -units for pk, units in sold.items()} == ordered

    given_back = dict(
        StockMovement.objects.filter(
            kind__in=[StockMovement.Kind.CANCELLATION, StockMovement.Kind.RETURN], reference_type=order_type
        )
        .values_list("reference_id")
        .annotate(units=Sum("quantity"))
    )
    returned = dict(
        OrderReturnLine.objects.values_list("order_return__order_id").annotate(units=Sum("quantity"))
    )
    cancelled = Order.objects.filter(status=OrderStatus.CANCELLED)
    assert cancelled.exists() and returned
    expected = {**returned, **{o.pk: ordered[o.pk] for o in cancelled}}
    assert {int(pk): units for pk, units in given_back.items()} == expected

    now = timezone.now()
    last_30_days = placed.filter(created_at__gte=midnight(period_start(30, today=timezone.localdate(now))))
    units_ordered = OrderItem.objects.filter(order__in=last_30_days).aggregate(n=Sum("quantity"))["n"]
    assert stock_flow(now=now)["sold"] == units_ordered > 0
    top = top_products_by_units(now=now)
    assert top and sum(row["units"] for row in top) <= units_ordered

    for product in Product.objects.all():
        first = product.movements.order_by("created_at", "id").first()
        assert first is None or first.created_at >= product.created_at
        if first is not None and first.reason == "Opening stock (demo data)":
            assert first.created_at == product.created_at
    for model in (Product, Customer):
        assert not model.history.filter(history_user__isnull=True).exists()
    author = get_user_model().objects.get(username="demo-data")
    assert not author.is_active and not author.has_usable_password()


def test_seed_demo_keeps_existing_logins_and_their_passwords(settings):
    settings.DEBUG = True
    owner = get_user_model().objects.create_user("owner", password="owner-secret", is_staff=True)

    output = seed()

    assert "no demo login was created or reset" in output
    assert list(logins().values_list("username", flat=True)) == ["owner"]
    owner.refresh_from_db()
    assert owner.check_password("owner-secret")


@pytest.mark.django_db(transaction=True)
def test_manage_py_is_not_in_development_mode_unless_told_so(roles):
    """`./dev manage seed_demo --if-empty` against a production database: manage.py must not turn
    DEBUG on by itself, so no login with a known password is created."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings as django_settings

    server = urlsplit(os.environ["DATABASE_URL"])
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "BACKOFFICE_TESTING")}
    env |= {
        "DATABASE_URL": urlunsplit(server._replace(path="/" + django_settings.DATABASES["default"]["NAME"])),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOG_JSON": "0",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "seed_demo",
            "--if-empty",
            "--products",
            "3",
            "--customers",
            "1",
            "--orders",
            "0",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "demo logins with known passwords were not created" in result.stdout
    assert not logins().exists()
