"""The list's filter panel in Chromium: fetched when opened, its widgets work as Unfold's (radio buttons,
the category drop-down with a search box, calendars by the dates), and Apply filters the list."""

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, log_in_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_filter_panel_loads_when_opened_and_filters_the_list(
    page, production_server, ops_user, make_product, make_category
):
    make_product(name="Draft lamp", published=False, category=make_category("Lamps"))
    make_product(name="Live lamp", published=True)
    panel_requests = []
    page.on("request", lambda request: "/filters/" in request.url and panel_requests.append(request.url))
    log_in_at(page, production_server, "olivia", "pw-olivia")
    page.goto(production_server + "/admin/inventory/product/?q=lamp")

    expect(page.locator("#result_list")).to_contain_text("Live lamp")
    page.wait_for_timeout(300)
    assert panel_requests == [], "a closed panel is not fetched"

    page.locator(".filter-open-button").click()
    panel = page.locator("#changelist-filter")
    published = panel.locator("input[name=is_published__exact][value='0']")
    expect(published).to_be_visible()
    assert len(panel_requests) == 1 and "q=lamp" in panel_requests[0]
    expect(panel.locator(".select2-container")).to_have_count(1)  # the category drop-down's search box
    expect(panel.locator(".datetimeshortcuts")).to_have_count(2)  # a calendar by each date
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "filter-panel-open.png"))
    panel.locator("label[for=id_is_published__exact_2]").click()
    panel.get_by_role("button", name="Apply Filters").click()

    page.wait_for_url("**is_published__exact=0**")
    assert "q=lamp" in page.url, "the search is kept"
    expect(page.locator("#result_list")).to_contain_text("Draft lamp")
    expect(page.locator("#result_list")).not_to_contain_text("Live lamp")
    expect(page.locator("#filter-chips")).to_contain_text("Published: No", ignore_case=True)
    assert page.console_errors == []


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_the_opened_panel_reads_well(browser, production_server, ops_user, make_product, mode):
    from .test_every_page import AXE_SCRIPT, RECORD_CSP_VIOLATIONS, page_problems

    make_product(name="Live lamp", published=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=mode)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    context.add_init_script(path=AXE_SCRIPT)
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    log_in_at(page, production_server, "olivia", "pw-olivia")
    page.goto(production_server + "/admin/inventory/product/?is_featured__exact=0")
    page.locator(".filter-open-button").click()
    expect(page.locator("#changelist-filter .select2-container")).to_have_count(1)
    page.wait_for_timeout(300)  # the panel's transition
    assert page_problems(page, every_rule=True) == []
    context.close()
