from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Catalogue"

    def ready(self):
        from . import signals  # noqa: F401
