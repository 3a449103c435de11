"""A price change above the shop's percentage waits for a second person; below it applies at once."""

from decimal import Decimal

import pytest

from approvals.gate import ReasonRequired
from approvals.models import ChangeRequest
from approvals.services import ChangeConflict, DecisionRefused, change_request_approve, change_request_reject
from audit.models import AuditEntry, ChangeSet
from inventory.models import Product
from inventory.services import product_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug(make_product):
    return make_product(name="Blue mug", sku="MUG-1", price="10.00")


def price_of(product) -> Decimal:
    return Product.objects.get(pk=product.pk).price


def test_a_price_change_below_the_rule_applies_at_once(rule, mug, ops_user):
    rule("price_change", 20)

    result = product_update(product=mug, data={"price": Decimal("11.50")}, user=ops_user, reason="Edited")

    assert result == mug and price_of(mug) == Decimal("11.50")
    assert not ChangeRequest.objects.exists()


def test_a_price_change_above_the_rule_waits_and_changes_nothing(rule, mug, ops_user):
    rule("price_change", 20)

    held = product_update(
        product=mug, data={"price": Decimal("15.00")}, user=ops_user, reason="Edited", why="Supplier +50%"
    )

    assert isinstance(held, ChangeRequest) and held.status == ChangeRequest.Status.PENDING
    assert price_of(mug) == Decimal("10.00")
    assert held.requested_by == ops_user and held.reason == "Supplier +50%"
    assert held.changes == [{"record": "Blue mug (MUG-1)", "field": "price", "old": "10.00", "new": "15.00"}]
    assert held.rules[0]["text"].startswith("a price change of 50 % (10.00 → 15.00)")
    # The request itself is in the audit log, as the requester's.
    entry = AuditEntry.objects.get(object_id=str(held.pk), content_type__model="changerequest")
    assert entry.user == ops_user and entry.reason == "Asked for approval: Supplier +50%"


def test_a_change_that_waits_needs_a_reason_and_writes_nothing_without_one(rule, mug, ops_user):
    rule("price_change", 20)

    with pytest.raises(ReasonRequired, match="say why"):
        product_update(product=mug, data={"price": Decimal("30.00")}, user=ops_user, reason="Edited")

    assert price_of(mug) == Decimal("10.00") and not ChangeRequest.objects.exists()


def test_an_inactive_rule_holds_nothing(rule, mug, ops_user):
    rule("price_change", 20, active=False)

    product_update(product=mug, data={"price": Decimal("30.00")}, user=ops_user, reason="Edited")

    assert price_of(mug) == Decimal("30.00")


def test_the_requester_cannot_approve_their_own_change_even_as_an_approver(rule, mug, ops_approver):
    rule("price_change", 20)
    held = product_update(
        product=mug, data={"price": Decimal("15.00")}, user=ops_approver, reason="Edited", why="New supplier"
    )

    with pytest.raises(DecisionRefused, match="someone else"):
        change_request_approve(change_request=held, user=ops_approver)

    assert price_of(mug) == Decimal("10.00")
    assert ChangeRequest.objects.get(pk=held.pk).status == ChangeRequest.Status.PENDING


def test_someone_without_the_approve_permission_cannot_approve(rule, mug, ops_user, support_user):
    rule("price_change", 20)
    held = product_update(product=mug, data={"price": Decimal("15")}, user=ops_user, reason="E", why="Why")

    with pytest.raises(DecisionRefused, match="may not approve"):
        change_request_approve(change_request=held, user=support_user)

    assert price_of(mug) == Decimal("10.00")


def test_approval_by_another_person_applies_it_and_both_names_are_on_the_change(
    rule, mug, ops_user, approver
):
    rule("price_change", 20)
    held = product_update(
        product=mug,
        data={"price": Decimal("15.00")},
        user=ops_user,
        reason="Edited in the admin (price)",
        why="Supplier +50%",
    )

    done = change_request_approve(change_request=held, user=approver, note="Checked the invoice")

    assert price_of(mug) == Decimal("15.00")
    assert done.status == ChangeRequest.Status.APPROVED and done.decided_by == approver
    latest = mug.history.first()
    assert latest.history_user == ops_user
    assert latest.history_change_reason == (
        f"Edited in the admin (price); asked by olivia, approved by bob (request {held.pk})"
    )
    # Recorded as one "approved change", which the audit log finds by who approved it.
    assert done.change_set.kind == ChangeSet.Kind.APPROVED and done.change_set.row_count == 1
    entry = AuditEntry.objects.get(change_set=done.change_set)
    assert entry.user == ops_user and "approved by bob" in entry.reason
    decision = AuditEntry.objects.filter(object_id=str(held.pk), content_type__model="changerequest").first()
    assert decision.user == approver and decision.reason == "Approved by bob: Checked the invoice"


def test_approving_a_stale_request_reports_the_conflict_and_changes_nothing(rule, mug, ops_user, approver):
    rule("price_change", 20)
    held = product_update(product=mug, data={"price": Decimal("15.00")}, user=ops_user, reason="E", why="W")
    product_update(product=mug, data={"price": Decimal("11.00")}, user=approver, reason="Meanwhile")

    with pytest.raises(ChangeConflict, match=r"price is now 11.00 \(it was 10.00 when asked\)"):
        change_request_approve(change_request=held, user=approver)

    assert price_of(mug) == Decimal("11.00")
    closed = ChangeRequest.objects.get(pk=held.pk)
    assert closed.status == ChangeRequest.Status.OUTDATED and "price is now 11.00" in closed.outcome
    assert not ChangeSet.objects.filter(kind=ChangeSet.Kind.APPROVED).exists()


def test_rejection_leaves_everything_as_it_was_and_says_why(rule, mug, ops_user, approver):
    rule("price_change", 20)
    held = product_update(product=mug, data={"price": Decimal("15.00")}, user=ops_user, reason="E", why="W")
    before = mug.history.count()

    with pytest.raises(DecisionRefused, match="Say why"):
        change_request_reject(change_request=held, user=approver, note=" ")
    done = change_request_reject(change_request=held, user=approver, note="Too steep for our customers")

    assert price_of(mug) == Decimal("10.00") and mug.history.count() == before
    assert (
        done.status == ChangeRequest.Status.REJECTED and done.decision_note == "Too steep for our customers"
    )
    with pytest.raises(DecisionRefused, match="decided already"):
        change_request_approve(change_request=held, user=approver)
