"""Exports of other shop systems, in their real shapes, imported through their presets: what is
created, what is skipped and why, what is reported."""

from decimal import Decimal

import pytest
from django.urls import reverse

from imports.models import ImportJob
from inventory.models import Category, Product, ProductImage
from orders.models import Customer
from tests.admin_helpers import has_message, messages_of

from .exports import (
    MEDIA,
    SHOPIFY_ROWS,
    TEE_TEXT,
    shopify_customers_export,
    shopify_export,
    woocommerce_export,
)
from .helpers import confirm, remap, text, upload

pytestmark = pytest.mark.django_db

PRODUCTS = "inventory_product"


def pictures(sku: str) -> list[str]:
    return list(
        ProductImage.objects.filter(product__sku=sku).order_by("position").values_list("url", flat=True)
    )


def test_a_woocommerce_export_is_recognised_and_imported_as_woocommerce_means_it(client_for, ops_user):
    Category.objects.create(name="Clothing", slug="clothing")  # one level exists; the rest is created
    client = client_for(ops_user)

    preview = upload(client, PRODUCTS, "wc-product-export-1-1-2026.csv", woocommerce_export())

    page = text(preview)
    assert "This is a WooCommerce product export" in page
    assert "Read as UTF-8 with BOM, commas" in page
    report = preview.context["report"]
    # Simple products and variations are products; the variable, grouped and external ones are not.
    assert (report.rows_total, report.created, report.skipped, report.invalid) == (8, 5, 3, 0)
    reasons = {row.row: row.message for row in report.skipped_rows}
    assert reasons[2].startswith("a variable product: its variations are imported")
    assert (
        reasons[6].startswith("a grouped product")
        and reasons[7] == "an external product: sold on another site"
    )
    assert report.planned == [
        (0, "Clothing", False),
        (1, "Accessories", True),
        (1, "Hoodies", True),
        (1, "Tshirts", True),
        (0, "Music", True),
    ]
    assert "Sale price (no sale prices here: the regular price is the price)" in page
    assert "Tags (products have no tags here)" in page
    assert Product.objects.count() == 0  # a preview writes nothing

    done = confirm(client, PRODUCTS, preview)

    assert has_message(
        done, "Imported wc-product-export-1-1-2026.csv: 5 new, 0 changed, 0 unchanged, 3 skipped"
    )
    red = Product.objects.get(sku="WOO-VNECK-TEE-RED")
    assert red.name == "V-Neck T-Shirt - Red, Large" and red.price == Decimal("20.00") and red.stock == 7
    assert red.category.path == "Clothing/Tshirts"  # the parent's deepest category
    assert red.description == TEE_TEXT  # the parent's HTML, kept as written
    assert red.is_featured and red.is_published  # featured like its parent
    assert pictures("WOO-VNECK-TEE-RED") == [f"{MEDIA}/vneck-tee-red.jpg"]
    blue = Product.objects.get(sku="WOO-VNECK-TEE-BLUE")  # its parent named by SKU, not id:44
    assert blue.category.path == "Clothing/Tshirts" and blue.price == Decimal("18.00")
    assert pictures("WOO-VNECK-TEE-BLUE") == [f"{MEDIA}/vneck-tee.jpg", f"{MEDIA}/vneck-tee-back.jpg"]
    hoodie = Product.objects.get(sku="WOO-HOODIE-LOGO")
    assert (
        hoodie.price == Decimal("45.00")
        and not hoodie.is_featured
        and hoodie.category.path == "Clothing/Hoodies"
    )
    beanie, album = Product.objects.get(sku="WOO-BEANIE"), Product.objects.get(sku="WOO-ALBUM")
    assert not beanie.is_published and beanie.description == 'Warm, "woolly" and soft.'  # -1: a draft
    assert not album.is_published and album.is_featured and album.category.path == "Music"  # 0: private
    assert not Product.objects.filter(sku__in=["WOO-VNECK-TEE", "LOGO-COLLECTION", "WP-PENNANT"]).exists()
    job = ImportJob.objects.get()
    assert (job.created_count, job.set_aside_count, job.failed_count) == (5, 3, 0)
    assert job.options["preset"] == "woocommerce"
    assert {row["row"] for row in job.set_aside_report} == {2, 6, 7}
    # The categories were created with the products, in the import's change set.
    assert job.change_set.entries.filter(content_type__model="category").count() == 4

    again = upload(client, PRODUCTS, "wc-product-export-1-1-2026.csv", woocommerce_export())
    assert (again.context["report"].unchanged, again.context["report"].created) == (5, 0)


