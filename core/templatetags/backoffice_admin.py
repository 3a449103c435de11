from django import template
from django.utils.html import format_html, format_html_join

from core.cells import badge as unfold_badge
from core.filter_chips import active_filter_chips

register = template.Library()

# Below Tailwind's md breakpoint (Unfold's own phone layout) a list shows only its phone columns.
PHONE_MEDIA = "(max-width: 767px)"


@register.simple_tag
def filter_chips(changelist):
    """``{% filter_chips cl as chips %}``: the list's active filters, each with a link removing it."""
    return active_filter_chips(changelist)


@register.simple_tag
def badge(text, variant=None):
    """``{% badge text variant %}``: Unfold's label (``unfold/helpers/label.html`` with text and type)."""
    return unfold_badge(text, variant)


@register.simple_tag
def phone_columns_style(changelist):
    """A ``<style>`` that hides, on a phone, the list's columns missing from its admin's
    ``list_display_phone`` (the record's name and its state badges fit in 390 px; the rest would push
    the badges off-screen). Nothing for an admin without one."""
    kept = getattr(changelist.model_admin, "list_display_phone", None)
    if not kept:
        return ""
    hidden = [
        name
        for name in changelist.list_display
        if isinstance(name, str) and name != "action_checkbox" and name not in kept
    ]
    if not hidden:
        return ""
    selectors = format_html_join(
        ", ", "#result_list .column-{}, #result_list .field-{}", ((n, n) for n in hidden)
    )
    return format_html("<style>@media {} {{ {} {{ display: none; }} }}</style>", PHONE_MEDIA, selectors)
