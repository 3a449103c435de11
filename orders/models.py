from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.tenancy import TenantScoped, tenant_key, tenant_manager

from .querysets import CustomerQuerySet, OrderItemQuerySet, OrderQuerySet, PaymentQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2, "default": Decimal("0.00")}


class Customer(TenantScoped):
    """A shop's customer. Customers are not staff users and never log in here."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    name = models.CharField(max_length=200)
    email = models.EmailField("e-mail")
    phone = models.CharField(max_length=40, blank=True)
    default_shipping_address = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()
    objects = tenant_manager(CustomerQuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "email"], name="customer_email_per_tenant")]
        indexes = [
            models.Index(fields=["tenant", "name", "id"], name="customer_name_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="customer_created_idx"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    # Placed (stock taken), not paid yet: a charge under way, or payment due (e.g. on delivery).
    PENDING = "pending", "Awaiting payment"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


# Lines, customer and address change freely in a draft; through the order service (stock and money
# following) while pending or paid; never once shipped.
EDITABLE_STATUSES = (OrderStatus.DRAFT, OrderStatus.PENDING, OrderStatus.PAID)


def order_number_for(order_id: int) -> str:
    return f"ORD-{order_id:06d}"


class Order(TenantScoped):
    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    Status = OrderStatus

    number = models.CharField(max_length=20, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    subtotal = models.DecimalField(**MONEY, editable=False)
    tax = models.DecimalField(**MONEY, editable=False)
    # Taken off what the customer owes after the sale: refunds that give money back for goods
    # (returns, goodwill) and the whole order when it is cancelled. An edit's refund is not a credit:
    # the edit already lowered subtotal and tax.
    credited = models.DecimalField(**MONEY, editable=False)
    # What the customer owes for the order as it stands: subtotal + tax - credited. What they paid
    # and got back are in the payments ledger (Payment); the balance is total - paid + refunded.
    total = models.DecimalField(**MONEY, editable=False)
    shipping_address = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = tenant_manager(OrderQuerySet)
    # A revert may restore the address; status, customer and money change only through the order
    # service, so that stock and payments follow.
    revert_guards = ("status", "customer_id", "subtotal", "tax", "credited", "total", "shipped_at")

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("tax") - F("credited")), name="order_total_after_credits"
            ),
            models.UniqueConstraint(fields=["tenant", "number"], name="order_number_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="order_created_idx"),
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="order_status_created_idx"),
            models.Index(fields=["customer", "-created_at"], name="order_customer_idx"),
            models.Index(fields=["tenant", "-total", "-id"], name="order_total_idx"),
        ]

    def __str__(self):
        return self.number or "New order"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def is_draft(self) -> bool:
        return self.status == OrderStatus.DRAFT


class OrderItem(TenantScoped):
    # Both lead indexes of their own (order_line_product_once, order_line_product_idx).
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="order_items", db_index=False
    )
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, editable=False)
    line_total = models.DecimalField(max_digits=12, decimal_places=2, editable=False)

    history = HistoricalRecords()
    objects = tenant_manager(OrderItemQuerySet)
    revert_refusal = (
        "Order lines can't be reverted one by one: change the lines on the order's page, so that "
        "stock and totals follow."
    )

    class Meta(TenantScoped.Meta):
        ordering = ["order", "id"]
        verbose_name = "order line"
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="order_line_product_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
        ]
        indexes = [models.Index(fields=["product", "order"], name="order_line_product_idx")]

    def __str__(self):
        return f"{self.quantity} x {self.product}"


class OrderNote(TenantScoped):
    """A note staff keep on an order (seen by staff only). Notes are added, never edited."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes", db_index=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "-created_at"], name="order_note_order_idx")]

    def __str__(self):
        return f"Note on {self.order_id} by {self.author or 'someone'}"


