from django import template

from core.money import format_money

register = template.Library()


@register.filter(name="money")
def money_filter(amount, currency=None):
    """``{{ order.total|money }}`` -> ``1,234.56 USD``."""
    return format_money(amount, currency)
