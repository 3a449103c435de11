"""Cells of an imported file turned into values, or a ``CellError`` a person can act on.

Each parser takes what a reader gives (text from CSV, numbers, booleans and dates from XLSX and JSON)
and returns the value, or raises ``CellError`` with what is wrong and what to write instead.
"""

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.formats import unescape_cell


class CellError(ValueError):
    pass


def text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store 12345 as 12345.0
    return unescape_cell(str(value).strip())


def text(
    *, max_length: int, lower: bool = False, validator: Callable | None = None, invalid: str = ""
) -> Callable[[object], str]:
    """A parser of text of at most ``max_length`` characters (lower-cased when ``lower``), refused with
    ``invalid`` ("is not an e-mail address") when ``validator`` raises a ``ValidationError``."""

    def parse(value) -> str:
        found = text_of(value).lower() if lower else text_of(value)
        if len(found) > max_length:
            raise CellError(f"is {len(found)} characters long (at most {max_length})")
        if validator is not None:
            try:
                validator(found)
            except ValidationError:
                raise CellError(f"“{found}” {invalid}") from None
        return found

    return parse


def parse_price(value) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"“{value}” is not a price")
    if isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        found = text_of(value).replace(" ", "")
        try:
            amount = Decimal(found)
        except InvalidOperation:
            raise CellError(f"“{found}” is not a price: write a number such as 12.50") from None
    if not amount.is_finite():
        raise CellError(f"“{value}” is not a price: write a number such as 12.50")
    if amount < 0:
        raise CellError(f"{amount} is negative: a price is 0 or more")
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(f"{amount} has more than 2 decimal places")
    if amount >= Decimal("1e10"):
        raise CellError(f"{amount} is too large (at most 9999999999.99)")
    return amount.quantize(Decimal("0.01"))


def parse_count(value, *, what: str = "a quantity") -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    elif isinstance(value, bool):
        raise CellError(f"“{value}” is not a whole number")
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        found = text_of(value)
        try:
            amount = Decimal(found)
        except InvalidOperation:
            raise CellError(f"“{found}” is not a whole number") from None
        if not amount.is_finite() or amount != amount.to_integral_value():
            raise CellError(f"“{found}” is not a whole number")
        number = int(amount)
    if number < 0:
        raise CellError(f"{number} is negative: {what} is 0 or more")
    if number > 2_147_483_647:
        raise CellError(f"{number} is too large")
    return number


def count(*, what: str) -> Callable[[object], int]:
    """A parser of whole numbers, 0 or more; ``what`` names the value in messages ("stock")."""
    return lambda value: parse_count(value, what=what)


TRUE_WORDS = {"1", "true", "yes", "y", "x", "on", "published", "featured"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "draft", "-"}


def parse_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    found = text_of(value).lower()
    if found in TRUE_WORDS:
        return True
    if found in FALSE_WORDS:
        return False
    raise CellError(f"“{text_of(value)}” is not yes or no (write yes/no, true/false or 1/0)")


# E-mail addresses are compared lower-case (as customers' are stored).
parse_email = text(max_length=254, lower=True, validator=validate_email, invalid="is not an e-mail address")