def test_a_shopify_export_gives_each_variant_a_product_and_skips_picture_rows(client_for, ops_user):
    client = client_for(ops_user)

    preview = upload(client, PRODUCTS, "products_export_1.csv", shopify_export())

    assert "This is a Shopify product export" in text(preview)
    report = preview.context["report"]
    assert (report.rows_total, report.created, report.skipped, report.invalid) == (7, 5, 2, 0)
    assert [row.message for row in report.skipped_rows] == [
        "an extra picture of “ocean-blue-shirt”: added to the pictures of its variants",
        "an extra picture of “classic-leather-jacket”: added to the pictures of its variants",
    ]
    assert [name for _, name, new in report.planned if new] == ["Hats", "Jackets", "Shirts"]

    done = confirm(client, PRODUCTS, preview)

    assert has_message(done, "5 new, 0 changed, 0 unchanged, 2 skipped")
    names = dict(Product.objects.values_list("sku", "name"))
    assert names == {
        "OBS-XS": "Ocean Blue Shirt - xs",
        "OBS-S": "Ocean Blue Shirt - s",
        "OBS-M": "Ocean Blue Shirt - m",
        "CLJ-1": "Classic Leather Jacket",  # Shopify's "Default Title" adds nothing
        "HAT-GREY": "Winter Hat - Grey, One size",
    }
    small = Product.objects.get(sku="OBS-S")
    assert (small.price, small.stock, small.category.name) == (Decimal("50.00"), 8, "Shirts")
    assert small.description == "<p>Ocean blue cotton shirt with a narrow collar.</p>" and small.is_published
    base = "https://cdn.shopify.com/s/files/1/0000/0001/products"
    assert pictures("OBS-S") == [f"{base}/ocean-blue-shirt.jpg?v=1", f"{base}/ocean-blue-shirt-back.jpg?v=1"]
    assert pictures("OBS-M")[0] == f"{base}/ocean-blue-shirt-m.jpg?v=1"  # its own picture first
    assert pictures("CLJ-1") == [f"{base}/jacket.jpg?v=1", f"{base}/jacket-side.jpg?v=1"]
    assert not Product.objects.get(sku="HAT-GREY").is_published  # a draft in Shopify


def test_a_shopify_variant_without_a_sku_is_a_row_to_fix_and_can_be_skipped_then_fixed(client_for, ops_user):
    rows = [
        *SHOPIFY_ROWS[:3],
        {**SHOPIFY_ROWS[2], "Option1 Value": "l", "Variant SKU": ""},
        *SHOPIFY_ROWS[3:],
    ]
    client = client_for(ops_user)

    preview = upload(client, PRODUCTS, "products_export.csv", shopify_export(rows))

    report = preview.context["report"]
    assert report.invalid == 1 and preview.context.get("confirm_form") is None
    (problem,) = report.problems
    assert (problem.row, problem.field) == (5, "sku")
    assert problem.message.startswith("a variant of “ocean-blue-shirt” without a Variant SKU")
    assert "Or tick “Skip invalid rows” above to import the others" in text(preview)

    skipping = remap(client, PRODUCTS, preview, skip_invalid="on")
    assert "1 invalid row will be left out (row 5)" in text(skipping)
    done = confirm(client, PRODUCTS, skipping)

    job = ImportJob.objects.get()
    assert done.redirect_chain[-1][0] == reverse("admin:imports_importjob_change", args=[job.pk])
    assert (job.status, job.created_count, job.failed_count, job.set_aside_count) == ("done", 5, 1, 2)
    assert any("Download the 1 rows to fix" in message for message in messages_of(done))
    fix = client.get(reverse("admin:imports_importjob_rows_to_fix", args=[job.pk]))
    content = b"".join(fix.streaming_content).decode("utf-8-sig").splitlines()
    assert content[0].startswith("Handle,Title,Body (HTML),") and content[0].endswith(",Status,problem")
    # The row to fix comes with its product's other rows, which hold the title and pictures it needs.
    assert [line.split(",")[0] for line in content[1:]] == ["ocean-blue-shirt"] * 5
    assert "sku: a variant of “ocean-blue-shirt” without a Variant SKU" in content[4]
    assert all("(not to fix: a row of “ocean-blue-shirt”" in line for line in [*content[1:4], content[5]])

    # Fixed and imported again: its "problem" column is ignored, the other rows change nothing.
    fixed = "\n".join([*content[:4], content[4].replace(",,200,", ",OBS-L,200,", 1), content[5]])
    again = upload(client, PRODUCTS, "fixed.csv", fixed.encode())
    assert "problem" in " ".join(again.context["report"].ignored_columns)
    report = again.context["report"]
    assert (report.created, report.unchanged, report.skipped) == (1, 3, 1)
    confirm(client, PRODUCTS, again)
    assert Product.objects.get(sku="OBS-L").name == "Ocean Blue Shirt - l"


def test_a_shopify_customer_export_joins_names_and_addresses(client_for, support_user):
    client = client_for(support_user)

    preview = upload(client, "orders_customer", "customers_export.csv", shopify_customers_export())

    assert "This is a Shopify customer export" in text(preview)
    confirm(client, "orders_customer", preview)
    ada = Customer.objects.get(email="ada@example.com")
    assert ada.name == "Ada Lovelace" and ada.phone == "+44 20 7946 0000"  # the address's phone
    assert ada.default_shipping_address == "Analytical Ltd\n12 St James's Square\nSW1Y 4JH London\nGB"
    grace = Customer.objects.get(email="grace@example.com")
    assert grace.default_shipping_address == "1 Navy Way\nApt 3\n22201 Arlington\nVA US"
    assert grace.phone == "+1 703 555 0100"


def test_a_preset_mapping_can_be_changed_and_its_rules_still_hold(client_for, ops_user):
    """Map WooCommerce's sale price to the price: the variations and skipped rows work the same."""
    client = client_for(ops_user)
    preview = upload(client, PRODUCTS, "wc.csv", woocommerce_export())
    form = preview.context["mapping_form"]
    regular = next(f"column_{i}" for i, h in enumerate(form.headers) if h == "Regular price")
    sale = next(f"column_{i}" for i, h in enumerate(form.headers) if h == "Sale price")

    changed = remap(client, PRODUCTS, preview, **{regular: "", sale: "price"})

    report = changed.context["report"]
    assert report.skipped == 3
    assert {problem.row for problem in report.problems} == {4, 5, 9}  # no sale price: rows to fix
    assert "Regular price" in " ".join(report.ignored_columns)