class Operation(models.TextChoices):
    """What a recorded step (an edit, a return) is waiting for: its money, or nothing any more."""

    PENDING = "pending", "Waiting for the payment provider"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (the payment was refused)"


class OrderEdit(TenantScoped):
    """A change of a placed order's lines: the lines before and after, and the money it moved.

    An edit of a paid order that changes its total waits (``pending``) for the charge or refund of
    the difference; the lines change once the money has moved (``done``), or not at all (``failed``).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="edits", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Operation.choices)
    # [{"product": id, "sku", "name", "quantity", "unit_price", "line_total"}, ...], as text numbers.
    lines_before = models.JSONField(default=list)
    lines_after = models.JSONField(default=list)
    total_before = models.DecimalField(max_digits=12, decimal_places=2)
    total_after = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "-created_at"], name="order_edit_order_idx")]

    def __str__(self):
        return f"Edit of {self.order}"

    @property
    def difference(self) -> Decimal:
        return self.total_after - self.total_before


class OrderReturn(TenantScoped):
    """Goods a customer sent back: which lines, how many, and whether they went back to stock or
    were written off. With or without a refund (the refund's payments point here)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Operation.choices)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "-created_at"], name="order_return_order_idx")]

    def __str__(self):
        return f"Return {self.pk} of {self.order}"


class OrderReturnLine(TenantScoped):
    class Disposition(models.TextChoices):
        RESTOCK = "restock", "Back to stock"
        WRITE_OFF = "write_off", "Written off (damaged)"

    order_return = models.ForeignKey(OrderReturn, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="returned")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    disposition = models.CharField(max_length=10, choices=Disposition.choices)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["order_return", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.line.product_id} ({self.get_disposition_display().lower()})"


class Payment(TenantScoped):
    """One request to the payment provider: a charge, or a refund of an earlier charge. Append-only.

    A row is written ``pending`` (with its idempotency key) before the provider is called, in its own
    committed transaction, so that a crash while the provider works leaves a record to resolve. Its
    outcome is then written once: ``pending`` -> ``succeeded`` (with the provider's reference) or
    ``failed`` (with why). The database refuses every other UPDATE and every DELETE (migration 0003):
    an outcome is never rewritten, and money given back is a new refund row, never an edited charge.
    """

    tenant = tenant_key(db_index=False)  # its indexes start with the shop

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Purpose(models.TextChoices):
        PLACEMENT = "placement", "Order placed"
        PAYMENT = "payment", "Payment taken"
        EDIT = "edit", "Order edited"
        REFUND = "refund", "Refund"
        CANCELLATION = "cancellation", "Cancellation"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    purpose = models.CharField(max_length=15, choices=Purpose.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=64, unique=True)
    gateway_reference = models.CharField("reference", max_length=100, blank=True)
    # A refund gives back money of one charge (never more than that charge captured).
    charge = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    # Payments asked together (an order's refunds across its charges) settle together.
    batch = models.UUIDField(db_index=True)
    order_edit = models.ForeignKey(
        OrderEdit, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    order_return = models.ForeignKey(
        OrderReturn, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = tenant_manager(PaymentQuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="charge", charge__isnull=True) | Q(kind="refund", charge__isnull=False),
                name="payment_refund_has_its_charge",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", settled_at__isnull=True)
                | Q(status__in=["succeeded", "failed"], settled_at__isnull=False),
                name="payment_settled_when_not_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | ~Q(gateway_reference=""),
                name="payment_succeeded_has_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "kind", "status"], name="payment_order_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="payment_created_idx"),
            models.Index(fields=["created_at"], name="payment_pending_idx", condition=Q(status="pending")),
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} {self.amount} {self.currency} ({self.get_status_display().lower()})"
        )

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(
                "Payments are append-only: their outcome is written by the payment service."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Payments are append-only and can't be deleted.")


from .summary_models import OrderSummary, ProductSalesSummary, ProductSalesWindow, SalesWindowStart  # noqa: E402, F401 - models of this app
