"""An undo of more records than the shop's rule (or every undo, at 0) waits for a second person; once
approved it runs as it would have, under its own locks and conflict check."""

import html

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest
from approvals.services import ChangeConflict, change_request_approve
from audit.models import ChangeSet
from audit.undo import change_set_undo
from inventory.models import Product
from inventory.services import product_set_flag, product_update
from tests.admin_helpers import has_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(make_product, ops_user):
    drafts = [make_product(published=False, name=f"Lamp {i}") for i in range(3)]
    return product_set_flag(products=drafts, flag="publish", user=ops_user), drafts


def test_an_undo_of_no_more_records_than_the_rule_runs_at_once(rule, published, ops_user):
    change_set, _ = published
    rule("undo", 3)

    undo = change_set_undo(change_set=change_set, user=ops_user)

    assert isinstance(undo, ChangeSet) and not Product.objects.filter(is_published=True).exists()


def test_every_undo_waits_at_zero_and_runs_once_approved_with_both_names(
    rule, published, ops_user, approver, client_for
):
    change_set, _ = published
    rule("undo", 0)
    client = client_for(ops_user)
    undo_url = reverse("admin:audit_changeset_undo", args=[change_set.pk])

    page = html.unescape(client.get(undo_url).content.decode())
    response = client.post(undo_url, {"choice": "undo", "why": "Published too early"}, follow=True)

    assert "an undo of 3 record(s); the shop's rule: every undo" in page and 'id="undo-why"' in page
    assert has_message(response, "Waiting for approval: Undo of Bulk publish")
    assert Product.objects.filter(is_published=True).count() == 3
    held = ChangeRequest.objects.get()
    assert held.row_count == 3 and {c["field"] for c in held.changes} == {"published"}
    assert 'id="change-requests"' in response.content.decode()  # on the change set's page

    done = change_request_approve(change_request=held, user=approver)

    assert not Product.objects.filter(is_published=True).exists()
    assert done.change_set.kind == ChangeSet.Kind.UNDO and done.change_set.undoes == change_set
    assert (
        done.change_set.title == f"Undo of Bulk publish; asked by olivia, approved by bob (request {held.pk})"
    )


def test_an_undo_that_waits_needs_a_reason(rule, published, ops_user, client_for):
    change_set, _ = published
    rule("undo", 0)

    response = client_for(ops_user).post(
        reverse("admin:audit_changeset_undo", args=[change_set.pk]), {"choice": "undo"}, follow=True
    )

    assert has_message(response, "say why you make it")
    assert not ChangeRequest.objects.exists() and Product.objects.filter(is_published=True).count() == 3


def test_an_approved_undo_whose_records_changed_meanwhile_reports_the_conflict(
    rule, published, ops_user, approver
):
    change_set, drafts = published
    rule("undo", 0)
    held = change_set_undo(change_set=change_set, user=ops_user, why="Too early")
    lamp = Product.objects.get(pk=drafts[0].pk)
    product_update(product=lamp, data={"name": "Renamed lamp"}, user=approver, reason="Meanwhile")

    with pytest.raises(ChangeConflict, match="Renamed lamp"):
        change_request_approve(change_request=held, user=approver)

    assert Product.objects.filter(is_published=True).count() == 3
    assert not change_set.undone_by.exists()
    assert ChangeRequest.objects.get().status == ChangeRequest.Status.OUTDATED
