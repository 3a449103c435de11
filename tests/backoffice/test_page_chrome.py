"""What every admin page carries around its content (the actions bar, the Import and Export buttons, the
sidebar's search box, the command palette's footer) is Unfold's markup: where the back office writes it
out instead of including Unfold's templates piece by piece, it renders the same elements, attributes,
classes and text as Unfold's own template."""

from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
import unfold
from django.template import engines
from django.template.loader import render_to_string

from inventory.models import Product

UNFOLD = Path(unfold.__file__).parent
MAC, OTHER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)", "Mozilla/5.0 (X11; Linux x86_64)"


class Structure(HTMLParser):
    """Elements, attributes (classes as a set: Unfold joins some from a set) and text, without the
    whitespace between them."""

    def __init__(self):
        super().__init__()
        self.items = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: normalised(name, value) for name, value in attrs}
        if attributes.get("name") == "csrfmiddlewaretoken":
            attributes["value"] = "(masked anew on each render)"
        self.items.append(("<", tag, attributes))

    def handle_endtag(self, tag):
        self.items.append((">", tag))

    def handle_data(self, data):
        if text := " ".join(data.split()):
            self.items.append(("text", text))


def normalised(name, value):
    if value is None:
        return None
    return frozenset(value.split()) if name == "class" else " ".join(value.split())


def structure(html: str) -> list:
    parser = Structure()
    parser.feed(html)
    return parser.items


def unfolds(template: str, context: dict, request=None) -> str:
    """Unfold's own template (not the back office's of the same name), rendered by the same engine."""
    source = (UNFOLD / template).read_text()
    return engines["django"].from_string(source).render(context, request)


def assert_same_markup(ours: str, theirs: str):
    assert structure(ours) == structure(theirs)


@pytest.mark.parametrize(
    "context",
    [
        {"actions_items": "<li>Export</li>"},
        {"nav_global": "<li>Site</li>"},
        {"actions_items": "<li>Export</li>", "actions_list_hide_default": True},
        {"actions_list": [{"title": "Print", "path": "/print/", "attrs": {"target": "_blank"}}]},
        {},
    ],
)
def test_the_actions_bar_is_unfolds(context):
    ours = render_to_string("unfold/helpers/tab_actions.html", context)
    theirs = unfolds("templates/unfold/helpers/tab_actions.html", context)
    assert_same_markup(ours, theirs)


@pytest.mark.parametrize("allowed", [True, False])
@pytest.mark.parametrize(
    ("template", "permission"),
    [
        ("admin/import_export/change_list_import_item.html", "has_import_permission"),
        ("admin/import_export/change_list_export_item.html", "has_export_permission"),
    ],
)
def test_the_import_and_export_buttons_are_unfolds(template, permission, allowed):
    context = {
        permission: allowed,
        "opts": Product._meta,
        "cl": SimpleNamespace(get_query_string="?q=lamp&is_published__exact=1"),
    }
    ours = render_to_string(template, context)
    theirs = unfolds(f"contrib/import_export/templates/{template}", context)
    assert_same_markup(ours, theirs)
    assert ("<a " in ours) is allowed


@pytest.mark.parametrize("agent", [MAC, OTHER])
@pytest.mark.parametrize("shown", [True, False])
def test_the_sidebars_search_box_is_unfolds(rf, agent, shown):
    request = rf.get("/admin/", HTTP_USER_AGENT=agent)
    context = {"sidebar_show_search": shown}
    ours = render_to_string("unfold/helpers/search.html", context, request)
    assert_same_markup(ours, unfolds("templates/unfold/helpers/search.html", context, request))
    assert ("keyboard_command_key" in ours) == (shown and agent == MAC)


def test_the_command_palettes_footer_is_unfolds():
    ours = render_to_string("unfold/helpers/command_help.html")
    assert_same_markup(ours, unfolds("templates/unfold/helpers/command_help.html", {}))
    assert ours.count("<kbd") == 4


def action_bar(form_class, choices) -> str:
    form = form_class(auto_id=None)
    form.fields["action"].choices = choices
    return "".join(str(field) for field in form)


def test_the_action_bar_renders_as_unfolds_for_each_set_of_actions():
    from unfold.forms import ActionForm as UnfoldActionForm

    from core.action_form import ActionForm

    everything = [("", "---------"), ("delete_selected", "Delete selected"), ("mark_shipped", "Mark shipped")]
    read_only = [("", "---------"), ("export", "Export selected")]
    for choices in (everything, read_only, everything, read_only):
        ours = action_bar(ActionForm, choices)
        assert ours == action_bar(UnfoldActionForm, choices)
        # One person's actions never show in another's bar, whoever's was rendered before.
        assert ("delete_selected" in ours) == (choices is everything)
        assert ("Export selected" in ours) == (choices is read_only)


@pytest.mark.parametrize(
    ("first_name", "last_name", "email"),
    [("", "", ""), ("Ada", "Lovelace", "ada@example.com"), ("", "", "x@y.z")],
)
def test_the_user_menu_is_unfolds(rf, django_user_model, db, first_name, last_name, email):
    user = django_user_model.objects.create_user(
        username="zed", first_name=first_name, last_name=last_name, email=email, is_staff=True
    )
    request = rf.get("/admin/", HTTP_USER_AGENT=OTHER)
    request.user = user
    context = {"extra_userlinks": ""}
    ours = render_to_string("unfold/helpers/navigation_user.html", context, request)
    theirs = unfolds("templates/unfold/helpers/navigation_user.html", context, request)
    assert_same_markup(ours, theirs)
    initial = "A" if first_name else "Z"  # of the full name, else of the username
    assert ("text", initial) in structure(ours)


@pytest.mark.parametrize("environment", [["Development", "info"], ["Production", "danger"], None])
def test_the_header_links_are_unfolds(rf, environment):
    request = rf.get("/admin/")
    context = {"environment": environment, "nav_global_side": "", "is_popup": False}
    ours = render_to_string("unfold/helpers/userlinks.html", context, request)
    assert_same_markup(ours, unfolds("templates/unfold/helpers/userlinks.html", context, request))
    assert (environment is None) == ("Development" not in ours and "Production" not in ours)


@pytest.mark.parametrize("is_dataset", [False, True])
@pytest.mark.parametrize("help_text", ["", "SKU or name"])
def test_the_lists_search_box_is_unfolds(is_dataset, help_text):
    changelist = SimpleNamespace(
        search_fields=["sku"],
        query='lamp "desk"',
        is_dataset=is_dataset,
        search_help_text=help_text,
        filter_params={"q": ["lamp"], "is_published__exact": ["1"], "category__id__in": ["3", "4"]},
    )
    context = {"cl": changelist, "search_var": "q"}
    ours = render_to_string("admin/search_form.html", context)
    assert_same_markup(ours, unfolds("templates/admin/search_form.html", context))
    assert ('id="searchbar"' in ours) is not is_dataset
