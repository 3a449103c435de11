"""Helpers for tests that drive the admin through the test client."""

import re
from html import unescape

from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import strip_tags


def query_count(client, url, *, model=None, per_page=None) -> int:
    """How many queries one GET of ``url`` runs (optionally with the model's list page size set)."""
    model_admin = admin.site._registry[model] if model else None
    saved = model_admin.list_per_page if model_admin else None
    if model_admin and per_page:
        model_admin.list_per_page = per_page
    try:
        client.get(url)  # warm the per-process caches (tenant, content types): count steady state
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
    finally:
        if model_admin:
            model_admin.list_per_page = saved
    return len(captured)


def messages_of(response) -> list[str]:
    """The messages shown on the page, as text (links stripped)."""
    return [strip_tags(str(m)) for m in response.context["messages"]] if response.context else []


def has_message(response, text: str) -> bool:
    return any(text in message for message in messages_of(response))


def action(client, url, name, objects, host=None, confirm=True, **extra):
    """POST a list action on ``objects``, as the list's form does (``host`` selects the shop). Actions
    that write first show what they will do; with ``confirm`` (the default) that page is confirmed,
    as a person does by pressing its button."""
    headers = {"HTTP_HOST": host} if host else {}
    data = {"action": name, "_selected_action": [str(o.pk) for o in objects], **extra}
    response = client.post(url, data, follow=True, **headers)
    if confirm and shows_confirmation(response):
        response = client.post(url, {**data, "confirm": "yes"}, follow=True, **headers)
    return response


def shows_confirmation(response) -> bool:
    return any(t.name == "admin/confirm_action.html" for t in response.templates)


def page_text(response) -> str:
    """The page's words, as a person reads them (no tags, single spaces)."""
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


def dialog_confirmation(client, url) -> tuple[str, dict]:
    """GET an action's dialog: (what it says it will do, as text; the form data its confirm button
    posts, with the fingerprint of what was shown)."""
    page = client.get(url)
    assert page.status_code == 200
    seen = re.search(r'name="seen" value="([^"]*)"', page.content.decode())
    data = {"_form_submitted": "on"}
    if seen:
        data["seen"] = unescape(seen.group(1))
    return page_text(page), data
