"""Files as spreadsheets save them: UTF-8 with or without a BOM, Windows "CSV" (Windows-1252), UTF-16
"Unicode text" (tab-separated .txt), old Mac line ends, commas, semicolons or tabs, newlines inside
quoted cells. Each is read right, says how it was read, and can be read otherwise when asked; nothing
ends in a Python error message."""

import csv
import io
import os
from contextlib import suppress
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Category, Product

from .helpers import confirm, remap, text, upload

pytestmark = pytest.mark.django_db

PRODUCTS = "inventory_product"
ROWS = [
    ["sku", "name", "category", "price", "description"],
    ["CAF-1", "Café crème", "drinks", "2.50", "Served hot,\nwith “foam”"],
    ["BRU-2", "Crème brûlée", "drinks", "4.00", "Price: 4 €"],
    ["MUL-3", "Müller Straße", "drinks", "1.00", ""],
]


@pytest.fixture
def drinks(db):
    return Category.objects.create(name="Drinks", slug="drinks")


def saved_as(encoding: str, delimiter: str, line_end: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(ROWS)
    return buffer.getvalue().encode(encoding)


SAVED = [
    # (what a spreadsheet saves, file name, bytes, how the preview says it was read)
    ("CSV UTF-8", "utf8.csv", saved_as("utf-8-sig", ",", "\r\n"), "UTF-8 with BOM, commas"),
    ("UTF-8 without BOM", "plain.csv", saved_as("utf-8", ",", "\n"), "UTF-8, commas"),
    ("Windows CSV, semicolons", "excel-fr.csv", saved_as("cp1252", ";", "\r\n"), "Windows-1252, semicolons"),
    ("Windows CSV, commas", "excel-us.csv", saved_as("cp1252", ",", "\r\n"), "Windows-1252, commas"),
    ("Unicode text", "unicode.txt", saved_as("utf-16", "\t", "\r\n"), "UTF-16 (Unicode text), tabs"),
    (
        "old Mac CSV",
        "mac.csv",
        saved_as("cp1252", ",", "\r"),
        "Windows-1252, commas, old Mac line ends (CR)",
    ),
    ("tab-separated UTF-8", "export.tsv", saved_as("utf-8", "\t", "\n"), "UTF-8, tabs"),
]


def assert_imported():
    names = dict(Product.objects.values_list("sku", "name"))
    assert names == {"CAF-1": "Café crème", "BRU-2": "Crème brûlée", "MUL-3": "Müller Straße"}
    assert Product.objects.get(sku="CAF-1").description == "Served hot,\nwith “foam”"
    assert Product.objects.get(sku="BRU-2").description == "Price: 4 €"


@pytest.mark.parametrize(("saved", "name", "content", "reading"), SAVED, ids=[s[0] for s in SAVED])
def test_the_admin_reads_each_kind_of_file_and_says_how(
    client_for, ops_user, drinks, saved, name, content, reading
):
    client = client_for(ops_user)

    preview = upload(client, PRODUCTS, name, content)

    page = text(preview)
    assert f"Read as {reading}" in page
    assert preview.context["report"].created == 3 and preview.context["report"].invalid == 0
    confirm(client, PRODUCTS, preview)
    assert_imported()


@pytest.mark.parametrize(("saved", "name", "content", "reading"), SAVED, ids=[s[0] for s in SAVED])
def test_the_shell_reads_each_kind_of_file(tmp_path, drinks, saved, name, content, reading):
    path = tmp_path / name
    path.write_bytes(content)
    out = StringIO()

    call_command("import_products", str(path), "--no-progress", stdout=out, stderr=out)

    assert "3 rows: 3 new" in out.getvalue()
    assert_imported()


def test_a_file_read_as_the_wrong_code_page_can_be_read_again_as_the_right_one(client_for, ops_user, drinks):
    content = "sku;name;category;price\nLOD-1;Łódź chair;drinks;3\n".encode("cp1250")
    client = client_for(ops_user)
    preview = upload(client, PRODUCTS, "polish.csv", content)

    again = remap(client, PRODUCTS, preview, encoding="cp1250")

    assert "Read as Windows-1250 (Central European), semicolons" in text(again)
    assert again.context["report"].preview[0].cells[1][1] == "Łódź chair"
    confirm(client, PRODUCTS, again)
    assert Product.objects.get(sku="LOD-1").name == "Łódź chair"


def test_a_delimiter_can_be_chosen_when_the_header_misleads(client_for, ops_user, drinks):
    # A last column named with commas, as many as the semicolons: detection picks commas.
    content = b"sku;name;category;price;size,colour,weight,width,depth\nX-1;Lamp;drinks;1;ok\n"
    client = client_for(ops_user)
    preview = upload(client, PRODUCTS, "odd.csv", content)
    assert "Read as UTF-8, commas" in text(preview) and preview.context.get("report") is None

    again = remap(client, PRODUCTS, preview, delimiter=";")

    # The columns changed with the new reading: guessed again, then previewed.
    assert "Read as UTF-8, semicolons" in text(again)
    assert again.context["report"].created == 1


PYTHON_WORDS = ("Traceback", "Error:", "codec", "surrogate", "field limit", "errno", "utf_8", "utf_16")


def test_a_broken_file_is_named_in_words(client_for, ops_user, drinks):
    client = client_for(ops_user)
    unicode_text = "sku\tname\tcategory\tprice\nX-1\tLamp\tdrinks\t1\n".encode("utf-16")

    broken = upload(client, PRODUCTS, "unicode.txt", unicode_text + b"\x00\xd8\x41\x00")
    huge = b'sku,name,category,price\nX-1,"' + b"x" * 200_000 + b'"\n'
    long_cell = upload(client, PRODUCTS, "long.csv", huge)

    assert "The file can't be read as UTF-16 (Unicode text): some of its bytes are no character" in text(
        broken
    )
    assert "Row 2 can't be read as CSV: a cell is longer than 131,072 characters (is a quote left open?)" in (
        text(long_cell)
    )
    assert Product.objects.count() == 0


@pytest.mark.parametrize(
    "content",
    [
        os.urandom(4096),
        b"\x00\x01\x02\x03" * 100,
        b"\xff\xfe" + b"\x00\xd8" * 10,  # UTF-16 with a lone surrogate
        b'sku,name\n"never closed,x\n',
        b"\xef\xbb\xbf",
        b'sku,name,category,price\nX-1,"' + b"x" * 200_000 + b'",drinks,1\n',
    ],
    ids=["random bytes", "control bytes", "broken UTF-16", "an unclosed quote", "a BOM alone", "a huge cell"],
)
def test_no_file_ends_in_a_python_error(client_for, ops_user, drinks, tmp_path, content):
    client = client_for(ops_user)
    page = upload(client, PRODUCTS, "whatever.csv", content)
    if "mapping_form" in page.context and page.context.get("report") is None:
        page = remap(client, PRODUCTS, page)  # what the file would import, as far as it can be read

    assert page.status_code == 200
    assert not [words for words in PYTHON_WORDS if words in text(page)]
    assert Product.objects.count() == 0
    path = tmp_path / "whatever.csv"
    path.write_bytes(content)
    with suppress(CommandError):  # a sentence, as for any file that can't be imported
        call_command("import_products", str(path), "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert Product.objects.count() == 0
