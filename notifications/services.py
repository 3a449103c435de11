"""The outbox: a message recorded once per event, then written and sent (or kept) by a worker.

- ``message_record``: the message for an event, once (its key is unique per shop), handed to a worker
  when the transaction commits.
- ``message_deliver``: what the worker's task does. It claims the message first, so a task delivered
  twice sends it once; writes it on the first attempt; sends it through Django's default mailer
  (``MAILERS``), or keeps it in the outbox (``EMAIL_KEEP``, development and the demo); and says when
  to try again if the mail server failed.
- ``messages_resume``: the periodic sweep for messages whose task was lost.
"""

import enum
import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.bulk import insert_statements, instance_rows
from core.prepared import prepared_cursor

from .models import Message
from .writing import NotWritable, message_write

SEND_TASK = "notifications.send_message"

logger = logging.getLogger(__name__)

WAITING = (Message.State.QUEUED, Message.State.RETRYING)
# A message still waiting this long after it was due has lost its task (the broker was down, or the
# worker holding it died): the sweep hands it to a worker again.
LOST_AFTER = timedelta(minutes=5)
# A message "sending" for this long was being sent by a worker that died.
SENDING_STALE = timedelta(minutes=10)


class Delivery(enum.StrEnum):
    SENT = "sent"
    KEPT = "kept"
    RETRY = "retry"
    FAILED = "failed"
    NOT_OURS = "not ours"  # sent, kept, failed or being sent already: a task delivered twice


@dataclass(frozen=True)
class Attempt:
    delivery: Delivery
    retry_in: float | None = None  # seconds, for Delivery.RETRY


def message_record(
    *, tenant_id: int, kind: str, event_key: str, order=None, import_job=None, context=None
) -> Message | None:
    """Record the message for an event and hand it to a worker once the transaction commits.

    Returns None when the event has its message already (announced twice): nothing more is sent.
    """
    message = Message(
        tenant_id=tenant_id,
        kind=kind,
        event_key=event_key,
        order=order,
        import_job=import_job,
        context=context or {},
    )
    # One INSERT that skips an event recorded already (its key is unique per shop), from the values a
    # save would write: no transaction or savepoint to open, nothing for the ORM to build (recording
    # an order's e-mail was an eighth of placing it).
    columns, (row,) = instance_rows([message])
    at = columns.index("id")  # taken by the database's sequence
    columns, row = columns[:at] + columns[at + 1 :], row[:at] + row[at + 1 :]
    insert, params = insert_statements([(Message, columns, [row])])
    with prepared_cursor() as cursor:
        cursor.execute(f"{insert} ON CONFLICT (tenant_id, event_key) DO NOTHING RETURNING id", params)
        recorded = cursor.fetchone()
    if recorded is None:
        return None
    message.pk = recorded[0]
    transaction.on_commit(lambda: message_dispatch(message.pk, tenant_id))
    return message


def message_dispatch(message_id: int, tenant_id: int) -> bool:
    """Queue the message's task. A broker that is down is noted on the message, which the sweep
    (``messages_resume``) hands to a worker later: the page that announced the event goes on."""
    try:
        # The task by name (registered by NotificationsConfig.ready): its module imports this one.
        current_app.tasks[SEND_TASK].delay(message_id, tenant_id)
    except Exception as error:
        logger.exception("Could not queue e-mail %s", message_id)
        Message.unscoped.filter(pk=message_id, state__in=WAITING).update(
            last_error=f"Not handed to a worker yet ({error}); it is tried again within minutes."
        )
        return False
    return True


