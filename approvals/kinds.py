"""The rule kinds every app may measure its changes by (the apps register their own beside them)."""

from decimal import Decimal

from .gate import Measure

BULK_ROWS = "bulk_rows"


def bulk_measure(rows: int) -> Measure:
    """A bulk action (or a multi-row change) by the number of rows it changes."""
    return Measure(BULK_ROWS, Decimal(rows), f"a bulk change of {rows} row(s)")
