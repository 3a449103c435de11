from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Catalogue"

    def ready(self):
        from . import registrations, signals  # noqa: F401  (signals: receivers connect on import)

        registrations.register()
