"""Celery tasks of the outbox. Tasks carry the message's shop: a worker serves every shop."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from core.tenancy import activate, tenant_model

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=services.SEND_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the outbox counts attempts (EMAIL_MAX_ATTEMPTS) and fails the message itself
)
def send_message(self, message_id: int, tenant_id: int) -> str:
    """Send (or keep) one message. Safe to deliver twice: a message already sent, kept, failed or
    being sent is left alone. A mail server that fails is tried again with growing pauses."""
    tenant = tenant_model().objects.filter(pk=tenant_id).first()
    if tenant is None:  # a task left from another database (a queue folder reused): nothing to do
        return services.Delivery.NOT_OURS
    with activate(tenant):
        attempt = services.message_deliver(message_id=message_id)
    if attempt.delivery == services.Delivery.RETRY:
        raise self.retry(countdown=attempt.retry_in)
    return attempt.delivery


@shared_task(name="notifications.resume_waiting_messages")
def resume_waiting_messages() -> str:
    """Messages whose task was lost go to a worker again (every shop)."""
    handed, failed = services.messages_resume()
    if handed or failed:
        logger.warning("Outbox: %s message(s) handed to a worker again, %s marked failed", handed, failed)
    return f"{handed} handed again, {failed} failed"


@worker_ready.connect
def _resume_on_start(sender=None, **kwargs):
    # A worker that starts after an outage picks up the messages that waited for it.
    try:
        resume_waiting_messages()
    except Exception:
        logger.exception("Could not resume the waiting e-mails")
