"""List cells in Unfold's look, built with ``format_html`` instead of the template engine.

Unfold renders each ``@display(label=…)`` badge through two templates (``display_label.html`` and
``label.html``, with a dozen failed variable look-ups each) and each ``boolean=True`` icon through
``boolean.html``: 300 template renders and 850 failed look-ups on a 50-row product page, most of its
time. ``display`` here takes the same arguments as ``unfold.decorators.display`` and gives the same
markup (Unfold's classes), rendered by Python: admins import it instead of Unfold's.
"""

from collections.abc import Callable
from functools import wraps

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from unfold.decorators import display as unfold_display

# Unfold's unfold/helpers/label.html (size "sm"), one class list per variant.
LABEL = (
    "inline-block font-semibold rounded-default text-[11px] uppercase whitespace-nowrap h-6 leading-6 px-2"
)
LABEL_VARIANTS = {
    "info": "bg-blue-100 text-blue-700 dark:bg-blue-500/20 dark:text-blue-400",
    "danger": "bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-400",
    "warning": "bg-orange-100 text-orange-700 dark:bg-orange-500/20 dark:text-orange-400",
    "success": "bg-green-100 text-green-700 dark:bg-green-500/20 dark:text-green-400",
    "primary": "bg-primary-100 text-primary-700 dark:bg-primary-500/20 dark:text-primary-400",
}
LABEL_DEFAULT = "bg-base-500/8 text-base-700 dark:bg-base-500/20 dark:text-base-200"

# Unfold's unfold/helpers/boolean.html: (classes, title, icon) for yes, no and unknown.
BOOLEAN = (
    "inline-flex font-semibold items-center justify-center leading-normal h-6 w-6 !rounded-full "
    "uppercase whitespace-nowrap"
)
BOOLEAN_STATES = {
    True: ("bg-green-100 text-green-700 dark:bg-green-500/20 dark:text-green-400", "True", "check_small"),
    False: ("bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-400", "False", "close_small"),
    None: (
        "bg-base-200 text-base-600 dark:bg-base-500/20 dark:text-base-200",
        "Unknown",
        "check_indeterminate_small",
    ),
}


def badge(text, variant: str | None = None) -> SafeString:
    """One badge: ``text`` (escaped) in the colours of ``variant`` (info, danger, warning, success,
    primary; anything else is grey)."""
    colours = LABEL_VARIANTS.get(variant, LABEL_DEFAULT)
    return format_html('<span class="{} {}">{}</span>', LABEL, colours, text)


def badges(value, variants) -> SafeString | str:
    """What Unfold's ``display_label.html`` shows for a column's value: ``(key, text)`` coloured by
    ``variants[key]``, a plain value coloured by ``variants[value]``, a list or tuple as one badge per
    item, and "-" for an empty value."""
    variant = None
    if isinstance(variants, dict):
        if isinstance(value, tuple):
            try:
                variant, value = variants[value[0]], value[1]
            except KeyError:
                value = value[0]
        else:
            try:
                variant = variants.get(value)
            except TypeError:  # an unhashable value: no colour
                variant = None
    if not value:
        return "-"
    if isinstance(value, list | tuple):
        return format_html_join("", "{}", ((badge(item, variant),) for item in value))
    return badge(value, variant)


def boolean_icon(value) -> SafeString:
    """Unfold's round yes / no / unknown icon."""
    state = None if value is None or value == "" else bool(value)
    colours, title, icon = BOOLEAN_STATES[state]
    return format_html(
        '<div class="{} {}" title="{}"><span class="material-symbols-outlined">{}</span></div>',
        BOOLEAN,
        colours,
        gettext(title),
        icon,
    )


def display(function: Callable | None = None, *, label=None, boolean=None, **options) -> Callable:
    """``unfold.decorators.display`` whose ``label`` and ``boolean`` columns are rendered by
    ``badges()`` and ``boolean_icon()`` above (the other options are Unfold's)."""

    def decorator(func):
        if label is not None:
            variants = label

            @wraps(func)
            def cell(*args, **kwargs):
                return badges(func(*args, **kwargs), variants)

        elif boolean:

            @wraps(func)
            def cell(*args, **kwargs):
                return boolean_icon(func(*args, **kwargs))

        else:
            cell = func
        if cell is not func:
            # What Unfold would have been asked for (a baseline in bench/ renders it Unfold's way).
            cell.unfold_options = {"label": label} if label is not None else {"boolean": boolean}
        return unfold_display(cell, **options)

    return decorator if function is None else decorator(function)
