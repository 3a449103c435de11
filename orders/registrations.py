"""What the orders app adds to the layers below it, registered once the apps are ready
(``OrdersConfig.ready``): its import, its records' place in the audit log (orders refuse a bulk undo;
order numbers find their entries), its dashboard section, sidebar entries and command-palette
searches."""

from audit import registry as audit
from core.registry import (
    CommandSearch,
    DashboardSection,
    SidebarItem,
    register_command_search,
    register_dashboard_section,
    register_sidebar_item,
)
from imports import registry as imports

from .command_search import search_customers, search_orders
from .customer_import import CustomerImport
from .dashboard import sales_context, sales_figures
from .models import Customer, Order, OrderItem
from .selectors import order_named_by
from .services import order_undo_refuse

SIDEBAR = [
    ("Orders", "receipt_long", "orders.order"),
    ("Order lines", "list_alt", "orders.orderitem"),
    ("Customers", "group", "orders.customer"),
]


def register() -> None:
    imports.register(CustomerImport)
    audit.track(Customer)
    audit.track(Order, undo=order_undo_refuse)
    audit.track(OrderItem, undo=order_undo_refuse)
    audit.find_objects(order_named_by)
    register_dashboard_section(
        DashboardSection(
            name="sales",
            template="admin/dashboard/sales.html",
            view_permission="orders.view_order",
            work_permission="orders.change_order",
            figures=sales_figures,
            context=sales_context,
            order=10,
        )
    )
    for order, (title, icon, model) in enumerate(SIDEBAR, start=200):
        register_sidebar_item(SidebarItem(group="Orders", title=title, icon=icon, model=model, order=order))
    register_command_search(CommandSearch(model="orders.order", search=search_orders, order=20))
    register_command_search(CommandSearch(model="orders.customer", search=search_customers, order=30))
