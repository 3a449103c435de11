"""What the orders app adds to the layers below it, registered once the apps are ready
(``OrdersConfig.ready``): its import, its records' place in the audit log (orders refuse a bulk undo;
order numbers find their entries)."""

from audit import registry as audit
from imports import registry as imports

from .customer_import import CustomerImport
from .models import Customer, Order, OrderItem
from .selectors import order_named_by
from .services import order_undo_refuse


def register() -> None:
    imports.register(CustomerImport)
    audit.track(Customer)
    audit.track(Order, undo=order_undo_refuse)
    audit.track(OrderItem, undo=order_undo_refuse)
    audit.find_objects(order_named_by)
