"""The orders desk's exports (django-import-export resources): customers (the columns their import
reads, ``orders.customer_import``) and orders, one row per order line."""

from import_export import fields, resources, widgets

from .models import Customer, Order, OrderItem


class CustomerResource(resources.ModelResource):
    email = fields.Field(attribute="email", column_name="email")
    name = fields.Field(attribute="name", column_name="name")
    phone = fields.Field(attribute="phone", column_name="phone")
    default_shipping_address = fields.Field(
        attribute="default_shipping_address", column_name="default_shipping_address"
    )

    class Meta:
        model = Customer
        fields = ["email", "name", "phone", "default_shipping_address"]

    def get_queryset(self):
        return Customer.objects.all()


class OrderLineResource(resources.ModelResource):
    """Orders exported one row per line: the order's number, date, status, customer and totals repeat
    on each of its lines."""

    order = fields.Field(attribute="order__number", column_name="order")
    ordered_at = fields.Field(
        attribute="order__created_at", column_name="ordered_at", widget=widgets.DateTimeWidget()
    )
    status = fields.Field(attribute="order__status", column_name="status")
    customer_email = fields.Field(attribute="order__customer__email", column_name="customer_email")
    customer_name = fields.Field(attribute="order__customer__name", column_name="customer_name")
    sku = fields.Field(attribute="product__sku", column_name="sku")
    product = fields.Field(attribute="product__name", column_name="product")
    quantity = fields.Field(attribute="quantity", column_name="quantity", widget=widgets.IntegerWidget())
    unit_price = fields.Field(
        attribute="unit_price", column_name="unit_price", widget=widgets.DecimalWidget()
    )
    line_total = fields.Field(
        attribute="line_total", column_name="line_total", widget=widgets.DecimalWidget()
    )
    order_total = fields.Field(
        attribute="order__total", column_name="order_total", widget=widgets.DecimalWidget()
    )

    class Meta:
        model = OrderItem
        name = "Order lines"
        fields = [
            "order",
            "ordered_at",
            "status",
            "customer_email",
            "customer_name",
            "sku",
            "product",
            "quantity",
            "unit_price",
            "line_total",
            "order_total",
        ]

    def export(self, queryset=None, **kwargs):
        if queryset is None:
            queryset = Order.objects.all()
        if queryset.model is Order:
            # The orders the list shows (its filters and search), as their lines.
            queryset = OrderItem.objects.filter(order__in=queryset.order_by().values("pk"))
        queryset = queryset.select_related("order__customer", "product").order_by(
            "order__created_at", "order_id", "id"
        )
        return super().export(queryset=queryset, **kwargs)
