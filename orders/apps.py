from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        # registrations: what the app adds to the layers below; services: they register what settles
        # their payments (orders.billing.SETTLERS); signals: receivers connect on import.
        from . import registrations, services, signals  # noqa: F401

        registrations.register()
