"""Approvals in the admin: the product form holds a big price change and says so, the product's page
shows what waits, an approver approves or rejects on a page that says what will happen (by POST), the
requester finds the outcome in "My requests"."""

from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest
from inventory.models import Product
from tests.admin_helpers import has_message, messages_of

pytestmark = pytest.mark.django_db


def product_form(product, **changes):
    """The product's change form as the browser posts it (no images)."""
    data = {
        "name": product.name,
        "sku": product.sku,
        "category": product.category_id,
        "price": str(product.price),
        "slug": product.slug,
        "description": product.description,
        "is_published": "on" if product.is_published else "",
        "low_stock_threshold": product.low_stock_threshold,
        "metadata": "{}",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "movements-TOTAL_FORMS": "0",
        "movements-INITIAL_FORMS": "0",
        "movements-MIN_NUM_FORMS": "0",
        "movements-MAX_NUM_FORMS": "0",
        "_continue": "1",
        **changes,
    }
    return {key: value for key, value in data.items() if value != ""}


@pytest.fixture
def mug(make_product):
    return make_product(name="Blue mug", sku="MUG-1", price="10.00")


def change_url(product):
    return reverse("admin:inventory_product_change", args=[product.pk])


def test_the_product_form_asks_why_before_a_price_change_that_waits(client_for, ops_user, rule, mug):
    rule("price_change", 20)

    page = client_for(ops_user).post(change_url(mug), product_form(mug, price="15.00"))

    assert page.status_code == 200
    assert "This change waits for another person" in page.context["adminform"].form.errors["why"][0]
    assert Product.objects.get(pk=mug.pk).price == Decimal("10.00") and not ChangeRequest.objects.exists()


def test_the_product_form_holds_a_big_price_change_and_its_page_says_it_waits(
    client_for, ops_user, rule, mug
):
    rule("price_change", 20)
    client = client_for(ops_user)

    response = client.post(
        change_url(mug), product_form(mug, price="15.00", why="Supplier +50%"), follow=True
    )

    held = ChangeRequest.objects.get()
    assert has_message(response, "Waiting for approval: Edit of Blue mug (MUG-1): price 10.00 → 15.00")
    assert Product.objects.get(pk=mug.pk).price == Decimal("10.00")
    page = response.content.decode()
    assert 'id="change-requests"' in page and "Waiting for approval" in page and "Supplier +50%" in page
    assert held.get_admin_url() in page


def test_a_small_price_change_from_the_form_is_saved_with_its_reason(client_for, ops_user, rule, mug):
    rule("price_change", 20)

    client_for(ops_user).post(change_url(mug), product_form(mug, price="10.50", why="Rounding"))

    assert Product.objects.get(pk=mug.pk).price == Decimal("10.50")
    assert mug.history.first().history_change_reason == "Edited in the admin (price): Rounding"


def test_an_approver_approves_on_a_page_that_says_what_happens_and_the_requester_reads_the_outcome(
    client_for, ops_user, approver, rule, mug, client
):
    rule("price_change", 20)
    client_for(ops_user).post(change_url(mug), product_form(mug, price="15.00", why="Supplier +50%"))
    held = ChangeRequest.objects.get()
    approve = reverse("admin:approvals_changerequest_approve", args=[held.pk])

    client.force_login(approver)
    page = client.get(approve)
    assert page.status_code == 200 and "Approving makes this change now" in page.content.decode()
    assert ChangeRequest.objects.get().is_pending  # the page changed nothing
    done = client.post(approve, {"note": "Invoice checked"}, follow=True)

    assert has_message(done, "Approved and applied: Edit of Blue mug (MUG-1): price 10.00 → 15.00.")
    assert Product.objects.get(pk=mug.pk).price == Decimal("15.00")
    client.force_login(ops_user)
    mine = client.get(reverse("admin:approvals_changerequest_changelist"))
    assert mine.context["title"] == "My requests"
    assert [r.status for r in mine.context["cl"].result_list] == [ChangeRequest.Status.APPROVED]
    product_page = client.get(change_url(mug)).content.decode()
    assert "Approved and applied by bob" in product_page and "Invoice checked" in product_page


