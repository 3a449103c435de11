"""Periodic upkeep of the kernel's tables."""

from celery import shared_task

from .summaries import summaries_fold


@shared_task(name="core.fold_summaries")
def fold_summaries() -> None:
    """Fold the summary tables' delta rows into one row per key, so figures read few rows."""
    summaries_fold()
