"""Every resource through the same engine: the same file handling (semicolons, encodings), the same
checks and messages (rows to fix, repeated keys). (Who may confirm an upload: test_import_files.)"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.engine import run_import
from imports.readers import open_table
from imports.registry import new_spec
from inventory.models import Category
from orders.models import Customer

pytestmark = pytest.mark.django_db

CUSTOMER_IMPORT = reverse("admin:orders_customer_import")
CATEGORY_IMPORT = reverse("admin:inventory_category_import")


def upload(client, url, name, text):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(url, {"format": "", "import_file": file})


def problems(response) -> dict:
    return {(p.row, p.field): p.message for p in response.context["report"].problems}


def test_customers_and_categories_read_semicolon_files_as_products_do(client_for, superuser):
    client = client_for(superuser)

    customers = upload(client, CUSTOMER_IMPORT, "c.csv", "email;name;phone\nann@example.com;Ann;555\n")
    categories = upload(client, CATEGORY_IMPORT, "k.csv", "name;slug\nLamps;lamps\n")

    assert customers.context["report"].created == 1 and customers.context["confirm_form"] is not None
    assert categories.context["report"].created == 1 and categories.context["confirm_form"] is not None


def test_a_repeated_email_is_a_row_to_fix_and_nothing_is_imported(client_for, support_user, make_customer):
    text = "email,name\nann@example.com,Ann\nANN@example.com,Ann again\n"

    preview = upload(client_for(support_user), CUSTOMER_IMPORT, "c.csv", text)

    assert problems(preview) == {
        (3, "email"): "ann@example.com is on row 2 too: give each e-mail address one row"
    }
    assert preview.context.get("confirm_form") is None and not Customer.objects.exists()


def test_an_empty_phone_cell_clears_the_phone(tmp_path, make_customer):
    make_customer(email="ann@example.com", name="Ann", phone="555")
    path = tmp_path / "customers.csv"
    path.write_text("email,name,phone\nann@example.com,Ann,\n")

    report = run_import(new_spec("customers"), table=open_table(path), file_name=path.name)

    assert (report.updated, report.invalid) == (1, 0)
    assert Customer.objects.get().phone == ""


def test_a_category_name_taken_by_another_category_is_a_row_to_fix(client_for, ops_user):
    Category.objects.create(name="Lamps", slug="lamps")

    preview = upload(client_for(ops_user), CATEGORY_IMPORT, "k.csv", "name,slug\nLamps,lighting\n")

    assert problems(preview) == {
        (2, "name"): "“Lamps” is the name of another category already: names are unique"
    }


def test_a_category_cant_be_moved_below_itself(client_for, ops_user):
    home = Category.objects.create(name="Home", slug="home")
    Category.objects.create(name="Lamps", slug="lamps", parent=home)

    preview = upload(
        client_for(ops_user), CATEGORY_IMPORT, "k.csv", "name,slug,parent\nHome,home,Home/Lamps\n"
    )

    assert problems(preview) == {
        (2, "parent"): "“Home/Lamps” is this category or one below it: a category can't sit below itself"
    }
