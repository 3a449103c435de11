"""What the apps tell the approvals app, registered in their ``AppConfig.ready()`` (this app never
names them):

- ``rule_kind(RuleKind)``: a kind of rule a shop may set (a price change above a percentage...), with
  the words that describe its threshold;
- ``operation(Operation)``: a change that may be held for approval, and how it is made once
  approved (through the same service that held it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class RuleKind:
    name: str  # "price_change"
    label: str  # "Price change"
    # "price changes above {threshold} % of the old price": how a rule of this kind reads.
    template: str
    every: str = ""  # how a threshold of 0 reads ("every undo"), when it means "all of them"
    order: int = 0

    def describe(self, threshold: Decimal) -> str:
        if not threshold and self.every:
            return self.every
        return self.template.format(threshold=shown_number(threshold))


def shown_number(value) -> str:
    """12, 12.5, 1,200: a threshold or a measure as a person writes it."""
    value = Decimal(value)
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True)
class Operation:
    """A change that may wait for approval. ``apply(change_request)`` makes it, as its requester asked,
    through the service that held it (the machinery sets what lets it through); it returns the change
    set it recorded, or None. ``own_change_set``: it records one of its own (a bulk action, an undo)
    instead of being recorded in an "Approved change" set. ``not_applied`` tidies up after a request
    that ends without being applied (an import's held job is closed). ``outside_transaction``: it
    calls an outside service (a payment provider), which is never called inside a transaction: the
    approval is checked and committed first, then the change is made by its service's own
    transactions; if the service refuses it then, the request says so ("Approved, refused when
    applied")."""

    name: str
    apply: Callable
    model: str  # "app_label.model_name" of the records it changes (their pages list its requests)
    own_change_set: bool = False
    outside_transaction: bool = False
    # ``not_applied(change_request)``: what to do when it ends unapplied (rejected, withdrawn, outdated).
    not_applied: Callable | None = None


_kinds: dict[str, RuleKind] = {}
_operations: dict[str, Operation] = {}


def rule_kind(kind: RuleKind | str) -> RuleKind:
    """Register a kind (given a ``RuleKind``), or look one up by name."""
    if isinstance(kind, RuleKind):
        _kinds[kind.name] = kind
        return kind
    try:
        return _kinds[kind]
    except KeyError:
        raise LookupError(f"No approval rule of kind {kind!r} is registered.") from None


def rule_kinds() -> list[RuleKind]:
    return sorted(_kinds.values(), key=lambda kind: (kind.order, kind.name))


def rule_kind_choices() -> list[tuple[str, str]]:
    return [(kind.name, kind.label) for kind in rule_kinds()]


def operation(op: Operation | str) -> Operation:
    """Register an operation (given an ``Operation``), or look one up by name."""
    if isinstance(op, Operation):
        _operations[op.name] = op
        return op
    try:
        return _operations[op]
    except KeyError:
        raise LookupError(f"No approvable operation {op!r} is registered.") from None


def approvable_models() -> set[str]:
    return {op.model for op in _operations.values()}
