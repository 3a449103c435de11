from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel: what every app of the back office stands on (tenancy, bulk writes, fast lists, the
    admin's base, formats, registries). It imports no app of the project."""

    name = "core"
    verbose_name = "Kernel"

    def ready(self):
        from django.db.models import CharField, TextField

        from .lookups import TrigramContains

        # name__trigram_contains="lamp": ILIKE on PostgreSQL, which the trigram indexes serve.
        CharField.register_lookup(TrigramContains)
        TextField.register_lookup(TrigramContains)
