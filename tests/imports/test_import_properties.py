"""Property-based: the import reader and the product import, fed random and hostile cells and files.

Whatever a file holds: no exception but a clear refusal (``ImportFileError``, a message naming what to
fix), never a partial write (a refused file leaves every table as it was; an accepted one writes every
row), and each file handled within Hypothesis's deadline.
"""

import csv
import io
import json
import string
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry, ChangeSet
from imports.cells import CellError, parse_count, parse_flag, parse_price
from imports.engine import run_import
from imports.jobs import import_recorded
from imports.models import ImportJob
from imports.readers import ImportFileError, open_table, printable
from imports.registry import new_spec
from inventory.models import Category, Product, StockMovement

pytestmark = [pytest.mark.django_db]

EXAMPLES = settings(
    max_examples=120,
    deadline=timedelta(seconds=3),  # per file; a 61-byte file used to take a minute
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure is reproducible
)
COLUMNS = ["sku", "name", "category", "price", "stock", "low_stock_threshold", "is_published", "description"]

# Cells a person, a spreadsheet or an attacker might put in a column.
hostile_numbers = st.sampled_from(
    [
        "1e999999",
        "-1e999999",
        "1e-999999",
        "1e26",
        "1e309",
        "9" * 5000,
        "NaN",
        "sNaN",
        "Infinity",
        "-0",
        "0e5",
        "2147483648",
        "12,50",
        "\uff11\uff12",  # full-width digits
        "0x10",
        "1_000",
        " 7 ",
        "=1+1",
        "'=SUM(A1)",
    ]
)
text_cells = st.text(max_size=300) | st.text(alphabet="\x00\r\n\t\"';,\\", max_size=20)
number_cells = (
    hostile_numbers
    | st.integers().map(str)
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.floats().map(repr)
)
cells = text_cells | number_cells | st.sampled_from(["phones", "Electronics/Phones", "yes", "no", ""])
# Mostly cells that make sense, so that files get past their first bad cell.
sensible = {
    "sku": st.from_regex(r"[A-Za-z]{1,3}-[0-9]{1,3}", fullmatch=True),
    "name": st.text(min_size=1, max_size=40),
    "category": st.sampled_from(["phones", "Electronics/Phones", "electronics", "PHONES"]),
    "price": st.decimals(min_value=0, max_value=99999, places=2).map(str),
    "stock": st.integers(0, 10_000).map(str) | st.just(""),
    "low_stock_threshold": st.integers(0, 100).map(str),
    "is_published": st.sampled_from(["yes", "no", "1", "0", "true", ""]),
    "description": st.text(max_size=80),
}


def cell_for(column):
    return st.one_of(sensible.get(column, cells), sensible.get(column, cells), cells)


@st.composite
def csv_files(draw) -> bytes:
    headers = draw(st.lists(st.sampled_from([*COLUMNS, "extra", ""]), min_size=1, max_size=9))
    if draw(st.integers(0, 3)):
        headers = list(dict.fromkeys(["sku", "name", "category", "price", *headers]))
    rows = draw(
        st.lists(
            st.tuples(*(cell_for(header) for header in headers), st.lists(cells, max_size=2)).map(
                lambda row: list(row[:-1]) + row[-1]
            )
            | st.lists(cells, max_size=len(headers) + 1),
            max_size=8,
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=draw(st.sampled_from([",", ";", "\t"])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
    )
    writer.writerow(headers)
    writer.writerows(rows)
    encoded = buffer.getvalue().encode("utf-8", "surrogatepass")
    if not draw(st.integers(0, 4)):
        encoded = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9"])) + encoded
    return encoded


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text_cells | number_cells,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def json_files(draw) -> bytes:
    records = draw(
        st.lists(
            st.dictionaries(st.sampled_from([*COLUMNS, "x"]), json_values | cells, max_size=9), max_size=6
        )
    )
    if draw(st.integers(0, 3)):
        for record in records:
            record.update({column: draw(cell_for(column)) for column in ("sku", "name", "category", "price")})
    text = json.dumps(records, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace('"1.00"', "1" + "0" * draw(st.integers(0, 6000)))
    return text.encode("utf-8", "surrogatepass")


any_bytes = st.binary(max_size=400)
files = st.one_of(
    st.tuples(st.just("csv"), csv_files() | any_bytes),
    st.tuples(st.just("json"), json_files() | any_bytes | st.just(b"[" * 50_000)),
    st.tuples(st.just("xlsx"), any_bytes | st.just(b"PK\x03\x04" + bytes(200))),
)


def tables_state():
    return (
        Product.objects.count(),
        StockMovement.objects.count(),
        ChangeSet.objects.count(),
        ImportJob.objects.count(),
        AuditEntry.objects.count(),
        Product.history.count(),
    )


@pytest.fixture
def catalogue(db):
    electronics = Category.objects.create(name="Electronics", slug="electronics")
    Category.objects.create(name="Phones", slug="phones", parent=electronics)


@EXAMPLES
@given(file=files)
def test_any_file_is_imported_whole_or_refused_with_nothing_written(file, catalogue, tmp_path_factory):
    kind, content = file
    path = tmp_path_factory.mktemp("file") / f"upload.{kind}"
    path.write_bytes(content)
    with transaction.atomic():  # each example starts from the same catalogue
        before = tables_state()
        try:
            job, report = import_recorded(
                resource="products", table=open_table(path, kind), file_name=path.name
            )
        except ImportFileError as error:
            event("file refused")
            assert str(error)  # a sentence a person can act on
            assert tables_state() == before
        else:
            event("rows refused" if report.invalid else "imported")
            if report.invalid:
                assert job is None and tables_state() == before
                assert report.problems and all(problem.message for problem in report.problems)
            else:
                rows = report.created + report.updated + report.unchanged
                assert rows == report.rows_total
                assert Product.objects.count() == before[0] + report.created
                if report.created or report.updated:
                    assert job is not None and job.status == "done"
        transaction.set_rollback(True)


@EXAMPLES
@given(file=files)
def test_the_admins_preview_reads_any_file_whole_or_refuses_it(file, catalogue, tmp_path_factory):
    """The preview is the engine's dry run over the same readers: every non-blank row is counted
    once (new, changed, unchanged or invalid), or the file is refused with a sentence."""
    kind, content = file
    path = tmp_path_factory.mktemp("file") / f"upload.{kind}"
    path.write_bytes(content)
    try:
        report = run_import(
            new_spec("products"), table=open_table(path, kind), file_name=path.name, dry_run=True
        )
    except ImportFileError as error:
        assert str(error)
        return
    rows = sum(1 for _ in open_table(path, kind).rows())
    assert report.rows_total == rows
    assert report.created + report.updated + report.unchanged + report.invalid == rows


@settings(max_examples=300, deadline=timedelta(milliseconds=200), derandomize=True)
@given(cell=cells | st.integers() | st.floats() | st.decimals() | st.booleans() | st.none())
def test_cells_are_parsed_or_refused_at_once(cell):
    for parse in (parse_price, parse_count, parse_flag):
        try:
            value = parse(cell)
        except CellError as error:
            assert str(error) and "\x00" not in str(error)
            continue
        if parse is parse_price:
            assert 0 <= value < 10**10 and value.as_tuple().exponent == -2
        elif parse is parse_count:
            assert 0 <= value <= 2_147_483_647


def test_printable_letters_stay_as_they_are():
    assert printable(string.ascii_letters) == string.ascii_letters
    assert printable("a\x00b") == "a\\x00b"
