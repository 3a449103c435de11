from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        # The services register what settles their payments (orders.billing.SETTLERS).
        from . import services, signals  # noqa: F401
