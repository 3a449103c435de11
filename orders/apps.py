from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from . import registrations, signals  # noqa: F401  (signals: receivers connect on import)

        registrations.register()
