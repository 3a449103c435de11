"""No state change on GET, anywhere: every URL of every admin (custom views included, found from the
URL resolver), opened with GET by every role, leaves every table of the database as it was.

What writes is a POST with the CSRF token behind a page or dialog that says what it will do; those
pages themselves are GETs and must change nothing, whatever the query string says.
"""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from audit.models import ChangeSet
from imports.jobs import import_job_create, import_job_run
from imports.models import ImportJob, ImportMapping
from inventory.models import Category, Product
from inventory.services import product_set_flag
from orders.models import Customer, OrderStatus, Payment
from orders.services import order_draft_create, order_place, order_refund, order_transition

pytestmark = [pytest.mark.django_db]

# Query strings a link on another site could add: none of them may make a GET write.
HOSTILE_QUERY = (
    "confirm=yes&choice=skip&apply=1&post=yes&_form_submitted=on&effects_shown=x&quantity=5&reason=x"
    "&when=2020-01-01T00:00&_save=1&index=0&note=ok&why=x"
)


def table_checksums() -> dict[str, str]:
    """An md5 of every row of every table (in a fixed order), per table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
        tables = [name for (name,) in cursor.fetchall()]
        sums = {}
        for table in tables:
            cursor.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"  # noqa: S608
            )
            sums[table] = cursor.fetchone()[0]
    return sums


def admin_routes() -> list[str]:
    """Every route under /admin/ as the URL resolver has it (``admin/orders/order/<path:object_id>/…``)."""

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return sorted({route for route in walk(get_resolver().url_patterns, "") if route.startswith("admin/")})


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>([^)]*)\)")


def urls_of(route: str, objects: dict) -> list[str]:
    """Real URLs for a route: each parameter filled with every value worth trying (an order of each
    status for an order's URLs, every app for the app index, ...)."""
    route = route.replace("^", "").replace("$", "").replace("\\", "")
    model_key = "/".join(route.split("/")[1:3])
    filled = [route]
    for match in PARAMETER.finditer(route):
        name = match.group(1) or match.group(2)
        if name == "app_label":
            values = match.group(3).split("|")
        elif name in ("object_id", "id") and model_key in objects:
            values = [str(pk) for pk, _ in objects[model_key]]
        elif name == "version_id" and model_key in objects:
            values = [str(version) for _, version in objects[model_key] if version is not None]
        elif name == "content_type_id":
            values = [str(objects["content_type"])]
        elif name == "object_id" and route.startswith("admin/r/"):
            values = [str(objects["product"])]
        elif name == "url":
            values = ["no/such/page/"]
        elif name == "file_format":
            values = ["csv", "xlsx", "pdf"]
        else:
            raise AssertionError(f"{route}: no value to try for <{name}>; add one to this test")
        filled = [url.replace(match.group(0), value, 1) for url in filled for value in values]
    # A version id belongs to its object: keep the URLs whose object and version go together.
    if "version_id" in route:
        pairs = {f"{pk}/history/{version}/" for pk, version in objects.get(model_key, []) if version}
        filled = [url for url in filled if any(url.endswith(pair) for pair in pairs)]
    return ["/" + url for url in filled]


def history_id(obj):
    return obj.history.order_by("-history_id").values_list("history_id", flat=True).first()


@pytest.fixture
def shop(settings, superuser, ops_user, support_user, auditor, make_product, tmp_path):
    """A demo shop with something on every page: orders in every status, a bulk change to undo, a
    failed import (with its file, to retry), an import whose worker died, login lock-outs."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.contenttypes.models import ContentType

    settings.DEBUG = True
    call_command(
        "seed_demo", products=12, customers=6, orders=14, no_users=True, seed=5, stdout=io.StringIO()
    )
    settings.DEBUG = False
    customer = Customer.objects.order_by("pk").first()
    stocked = Product.objects.filter(stock__gte=10).order_by("sku").first()

    def placed(*path, charge=True):
        order = order_place(customer=customer, lines={stocked: 1}, charge=charge)
        for status in path:
            order = order_transition(order=order, to=status, reason="Test")
        return order

    def partially_refunded():
        order = placed(S.SHIPPED)
        line = order.items.get()
        return order_refund(order=order, amount="1.00", reason="Test", returns={line.pk: (1, "restock")})

    S = OrderStatus
    orders_by_status = {
        S.DRAFT: order_draft_create(customer=customer, lines={stocked: 1}),
        S.PARTIALLY_REFUNDED: partially_refunded(),
        S.PENDING: placed(charge=False),
        S.PAID: placed(),
        S.SHIPPED: placed(S.SHIPPED),
        S.COMPLETED: placed(S.SHIPPED, S.COMPLETED),
        S.CANCELLED: placed(S.CANCELLED),
        S.REFUNDED: placed(S.REFUNDED),
    }
    change_set = product_set_flag(
        products=Product.objects.filter(is_published=True).values_list("pk", flat=True)[:3],
        flag="unpublish",
        user=ops_user,
    )
    failed = import_job_create(
        resource="products",
        file_name="bad.csv",
        content=b"sku,name,category,price\nX-1,,nowhere,1\n",
        file_format="csv",
        user=ops_user,
    )
    import_job_run(failed.pk)
    stale = import_job_create(
        resource="products",
        file_name="big.csv",
        content=b"sku,name,category,price\n",
        file_format="csv",
        user=ops_user,
    )
    ImportJob.objects.filter(pk=stale.pk).update(
        status="running", rows_total=10, rows_processed=4, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    attempt = AccessAttempt.objects.create(
        username="x",
        ip_address="10.0.0.1",
        failures_since_start=1,
        get_data="",
        post_data="",
        user_agent="t",
        path_info="/",
        http_accept="*",
    )
    log = AccessLog.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t", path_info="/", http_accept="*"
    )
    failure = AccessFailureLog.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t", path_info="/", http_accept="*", locked_out=False
    )
    product = Product.objects.order_by("sku").first()
    category = Category.objects.order_by("pk").first()
    # A rule, a change waiting for approval (its approve, reject and withdraw pages) and a rejected one.
    from approvals.models import ApprovalRule
    from approvals.services import approval_rule_create, change_request_reject
    from inventory.services import product_update

    approval_rule = approval_rule_create(
        approvalrule=ApprovalRule(kind="price_change", threshold=20), user=superuser
    )
    waiting = product_update(
        product=product, data={"price": product.price * 3}, user=ops_user, reason="Edited", why="New supplier"
    )
    rejected = product_update(
        product=product, data={"price": product.price * 4}, user=ops_user, reason="Edited", why="Typo"
    )
    change_request_reject(change_request=rejected, user=superuser, note="Too steep")
    from audit.models import AuditEntry
    from backoffice.models import Tenant
    from notifications.services import message_record

    def plain(obj):
        return [(obj.pk, None)]

    def with_history(obj):
        return [(obj.pk, history_id(obj))]

    return {
        "inventory/product": with_history(product),
        "inventory/category": with_history(category),
        "inventory/productimage": [],
        "inventory/stockmovement": plain(product.movements.first()),
        "imports/importjob": plain(failed) + plain(ImportJob.objects.get(pk=stale.pk)),
        "imports/importmapping": plain(
            ImportMapping.objects.create(resource="products", name="Supplier", columns={"title": "name"})
        ),
        "orders/order": [(order.pk, history_id(order)) for order in orders_by_status.values()],
        "orders/orderitem": with_history(orders_by_status[OrderStatus.PAID].items.first()),
        "orders/customer": with_history(customer),
        "orders/payment": plain(Payment.objects.order_by("pk").first()),
        "audit/auditentry": plain(AuditEntry.objects.order_by("pk").first()),
        "audit/changeset": plain(change_set),
        "approvals/approvalrule": with_history(approval_rule),
        "approvals/changerequest": with_history(waiting) + with_history(rejected),
        "notifications/message": plain(
            message_record(
                tenant_id=Tenant.objects.first().pk,
                kind="order_placed",
                event_key=f"order_placed:{orders_by_status[OrderStatus.PAID].pk}",
                order=orders_by_status[OrderStatus.PAID],
            )
        ),
        "auth/user": plain(ops_user),
        "auth/group": plain(ops_user.groups.first()),
        "axes/accessattempt": plain(attempt),
        "axes/accesslog": plain(log),
        "axes/accessfailurelog": plain(failure),
        "backoffice/tenant": plain(Tenant.objects.first()),
        "content_type": ContentType.objects.get_for_model(Product).pk,
        "product": product.pk,
    }


def test_every_admin_url_opened_with_get_by_every_role_changes_no_table(
    shop, superuser, ops_user, support_user, auditor
):
    urls = [url for route in admin_routes() for url in urls_of(route, shop)]
    assert len(urls) > 100  # every admin's pages, custom views and actions included
    assert any(url.endswith("/refund/") for url in urls) and any(url.endswith("/undo/") for url in urls)
    assert any(url.endswith("/approve/") for url in urls) and any(url.endswith("/withdraw/") for url in urls)
    clients = []
    for user in (superuser, ops_user, support_user, auditor):
        client = Client()
        client.force_login(user)  # logging in writes (a session, the last login): done before counting
        clients.append((user.username, client))

    before = table_checksums()
    answered = {}
    for username, client in clients:
        for url in urls:
            for query in ("", HOSTILE_QUERY):
                response = client.get(f"{url}?{query}" if query else url)
                assert response.status_code < 500, (username, url, query)
                answered[url] = response.status_code
    after = table_checksums()

    changed = sorted(table for table in before if before[table] != after.get(table))
    assert changed == [], f"GET requests changed these tables: {changed}"
    assert ChangeSet.objects.count() == 1  # the fixture's, nothing undone
    assert sum(1 for status in answered.values() if status == 200) > 50
