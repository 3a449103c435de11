"""The list's action bar form: Unfold's, whose two fields render once per process for each set of
choices instead of through about 20 widget templates (a select, an option and attributes each) on
every list page."""

from functools import cache

from django.utils.translation import get_language
from unfold.forms import ActionForm as UnfoldActionForm

_RENDERED: dict[tuple, str] = {}
_MOST_KEPT = 512  # distinct (list, user's actions, language) combinations; then it starts over


def _frozen(attrs) -> tuple:
    return tuple(sorted((str(name), str(value)) for name, value in (attrs or {}).items()))


class RenderedOnce:
    """A widget mixin: the HTML of a render, kept for the same name, value, attributes, choices and
    language. What it keeps depends on nothing else (no user, request or token), so two people with
    the same actions get the same markup, and one with other actions gets their own."""

    def render(self, name, value, attrs=None, renderer=None):
        key = (
            type(self),
            name,
            repr(value),
            _frozen(self.attrs),
            _frozen(attrs),
            tuple((str(option), str(label)) for option, label in getattr(self, "choices", ())),
            get_language(),
        )
        html = _RENDERED.get(key)
        if html is None:
            html = super().render(name, value, attrs, renderer)
            if len(_RENDERED) >= _MOST_KEPT:
                _RENDERED.clear()
            _RENDERED[key] = html
        return html


@cache
def _rendered_once(widget_class: type) -> type:
    return type(f"RenderedOnce{widget_class.__name__}", (RenderedOnce, widget_class), {})


class ActionForm(UnfoldActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # the form's own copies of Unfold's fields and widgets
            field.widget.__class__ = _rendered_once(type(field.widget))
