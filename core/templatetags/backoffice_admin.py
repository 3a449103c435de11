from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language

from core.cells import badge as unfold_badge
from core.filter_chips import active_filter_chips

register = template.Library()

# Unfold's action_item_classes for an action without a variant (its "default" colours).
TAB_LINK_CLASSES = (
    "border border-base-200 select-none max-lg:-mt-px max-lg:first:rounded-t-default "
    "max-lg:last:rounded-b-default min-lg:-ms-px min-lg:first:rounded-s-default "
    "min-lg:last:rounded-e-default hover:text-primary-600 dark:hover:text-primary-500 dark:border-base-700 "
    "hover:bg-base-500/8"
)


@register.simple_tag
def tab_link(link, icon, title):
    """``{% tab_link url icon title %}``: one link of Unfold's actions bar (the Import and Export
    buttons), the markup unfold/helpers/tab_action.html gives a plain link with an icon, without its
    include and the eight look-ups of action options a plain link doesn't have."""
    return format_html(
        '<li class="{}"><a href="{}" class="cursor-pointer flex grow items-center gap-2 px-3 py-2 text-start '
        'whitespace-nowrap"><span class="material-symbols-outlined">{}</span>{}</a></li>',
        TAB_LINK_CLASSES,
        link,
        icon,
        title,
    )


_RENDERED_SIDEBARS: dict[tuple, str] = {}
_MOST_SIDEBARS_KEPT = 256  # distinct (items shown, open item, language) combinations; then it starts over


@register.simple_tag
def sidebar_groups(groups):
    """``{% sidebar_groups sidebar_navigation %}``: the sidebar's groups and items
    (admin/sidebar_groups.html), rendered once per distinct content. The template is given only the
    values kept as the key (titles, icons, links, which item is open), so what one person's sidebar
    shows is never another's: two people see the same HTML only when their sidebars are the same."""
    shown = tuple(
        (
            str(group.get("title") or ""),
            bool(group.get("separator")),
            tuple(
                (
                    str(item["title"]),
                    str(item.get("icon") or ""),
                    str(item["link"]),
                    bool(item.get("active")),
                    bool(item.get("has_permission")),
                )
                for item in group["items"]
            ),
        )
        for group in groups
    )
    key = (shown, get_language())
    html = _RENDERED_SIDEBARS.get(key)
    if html is None:
        context = [
            {
                "title": title,
                "separator": separator,
                "items": [
                    {"title": t, "icon": i, "link": link, "active": a, "has_permission": allowed}
                    for t, i, link, a, allowed in items
                ],
            }
            for title, separator, items in shown
        ]
        html = render_to_string("admin/sidebar_groups.html", {"groups": context})
        if len(_RENDERED_SIDEBARS) >= _MOST_SIDEBARS_KEPT:
            _RENDERED_SIDEBARS.clear()
        _RENDERED_SIDEBARS[key] = html
    return html


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
