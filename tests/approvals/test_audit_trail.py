"""Requests, approvals and rejections are audit entries like any other: in the log (the request's own
history), sealed in the trail, and the auditor filters the log by who approved a change."""

from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest
from approvals.services import change_request_approve, change_request_reject
from audit.models import AuditEntry, AuditSeal
from audit.sealing import seal_tenant, trail_verify
from core.tenancy import current_tenant
from inventory.services import product_update
from tests.backoffice.test_no_state_change_on_get import table_checksums

pytestmark = pytest.mark.django_db
AUDIT_LOG = reverse("admin:audit_auditentry_changelist")


@pytest.fixture
def decided(rule, make_product, ops_user, approver):
    """Two price changes held by the rule: one approved by bob, one rejected by him."""
    rule("price_change", 20)
    mug = make_product(name="Blue mug", sku="MUG-1", price="10.00")
    lamp = make_product(name="Lamp", sku="LAMP-1", price="50.00")
    raised = product_update(
        product=mug, data={"price": Decimal("20.00")}, user=ops_user, reason="E", why="Supplier"
    )
    cut = product_update(
        product=lamp, data={"price": Decimal("5.00")}, user=ops_user, reason="E", why="Clearance"
    )
    change_request_approve(change_request=raised, user=approver)
    change_request_reject(change_request=cut, user=approver, note="Not below cost")
    return ChangeRequest.objects.get(pk=raised.pk), ChangeRequest.objects.get(pk=cut.pk)


def request_entries(change_request):
    return list(
        AuditEntry.objects.filter(content_type__model="changerequest", object_id=str(change_request.pk))
        .order_by("id")
        .values_list("user__username", "reason")
    )


def test_asking_approving_and_rejecting_are_entries_of_the_log_with_who_did_it(decided):
    raised, cut = decided

    assert request_entries(raised) == [("olivia", "Asked for approval: Supplier"), ("bob", "Approved by bob")]
    assert request_entries(cut) == [
        ("olivia", "Asked for approval: Clearance"),
        ("bob", "Rejected by bob: Not below cost"),
    ]
    history = ChangeRequest.objects.get(pk=cut.pk).history.order_by("history_id")
    assert [row.status for row in history] == ["pending", "rejected"]


def test_they_are_sealed_in_the_trail_which_verifies(decided):
    raised, _ = decided

    seal_tenant(current_tenant())

    sealed = {entry_id for seal in AuditSeal.objects.all() for entry_id in seal.entry_ids}
    ids = set(AuditEntry.objects.filter(content_type__model="changerequest").values_list("id", flat=True))
    assert raised.change_set is not None
    ids |= set(AuditEntry.objects.filter(change_set=raised.change_set).values_list("id", flat=True))
    assert ids <= sealed and len(ids) == 5
    assert trail_verify(current_tenant()).ok


def test_the_auditor_filters_the_log_by_who_approved_and_reads_both_names(
    decided, client_for, auditor, approver
):
    raised, _ = decided
    client = client_for(auditor)

    before = table_checksums()
    page = client.get(AUDIT_LOG, {"approved_by": approver.pk})
    assert table_checksums() == before

    entries = list(page.context["cl"].result_list)
    assert [(e.object_repr, e.user.username) for e in entries] == [("Blue mug (MUG-1)", "olivia")]
    assert entries[0].reason.endswith(f"; asked by olivia, approved by bob (request {raised.pk})")
    assert "approved by" in page.content.decode()  # the filter is offered
    assert client.get(AUDIT_LOG, {"approved_by": "x"}).status_code == 200  # a bad value filters nothing
