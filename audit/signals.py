from django.dispatch import receiver
from simple_history.signals import post_create_historical_record

from .recording import entries_for_history_rows


@receiver(post_create_historical_record)
def _log_single_save(sender, history_instance, instance=None, **kwargs):
    """A history row written by a plain ``save()``/``delete()`` gets its audit-log entry."""
    changed = []
    if history_instance.history_type == "~":
        previous = history_instance.prev_record
        if previous is not None:
            changed = history_instance.diff_against(previous).changed_fields
    entries_for_history_rows(
        [history_instance], changed_fields=changed, objects=[instance] if instance is not None else None
    )
