"""Operations staff import a supplier's file whose columns are not ours, in a real browser: the
mapping step guesses, they correct a guess by hand and save the mapping; next month's file from the
same supplier is mapped by it at once."""

import re

import pytest
from playwright.sync_api import expect

from imports.models import ImportJob, ImportMapping
from inventory.models import Product

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUPPLIER = (
    "Article number;Title;Product type;Unit price;Qty;Remarks\n"
    "{prefix}-100;Brass lamp;Home > Lighting;49.90;4;Warm light, crème shade\n"
    "{prefix}-101;Steel lamp;Home > Lighting;39.90;2;\n"
)


def upload(page, server, path):
    page.goto(server + "/admin/inventory/product/import/")
    page.set_input_files("input[name=import_file]", str(path))
    page.get_by_role("button", name="Next: map the columns").click()


def goes_to(page, header):
    """The select of the mapping table's row for the file's column ``header``."""
    return page.locator(f'#import-mapping-table tr[data-column="{header}"] select')


def test_operations_maps_a_suppliers_columns_saves_the_mapping_and_reuses_it(
    login, page, production_server, ops_user, tmp_path
):
    march = tmp_path / "march.csv"
    march.write_text(SUPPLIER.format(prefix="M"), encoding="cp1252")
    login("olivia", "pw-olivia")

    upload(page, production_server, march)

    # Every column with its guess and why; nothing previewed until the guesses are checked.
    expect(page.locator("#import-reading")).to_contain_text("Windows-1252, semicolons")
    expect(page.locator('#import-mapping-table tr[data-column="Unit price"]')).to_contain_text(
        "often used for price"
    )
    expect(goes_to(page, "Unit price")).to_have_value("price")
    expect(goes_to(page, "Remarks")).to_have_value("")
    expect(page.locator("#import-result")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "import-mapping-1-guessed.png"), full_page=True)

    goes_to(page, "Remarks").select_option("description")
    page.get_by_label("Create missing categories").check()
    page.get_by_label("Save this mapping as").fill("Lamp supplier")
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("#import-summary")).to_contain_text("2 rows: 2 new")
    expect(page.locator("#import-new-categories")).to_contain_text("Lighting (new)")
    expect(page.locator("body")).to_contain_text("Mapping “Lamp supplier” saved")
    expect(page.locator('#import-mapping-table tr[data-column="Remarks"]')).to_contain_text("your choice")
    page.screenshot(path=str(ARTIFACTS / "import-mapping-2-preview.png"), full_page=True)
    page.get_by_role("button", name=re.compile("Confirm import")).click()

    expect(page.locator("body")).to_contain_text("Imported march.csv: 2 new")
    lamp = Product.objects.get(sku="M-100")
    assert (lamp.stock, lamp.category.path) == (4, "Home/Lighting")
    assert lamp.description == "Warm light, crème shade"
    assert ImportMapping.objects.get().name == "Lamp supplier"

    april = tmp_path / "april.csv"
    april.write_text(SUPPLIER.format(prefix="A"), encoding="cp1252")
    upload(page, production_server, april)

    # The saved mapping is recognised and used: the preview at once, the columns folded above it.
    expect(page.locator("#import-mapping-note")).to_contain_text("Your saved mapping “Lamp supplier”")
    expect(goes_to(page, "Remarks")).to_be_hidden()
    page.get_by_text("Where each of the 6 columns goes (6 imported, 0 ignored)").click()
    expect(goes_to(page, "Remarks")).to_have_value("description")
    expect(page.locator('#import-mapping-table tr[data-column="Remarks"]')).to_contain_text(
        "saved mapping “Lamp supplier”"
    )
    expect(page.locator("#import-summary")).to_contain_text("2 rows: 2 new")
    page.screenshot(path=str(ARTIFACTS / "import-mapping-3-reused.png"), full_page=True)
    page.get_by_role("button", name=re.compile("Confirm import")).click()

    expect(page.locator("body")).to_contain_text("Imported april.csv: 2 new")
    assert Product.objects.get(sku="A-101").category.path == "Home/Lighting"
    # What the import wrote, from its message: April's two products, not March's.
    page.get_by_role("link", name="See the imported products").first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("A-100")
    job = ImportJob.objects.get(file_name="april.csv")
    page.goto(f"{production_server}/admin/imports/importjob/{job.pk}/change/")
    expect(page.locator("#import-progress [data-field=headline]")).to_have_text(
        "Done: 2 rows, 2 new, 0 changed, 0 unchanged, 0 invalid."
    )
    expect(page.locator("#import-links")).to_contain_text("See or undo this change")
    page.screenshot(path=str(ARTIFACTS / "import-mapping-4-job.png"), full_page=True)
    assert Product.objects.get(sku="A-100").description == "Warm light, crème shade"
    assert page.console_errors == []
