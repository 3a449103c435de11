"""django-import-export resources of the orders desk: customers (import and export, keyed by e-mail)
and orders (export only, one row per order line)."""

from import_export import fields, resources, widgets
from import_export.instance_loaders import CachedInstanceLoader

from backoffice.import_export_admin import BackofficeImportExportMixin
from inventory.models import ImportJob
from inventory.resources import ImportedResource

from .models import Customer, Order, OrderItem


class EmailWidget(widgets.CharWidget):
    """E-mail addresses are compared lower-case, as ``Customer.save`` stores them."""

    def clean(self, value, row=None, **kwargs):
        return (super().clean(value, row, **kwargs) or "").strip().lower()


class CustomerResource(ImportedResource):
    email = fields.Field(attribute="email", column_name="email", widget=EmailWidget())
    name = fields.Field(attribute="name", column_name="name")
    phone = fields.Field(attribute="phone", column_name="phone")
    default_shipping_address = fields.Field(
        attribute="default_shipping_address", column_name="default_shipping_address"
    )

    class Meta:
        model = Customer
        fields = ["email", "name", "phone", "default_shipping_address"]
        import_id_fields = ["email"]
        instance_loader_class = CachedInstanceLoader  # one query for the file's customers
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return Customer.objects.all()

    def import_instance(self, instance, row, **kwargs):
        for column in ("phone", "default_shipping_address"):
            if column in row and row[column] is None:
                row[column] = ""
        super().import_instance(instance, row, **kwargs)


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


class CustomerImportExport(BackofficeImportExportMixin):
    resource_classes = [CustomerResource]
    import_permissions = ("orders.add_customer", "orders.change_customer")
    import_job_resource = ImportJob.Resource.CUSTOMERS


class OrderExport(BackofficeImportExportMixin):
    """Export only: orders are placed by the shop through the order service, never imported."""

    resource_classes = [OrderLineResource]
    import_export_change_list_template = "admin/import_export/change_list_export.html"
