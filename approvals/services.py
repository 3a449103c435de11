"""Deciding change requests: approve (the change is made, through the service that held it, if its
records still are as they were when asked), reject with a reason, or withdraw one's own. And the
shop's rules, which only superusers set."""

from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from audit.models import ChangeSet
from audit.recording import change_set_recording, delete_with_reason, reasons_noted, save_with_reason
from core.exceptions import DomainError

from . import registry
from .gate import applying
from .models import ApprovalRule, ChangeRequest
from .values import drift

APPROVE_PERMISSION = "approvals.approve_changerequest"
NOTE_LENGTH = 500


class DecisionRefused(DomainError):
    pass


class ChangeConflict(DomainError):
    """The records changed since the request was made: it can't be applied as it was decided."""


def approval_note(change_request: ChangeRequest, approver) -> str:
    """What ends every reason the applied change writes: both names, and the request."""
    asked = change_request.requested_by.get_username() if change_request.requested_by else "the system"
    return f"; asked by {asked}, approved by {approver.get_username()} (request {change_request.pk})"


def change_request_decision_refusal(change_request: ChangeRequest, user) -> str | None:
    """Why ``user`` may not approve or reject it, in a sentence; None when they may."""
    if not user.has_perm(APPROVE_PERMISSION):
        return "You may not approve or reject change requests."
    if change_request.requested_by_id is not None and change_request.requested_by_id == user.pk:
        return "You asked for this change: someone else approves or rejects it (four eyes)."
    if not change_request.is_pending:
        return f"This request was decided already: {change_request.get_status_display().lower()}."
    return None


def _locked(change_request: ChangeRequest, user) -> ChangeRequest:
    """The request, row-locked (one decision at a time), if ``user`` may still decide it."""
    locked = ChangeRequest.objects.select_for_update().filter(pk=change_request.pk).first()
    if locked is None:
        raise DecisionRefused("This change request no longer exists.")
    refusal = change_request_decision_refusal(locked, user)
    if refusal:
        raise DecisionRefused(refusal)
    return locked


def change_request_conflicts(change_request: ChangeRequest, *, lock: bool = False) -> list[str]:
    """What changed since the request was made, among the values it was decided on."""
    if not change_request.expected or change_request.content_type_id is None:
        return []
    return drift(change_request.content_type.model_class(), change_request.expected, lock=lock)


def change_request_approve(*, change_request: ChangeRequest, user, note: str = "") -> ChangeRequest:
    """Approve and apply it, all or nothing. Its records are locked and compared with the values it
    was decided on; if any changed since (or its service refuses it now) nothing is changed, the
    request is closed as not applied with the reason, and ``ChangeConflict`` says why."""
    note = " ".join((note or "").split())[:NOTE_LENGTH]
    if registry.operation(change_request.operation).outside_transaction:
        return _approve_then_apply(change_request, user, note)
    with _closed_unless_applied(change_request, user), transaction.atomic():
        request = _locked_unchanged(change_request, user)
        with applying(request), reasons_noted(approval_note(request, user)):
            change_set = _apply(request, registry.operation(request.operation))
        _decided(request, user, note, change_set=change_set, outcome=_applied(change_set))
    return request


def _approve_then_apply(change_request: ChangeRequest, user, note: str) -> ChangeRequest:
    """An operation that calls an outside service: the decision is checked (records locked and
    compared) and committed first, so a second approval can't start it again; the change is then
    made by its service, outside any transaction. A refusal then closes the request as approved but
    refused when applied, and ``ChangeConflict`` says why."""
    with _closed_unless_applied(change_request, user), transaction.atomic():
        request = _locked_unchanged(change_request, user)
        _decided(request, user, note, change_set=None, outcome="Approved: being applied.")
    try:
        with applying(request), reasons_noted(approval_note(request, user)):
            change_set = _apply(request, registry.operation(request.operation))
    except DomainError as error:
        # Refused by its service (the provider declined a refund): what it did do, if anything, is in
        # the change set the error carries.
        request.status = ChangeRequest.Status.FAILED
        request.change_set = getattr(error, "change_set", None)
        request.outcome = f"Approved, but refused when applied: {error}"
        save_with_reason(request, reason=request.outcome[:255], user=user)
        _not_applied(request)
        raise ChangeConflict(request.outcome) from error
    request.change_set, request.outcome = change_set, _applied(change_set)
    save_with_reason(request, reason="Applied", user=user)
    return request


@contextmanager
def _closed_unless_applied(change_request: ChangeRequest, user):
    """Around the approval's transaction: when its records changed, or its service refused it, the
    attempt is rolled back and the request closed as not applied, saying why."""
    try:
        yield
    except DecisionRefused:
        raise
    except DomainError as error:
        why = f"Not applied: {error}"
        _close_not_applied(change_request, user, why)
        raise ChangeConflict(why) from error


