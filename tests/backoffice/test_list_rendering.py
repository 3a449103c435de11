"""Lists render in Unfold's look at a cost that does not grow per row through the template engine: no
template rendered per row, no failed variable look-up per row, and badges and yes/no icons that are
Unfold's own markup. Around the rows, the page costs a known number of templates: the sidebar is
Unfold's markup without a template per item, and the filter panel's widgets are fetched when the
panel is first shown."""

import io
import logging
import re

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test.signals import template_rendered
from django.urls import reverse

from audit.models import AuditEntry
from core import cells
from inventory.models import Category, Product, StockMovement
from orders.models import Customer, Order, OrderItem
from tests.admin_helpers import query_count
from tests.backoffice.test_list_queries import changelist

pytestmark = pytest.mark.django_db

LISTS = [Category, Product, Customer, Order, OrderItem, AuditEntry, StockMovement]

# The queries of the main lists' first page: session and user, the tenant, the rows, the count (or
# its estimate) and what the columns and filters need. A new query per page shows up here first.
# The orders add their date hierarchy's first and last dates (one query: it was asked twice).
FIRST_PAGE_QUERIES = {Product: 5, Order: 6, Customer: 5}

# Templates rendered and failed variable look-ups of the main lists' first page (10 rows, the same as
# 30). The sidebar and the filter panel used to add about 100 templates and 130 failed look-ups to
# every page (a badge template per navigation item, keys the items don't have, the filters' widgets);
# Unfold's buttons, shortcut keys, avatar and action bar widgets another 34 templates and 60 look-ups.
# The two left are Unfold's tab list asking for tabs a list doesn't have.
PAGE_COST = {Product: (49, 2), Order: (49, 2), Customer: (45, 2)}


@pytest.fixture
def shop(settings):
    settings.DEBUG = True
    call_command(
        "seed_demo", products=60, customers=60, orders=60, no_users=True, seed=5, stdout=io.StringIO()
    )


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"


class FailedLookups(logging.Handler):
    """Counts the template engine's "Exception while resolving variable" debug records."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if record.msg.startswith("Exception while resolving variable"):
            self.count += 1


def render_cost(client, model, per_page) -> tuple[int, int]:
    """(templates rendered, failed variable look-ups) of one GET of the model's list."""
    model_admin = admin.site._registry[model]
    saved = model_admin.list_per_page
    model_admin.list_per_page = per_page
    handler, logger = FailedLookups(), logging.getLogger("django.template")
    rendered = []

    def count(sender, template, context, **kwargs):
        rendered.append(template.name)

    client.defaults.setdefault("HTTP_USER_AGENT", BROWSER)  # Unfold's pages ask which keyboard it has
    client.get(changelist(model))  # per-process caches warm
    saved_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    template_rendered.connect(count)
    try:
        response = client.get(changelist(model))
    finally:
        template_rendered.disconnect(count)
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
        model_admin.list_per_page = saved
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == per_page, "the list shows a full page"
    return len(rendered), handler.count


@pytest.mark.parametrize("model", LISTS, ids=[m._meta.model_name for m in LISTS])
def test_a_longer_page_renders_no_more_templates_and_fails_no_more_look_ups(
    client_for, superuser, shop, model
):
    client = client_for(superuser)
    templates_10, failed_10 = render_cost(client, model, 10)
    templates_30, failed_30 = render_cost(client, model, 30)
    assert templates_30 == templates_10, "a template is rendered per row"
    assert failed_30 == failed_10, "a variable look-up fails per row"


@pytest.mark.parametrize("model", list(PAGE_COST), ids=lambda m: m._meta.model_name)
def test_the_main_lists_render_a_known_number_of_templates_and_fail_a_known_number_of_look_ups(
    client_for, superuser, shop, model
):
    assert render_cost(client_for(superuser), model, 10) == PAGE_COST[model]


@pytest.mark.parametrize("model", list(FIRST_PAGE_QUERIES), ids=lambda m: m._meta.model_name)
def test_the_main_lists_run_a_known_number_of_queries(client_for, superuser, shop, model):
    assert query_count(client_for(superuser), changelist(model)) == FIRST_PAGE_QUERIES[model]


def classes(html: str) -> list[set[str]]:
    return [set(found.split()) for found in re.findall(r'class="([^"]*)"', html)]


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("variant", ["info", "danger", "warning", "success", "primary", None])
def test_a_badge_is_unfolds_label_markup(variant):
    theirs = render_to_string("unfold/helpers/label.html", {"type": variant, "text": "Low & <b>"})
    ours = cells.badge("Low & <b>", variant)
    assert classes(ours) == classes(theirs)
    assert words(ours) == words(theirs) == "Low &amp; &lt;b&gt;"


@pytest.mark.parametrize("value", [True, False, None])
def test_a_yes_no_icon_is_unfolds_boolean_markup(value):
    theirs = render_to_string("unfold/helpers/boolean.html", {"value": value})
    ours = cells.boolean_icon(value)
    assert classes(ours) == classes(theirs)
    assert words(ours) == words(theirs)
    assert re.search(r'title="([^"]*)"', ours).group(1) == re.search(r'title="([^"]*)"', theirs).group(1)


@pytest.mark.parametrize(
    ("value", "unfold_context"),
    [
        (("paid", "Paid"), {"label": "Paid", "label_type": "success"}),
        (("gone", "Gone"), {"label": "gone", "label_type": None}),  # no colour for the key
        ("new", {"label": "new", "label_type": "info"}),
        ("other", {"label": "other", "label_type": None}),
        ("", {"label": "", "label_type": None}),
        (None, {"label": None, "label_type": None}),
    ],
)
def test_badge_columns_show_what_unfolds_display_label_shows(value, unfold_context):
    theirs = render_to_string("unfold/helpers/display_label.html", {**unfold_context, "multiple": False})
    ours = str(cells.badges(value, {"paid": "success", "new": "info"}))
    assert classes(ours) == classes(theirs)
    assert words(ours) == words(theirs)


def test_a_list_of_values_is_a_badge_each():
    theirs = render_to_string("unfold/helpers/display_label.html", {"label": ["a", "b"], "multiple": True})
    ours = str(cells.badges(["a", "b"], True))
    assert classes(ours) == classes(theirs) and words(ours) == words(theirs) == "a b"


def test_the_product_list_shows_stock_and_publication_as_coloured_badges(client_for, superuser, shop):
    product = Product.objects.filter(is_published=True).order_by("name").first()
    page = client_for(superuser).get(changelist(Product), {"q": product.sku}).content.decode()
    assert str(cells.badge("Published", "success")) in page
    assert str(cells.boolean_icon(product.is_featured)) in page


@pytest.mark.parametrize("model", [Product, Order], ids=lambda m: m._meta.model_name)
def test_every_row_links_to_its_change_page(client_for, superuser, shop, model):
    response = client_for(superuser).get(changelist(model))
    page = response.content.decode()
    for obj in response.context["cl"].result_list:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        assert f'href="{url}"' in page
