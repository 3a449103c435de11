import csv
import datetime as dt
import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from core.exports import spreadsheet_safe
from core.tenancy import activate, add_tenant_argument, tenant_from_options
from orders.selectors import completed_sales_lines

COLUMNS = [
    "order",
    "completed_on",
    "customer_email",
    "sku",
    "product",
    "quantity",
    "unit_price",
    "line_total",
]


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "Completed orders between two dates (inclusive), one row per order line, with totals."

    def add_arguments(self, parser):
        parser.add_argument("--start-date", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--end-date", required=True, help="Last day (included), YYYY-MM-DD.")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", help="File to write (default: standard output).")
        add_tenant_argument(parser)

    def handle(self, *args, **options):
        start = parse_date(options["start_date"], "--start-date")
        end = parse_date(options["end_date"], "--end-date")
        if end < start:
            raise CommandError(f"--end-date ({end}) is before --start-date ({start}).")
        with activate(tenant_from_options(options)):
            self._report(start, end, options)

    def _report(self, start, end, options):
        rows = completed_sales_lines(start=start, end=end)
        if options["output"]:
            out = open(options["output"], "w", newline="", encoding="utf-8")  # noqa: SIM115
        else:
            out, self.stdout.ending = self.stdout, ""
        try:
            totals = (write_csv if options["format"] == "csv" else write_json)(out, rows)
        finally:
            if options["output"]:
                out.close()
        if options["output"]:
            self.stderr.write(
                f"{totals['lines']} lines, {totals['units']} units, {totals['revenue']} revenue "
                f"(before tax) written to {options['output']}."
            )


def _row(line) -> list:
    return [
        line["order__number"],
        line["order__created_at"].date().isoformat(),
        line["order__customer__email"],
        line["product__sku"],
        line["product__name"],
        line["quantity"],
        f"{line['unit_price']:.2f}",
        f"{line['line_total']:.2f}",
    ]


def _add(totals, line):
    totals["lines"] += 1
    totals["units"] += line["quantity"]
    totals["revenue"] += line["line_total"]


def write_csv(out, rows) -> dict:
    totals = {"lines": 0, "units": 0, "revenue": Decimal("0.00")}
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for line in rows:
        _add(totals, line)
        writer.writerow([spreadsheet_safe(value) for value in _row(line)])
    writer.writerow(["TOTAL", "", "", "", "", totals["units"], "", f"{totals['revenue']:.2f}"])
    return totals


def write_json(out, rows) -> dict:
    """Streamed: one line object at a time, so a million lines need no more memory than one."""
    totals = {"lines": 0, "units": 0, "revenue": Decimal("0.00")}
    out.write('{"lines": [')
    for line in rows:
        out.write(
            ("," if totals["lines"] else "")
            + "\n  "
            + json.dumps(dict(zip(COLUMNS, _row(line), strict=True)))
        )
        _add(totals, line)
    out.write(
        "\n],\n"
        + f'"total": {{"lines": {totals["lines"]}, "units": {totals["units"]}, '
        + f'"revenue": "{totals["revenue"]:.2f}"}}}}\n'
    )
    return totals
