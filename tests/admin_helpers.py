"""Helpers for tests that drive the admin through the test client."""

import re
from html import unescape
from html.parser import HTMLParser

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


class _FormFields(HTMLParser):
    """The fields a browser would submit from one form of a page (no JavaScript run)."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._options = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.fields.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = [value for value, selected in self._options if selected] or [
                value for value, _ in self._options[:1]
            ]
            self.fields += [(self._select, value) for value in chosen]
            self._select = None


def form_data(response, **changes) -> dict:
    """What a browser would post back from the change form on ``response`` (its hidden fields and
    the values shown), with ``changes`` (field name -> value; None leaves a checkbox unticked)."""
    opts = response.context["opts"]
    parser = _FormFields(f"{opts.model_name}_form")
    parser.feed(response.content.decode())
    data: dict = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    data = {name: values[0] if len(values) == 1 else values for name, values in data.items()}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def staff_client(username: str, *, first_name: str = "", role: str | None = None, perms=()):
    """A logged-in test client of a new staff member (``role`` a group name, ``perms`` extra
    permissions as "app.codename")."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.test import Client

    user = get_user_model().objects.create_user(
        username=username, password="pw-" + username, first_name=first_name, is_staff=True
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    for perm in perms:
        app_label, codename = perm.split(".")
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        user.user_permissions.add(permission)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


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
