"""What the catalogue app adds to the layers below it, registered once the apps are ready
(``InventoryConfig.ready``): its imports, its records' place in the audit log (products undo through
the stock ledger), the changes that may wait for approval, its dashboard section, sidebar entries and
command-palette search."""

from audit import registry as audit
from core import registry as site
from core import summaries
from imports import registry as imports

from . import approvable
from .category_import import CategoryImport
from .command_search import search_products
from .dashboard import stock_context, stock_figures
from .models import Category, Product, ProductImage
from .product_import import ProductImport
from .services import product_undo
from .summaries import STOCK_FLOW_SUMMARY, STOCK_SUMMARY

SIDEBAR = [
    ("Products", "inventory_2", "inventory.product"),
    ("Categories", "category", "inventory.category"),
    ("Stock movements", "swap_vert", "inventory.stockmovement"),
]


def register() -> None:
    summaries.register(STOCK_FLOW_SUMMARY)
    summaries.register(STOCK_SUMMARY)
    imports.register(ProductImport)
    imports.register(CategoryImport)
    audit.track(Category)
    audit.track(Product, undo=product_undo)
    audit.track(ProductImage)
    approvable.register()
    site.register_dashboard_section(
        site.DashboardSection(
            name="stock",
            template="admin/dashboard/stock.html",
            view_permission="inventory.view_product",
            work_permission="inventory.adjust_stock",
            figures=stock_figures,
            context=stock_context,
            order=20,
        )
    )
    site.register_sidebar_group("Catalogue", SIDEBAR, order=100)
    site.register_command_search(
        site.CommandSearch(model="inventory.product", search=search_products, order=10)
    )