def message_deliver(*, message_id: int) -> Attempt:
    """One attempt at a message (in its shop): written on the first, then sent or kept."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, state__in=WAITING).update(
        state=Message.State.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return Attempt(Delivery.NOT_OURS)
    message = Message.objects.get(pk=message_id)
    if not message.subject:
        try:
            _write(message)
        except NotWritable as error:
            return _failed(message, str(error))
        except Exception as error:  # a template or data error: retrying won't help; the outbox says why
            logger.exception("Could not write e-mail %s", message_id)
            return _failed(message, f"It could not be written: {error}")
    if settings.EMAIL_KEEP:
        _settle(message, Message.State.KEPT, sent_at=timezone.now(), last_error="")
        return Attempt(Delivery.KEPT)
    try:
        _send(message)
    except ValueError as error:  # an address or header Django won't put in an e-mail: no retry mends it
        return _failed(message, f"It can't be sent: {error}")
    except Exception as error:
        reason = _describe(error)
        if _is_permanent(error):
            return _failed(message, f"The mail server refused it: {reason}")
        if message.attempts >= settings.EMAIL_MAX_ATTEMPTS:
            return _failed(message, f"Gave up after {message.attempts} attempts: {reason}")
        delay = retry_delay(message.attempts)
        logger.warning("E-mail %s not sent (attempt %s): %s", message_id, message.attempts, reason)
        _settle(
            message,
            Message.State.RETRYING,
            last_error=reason,
            due_at=timezone.now() + timedelta(seconds=delay),
        )
        return Attempt(Delivery.RETRY, retry_in=delay)
    _settle(message, Message.State.SENT, sent_at=timezone.now(), last_error="")
    return Attempt(Delivery.SENT)


def retry_delay(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts: ``EMAIL_RETRY_SECONDS``, doubled after each
    failure up to ``EMAIL_RETRY_MAX_SECONDS``, less up to a quarter at random (messages that failed
    together, while the server was down, come back spread out)."""
    doublings = min(max(0, attempts - 1), 30)
    delay = min(settings.EMAIL_RETRY_MAX_SECONDS, settings.EMAIL_RETRY_SECONDS * 2**doublings)
    return delay * random.uniform(0.75, 1.0)


def messages_resume() -> tuple[int, int]:
    """The sweep (every shop): hand the messages whose task was lost to a worker again, and mark
    failed a message left "sending" by a worker that died. That one may have gone out, so it is not
    sent again. Returns (handed again, marked failed)."""
    now = timezone.now()
    failed = Message.unscoped.filter(state=Message.State.SENDING, updated_at__lt=now - SENDING_STALE).update(
        state=Message.State.FAILED,
        updated_at=now,
        last_error=(
            "The worker stopped while sending it: it may or may not have gone out, so it is not sent again."
        ),
    )
    waiting = Message.unscoped.filter(state__in=WAITING, due_at__lt=now - LOST_AFTER)
    lost = list(waiting.values_list("pk", "tenant_id")[:1000])
    # Due again from now: a message whose task is only slow isn't queued again at every sweep.
    Message.unscoped.filter(pk__in=[pk for pk, _ in lost]).update(due_at=now)
    handed = sum(message_dispatch(pk, tenant_id) for pk, tenant_id in lost)
    return handed, failed


def _write(message: Message) -> None:
    written = message_write(message)
    message.recipient = written.recipient
    message.from_email = written.from_email
    message.reply_to = written.reply_to
    message.subject = written.subject
    message.body_text = written.text
    message.body_html = written.html
    message.message_id = written.message_id
    message.save(
        update_fields=[
            "recipient",
            "from_email",
            "reply_to",
            "subject",
            "body_text",
            "body_html",
            "message_id",
            "updated_at",
        ]
    )


def _send(message: Message) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=[message.recipient],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers={"Message-ID": message.message_id} if message.message_id else None,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    email.send(using="default")


def _is_permanent(error: Exception) -> bool:
    """The server's 5xx answer about this message (no such mailbox, content refused) won't change on
    a retry. A 4xx answer ("try later"), a connection refused or dropped, a timeout, or a refused login
    or sender (the settings, fixed while the message waits) may."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {text.decode(errors='replace')}"
            for address, (code, text) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        return f"{error.smtp_code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return f"{type(error).__name__}: {error}"


def _failed(message: Message, reason: str) -> Attempt:
    logger.error("E-mail %s failed: %s", message.pk, reason)
    _settle(message, Message.State.FAILED, last_error=reason)
    return Attempt(Delivery.FAILED)


def _settle(message: Message, state: str, **fields) -> None:
    """Leave "sending" for ``state`` (only this attempt's claim may)."""
    fields = {"state": state, "updated_at": timezone.now(), **fields}
    Message.objects.filter(pk=message.pk, state=Message.State.SENDING, attempts=message.attempts).update(
        **fields
    )
    for name, value in fields.items():
        setattr(message, name, value)
