"""Two shops that share SKUs, category slugs and customer e-mails: each sees and changes only its own."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from backoffice.models import Tenant
from core.tenancy import TenantNotActive, activate, tenant_subdomain_for_host
from inventory.models import Category, Product
from inventory.services import product_set_flag
from orders.models import Customer, Order
from orders.services import order_place
from tests.admin_helpers import action

pytestmark = pytest.mark.django_db
ACME = "acme.localhost"


@pytest.fixture
def main_shop():
    return Tenant.objects.get(subdomain="main")


@pytest.fixture
def acme(db):
    return Tenant.objects.create(name="Acme Outfitters", subdomain="acme")


@pytest.fixture
def twins(main_shop, acme, make_product, make_customer):
    """The same SKU, category slug and customer e-mail in both shops."""
    made = {}
    for tenant in (main_shop, acme):
        with activate(tenant):
            lamps = Category.objects.create(name="Lamps")
            product = make_product(sku="LAMP-1", name=f"{tenant.name} lamp", category=lamps, stock=10)
            customer = make_customer(email="ada@example.com", name=f"Ada at {tenant.name}")
            order = order_place(customer=customer, lines={product: 2})
            product_set_flag(flag="unpublish", products=[product])
            made[tenant.subdomain] = {
                "category": lamps,
                "product": product,
                "customer": customer,
                "order": order,
            }
    return made


@pytest.fixture
def acme_ops(acme, ops_user):
    ops_user.tenants.add(acme)
    return ops_user


def test_the_host_names_the_shop():
    assert tenant_subdomain_for_host("acme.localhost:8000") == "acme"
    assert tenant_subdomain_for_host("ACME.localhost") == "acme"
    for bare in ("localhost", "127.0.0.1:8000", "www.localhost", "testserver"):
        assert tenant_subdomain_for_host(bare) is None


def test_unknown_or_inactive_subdomains_answer_404_and_bare_hosts_serve_the_default_shop(
    client, acme, superuser
):
    client.force_login(superuser)
    missing = client.get("/admin/", HTTP_HOST="nope.localhost")
    assert missing.status_code == 404
    acme.is_active = False
    acme.save()
    assert client.get("/admin/", HTTP_HOST=ACME).status_code == 404
    for host in ("localhost", "127.0.0.1"):
        page = client.get("/admin/", HTTP_HOST=host)
        assert page.status_code == 200 and "Shop: Main shop" in page.content.decode()


def test_tenant_data_cannot_be_read_without_a_tenant(twins):
    with activate(None), pytest.raises(TenantNotActive):
        list(Product.objects.all())


def test_each_shop_has_its_own_rows_with_the_same_sku_slug_and_email(twins, main_shop, acme):
    with activate(acme):
        assert list(Product.objects.values_list("name", flat=True)) == ["Acme Outfitters lamp"]
        assert Category.objects.get().slug == "lamps"
        assert Customer.objects.get().email == "ada@example.com"
    with activate(main_shop):
        assert list(Product.objects.values_list("name", flat=True)) == ["Main shop lamp"]
    assert Product.unscoped.filter(sku="LAMP-1").count() == 2


def test_a_duplicate_sku_within_a_shop_is_a_form_error_not_a_crash(client_for, acme_ops, twins, acme):
    client = client_for(acme_ops)
    with activate(acme):
        category = Category.objects.get()
    response = client.post(
        reverse("admin:inventory_product_add"),
        {
            "name": "Copy",
            "sku": "LAMP-1",
            "category": category.pk,
            "price": "1.00",
            "slug": "copy",
            "low_stock_threshold": "10",
            "metadata": "{}",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "movements-TOTAL_FORMS": "0",
            "movements-INITIAL_FORMS": "0",
        },
        HTTP_HOST=ACME,
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    with activate(acme):
        assert Product.objects.filter(sku="LAMP-1").count() == 1


def test_staff_see_only_their_shop_through_every_admin_url(client_for, acme_ops, twins):
    client = client_for(acme_ops)
    mine, theirs = twins["acme"], twins["main"]

    products = client.get(reverse("admin:inventory_product_changelist"), HTTP_HOST=ACME)
    assert [p.pk for p in products.context["cl"].result_list] == [mine["product"].pk]
    orders = client.get(reverse("admin:orders_order_changelist"), HTTP_HOST=ACME)
    assert [o.pk for o in orders.context["cl"].result_list] == [mine["order"].pk]
    movements = client.get(reverse("admin:inventory_stockmovement_changelist"), HTTP_HOST=ACME)
    assert {m.product_id for m in movements.context["cl"].result_list} == {mine["product"].pk}

    for name, obj in (
        ("inventory_product", "product"),
        ("orders_order", "order"),
        ("orders_customer", "customer"),
    ):
        assert (
            client.get(reverse(f"admin:{name}_change", args=[mine[obj].pk]), HTTP_HOST=ACME).status_code
            == 200
        )
        assert (
            client.get(reverse(f"admin:{name}_change", args=[theirs[obj].pk]), HTTP_HOST=ACME).status_code
            == 404
        )
        assert (
            client.get(reverse(f"admin:{name}_history", args=[theirs[obj].pk]), HTTP_HOST=ACME).status_code
            == 404
        )

    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "orders", "model_name": "orderitem", "field_name": "product", "term": "lamp"},
        HTTP_HOST=ACME,
    )
    assert [row["id"] for row in found.json()["results"]] == [str(mine["product"].pk)]

    export = client.get(reverse("admin:inventory_stockmovement_export_csv"), HTTP_HOST=ACME)
    assert b"Main shop lamp" not in b"".join(export.streaming_content)


def test_the_audit_log_and_actions_stay_in_the_shop(client_for, acme_ops, auditor, twins, acme):
    auditor.tenants.add(acme)
    entries = client_for(auditor).get(reverse("admin:audit_auditentry_changelist"), HTTP_HOST=ACME)
    assert entries.context["cl"].result_list
    assert all("Main shop" not in entry.object_repr for entry in entries.context["cl"].result_list)

    client = client_for(acme_ops)
    action(
        client,
        reverse("admin:inventory_product_changelist"),
        "publish",
        [twins["acme"]["product"], twins["main"]["product"]],
        host=ACME,
    )
    assert Product.unscoped.get(pk=twins["acme"]["product"].pk).is_published
    assert not Product.unscoped.get(pk=twins["main"]["product"].pk).is_published


def test_staff_of_another_shop_get_403_and_superusers_open_any_shop(
    client_for, ops_user, superuser, acme, twins
):
    ops_user.tenants.add(acme)
    assert client_for(ops_user).get("/admin/", HTTP_HOST="localhost").status_code == 403
    page = client_for(superuser).get("/admin/", HTTP_HOST=ACME)
    assert page.status_code == 200 and "Shop: Acme Outfitters" in page.content.decode()


def test_dashboard_figures_belong_to_the_open_shop(
    client_for, superuser, twins, acme, make_product, make_customer
):
    with activate(acme):
        order_place(customer=make_customer(), lines={make_product(category=twins["acme"]["category"]): 3})
    client = client_for(superuser)
    acme_board = client.get("/admin/", HTTP_HOST=ACME).context["dashboard"]
    main_board = client.get("/admin/", HTTP_HOST="localhost").context["dashboard"]
    assert acme_board["sales"]["open_orders"]["total"] == "2"
    assert main_board["sales"]["open_orders"]["total"] == "1"


def test_commands_take_a_tenant(twins, acme):
    with activate(acme):
        Order.objects.update(status="completed")
    out = io.StringIO()
    call_command(
        "sales_report",
        "--start-date",
        "2000-01-01",
        "--end-date",
        "2100-01-01",
        "--tenant",
        "acme",
        stdout=out,
    )
    assert "ada@example.com" in out.getvalue() and out.getvalue().count("LAMP-1") == 1
    with pytest.raises(CommandError, match="No tenant with subdomain 'nope'"):
        call_command("reconcile_stock", "--tenant", "nope")


def test_seed_demo_makes_shops_with_their_own_data(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--products",
        "5",
        "--customers",
        "2",
        "--orders",
        "3",
        "--tenants",
        "2",
        "--no-users",
        stdout=out,
    )
    for subdomain in ("main", "acme", "globex"):
        with activate(Tenant.objects.get(subdomain=subdomain)):
            assert Product.objects.count() == 5 and Order.objects.count() == 3
    assert "http://acme.localhost:8000/admin/" in out.getvalue()


def test_an_import_into_one_shop_leaves_the_other_untouched(twins, acme, main_shop, tmp_path):
    supplier = tmp_path / "acme-prices.csv"
    supplier.write_text(
        "sku,name,category,price,stock\nLAMP-1,Acme lamp v2,lamps,25.00,40\nNEW-1,Acme new,lamps,5.00,1\n"
    )

    call_command("import_products", str(supplier), "--tenant", "acme", "--no-progress", stdout=io.StringIO())

    with activate(acme):
        assert Product.objects.get(sku="LAMP-1").name == "Acme lamp v2"
        assert Product.objects.filter(sku="NEW-1").exists()
    with activate(main_shop):
        lamp = Product.objects.get(sku="LAMP-1")
        assert (lamp.name, lamp.stock) == ("Main shop lamp", 8)
        assert not Product.objects.filter(sku="NEW-1").exists()


def test_staff_lists_user_pages_and_user_pickers_show_only_the_shops_staff(
    client_for, auditor, ops_user, support_user, superuser, acme, twins
):
    """An auditor of acme reads acme's staff, not the names and e-mails of the other shop's."""
    from django.contrib.auth import get_user_model

    from inventory.services import stock_adjust

    auditor.tenants.add(acme)
    ops_user.tenants.add(acme)  # a colleague at acme; support_user works in the main shop only
    with activate(Tenant.objects.get(subdomain="main")):
        stock_adjust(product=twins["main"]["product"], quantity=1, reason="Count", user=support_user)
    client = client_for(auditor)

    users = client.get(reverse("admin:auth_user_changelist"), HTTP_HOST=ACME)
    listed = {user.username for user in users.context["cl"].result_list}
    assert listed == {auditor.username, ops_user.username}
    other = client.get(reverse("admin:auth_user_change", args=[support_user.pk]), HTTP_HOST=ACME, follow=True)
    assert support_user.username not in other.content.decode()
    picker = client.get(
        "/admin/autocomplete/",
        {"app_label": "inventory", "model_name": "stockmovement", "field_name": "user", "term": ""},
        HTTP_HOST=ACME,
    )
    assert picker.status_code == 200
    assert {item["text"] for item in picker.json()["results"]} == {auditor.username, ops_user.username}
    ledger = client.get(reverse("admin:inventory_stockmovement_changelist"), HTTP_HOST=ACME).content.decode()
    assert support_user.username not in ledger  # the ledger's user filter offers acme's staff only
    assert "Main shop" not in users.content.decode()  # nor the shops' names, to filter users by
    everyone = client_for(superuser).get(reverse("admin:auth_user_changelist"), HTTP_HOST=ACME)
    assert {user.username for user in everyone.context["cl"].result_list} == set(
        get_user_model().objects.values_list("username", flat=True)
    )


def test_removing_a_member_applies_on_their_next_request_in_every_worker(client_for, ops_user, acme, twins):
    ops_user.tenants.add(acme)
    client = client_for(ops_user)
    assert client.get("/admin/", HTTP_HOST=ACME).status_code == 200

    # As another worker removes them: this process hears no signal and clears no cache of its own.
    Tenant.members.through.objects.filter(tenant=acme, user=ops_user).delete()

    assert client.get("/admin/", HTTP_HOST=ACME).status_code == 403


def test_a_filter_chip_never_names_another_shops_record(client_for, ops_user, twins):
    """A list filtered by another shop's product id shows nothing of that shop, not even its name."""
    theirs = twins["acme"]["product"]
    page = client_for(ops_user).get(
        reverse("admin:inventory_stockmovement_changelist"), {"product__id__exact": theirs.pk}
    )
    assert page.status_code == 200
    assert "Acme Outfitters lamp" not in page.content.decode()
