import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry, ChangeSet
from audit.services import RevertRefused, record_revert
from inventory.models import Product
from inventory.services import stock_adjust
from orders.models import Order, OrderItem
from orders.services import order_cancel, order_place
from tests.admin_helpers import action, has_message

pytestmark = pytest.mark.django_db


def change_page(product):
    return reverse("admin:inventory_product_change", args=[product.pk])


def product_form(product, **changes):
    data = {
        "name": product.name,
        "sku": product.sku,
        "category": product.category_id,
        "price": str(product.price),
        "slug": product.slug,
        "description": product.description,
        "low_stock_threshold": "10",
        "metadata": "{}",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "movements-TOTAL_FORMS": "0",
        "movements-INITIAL_FORMS": "0",
    }
    if product.is_published:
        data["is_published"] = "on"
    data.update(changes)
    return data


def test_a_direct_edit_records_user_reason_and_the_changed_fields(client_for, ops_user, make_product):
    product = make_product(price="10.00", name="Lamp")
    client_for(ops_user).post(change_page(product), product_form(product, price="12.50"))

    row = product.history.first()
    assert (row.history_user, row.history_change_reason, row.price) == (
        ops_user,
        "Edited in the admin (price)",
        Decimal("12.50"),
    )
    entry = AuditEntry.objects.first()
    assert (entry.user, entry.action, entry.changed_fields, entry.object_repr) == (
        ops_user,
        "changed",
        ["price"],
        str(product),
    )


def test_a_bulk_action_writes_one_history_row_per_product_with_the_action(client_for, ops_user, make_product):
    products = [make_product(published=False) for _ in range(3)]
    action(client_for(ops_user), reverse("admin:inventory_product_changelist"), "publish", products)

    entries = AuditEntry.objects.filter(reason="Bulk publish")
    assert entries.count() == 3
    assert {e.object_id for e in entries} == {str(p.pk) for p in products}
    assert all(e.changed_fields == ["is_published"] and e.user == ops_user for e in entries)


def test_a_service_call_records_its_reason(make_product, make_customer, support_user):
    mug = make_product(stock=5)
    order = order_place(customer=make_customer(), lines={mug: 2}, user=support_user)
    entry = AuditEntry.objects.filter(
        object_id=str(order.pk), content_type__model="order", action="created"
    ).get()
    assert (entry.action, entry.reason, entry.user) == (
        "created",
        f"Order {order.number} placed",
        support_user,
    )
    assert AuditEntry.objects.filter(
        object_id=str(mug.pk), reason=f"Order {order.number} placed", changed_fields=["stock"]
    ).exists()


def test_placing_an_order_records_every_row_once_with_its_values_then(
    make_product, make_customer, support_user
):
    lamp = make_product(stock=5, price="20.00", metadata={"colour": "red", "sizes": [1, 2]})
    mug = make_product(stock=3)
    order = order_place(customer=make_customer(), lines={lamp: 2, mug: 1}, user=support_user)
    # Changed afterwards: the history keeps the values of the order.
    Product.objects.filter(pk__in=[lamp.pk, mug.pk]).update(stock=0)

    entries = AuditEntry.objects.filter(reason=f"Order {order.number} placed")
    assert sorted((e.content_type.model, e.action) for e in entries) == [
        ("order", "created"),
        ("orderitem", "created"),
        ("orderitem", "created"),
        ("product", "changed"),
        ("product", "changed"),
    ]
    assert {e.user for e in entries} == {support_user}
    # Each entry leads to its own history row, which holds the record as the order left it.
    lamp_row = lamp.history.get(history_id=entries.get(object_id=str(lamp.pk)).history_id)
    assert (lamp_row.stock, lamp_row.metadata, lamp_row.history_user) == (
        3,
        {"colour": "red", "sizes": [1, 2]},
        support_user,
    )
    order_row = order.history.get(history_id=entries.get(content_type__model="order").history_id)
    assert (order_row.number, order_row.total, order_row.history_type) == (
        order.number,
        Decimal("54.00"),
        "+",
    )
    lines = OrderItem.history.filter(order_id=order.pk)
    assert sorted((row.product_id, row.quantity) for row in lines) == sorted([(lamp.pk, 2), (mug.pk, 1)])
    assert set(lines.values_list("id", flat=True)) == set(order.items.values_list("id", flat=True))


