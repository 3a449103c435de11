from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Administration"

    def ready(self):
        from . import roles  # noqa: F401  (connects post_migrate: groups follow the code)
