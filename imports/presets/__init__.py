"""Presets: how other shop systems write their exports, so their files import as they come out.

A preset maps its system's headers to a resource's columns (each mapping shown, and editable, in the
admin's mapping step), says why the columns it leaves out are left out, and rewrites each row the way
its system means it: which rows are products of their own, what a row inherits from the row it
belongs to, how flags and category paths are spelled (``base.Preset``).
"""

from .base import Preset
from .shopify import ShopifyCustomers, ShopifyProducts
from .woocommerce import WooCommerceProducts

PRESETS: dict[str, type[Preset]] = {
    preset.name: preset for preset in (WooCommerceProducts, ShopifyProducts, ShopifyCustomers)
}


def preset_named(name: str) -> Preset | None:
    """A fresh preset (it may hold what one import reads, such as a variable product's parents)."""
    found = PRESETS.get(name or "")
    return found() if found is not None else None


def presets_for(resource: str) -> list[type[Preset]]:
    return [preset for preset in PRESETS.values() if preset.resource == resource]


def recognised(resource: str, headers) -> type[Preset] | None:
    """The preset whose system wrote a file with these headers, if one did."""
    return next((preset for preset in presets_for(resource) if preset.recognises(headers)), None)


__all__ = ["PRESETS", "Preset", "preset_named", "presets_for", "recognised"]