def test_history_page_shows_the_diff_of_each_version(client_for, ops_user, auditor, make_product):
    product = make_product(price="10.00", name="Lamp")
    client_for(ops_user).post(change_page(product), product_form(product, price="12.50"))

    page = client_for(auditor).get(reverse("admin:inventory_product_history", args=[product.pk]))
    assert page.status_code == 200
    (latest, *_) = page.context["page_obj"].object_list
    assert [(c["field"], c["old"], c["new"]) for c in latest.history_delta_changes] == [
        ("Price", "10.00", "12.50")
    ]
    assert "Edited in the admin (price)" in page.content.decode()


def test_audit_log_entry_page_shows_old_and_new_values(client_for, ops_user, auditor, make_product):
    product = make_product(price="10.00")
    client_for(ops_user).post(change_page(product), product_form(product, price="12.50"))
    entry = AuditEntry.objects.filter(action="changed").first()

    page = client_for(auditor).get(reverse("admin:audit_auditentry_change", args=[entry.pk])).content.decode()
    assert "price" in page and "10.00" in page and "12.50" in page


def test_as_of_shows_the_product_as_it_was(client_for, ops_user, make_product):
    product = make_product(price="10.00", name="Lamp")
    before_edit = timezone.now()
    client_for(ops_user).post(change_page(product), product_form(product, price="12.50", name="Desk lamp"))

    client = client_for(ops_user)
    url = reverse("admin:inventory_product_as_of", args=[product.pk])
    then = client.get(url, {"when": timezone.localtime(before_edit).strftime("%Y-%m-%dT%H:%M:%S.%f")})
    rows = {label: (old, new) for label, old, new in then.context["rows"]}
    assert rows["Price"] == ("10.00", "12.50")
    assert rows["Name"] == ("Lamp", "Desk lamp")

    long_ago = client.get(url, {"when": "2001-01-01T00:00"})
    assert not long_ago.context["existed"]


def test_as_of_shows_an_order_with_its_lines_then(client_for, support_user, make_product, make_customer):
    from orders.services import order_lines_set

    mug = make_product(price="10.00", stock=20)
    order = order_place(customer=make_customer(), lines={mug: 2})
    placed = timezone.now()
    order_lines_set(order=order, quantities={mug: 5})

    page = client_for(support_user).get(
        reverse("admin:orders_order_as_of", args=[order.pk]),
        {"when": timezone.localtime(placed).strftime("%Y-%m-%dT%H:%M:%S.%f")},
    )
    rows = {label: (old, new) for label, old, new in page.context["rows"]}
    assert rows["Total"] == ("21.60", "54.00")
    ((_title, _headers, lines),) = page.context["related"]
    assert [(line[1], line[3]) for line in lines] == [(2, "20.00 USD")]


def test_revert_restores_a_product_and_is_itself_a_new_version(client_for, ops_user, make_product):
    product = make_product(price="10.00", name="Lamp", stock=5)
    original = product.history.first()
    client = client_for(ops_user)
    client.post(change_page(product), product_form(product, price="99.00", name="Lamp typo"))
    stock_adjust(product=product, quantity=3, reason="Delivery")

    url = reverse("admin:inventory_product_simple_history", args=[product.pk, original.history_id])
    assert client.post(url, {"revert_reason": ""}, follow=True).status_code == 200
    assert Product.objects.get(pk=product.pk).price == Decimal("99.00")  # no reason, no revert

    response = client.post(url, {"revert_reason": "Price typo"}, follow=True)
    assert has_message(response, "was reverted")
    product.refresh_from_db()
    assert (product.price, product.name, product.stock) == (Decimal("10.00"), "Lamp", 8)  # stock kept
    latest = product.history.first()
    assert latest.history_change_reason.startswith("Reverted to the version of ")
    assert latest.history_change_reason.endswith(": Price typo")
    entry = AuditEntry.objects.filter(object_id=str(product.pk)).first()
    assert entry.change_set.kind == ChangeSet.Kind.REVERT and entry.user == ops_user


