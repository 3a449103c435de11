from django.db import models
from django.utils import timezone

from core.tenancy import TenantScoped, tenant_key, tenant_manager


class Message(TenantScoped):
    """One e-mail for one event (an order placed, an import finished), with its state: the outbox.

    Recorded when the event is announced, written (templates rendered) and sent by a Celery worker;
    ``event_key`` is unique per shop, so an event announced twice still makes one message.
    """

    tenant = tenant_key(db_index=False)  # its indexes start with the shop

    class Kind(models.TextChoices):
        ORDER_PLACED = "order_placed", "Order confirmation"
        ORDER_PAID = "order_paid", "Payment received"
        ORDER_SHIPPED = "order_shipped", "Order shipped"
        ORDER_REFUNDED = "order_refunded", "Order refunded"
        ORDER_CANCELLED = "order_cancelled", "Order cancelled"
        IMPORT_DONE = "import_done", "Import finished"
        IMPORT_FAILED = "import_failed", "Import failed"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Waiting to retry"
        SENT = "sent", "Sent"
        KEPT = "kept", "Kept, not sent"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    event_key = models.CharField(max_length=100, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    import_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    # What the event said that the records don't keep (the amount given back).
    context = models.JSONField(default=dict, blank=True)
    # Written by the worker on its first attempt, then sent as they are on every retry.
    recipient = models.CharField("to", max_length=254, blank=True)
    from_email = models.CharField("from", max_length=320, blank=True)
    reply_to = models.CharField("reply to", max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField("plain text", blank=True)
    body_html = models.TextField("HTML", blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When a worker should (have) next take it: for messages whose task was lost (the broker was down).
    due_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField("sent or kept at", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name = "e-mail"
        verbose_name_plural = "e-mails"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_key"], name="message_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="message_created_idx"),
            models.Index(fields=["tenant", "state", "-created_at", "-id"], name="message_state_created_idx"),
            models.Index(
                fields=["tenant", "recipient"],
                name="message_recipient_prefix_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            # The workers' sweep: messages still waiting long after they were due.
            models.Index(
                fields=["due_at"],
                name="message_waiting_idx",
                condition=models.Q(state__in=["queued", "retrying", "sending"]),
            ),
        ]

    def __str__(self):
        return self.subject or f"{self.get_kind_display()} (not written yet)"

    @property
    def is_final(self) -> bool:
        return self.state in (self.State.SENT, self.State.KEPT, self.State.FAILED)
