"""Ids given to the catalogue's services, checked at the boundary: a product, a UUID or a UUID's text
(as JSON, forms and URLs carry them); anything else is refused with a message naming the value."""

import uuid

from ..models import Product
from .errors import CatalogueError


def product_pk(value) -> uuid.UUID:
    """The id of a product given as a product, a UUID or a UUID's text.

    Anything else is refused with a message naming what was given, rather than reaching the
    database as an id that matches nothing (which read as "unknown product") or fails there."""
    if isinstance(value, Product):
        return value.pk
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise CatalogueError(
        f"{value!r} is not a product id: give a product, its UUID or the UUID's text "
        f"(like '{uuid.UUID(int=0)}')."
    )
