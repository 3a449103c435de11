import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from core.tenancy import TenantScoped, tenant_key, tenant_manager

from .querysets import CategoryQuerySet, ProductQuerySet, StockMovementQuerySet
from .stock_state import LOW_STOCK_COVER, STOCK_STATE_CONDITIONS, StockState, stock_state_of


def unique_slug(model, text: str, *, instance_pk=None, max_length: int = 200) -> str:
    """``text`` slugified, with ``-2``, ``-3``… appended until no other row of ``model`` has it."""
    base = slugify(text)[: max_length - 8] or "item"
    taken = set(
        model.objects.filter(slug__startswith=base).exclude(pk=instance_pk).values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def normalise_sku(sku: str) -> str:
    """SKUs are compared and searched upper-case, without surrounding spaces."""
    return (sku or "").strip().upper()


class Category(TenantScoped):
    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, blank=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="Leave empty for a top-level category.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = tenant_manager(CategoryQuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="category_name_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "slug"], name="category_slug_per_tenant"),
        ]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Category, self.name, instance_pk=self.pk, max_length=140)
        super().save(*args, **kwargs)

    def clean(self):
        ancestor, seen = self.parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if self.pk and ancestor.pk == self.pk:
                raise ValidationError({"parent": "A category can't sit below itself or its children."})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent

    @property
    def path(self) -> str:
        """``Electronics/Phones``: the form imports accept."""
        names, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))


class Product(TenantScoped):
    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField(max_length=200)
    # Found by the shop and the slug (product_slug_per_tenant below, which also serves the prefix
    # look-up of unique_slug): no index of its own.
    slug = models.SlugField(max_length=220, blank=True, db_index=False)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    # Changed only by inventory.services (row lock + F() + a ledger movement), never edited directly.
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    low_stock_threshold = models.PositiveIntegerField(default=10)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    is_published = models.BooleanField("published", default=False)
    is_featured = models.BooleanField("featured", default=False)
    metadata = models.JSONField(default=dict, blank=True)
    popularity_score = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # popularity_score is tracked too: excluding a field makes every history row's ``instance``
    # fetch it with one query per row.
    history = HistoricalRecords()
    objects = tenant_manager(ProductQuerySet)
    # Reverting a product restores its catalogue fields; stock only moves through the ledger.
    revert_keeps = ("stock",)

    class Meta(TenantScoped.Meta):
        ordering = ["name"]
        permissions = [
            ("adjust_stock", "Can adjust stock (written to the stock ledger)"),
            ("import_product", "Can import products from files"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_sku_per_tenant"),
            models.UniqueConstraint(
                fields=["tenant", "slug"],
                name="product_slug_per_tenant",
                opclasses=["int8_ops", "varchar_pattern_ops"],  # LIKE 'prefix%' in any collation
            ),
        ]
        indexes = [
            # The admin's default ordering (name, then -pk as the tie-breaker Django adds).
            models.Index(fields=["tenant", "name", "-id"], name="product_name_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="product_created_idx"),
            models.Index(fields=["tenant", "price", "-id"], name="product_price_idx"),
            models.Index(fields=["tenant", "stock", "-id"], name="product_stock_idx"),
            models.Index(fields=["tenant", "is_published", "name"], name="product_published_idx"),
            models.Index(fields=["tenant", "is_featured", "name"], name="product_featured_idx"),
            models.Index(fields=["tenant", "category", "name"], name="product_category_name_idx"),
            # The dashboard's most urgent low-stock products (inventory.metrics.most_urgent_low_stock):
            # low-stock rows only, in the order it lists them, so it reads ten index entries instead
            # of sorting every low-stock product (158 ms at a million products).
            models.Index(
                "tenant",
                LOW_STOCK_COVER,
                "stock",
                "name",
                "id",
                condition=STOCK_STATE_CONDITIONS[StockState.LOW],
                name="product_low_stock_cover_idx",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.sku})"

    def save(self, *args, **kwargs):
        self.sku = normalise_sku(self.sku)
        if not self.slug:
            self.slug = unique_slug(Product, self.name, instance_pk=self.pk, max_length=220)
        super().save(*args, **kwargs)

    @property
    def stock_state(self) -> StockState:
        return stock_state_of(stock=self.stock, low_stock_threshold=self.low_stock_threshold)

    @property
    def is_available(self) -> bool:
        return self.is_published and self.stock > 0


class ProductImage(TenantScoped):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/", blank=True)
    url = models.URLField("image URL", blank=True)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()
    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["product", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(image="") | ~Q(url=""), name="product_image_has_file_or_url")
        ]

    def __str__(self):
        return self.alt_text or f"Image {self.position + 1} of {self.product.name}"

    def clean(self):
        if not self.image and not self.url:
            raise ValidationError("Upload an image or give its URL.")

    @property
    def source(self) -> str:
        return self.image.url if self.image else self.url


class StockMovement(TenantScoped):
    """One change of a product's stock. Append-only: a product's stock is the sum of its movements."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale"
        CANCELLATION = "cancellation", "Cancellation"
        REFUND = "refund", "Refund"
        # Goods a customer sent back; damaged ones then leave the shelf again as a write-off.
        RETURN = "return", "Return"
        WRITE_OFF = "write_off", "Write-off"
        ADJUSTMENT = "adjustment", "Adjustment"
        IMPORT = "import", "Import"
        CORRECTION = "correction", "Correction"

    # product and reference_type lead indexes of their own (movement_product_idx, movement_reference_idx).
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements", db_index=False)
    quantity = models.IntegerField(help_text="Units added (positive) or removed (negative).")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What caused it: an order, an order line, an import job; empty for a manual adjustment.
    reference_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reference_id = models.CharField(max_length=64, blank=True)
    reference = GenericForeignKey("reference_type", "reference_id")
    stock_after = models.IntegerField(help_text="The product's stock right after this movement.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenant_manager(StockMovementQuerySet)

    class Meta(TenantScoped.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="stock_movement_not_zero"),
        ]
        indexes = [
            models.Index(fields=["product", "-created_at", "-id"], name="movement_product_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="movement_created_idx"),
            models.Index(fields=["tenant", "kind", "-created_at"], name="movement_kind_idx"),
            models.Index(fields=["reference_type", "reference_id"], name="movement_reference_idx"),
        ]

    def __str__(self):
        return f"{self.quantity:+d} {self.get_kind_display().lower()} of {self.product.name}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Stock movements are append-only: write a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Stock movements are append-only and can't be deleted.")


from .summary_models import StockFlowSummary, StockSummary  # noqa: E402, F401 - models of this app
