"""What the catalogue app adds to the layers below it, registered once the apps are ready
(``InventoryConfig.ready``): its imports."""

from imports import registry as imports

from .category_import import CategoryImport
from .product_import import ProductImport


def register() -> None:
    imports.register(ProductImport)
    imports.register(CategoryImport)
