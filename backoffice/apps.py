from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with the back office's site (``backoffice.admin_site``) as ``admin.site``."""

    default = False  # named in INSTALLED_APPS; "backoffice" is BackofficeConfig
    default_site = "backoffice.admin_site.BackofficeAdminSite"


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Administration"

    def ready(self):
        # Here, not at the top: core.tenancy defines a model base, which needs the apps loaded.
        from core.tenancy import ensure_default_tenant

        from . import roles  # noqa: F401  (connects post_migrate: groups follow the code)

        post_migrate.connect(ensure_default_tenant, sender=self)
