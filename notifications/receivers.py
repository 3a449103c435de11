"""The e-mails that follow what orders and imports announce (connected in ``NotificationsConfig.ready``).

Each runs after the announcing transaction committed: a failure here is logged and the page that made
the change goes on (its change is done; the e-mail is what's missing, and the log says why).
"""

import logging

from django.dispatch import receiver

from imports.models import ImportJob
from imports.signals import import_job_finished
from orders.models import OrderStatus
from orders.signals import order_cancelled, order_paid, order_placed, order_refunded, order_shipped

from .models import Message
from .services import message_record

logger = logging.getLogger(__name__)
Kind = Message.Kind


def _record(**fields) -> None:
    try:
        message_record(**fields)
    except Exception:
        logger.exception("Could not record the e-mail for %s", fields["event_key"])


def _for_order(order, kind: str, event: str = "", **context) -> None:
    _record(
        tenant_id=order.tenant_id,
        kind=kind,
        event_key=f"{kind}:{order.pk}{':' + event if event else ''}",
        order=order,
        context=context,
    )


@receiver(order_placed)
def _order_placed(sender, order, **kwargs):
    _for_order(order, Kind.ORDER_PLACED, paid=order.status == OrderStatus.PAID)


@receiver(order_paid)
def _order_paid(sender, order, **kwargs):
    _for_order(order, Kind.ORDER_PAID)


@receiver(order_shipped)
def _order_shipped(sender, order, **kwargs):
    _for_order(order, Kind.ORDER_SHIPPED)


@receiver(order_refunded)
def _order_refunded(sender, order, amount, refund="", **kwargs):
    # An order can be refunded in parts: each refund (``refund``: its payments' batch) is its own e-mail.
    _for_order(order, Kind.ORDER_REFUNDED, event=str(refund), amount=str(amount))


@receiver(order_cancelled)
def _order_cancelled(sender, order, amount, **kwargs):
    _for_order(order, Kind.ORDER_CANCELLED, amount=str(amount))


@receiver(import_job_finished)
def _import_finished(sender, job, **kwargs):
    if job.user is None or not job.user.email:
        return  # nobody to tell
    kind = Kind.IMPORT_DONE if job.status == ImportJob.Status.DONE else Kind.IMPORT_FAILED
    # One per attempt: a failed job that is retried tells how the retry ended too.
    _record(tenant_id=job.tenant_id, kind=kind, event_key=f"{kind}:{job.pk}:{job.attempts}", import_job=job)
