from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Administration"

    def ready(self):
        from django.db.models import CharField, TextField
        from django.db.models.signals import post_migrate

        from . import roles  # noqa: F401  (connects post_migrate: groups follow the code)
        from .tenancy import ensure_default_tenant

        post_migrate.connect(ensure_default_tenant, sender=self)
        from .lookups import TrigramContains

        # name__trigram_contains="lamp": ILIKE on PostgreSQL, which the trigram indexes serve.
        CharField.register_lookup(TrigramContains)
        TextField.register_lookup(TrigramContains)
