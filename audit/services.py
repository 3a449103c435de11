"""Reverting a record to an earlier version of its history.

A revert is a normal save with a reason, so it is itself a new history row (in its own change set).
Models say what a revert may not touch:
- ``revert_keeps``: fields left as they are now (e.g. a product's stock, which only the stock
  ledger changes);
- ``revert_guards``: fields that must already equal the old version, or the revert is refused
  (e.g. an order's status and totals: stock and money must follow them, through the order service);
- ``revert_refusal``: a sentence refusing any revert of this model (e.g. order lines).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import get_history_model_for_model

from core.exceptions import DomainError

from .conflicts import changed_since
from .models import ChangeSet
from .recording import change_set_recording


class RevertRefused(DomainError):
    pass


def record_revert(
    *, model, object_id, history_id, user=None, reason: str, seen_history_id: int | None = None
):
    """Bring record ``object_id`` back to history version ``history_id``; returns the record. With
    ``seen_history_id`` (the record's last history row when the person opened the revert page), a
    record saved again since is refused: the revert would undo that change unseen."""
    reason = (reason or "").strip()
    if not reason:
        raise RevertRefused("Say why you revert: a reason is required.")
    refusal = getattr(model, "revert_refusal", None)
    if refusal:
        raise RevertRefused(refusal)
    object_id, history_id = _record_ids(model, object_id, history_id)
    history = get_history_model_for_model(model)
    pk_name = model._meta.pk.attname
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=object_id).first()
        if current is None:
            raise RevertRefused(f"This {model._meta.verbose_name} no longer exists; it can't be reverted.")
        version = history.objects.filter(history_id=history_id, **{pk_name: current.pk}).first()
        if version is None:
            raise RevertRefused("That version doesn't belong to this record.")
        since = changed_since(model, current.pk, seen_history_id) if seen_history_id else None
        if since:
            raise RevertRefused(
                f"Since you opened this page, {since}: look at {current} again before reverting. "
                "Nothing was changed."
            )
        when = timezone.localtime(version.history_date).strftime("%Y-%m-%d %H:%M")
        tracked = [f.attname for f in history.tracked_fields if f.attname != pk_name]
        guarded = [
            name
            for name in getattr(model, "revert_guards", ())
            if getattr(current, name) != getattr(version, name)
        ]
        if guarded:
            raise RevertRefused(
                f"Reverting {current} to the version of {when} would change its "
                f"{', '.join(guarded)}; those change only through its own actions, so that stock and "
                f"money follow. Nothing was changed."
            )
        keeps = set(getattr(model, "revert_keeps", ()))
        changed = []
        for name in tracked:
            if name in keeps or name in ("created_at", "updated_at"):
                continue
            old = getattr(version, name)
            if getattr(current, name) != old:
                setattr(current, name, old)
                changed.append(name)
        if not changed:
            raise RevertRefused(f"{current} already matches the version of {when}: nothing to revert.")
        try:
            current.full_clean()
        except ValidationError as error:
            raise RevertRefused(
                f"The version of {when} can't be restored as it is: {'; '.join(error.messages)}"
            ) from error
        with change_set_recording(
            kind=ChangeSet.Kind.REVERT, title=f"Revert of {current} to {when}", user=user
        ):
            current._change_reason = f"Reverted to the version of {when}: {reason}"
            if user is not None:
                current._history_user = user
            current.save()
    return current


def _record_ids(model, object_id, history_id):
    """The record's id as its model's primary key takes it (a UUID's or a number's text from a URL is
    fine) and the version's number; a malformed one is refused saying which."""
    try:
        object_id = model._meta.pk.to_python(getattr(object_id, "pk", object_id))
    except (ValidationError, TypeError, ValueError):
        raise RevertRefused(f"{object_id!r} is not a {model._meta.verbose_name} id.") from None
    if isinstance(history_id, str) and history_id.strip().isdigit():
        history_id = int(history_id)
    if isinstance(history_id, bool) or not isinstance(history_id, int):
        raise RevertRefused(f"{history_id!r} is not a version number.")
    return object_id, history_id
