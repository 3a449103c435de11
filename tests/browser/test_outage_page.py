"""What staff see while the database is away: the outage page in the admin's look, in Chromium, with
the Content Security Policy on (no inline script for it to block) and the page's assets loading."""

import socket
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import loadclient  # noqa: E402 - the load benchmark's gunicorn helper


@pytest.fixture
def server_without_database(production_env, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on: connections refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **production_env,
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/nothing",
        "WEB_CONCURRENCY": "1",
    }
    server = loadclient.Gunicorn(env, tmp_path / "gunicorn.log").start(healthy=False)
    yield server
    server.stop()


def test_staff_see_the_outage_page_in_the_admins_look(page, server_without_database):
    response = page.goto(server_without_database.url + "/admin/orders/order/?q=ORD-000042")

    assert response.status == 503
    assert response.headers["retry-after"] == "5"
    expect(page.locator("#database-unavailable")).to_contain_text("The database isn't answering")
    expect(page).to_have_title("Temporarily unavailable | Backoffice")
    # Unfold's stylesheet is applied (its primary colour on the button), the fonts and scripts load.
    button = page.get_by_role("link", name="Try again")
    expect(button).to_have_attribute("href", "/admin/orders/order/?q=ORD-000042")
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") not in ("", "rgba(0, 0, 0, 0)")
    refused = [e for e in page.console_errors if "status of 503" not in e]
    assert refused == []  # no script or style blocked by the CSP, no asset missing
