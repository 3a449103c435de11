"""Every admin's main pages as each role sees them, in light and dark mode, wide and on a phone: no
console error or CSP violation, no serious or critical axe-core violation, nothing scrolling sideways,
the breadcrumb's last item readable and highlighted rows readable. Screenshots of each page go to
tests/artifacts/tour/<role>/<mode>-<width>/ for people to look at.

One server and one browser per role, one page per layout; a page answering 403 to a role isn't the
role's page (the role matrix tests who may open what) and is checked once, as the styled 403 page."""

import os
from pathlib import Path

import axe_playwright_python
import pytest

from .conftest import log_in_at
from .pages import (
    FAILING_IMPACTS,
    LAYOUT_PROBLEMS,
    RECORD_CSP_VIOLATIONS,
    build_shop,
    screenshot_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYOUTS = [
    ("light", 1440, 900),
    ("dark", 390, 844),
    ("dark", 1440, 900),
    ("light", 390, 844),
]
# The superuser sees every page in every layout; the other roles see their pages (the same pages with
# fewer menu items and buttons) in the first two, light and wide then dark on a phone, which keeps the
# tour's run time for CI reasonable.
LAYOUTS_PER_ROLE = {"superuser": 4, "operations": 2, "support": 2, "auditor": 2}
ROLES = {
    "superuser": ("boss", "superuser"),
    "operations": ("olivia", "ops_user"),
    "support": ("sam", "support_user"),
    "auditor": ("ada", "auditor"),
}
# axe-core as the package ships it, loaded into every page of the tour (nothing is downloaded).
AXE_SCRIPT = Path(axe_playwright_python.__file__).with_name("axe.min.js")


# Contrast and scrolling regions depend on the mode and the width; the other rules read the page's
# structure, the same in every layout: they run once per page, in the first layout.
LAYOUT_RULES = {"runOnly": {"type": "rule", "values": ["color-contrast", "scrollable-region-focusable"]}}


def page_problems(page, *, every_rule: bool) -> list[str]:
    problems = [f"console: {text}" for text in page.console_errors]
    problems += [f"CSP: {text}" for text in page.evaluate("window.__cspViolations || []")]
    options = {"resultTypes": ["violations"], **({} if every_rule else LAYOUT_RULES)}
    results = page.evaluate("options => axe.run(document, options)", options)
    for violation in results["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            problems.append(
                f"axe {violation['impact']}: {violation['id']} ({violation['help']}) at {targets}"
            )
    problems += page.evaluate(LAYOUT_PROBLEMS)
    return problems


def console_error(page, message):
    # A resource that failed is reported by failed_resource (with its address), not by its console line.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        page.console_errors.append(message.text)


def failed_resource(page, response):
    if response.status >= 400 and response.request.resource_type != "document":
        page.console_errors.append(f"{response.status} for {response.url}")


@pytest.mark.parametrize("role", list(ROLES))
def test_every_main_page_reads_well(role, request, browser, production_server, ops_user):
    username, fixture = ROLES[role]
    request.getfixturevalue(fixture)
    shop = build_shop()
    shop.pop("_ids")
    if os.environ.get("TOUR_PAGES"):  # a few pages only, while working on them
        shop = {name: path for name, path in shop.items() if name in os.environ["TOUR_PAGES"].split(",")}

    found = {}
    storage = None
    for mode, width, height in LAYOUTS[: LAYOUTS_PER_ROLE[role]]:
        layout = f"{mode}-{width}"
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=mode, storage_state=storage
        )
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        context.add_init_script(path=AXE_SCRIPT)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg, page=page: console_error(page, msg))
        page.on("response", lambda response, page=page: failed_resource(page, response))
        page.on("pageerror", lambda error, page=page: page.console_errors.append(str(error)))
        if storage is None:
            log_in_at(page, production_server, username, "pw-" + username)
            storage = context.storage_state()
        forbidden_seen = False
        for name, path in shop.items():
            page.console_errors.clear()
            response = page.goto(production_server + path, wait_until="load")
            if response.status == 403:  # the role's styled 403 page, checked once
                if forbidden_seen:
                    continue
                name, forbidden_seen = "forbidden", True
            problems = page_problems(page, every_rule=layout == "light-1440")
            page.screenshot(path=str(screenshot_path(role, layout, name)), full_page=True)
            if problems:
                found[f"{layout} {name} ({path})"] = problems
        context.close()

    report = "\n".join(f"{where}:\n  " + "\n  ".join(problems) for where, problems in found.items())
    assert not found, f"{role}:\n{report}"
