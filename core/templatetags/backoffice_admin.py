from django import template

from core.filter_chips import active_filter_chips

register = template.Library()


@register.simple_tag
def filter_chips(changelist):
    """``{% filter_chips cl as chips %}``: the list's active filters, each with a link removing it."""
    return active_filter_chips(changelist)
