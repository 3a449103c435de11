"""What the orders app adds to the layers below it, registered once the apps are ready
(``OrdersConfig.ready``): the changes that may wait for approval (refunds, bulk status changes), its
import, its records' place in the audit log (orders refuse a bulk undo; order numbers find their
entries), its dashboard section, sidebar entries and command-palette searches."""

from audit import registry as audit
from core import registry as site
from core import summaries
from imports import registry as imports

from . import approvable
from .command_search import search_customers, search_orders
from .customer_import import CustomerImport
from .dashboard import sales_context, sales_figures
from .models import Customer, Order, OrderItem
from .selectors import order_named_by
from .services import order_undo_refuse
from .summaries import ORDER_SUMMARY, PRODUCT_SALES_SUMMARY, SALES_WINDOW

SIDEBAR = [
    ("Orders", "receipt_long", "orders.order"),
    ("Order lines", "list_alt", "orders.orderitem"),
    ("Payments", "payments", "orders.payment"),
    ("Customers", "group", "orders.customer"),
]


def register() -> None:
    summaries.register(ORDER_SUMMARY)
    summaries.register(PRODUCT_SALES_SUMMARY)
    summaries.register(SALES_WINDOW)
    approvable.register()
    imports.register(CustomerImport)
    audit.track(Customer)
    audit.track(Order, undo=order_undo_refuse)
    audit.track(OrderItem, undo=order_undo_refuse)
    audit.find_objects(order_named_by)
    site.register_dashboard_section(
        site.DashboardSection(
            name="sales",
            template="admin/dashboard/sales.html",
            view_permission="orders.view_order",
            work_permission="orders.change_order",
            figures=sales_figures,
            context=sales_context,
            order=10,
        )
    )
    site.register_sidebar_group("Orders", SIDEBAR, order=200)
    site.register_command_search(site.CommandSearch(model="orders.order", search=search_orders, order=20))
    site.register_command_search(
        site.CommandSearch(model="orders.customer", search=search_customers, order=30)
    )
