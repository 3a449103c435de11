"""Four eyes, in a real browser: operations changes a price by 50 %, the shop's rule holds it, a second
person approves it, and the auditor finds both names on the change in the audit log."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalRule, ChangeRequest
from approvals.services import approval_rule_create
from inventory.models import Product
from tests.browser.conftest import ARTIFACTS, log_in_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def as_user(browser, server, username):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    return log_in_at(page, server, username, f"pw-{username}")


def test_a_price_change_by_half_waits_for_a_second_person_and_the_auditor_sees_both_names(
    browser, production_server, ops_user, approver, auditor, superuser, make_product
):
    approval_rule_create(approvalrule=ApprovalRule(kind="price_change", threshold=20), user=superuser)
    lamp = make_product(name="Brass lamp", sku="LAMP-50", price="40.00")

    # Operations raises the price by 50 %: the page asks why, then says it waits for approval.
    olivia = as_user(browser, production_server, "olivia")
    olivia.goto(f"{production_server}/admin/inventory/product/{lamp.pk}/change/")
    olivia.fill("input[name=price]", "60.00")
    olivia.fill("input[name=why]", "The supplier raised its price by half")
    olivia.locator("button[name=_continue]").click()
    expect(olivia.locator("body")).to_contain_text("Waiting for approval: Edit of Brass lamp (LAMP-50)")
    expect(olivia.locator("#change-requests")).to_contain_text("Waiting for approval")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("40.00")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    olivia.screenshot(path=str(ARTIFACTS / "approvals-waiting.png"), full_page=True)
    held = ChangeRequest.objects.get()

    # Bob, an approver, finds it among the change requests, reads it and approves it.
    bob = as_user(browser, production_server, "bob")
    bob.goto(f"{production_server}/admin/approvals/changerequest/")
    bob.get_by_role("link", name="Edit of Brass lamp (LAMP-50): price 40.00 → 60.00").click()
    expect(bob.locator("#request-changes")).to_contain_text("60.00")
    bob.get_by_role("link", name="Approve…").click()
    expect(bob.locator("#decision-effects")).to_contain_text("Approving makes this change now")
    bob.screenshot(path=str(ARTIFACTS / "approvals-approve.png"), full_page=True)
    assert ChangeRequest.objects.get().is_pending  # the page alone changes nothing
    bob.fill("#decision-note", "Matches the supplier's invoice")
    bob.get_by_role("button", name="Approve and apply").click()
    expect(bob.locator("body")).to_contain_text("Approved and applied")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("60.00")

    # Olivia sees the outcome on the product's page.
    olivia.reload()
    expect(olivia.locator("#change-requests")).to_contain_text("Approved and applied by bob")

    # The auditor filters the audit log by who approved: the change is Olivia's, approved by Bob.
    ada = as_user(browser, production_server, "ada")
    ada.goto(f"{production_server}/admin/audit/auditentry/?approved_by={approver.pk}")
    rows = ada.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("olivia")
    ada.screenshot(path=str(ARTIFACTS / "approvals-audit-log.png"), full_page=True)
    expect(rows.first).to_contain_text(f"asked by olivia, approved by bob (request {held.pk})")
    rows.first.locator("a").first.click()
    expect(ada.locator("body")).to_contain_text("60.00")