def test_the_requester_is_offered_no_approve_button_and_a_post_is_refused(
    client_for, ops_approver, rule, mug
):
    rule("price_change", 20)
    client = client_for(ops_approver)
    client.post(change_url(mug), product_form(mug, price="15.00", why="Mine"))
    held = ChangeRequest.objects.get()

    page = client.get(held.get_admin_url()).content.decode()
    approve = reverse("admin:approvals_changerequest_approve", args=[held.pk])

    assert approve not in page and reverse("admin:approvals_changerequest_withdraw", args=[held.pk]) in page
    assert client.post(approve).status_code == 403
    assert Product.objects.get(pk=mug.pk).price == Decimal("10.00")


def test_a_stale_request_shows_its_conflict_before_approval_and_approval_reports_it(
    client_for, ops_user, approver, rule, mug, client
):
    rule("price_change", 20)
    client_for(ops_user).post(change_url(mug), product_form(mug, price="15.00", why="Supplier"))
    held = ChangeRequest.objects.get()
    Product.objects.filter(pk=mug.pk).update(price=Decimal("12.00"))  # someone's change meanwhile
    approve = reverse("admin:approvals_changerequest_approve", args=[held.pk])

    client.force_login(approver)
    page = client.get(approve).content.decode()
    done = client.post(approve, follow=True)

    assert "price is now 12.00 (it was 10.00 when asked)" in page
    assert any("Not applied: its records changed" in m for m in messages_of(done))
    assert Product.objects.get(pk=mug.pk).price == Decimal("12.00")
    assert ChangeRequest.objects.get().status == ChangeRequest.Status.OUTDATED


def test_rejecting_needs_a_reason_and_changes_nothing(client_for, ops_user, approver, rule, mug, client):
    rule("price_change", 20)
    client_for(ops_user).post(change_url(mug), product_form(mug, price="15.00", why="Supplier"))
    held = ChangeRequest.objects.get()
    reject = reverse("admin:approvals_changerequest_reject", args=[held.pk])

    client.force_login(approver)
    refused = client.post(reject, {"note": ""}, follow=True)
    done = client.post(reject, {"note": "Too steep"}, follow=True)

    assert has_message(refused, "Say why you reject it")
    assert has_message(done, "Rejected: Edit of Blue mug (MUG-1): price 10.00 → 15.00. Nothing was changed.")
    assert ChangeRequest.objects.get().status == ChangeRequest.Status.REJECTED
    assert Product.objects.get(pk=mug.pk).price == Decimal("10.00")


def test_people_see_their_own_requests_and_approvers_and_auditors_see_every_request(
    client_for, ops_user, support_user, approver, auditor, rule, mug, client
):
    rule("price_change", 20)
    client_for(ops_user).post(change_url(mug), product_form(mug, price="15.00", why="Supplier"))
    changelist = reverse("admin:approvals_changerequest_changelist")

    def listed(user):
        client.force_login(user)
        return len(client.get(changelist).context["cl"].result_list)

    assert listed(ops_user) == 1 and listed(support_user) == 0
    assert listed(approver) == 1 and listed(auditor) == 1
    client.force_login(support_user)  # another person's request in the same shop: refused
    assert client.get(ChangeRequest.objects.get().get_admin_url()).status_code == 403


def test_only_superusers_set_the_rules_and_others_read_them(client_for, superuser, ops_user, auditor):
    add = reverse("admin:approvals_approvalrule_add")

    assert client_for(ops_user).post(add, {"kind": "price_change", "threshold": "20"}).status_code == 403
    client_for(superuser).post(add, {"kind": "price_change", "threshold": "20", "is_active": "on"})

    from approvals.models import ApprovalRule

    rule = ApprovalRule.objects.get()
    assert str(rule) == "price changes of more than 20 % of the old price"
    listing = client_for(auditor).get(reverse("admin:approvals_approvalrule_changelist"))
    assert listing.status_code == 200 and "price changes of more than 20 %" in listing.content.decode()
    assert rule.history.first().history_user == superuser
