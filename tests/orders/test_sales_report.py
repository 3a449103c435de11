import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.models import Order
from orders.services import order_cancel, order_place, order_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(make_product, make_customer, gateway):
    """Two completed orders on 3 and 5 March, one outside the range, one cancelled."""
    mug = make_product(price="4.50", stock=50, sku="MUG-1", name="Mug")
    lamp = make_product(price="20.00", stock=50, sku="LAMP-1", name="=HYPERLINK(evil)")
    ada = make_customer(email="ada@example.com")

    def completed(day, lines):
        order = order_place(customer=ada, lines=lines)
        order_transition(to="shipped", order=order)
        order_transition(to="completed", order=order)
        Order.objects.filter(pk=order.pk).update(
            created_at=timezone.make_aware(dt.datetime(2026, 3, day, 12))
        )
        return order

    first = completed(3, {mug: 2})
    second = completed(5, {mug: 1, lamp: 3})
    completed(9, {mug: 7})
    cancelled = order_place(customer=ada, lines={lamp: 1})
    order_cancel(order=cancelled, reason="Customer asked")
    Order.objects.filter(pk=cancelled.pk).update(created_at=timezone.make_aware(dt.datetime(2026, 3, 4, 12)))
    return first, second


def run(*args):
    out = io.StringIO()
    call_command("sales_report", *args, stdout=out)
    return out.getvalue()


def test_csv_has_one_row_per_completed_line_in_the_range_and_a_total(sales):
    first, second = sales
    rows = list(csv.reader(io.StringIO(run("--start-date", "2026-03-01", "--end-date", "2026-03-05"))))

    assert rows[0][:4] == ["order", "completed_on", "customer_email", "sku"]
    body = rows[1:-1]
    assert [(r[0], r[3], r[5], r[7]) for r in body] == [
        (first.number, "MUG-1", "2", "9.00"),
        (second.number, "MUG-1", "1", "4.50"),
        (second.number, "LAMP-1", "3", "60.00"),
    ]
    assert body[2][4] == "'=HYPERLINK(evil)"  # a spreadsheet shows it as text, never runs it
    assert rows[-1] == ["TOTAL", "", "", "", "", "6", "", "73.50"]


def test_json_report_matches_the_orders(sales, tmp_path):
    target = tmp_path / "march.json"
    call_command(
        "sales_report",
        "--start-date",
        "2026-03-01",
        "--end-date",
        "2026-03-31",
        "--format",
        "json",
        "--output",
        str(target),
        stderr=io.StringIO(),
    )

    report = json.loads(target.read_text())
    assert len(report["lines"]) == 4
    assert report["lines"][0]["unit_price"] == "4.50"
    assert report["total"] == {"lines": 4, "units": 13, "revenue": "105.00"}


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-31", "--start-date must be a date as YYYY-MM-DD"),
        ("2026-03-01", "yesterday", "--end-date must be a date as YYYY-MM-DD"),
        ("2026-03-05", "2026-03-01", "--end-date (2026-03-01) is before --start-date (2026-03-05)"),
    ],
)
def test_bad_dates_are_clear_errors(db, start, end, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("--start-date", start, "--end-date", end)
