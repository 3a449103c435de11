"""The cells of an import file, read into the values of their columns, within the columns' limits:
each parser returns the value or raises ``CellError`` with what is wrong and what to write instead.

Every number is checked against its column's range while it is still text or a plain value: no
arithmetic (``Decimal.quantize``, ``int()`` of an exponent) runs on a number the column can't hold,
so a cell like ``1e999999`` is refused at once instead of taking a worker for a minute. Every text is
checked for characters the database refuses (NUL) or can't store (lone surrogates) and for length.
Messages quote a cell shortened and with control characters escaped (``imports.readers.printable``).
"""

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.formats import unescape_cell

from .readers import printable

MAX_NUMBER_TEXT = 40  # characters of a number's cell: more is not a price or a quantity
INTEGER_MAX = 2_147_483_647  # PostgreSQL's integer, the stock and threshold columns
PRICE_DIGITS = 10  # numeric(12, 2): ten digits before the point
CENT = Decimal("0.01")


class CellError(ValueError):
    pass


def text_of(value) -> str:
    """The cell as trimmed text (an export's formula escape taken off)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) <= INTEGER_MAX:
        value = int(value)  # spreadsheets store 12345 as 12345.0
    return unescape_cell(str(value).strip())


def bad_characters(text: str) -> str | None:
    """Why the database can't store ``text`` (None when it can)."""
    if "\x00" in text:
        return "contains a NUL character (\\x00): remove it"
    if not text.isascii():
        try:
            text.encode("utf-8")  # in C: a lone surrogate (from a JSON "\\ud800") can't be encoded
        except UnicodeEncodeError:
            return "contains a character that isn't valid Unicode text"
    return None


def checked_text(value, *, max_length: int, what: str = "it") -> str:
    """A text cell's value, or ``CellError`` for characters the database refuses or too much text."""
    text = text_of(value)
    problem = bad_characters(text)
    if problem:
        raise CellError(problem)
    if len(text) > max_length:
        raise CellError(f"is {len(text):,} characters long ({what} holds at most {max_length:,})")
    return text


def text(
    *,
    max_length: int,
    what: str = "it",
    lower: bool = False,
    validator: Callable | None = None,
    invalid: str = "",
) -> Callable[[object], str]:
    """A parser of text cells (``checked_text``), lower-cased when ``lower``, refused with ``invalid``
    ("is not an e-mail address") when ``validator`` raises a ``ValidationError``."""

    def parse(value) -> str:
        found = checked_text(value, max_length=max_length, what=what)
        if lower:
            found = found.lower()
        if validator is not None:
            try:
                validator(found)
            except ValidationError:
                raise CellError(f"“{printable(found)}” {invalid}") from None
        return found

    return parse


def count(*, what: str) -> Callable[[object], int]:
    """A parser of whole numbers, 0 or more; ``what`` names the value in messages ("stock")."""
    return lambda value: parse_count(value, what=what)


def _number_text(value) -> str:
    text = text_of(value).replace(" ", "")
    if len(text) > MAX_NUMBER_TEXT:
        raise CellError(f"“{printable(text, 20)}” is not a number (it is {len(text):,} characters long)")
    return text


def _decimal(value) -> Decimal | None:
    """The cell as a Decimal (no arithmetic yet), or None when it isn't a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value))  # inf and nan too: refused as not finite
    if isinstance(value, int | Decimal):
        if isinstance(value, int) and abs(value) > 10**MAX_NUMBER_TEXT:
            return None
        return Decimal(value)
    try:
        return Decimal(_number_text(value))
    except InvalidOperation:
        return None


def parse_price(value) -> Decimal:
    """A price: 0 or more, at most 2 decimal places, below 10,000,000,000 (``numeric(12, 2)``)."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        raise CellError(f"“{printable(text_of(value))}” is not a price: write a number such as 12.50")
    if amount < 0:
        raise CellError(f"{printable(str(amount))} is negative: a price is 0 or more")
    # Its size from the exponent, before any arithmetic: quantizing 1e26 to cents overflows the
    # decimal context, and 1e999999 would take long.
    if amount and amount.adjusted() >= PRICE_DIGITS:
        raise CellError(f"{printable(str(amount))} is too large (at most 9999999999.99)")
    if amount and amount.adjusted() < -PRICE_DIGITS:
        raise CellError(f"{printable(str(amount))} has more than 2 decimal places")
    if amount != amount.quantize(CENT):
        raise CellError(f"{printable(str(amount))} has more than 2 decimal places")
    return amount.quantize(CENT)


def parse_count(value, *, what: str = "a quantity") -> int:
    """A whole number from 0 to 2,147,483,647 (the column's integer)."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        raise CellError(f"“{printable(text_of(value))}” is not a whole number")
    if amount < 0:
        raise CellError(f"{printable(str(amount), 20)} is negative: {what} is 0 or more")
    # Its size from the exponent first: int() of 1e999999 would build a million-digit number.
    if amount and amount.adjusted() >= len(str(INTEGER_MAX)):
        raise CellError(f"{printable(str(amount), 20)} is too large (at most {INTEGER_MAX:,})")
    if amount != amount.to_integral_value():
        raise CellError(f"“{printable(text_of(value))}” is not a whole number")
    number = int(amount)
    if number > INTEGER_MAX:
        raise CellError(f"{number} is too large (at most {INTEGER_MAX:,})")
    return number


TRUE_WORDS = {"1", "true", "yes", "y", "x", "on", "published", "featured"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "draft", "-"}


def parse_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = text_of(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(f"“{printable(text_of(value))}” is not yes or no (write yes/no, true/false or 1/0)")


# E-mail addresses are compared lower-case (as customers' are stored).
parse_email = text(
    max_length=254,
    what="an e-mail address",
    lower=True,
    validator=validate_email,
    invalid="is not an e-mail address",
)
