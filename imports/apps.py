from django.apps import AppConfig

from core.registry import SidebarItem, register_sidebar_item


class ImportsConfig(AppConfig):
    """Imports of files (CSV, XLSX, JSON) for every resource the apps register: one engine, jobs that
    run in the request or on a worker, the admin's upload -> preview -> confirm pages."""

    name = "imports"
    verbose_name = "Imports"

    def ready(self):
        from . import approval  # tasks: registers the tasks, which jobs queue by name

        approval.register()

        # Beside the catalogue's lists, where imports are run from.
        register_sidebar_item(
            SidebarItem(
                group="Catalogue",
                title="Import jobs",
                icon="upload_file",
                model="imports.importjob",
                order=150,
            )
        )
        register_sidebar_item(
            SidebarItem(
                group="Catalogue",
                title="Import mappings",
                icon="swap_horiz",
                model="imports.importmapping",
                order=151,
            )
        )
