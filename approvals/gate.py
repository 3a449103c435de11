"""The gate services call before a change a shop may want approved.

A service measures its change (``Measure``: a price change of 50 %, 120 units, 30 rows...) and asks
``change_request_hold``: when an active rule of the shop is exceeded, a change request is written
instead (who asks, why, old -> new, what must still hold) and returned, and the service returns it
without changing anything. When the approved request is applied, the same service runs again under
``applying``: the gate lets it through.
"""

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

from audit.recording import save_with_reason
from core.exceptions import DomainError

from . import registry
from .models import ApprovalRule, ChangeRequest

REASON_LENGTH = 500
SHOWN_CHANGES = 500  # rows of old -> new a request keeps for people to read (all rows are counted)

_applying: ContextVar = ContextVar("applying_change_request", default=None)


class ReasonRequired(DomainError):
    """A change that waits for approval needs the requester's reason, for the approver."""


@contextmanager
def applying(change_request: ChangeRequest):
    """While an approved request is applied: the gate lets its change through."""
    token = _applying.set(change_request)
    try:
        yield
    finally:
        _applying.reset(token)


@dataclass(frozen=True)
class Measure:
    """How big a change is by one kind of rule: ``value`` against the rule's threshold, ``text`` as a
    person reads it ("a price change of 50 %")."""

    kind: str
    value: Decimal
    text: str


@dataclass(frozen=True)
class Match:
    kind: str
    threshold: Decimal
    measure: Decimal
    text: str

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "threshold": str(self.threshold),
            "measure": str(self.measure),
            "text": self.text,
        }


def rules_matched(measures: Iterable[Measure]) -> list[Match]:
    """The shop's active rules the change exceeds (none while an approved request is applied)."""
    measures = [measure for measure in measures if measure is not None]
    if not measures or _applying.get() is not None:
        return []
    thresholds = dict(
        ApprovalRule.objects.filter(is_active=True, kind__in={m.kind for m in measures}).values_list(
            "kind", "threshold"
        )
    )
    matched = []
    for measure in measures:
        threshold = thresholds.get(measure.kind)
        if threshold is not None and measure.value > threshold:
            rule = registry.rule_kind(measure.kind).describe(threshold)
            matched.append(
                Match(measure.kind, threshold, measure.value, f"{measure.text}; the shop's rule: {rule}")
            )
    return matched


def approval_needed(measures: Iterable[Measure]) -> str | None:
    """For a page or form before the change: why it would wait for approval, or None."""
    matched = rules_matched(measures)
    if not matched:
        return None
    return (
        f"This change waits for another person's approval ({'; '.join(m.text for m in matched)}): say "
        "why you make it."
    )


def change_request_hold(
    *,
    operation: str,
    measures: Iterable[Measure],
    title: str,
    why: str,
    user,
    model=None,
    records: Iterable = (),
    row_count: int | None = None,
    changes: list[dict] = (),
    expected: dict | None = None,
    payload: dict,
) -> ChangeRequest | None:
    """A change request instead of the change, when the change exceeds a rule of the shop; None when
    it may be made now. Call it before writing anything, inside the service's transaction.

    ``records`` are the records it changes (of ``model``; their pages list the request), ``changes``
    what a person reads (``values.field_changes``), ``expected`` the values that must still hold
    when it is approved (``values.snapshot``), ``payload`` what the operation needs to make it.
    """
    matched = rules_matched(measures)
    if not matched:
        return None
    registry.operation(operation)  # a request nobody could apply is refused before it is written
    why = " ".join((why or "").split())
    if not why:
        raise ReasonRequired(
            f"This change waits for another person's approval ({'; '.join(m.text for m in matched)}): say "
            "why you make it. Nothing was changed."
        )
    if len(why) > REASON_LENGTH:
        raise DomainError(f"Say why in {REASON_LENGTH} characters at most. Nothing was changed.")
    object_ids = [str(getattr(record, "pk", record)) for record in records]
    request = ChangeRequest(
        operation=operation,
        title=title[:255],
        reason=why,
        rules=[match.as_dict() for match in matched],
        content_type=ContentType.objects.get_for_model(model) if model is not None else None,
        object_ids=object_ids,
        row_count=row_count if row_count is not None else len(object_ids),
        changes=list(changes)[:SHOWN_CHANGES],
        expected=expected or {},
        payload=payload,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
    )
    save_with_reason(request, reason=f"Asked for approval: {why}", user=request.requested_by)
    return request
