"""What each kind of message says and to whom: the templates in ``templates/email/<kind>/``
(``subject.txt``, ``body.txt``, ``body.html``) filled from the order or the import job.

A worker writes a message on its first attempt (not the request that announced the event), in the
message's shop, which the task has activated.
"""

from dataclasses import dataclass
from decimal import Decimal
from email.utils import make_msgid, parseaddr
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from core.tenancy import tenant_model
from imports.models import ImportJob
from orders.models import Order

from .models import Message

PROBLEMS_LISTED = 20  # rows to fix named in a failed import's e-mail; the job's page lists them all


class NotWritable(Exception):
    """The message can't be written (its order or job is gone, its person has no address): it fails
    without retries, since trying again wouldn't change that."""


@dataclass(frozen=True)
class Written:
    recipient: str
    from_email: str
    reply_to: str
    subject: str
    text: str
    html: str
    message_id: str


def message_write(message: Message) -> Written:
    tenant = tenant_model().objects.get(pk=message.tenant_id)
    if message.kind.startswith("order_"):
        recipient, context = _order_context(message)
    else:
        recipient, context = _import_context(message, tenant)
    if not recipient:
        raise NotWritable("There is no e-mail address to send it to.")
    context |= {"shop": tenant, "message": message}
    folder = f"email/{message.kind}"
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return Written(
        recipient=recipient,
        from_email=mailbox(tenant.sender_name, sender),
        reply_to=tenant.email_reply_to,
        subject=" ".join(render_to_string(f"{folder}/subject.txt", context).split())[:255],
        text=render_to_string(f"{folder}/body.txt", context).strip() + "\n",
        html=render_to_string(f"{folder}/body.html", context),
        message_id=make_msgid(domain=sender.rpartition("@")[2] or "localhost"),
    )


def mailbox(name: str, address: str) -> str:
    """``"Shop name" <address>``: the name quoted (commas and quotes in shop names are fine), on one
    line (a line break in a header would start another header)."""
    name = " ".join(name.split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{address}>' if name else address


def _order_context(message: Message) -> tuple[str, dict]:
    order = Order.objects.select_related("customer").filter(pk=message.order_id).first()
    if order is None:
        raise NotWritable("Its order no longer exists.")
    amount = message.context.get("amount")
    return order.customer.email, {
        "order": order,
        "customer": order.customer,
        "lines": list(order.items.select_related("product").order_by("id")),
        "currency": settings.ORDER_CURRENCY,
        "amount": Decimal(amount) if amount is not None else None,
    }


def _import_context(message: Message, tenant) -> tuple[str, dict]:
    job = ImportJob.objects.select_related("user").filter(pk=message.import_job_id).first()
    if job is None:
        raise NotWritable("Its import job no longer exists.")
    problems = job.error_report or []
    return (job.user.email if job.user else ""), {
        "job": job,
        "person": job.user,
        "job_url": shop_url(tenant, reverse("admin:imports_importjob_change", args=[job.pk])),
        "problems": problems[:PROBLEMS_LISTED],
        "problems_not_listed": max(0, len(problems) - PROBLEMS_LISTED),
    }


def shop_url(tenant, path: str) -> str:
    """An absolute link into a shop's admin (an e-mail has no request to take the host from):
    ``BACKOFFICE_URL`` for the default shop, the shop's subdomain of it (or of ``BASE_DOMAIN``) for
    the others."""
    base = urlsplit(settings.BACKOFFICE_URL)
    host = base.netloc
    if tenant.subdomain != settings.DEFAULT_TENANT_SUBDOMAIN:
        port = f":{base.port}" if base.port else ""
        host = f"{tenant.subdomain}.{settings.BASE_DOMAIN or base.hostname}{port}"
    return urlunsplit((base.scheme, host, path, "", ""))
