from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Administration"

    def ready(self):
        # Here, not at the top: core.tenancy defines a model base, which needs the apps loaded.
        from core.tenancy import ensure_default_tenant

        from . import roles  # noqa: F401  (connects post_migrate: groups follow the code)

        post_migrate.connect(ensure_default_tenant, sender=self)
