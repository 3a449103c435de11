"""Celery tasks of the orders desk."""

import logging

from celery import shared_task

from core.tenancy import activate, tenant_model

logger = logging.getLogger(__name__)


@shared_task(name="orders.resolve_pending_payments")
def resolve_pending_payments() -> dict:
    """Settle payments left pending by a crash or a provider that didn't answer, in every shop
    (every minute, from CELERY_BEAT_SCHEDULE): the provider's look-up by idempotency key says what it
    did, and the order follows (paid, or its stock put back; refunded; edited or not)."""
    from .billing import payments_resolve

    totals = {"succeeded": 0, "failed": 0, "unknown": 0}
    for tenant in tenant_model().objects.filter(is_active=True).order_by("pk"):
        with activate(tenant):
            counts = payments_resolve()
        for key, value in counts.items():
            totals[key] += value
    if any(totals.values()):
        logger.warning("Pending payments resolved: %s", totals)
    return totals
