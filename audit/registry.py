"""What the business apps tell the audit app about their models, registered in their
``AppConfig.ready()`` (the audit app never names them):

- ``track(model, undo=...)``: the model's history is part of the audit log (its filter lists it; change
  sets touching it may be undone by people who may change it), and how a change set's records of that
  model are undone when restoring their recorded values isn't enough (products restore stock through
  the ledger; orders refuse);
- ``find_objects(finder)``: a search term that names records better than their names do (an order
  number), for the audit log's search.
"""

from collections.abc import Callable

_tracked: dict[str, type] = {}
_undo_handlers: dict[str, Callable] = {}
_finders: list[Callable] = []


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
