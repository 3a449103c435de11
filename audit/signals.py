from django.dispatch import receiver
from simple_history.signals import post_create_historical_record

from .recording import entries_for_history_rows


def changed_fields(history_row, previous) -> list[str]:
    """The tracked fields that differ between two history rows of an object, those the admin can't
    edit included (an order's totals change through its service; simple-history's own diff skips
    non-editable fields, which left "What changed" empty). Timestamps the database keeps itself
    (``auto_now``) say nothing and are left out."""
    return [
        field.name
        for field in history_row.tracked_fields
        if not field.primary_key
        and not getattr(field, "auto_now", False)
        and getattr(history_row, field.attname) != getattr(previous, field.attname)
    ]


@receiver(post_create_historical_record)
def _log_single_save(sender, history_instance, instance=None, **kwargs):
    """A history row written by a plain ``save()``/``delete()`` gets its audit-log entry."""
    changed = []
    if history_instance.history_type == "~":
        previous = history_instance.prev_record
        if previous is not None:
            changed = changed_fields(history_instance, previous)
    entries_for_history_rows(
        [history_instance], changed_fields=changed, objects=[instance] if instance is not None else None
    )
