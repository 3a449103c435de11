"""What the catalogue app adds to the layers below it, registered once the apps are ready
(``InventoryConfig.ready``): its imports, its records' place in the audit log (products undo through
the stock ledger)."""

from audit import registry as audit
from imports import registry as imports

from .category_import import CategoryImport
from .models import Category, Product, ProductImage
from .product_import import ProductImport
from .services import product_undo


def register() -> None:
    imports.register(ProductImport)
    imports.register(CategoryImport)
    audit.track(Category)
    audit.track(Product, undo=product_undo)
    audit.track(ProductImage)
