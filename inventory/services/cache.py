"""Cached catalogue entries (the storefront's featured list, products), per shop, forgotten when a
product changes: once the transaction that changed it commits."""

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from core.tenancy import current_tenant


def featured_cache_key() -> str:
    return f"catalogue:{current_tenant().pk}:featured"


def product_cache_keys(product_id) -> list[str]:
    return [featured_cache_key(), f"catalogue:{current_tenant().pk}:product:{product_id}"]


def catalogue_cache_clear(*, product_ids: Iterable) -> None:
    """Forget cached entries of these products once the transaction that changed them commits."""
    keys = {key for pk in product_ids for key in product_cache_keys(pk)}
    if keys:
        transaction.on_commit(lambda: cache.delete_many(sorted(keys)))
