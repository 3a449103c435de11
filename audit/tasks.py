"""Periodic tasks of the audit trail: seal what every shop's log gained, and verify the chains."""

import logging

from celery import shared_task

from core.tenancy import tenant_model

from . import sealing

logger = logging.getLogger(__name__)


def _shops():
    return tenant_model().objects.filter(is_active=True).order_by("pk")


@shared_task(name="audit.seal_trails")
def seal_trails() -> int:
    """Seal every shop's new audit entries (blocks chained to the shop's previous one)."""
    return sum(len(sealing.seal_tenant(shop)) for shop in _shops())


@shared_task(name="audit.verify_trails")
def verify_trails() -> int:
    """Verify every shop's whole chain; a failure is logged as an error (and shown on the pages)."""
    failed = 0
    for shop in _shops():
        verdict = sealing.trail_verify(shop)
        if not verdict.ok:
            failed += 1
            logger.error("audit trail of %s failed verification: %s", shop.subdomain, verdict.message)
    return failed
