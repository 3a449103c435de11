from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Imports of files (CSV, XLSX, JSON) for every resource the apps register: one engine, jobs that
    run in the request or on a worker, the admin's upload -> preview -> confirm pages."""

    name = "imports"
    verbose_name = "Imports"