def _locked_unchanged(change_request: ChangeRequest, user) -> ChangeRequest:
    """The request, locked, if ``user`` may decide it and its records still hold what it was asked on."""
    request = _locked(change_request, user)
    conflicts = change_request_conflicts(request, lock=True)
    if conflicts:
        more = f" And {len(conflicts) - 10} more." if len(conflicts) > 10 else ""
        raise ChangeConflict(f"its records changed since it was asked: {'; '.join(conflicts[:10])}.{more}")
    return request


def _decided(request: ChangeRequest, user, note: str, *, change_set, outcome: str) -> None:
    request.status = ChangeRequest.Status.APPROVED
    request.decided_by, request.decided_at = user, timezone.now()
    request.decision_note, request.change_set, request.outcome = note, change_set, outcome
    save_with_reason(request, reason=f"Approved by {user.get_username()}{_colon(note)}", user=user)


def _applied(change_set) -> str:
    return f"Applied ({change_set.row_count} record(s) changed)." if change_set else "Applied."


def _apply(request: ChangeRequest, operation) -> ChangeSet | None:
    if operation.own_change_set:
        return operation.apply(request)
    with change_set_recording(
        kind=ChangeSet.Kind.APPROVED, title=request.title, user=request.requested_by
    ) as change_set:
        operation.apply(request)
    return change_set


def _close_not_applied(change_request: ChangeRequest, user, why: str) -> None:
    """The request can't be applied as decided: closed with the reason (its own transaction, after the
    attempt was rolled back), so that the requester sees it and asks again with today's values."""
    with transaction.atomic():
        request = ChangeRequest.objects.select_for_update().filter(pk=change_request.pk).first()
        if request is None or not request.is_pending:
            return
        request.status = ChangeRequest.Status.OUTDATED
        request.decided_by, request.decided_at = user, timezone.now()
        request.outcome = why
        save_with_reason(request, reason=why[:255], user=user)
        _not_applied(request)


def _not_applied(request: ChangeRequest) -> None:
    operation = registry.operation(request.operation)
    if operation.not_applied is not None:
        operation.not_applied(request)


def change_request_reject(*, change_request: ChangeRequest, user, note: str) -> ChangeRequest:
    """Reject it, saying why: nothing of the change is made."""
    note = " ".join((note or "").split())
    if not note:
        raise DecisionRefused("Say why you reject it: the requester reads it.")
    if len(note) > NOTE_LENGTH:
        raise DecisionRefused(f"Say why in {NOTE_LENGTH} characters at most.")
    with transaction.atomic():
        request = _locked(change_request, user)
        request.status = ChangeRequest.Status.REJECTED
        request.decided_by, request.decided_at = user, timezone.now()
        request.decision_note = note
        request.outcome = f"Rejected by {user.get_username()}: {note}"
        save_with_reason(request, reason=request.outcome, user=user)
        _not_applied(request)
    return request


def change_request_withdraw(*, change_request: ChangeRequest, user) -> ChangeRequest:
    """The requester takes back a request nobody decided yet."""
    with transaction.atomic():
        request = ChangeRequest.objects.select_for_update().filter(pk=change_request.pk).first()
        if request is None or request.requested_by_id != user.pk:
            raise DecisionRefused("Only the person who asked may withdraw a request.")
        if not request.is_pending:
            raise DecisionRefused(
                f"This request was decided already: {request.get_status_display().lower()}."
            )
        request.status = ChangeRequest.Status.WITHDRAWN
        request.decided_at = timezone.now()
        request.outcome = "Withdrawn by the requester: nothing was changed."
        save_with_reason(request, reason="Withdrawn by the requester", user=user)
        _not_applied(request)
    return request


def _colon(note: str) -> str:
    return f": {note}" if note else ""


# --- rules --------------------------------------------------------------------------------------------
def _rule_checked(rule: ApprovalRule) -> ApprovalRule:
    registry.rule_kind(rule.kind)
    if rule.threshold is None or rule.threshold < 0:
        raise DomainError("A rule's threshold is a number from 0 up.")
    return rule


def approval_rule_create(*, approvalrule: ApprovalRule, user=None, reason: str = "Created") -> ApprovalRule:
    if ApprovalRule.objects.filter(kind=approvalrule.kind).exists():
        raise DomainError("The shop has a rule of this kind already: change that one.")
    save_with_reason(_rule_checked(approvalrule), reason=reason, user=user)
    return approvalrule


def approval_rule_update(*, approvalrule: ApprovalRule, data: dict, user=None, reason: str | None = None):
    for name, value in data.items():
        setattr(approvalrule, name, value)
    save_with_reason(_rule_checked(approvalrule), reason=reason or "Edited", user=user)
    return approvalrule


def approval_rule_delete(*, approvalrule: ApprovalRule, user=None, reason: str = "Deleted") -> None:
    delete_with_reason(approvalrule, reason=reason, user=user)
