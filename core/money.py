"""Money as people read it: ``1,234.56 USD``. One helper for lists, order pages, the timeline and the
dashboard (and the ``money`` template filter); exports keep plain numbers (``1234.56``)."""

from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format


def format_money(amount, currency: str | None = None) -> str:
    """``amount`` with two decimals, thousands separators and its currency (the shop's by default);
    an em dash for no amount."""
    if amount is None or amount == "":
        return "—"
    text = number_format(Decimal(amount), decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{text} {currency or settings.ORDER_CURRENCY}"
