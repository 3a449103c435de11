"""What the orders app adds to the layers below it, registered once the apps are ready
(``OrdersConfig.ready``): its imports."""

from imports import registry as imports

from .customer_import import CustomerImport


def register() -> None:
    imports.register(CustomerImport)
