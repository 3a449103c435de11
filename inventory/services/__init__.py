"""Writes to the catalogue and to stock. The admin, commands, imports and tasks all call these.

- ``stock``: the ledger (every stock change, all or nothing, rows locked in primary-key order);
- ``catalogue``: products, their images and categories (single saves and bulk flags);
- ``undo``: putting a change set's products back (registered with ``audit.undo``);
- ``cache``: cached catalogue entries, forgotten once a change commits.
"""

from .cache import catalogue_cache_clear, featured_cache_key, product_cache_keys
from .catalogue import (
    PRODUCT_FLAGS,
    category_create,
    category_delete,
    category_delete_blocker,
    category_update,
    product_create,
    product_delete,
    product_delete_blocker,
    product_image_delete,
    product_image_save,
    product_images_save,
    product_set_flag,
    product_update,
)
from .errors import CatalogueError, InsufficientStock, validation_message
from .inputs import product_pk
from .stock import (
    STOCK_MAX,
    StockChange,
    ledger_purge,
    product_popularity_raise,
    stock_adjust,
    stock_adjust_many,
    stock_apply,
    stock_apply_locked,
    stock_open,
    stock_reconcile,
)
from .undo import product_undo

__all__ = [
    "PRODUCT_FLAGS",
    "STOCK_MAX",
    "CatalogueError",
    "InsufficientStock",
    "StockChange",
    "catalogue_cache_clear",
    "category_create",
    "category_delete",
    "category_delete_blocker",
    "category_update",
    "featured_cache_key",
    "ledger_purge",
    "product_cache_keys",
    "product_create",
    "product_delete",
    "product_delete_blocker",
    "product_image_delete",
    "product_image_save",
    "product_images_save",
    "product_pk",
    "product_popularity_raise",
    "product_set_flag",
    "product_undo",
    "product_update",
    "stock_adjust",
    "stock_adjust_many",
    "stock_apply",
    "stock_apply_locked",
    "stock_open",
    "stock_reconcile",
    "validation_message",
]
