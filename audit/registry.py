"""What the business apps tell the audit app about their models, registered in their
``AppConfig.ready()`` (the audit app never names them):

- ``track(model, undo=...)``: the model's history is part of the audit log (its filter lists it; change
  sets touching it may be undone by people who may change it), and how a change set's records of that
  model are undone when restoring their recorded values isn't enough (products restore stock through
  the ledger; orders refuse);
- ``find_objects(finder)``: a search term that names records better than their names do (an order
  number), for the audit log's search;
- ``guard_undo(guard)``: a say before a change set is undone (an undo that waits for approval);
- ``filter_log(list_filter)``: a filter of the audit log that needs an app's records (approved by).
"""

from collections.abc import Callable

_tracked: dict[str, type] = {}
_undo_handlers: dict[str, Callable] = {}
_finders: list[Callable] = []
_undo_guards: list[Callable] = []
_log_filters: list = []


def track(model, *, undo: Callable | None = None) -> None:
    """``undo(records=..., reason=..., user=...)`` replaces ``audit.undo.restore_records`` for it."""
    _tracked[model._meta.label] = model
    if undo is not None:
        _undo_handlers[model._meta.label] = undo


def tracked_models() -> list[type]:
    return list(_tracked.values())


def undo_handler(model) -> Callable | None:
    return _undo_handlers.get(model._meta.label)


def find_objects(finder: Callable) -> None:
    """``finder(term)`` -> ``(model, object id)`` when the term names one record, else None."""
    _finders.append(finder)


def object_named_by(term: str):
    for finder in _finders:
        found = finder(term)
        if found is not None:
            return found
    return None


def guard_undo(guard: Callable, *, explain: Callable | None = None) -> None:
    """``guard(change_set=..., plan=..., user=..., skip_conflicts=..., why=...)`` runs inside the undo's
    transaction, once its records are locked and found undoable: it returns None to let the undo go
    on, or a record it wrote instead (a change request), which the undo returns without undoing.
    ``explain(plan)`` says beforehand, for the undo's page, why the guard would hold it (or None)."""
    if guard not in [known for known, _ in _undo_guards]:
        _undo_guards.append((guard, explain))


def undo_guards() -> list[Callable]:
    return [guard for guard, _ in _undo_guards]


def undo_notices(plan) -> list[str]:
    """What the guards would say about undoing ``plan`` (shown before the person confirms)."""
    return [text for _, explain in _undo_guards if explain is not None and (text := explain(plan))]


def filter_log(list_filter) -> None:
    """A list filter for the audit log (a ``SimpleListFilter`` class)."""
    if list_filter not in _log_filters:
        _log_filters.append(list_filter)


def log_filters() -> list:
    return list(_log_filters)
