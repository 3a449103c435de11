"""The command palette's products (registered in ``inventory.registrations``): by SKU prefix or words of
the name, on their indexes."""

from core.search import command_matches, search_result

from .models import Product

SEARCH_LIMIT = 10


def search_products(term: str) -> list:
    products = command_matches(Product.objects.all(), term, prefix={"sku": str.upper}, contains=["name"])
    found = sorted(products.only("pk", "name", "sku", "stock")[:SEARCH_LIMIT], key=lambda p: p.name)
    return [search_result(p, f"Product · {p.stock} in stock", "inventory_2") for p in found]
