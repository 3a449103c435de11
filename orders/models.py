from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.tenancy import TenantScoped, tenant_manager

from .querysets import CustomerQuerySet, OrderItemQuerySet, OrderQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2, "default": Decimal("0.00")}


class Customer(TenantScoped):
    """A shop's customer. Customers are not staff users and never log in here."""

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
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


# While an order is pending or paid, support may change its lines and delivery address.
EDITABLE_STATUSES = (OrderStatus.PENDING, OrderStatus.PAID)


def order_number_for(order_id: int) -> str:
    return f"ORD-{order_id:06d}"


class Order(TenantScoped):
    Status = OrderStatus

    number = models.CharField(max_length=20, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    subtotal = models.DecimalField(**MONEY, editable=False)
    tax = models.DecimalField(**MONEY, editable=False)
    total = models.DecimalField(**MONEY, editable=False)
    payment_reference = models.CharField(max_length=100, blank=True, editable=False)
    shipping_address = models.TextField(blank=True)
    internal_note = models.TextField(blank=True, help_text="Seen by staff only.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = tenant_manager(OrderQuerySet)
    # A revert may restore the address and note; status, customer and money change only through
    # the order service, so that stock and payments follow.
    revert_guards = ("status", "customer_id", "subtotal", "tax", "total", "payment_reference")

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
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


class OrderItem(TenantScoped):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="order_items")
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