def test_reverting_an_order_that_would_change_money_or_status_is_refused(
    make_product, make_customer, support_user
):

    order = order_place(customer=make_customer(), lines={make_product(stock=5): 1})
    placed_version = order.history.first()
    order_cancel(order=order, reason="Duplicate")

    with pytest.raises(RevertRefused, match="would change its status"):
        record_revert(
            model=Order,
            object_id=order.pk,
            history_id=placed_version.history_id,
            user=support_user,
            reason="Oops",
        )
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_reverting_an_orders_address_is_allowed(client_for, support_user, make_product, make_customer):
    order = order_place(
        customer=make_customer(), lines={make_product(stock=5): 1}, shipping_address="1 Old Road"
    )
    version = order.history.first()
    Order.objects.filter(pk=order.pk)  # the address is edited on the order page:
    order.shipping_address = "2 Wrong Street"
    order._change_reason = "Edited"
    order.save()

    record_revert(
        model=Order,
        object_id=order.pk,
        history_id=version.history_id,
        user=support_user,
        reason="Customer called back",
    )
    assert Order.objects.get(pk=order.pk).shipping_address == "1 Old Road"


def test_auditors_cannot_revert(client_for, auditor, make_product):
    product = make_product(price="10.00")
    version = product.history.first()
    product.price = Decimal("11.00")
    product.save()
    url = reverse("admin:inventory_product_simple_history", args=[product.pk, version.history_id])
    assert client_for(auditor).post(url, {"revert_reason": "sneaky"}).status_code == 403
    assert Product.objects.get(pk=product.pk).price == Decimal("11.00")


def test_audit_log_filters_search_export_and_constant_queries(
    client_for, ops_user, support_user, auditor, make_product, make_customer
):
    from tests.admin_helpers import query_count

    url = reverse("admin:audit_auditentry_changelist")
    client = client_for(auditor)
    lamp = make_product(name="Brass lamp")
    stock_adjust(product=lamp, quantity=2, reason="Count", user=ops_user)
    few = query_count(client, url, model=AuditEntry, per_page=10)
    for _ in range(15):
        order_place(customer=make_customer(), lines={make_product(stock=3): 1}, user=support_user)
    assert query_count(client, url, model=AuditEntry, per_page=100) == few

    by_user = client.get(url, {"user__id__exact": ops_user.pk}).context["cl"].result_list
    assert {e.user for e in by_user} == {ops_user}
    by_text = client.get(url, {"q": "brass"}).context["cl"].result_list
    assert {e.object_repr for e in by_text} == {str(lamp)}
    created = client.get(url, {"action__exact": "created"}).context["cl"].result_list
    assert {e.action for e in created} == {"created"}

    export = client.get(reverse("admin:audit_auditentry_export_csv"), {"q": "brass"})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("when,user,model")
    assert len(lines) == 1 + len(by_text) and all("Brass lamp" in line for line in lines[1:])


def test_audit_log_date_range_filter(client_for, auditor, make_product):
    make_product()
    # Entries are append-only for the application: a test back-dates them as a database superuser.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        AuditEntry.objects.update(created_at=timezone.now() - dt.timedelta(days=10))
        cursor.execute("SET session_replication_role = DEFAULT")
    make_product()
    url = reverse("admin:audit_auditentry_changelist")
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    recent = client_for(auditor).get(url, {"created_at_from": since}).context["cl"].result_list
    assert len(recent) == AuditEntry.objects.filter(created_at__date__gte=since).count() > 0
