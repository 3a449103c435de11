"""A fresh worker renders the admin's pages before serving, and warming it writes nothing."""

import io
import logging

import pytest
from django.contrib import admin
from django.core.management import call_command

from backoffice.warmup import warm_up
from tests.backoffice.test_no_state_change_on_get import table_checksums

pytestmark = pytest.mark.django_db


def test_warming_up_renders_the_dashboard_and_every_list_and_changes_nothing(roles, caplog):
    call_command(
        "seed_demo", products=20, customers=5, orders=10, no_users=True, seed=2, stdout=io.StringIO()
    )
    before = table_checksums()
    with caplog.at_level(logging.WARNING, logger="backoffice.warmup"):
        timings = warm_up()
    failures = [r.getMessage() for r in caplog.records if r.name == "backoffice.warmup"]
    assert not failures
    lists = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert set(timings) == {"login page", "dashboard", *lists}
    assert table_checksums() == before


def test_a_page_that_fails_to_warm_is_logged_and_the_others_still_warm(roles, caplog, monkeypatch):
    from inventory.models import Product

    def broken(request, extra_context=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(admin.site._registry[Product], "changelist_view", broken)
    with caplog.at_level(logging.WARNING, logger="backoffice.warmup"):
        timings = warm_up()
    assert "inventory.product" in timings and "orders.order" in timings
    assert any("inventory.product" in r.getMessage() for r in caplog.records if r.name == "backoffice.warmup")


def test_the_login_page_warms_on_the_sites_own_host_without_an_error_logged(roles, caplog, settings):
    settings.ALLOWED_HOSTS = [".backoffice.example.com"]
    with caplog.at_level(logging.INFO):
        warm_up()
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
