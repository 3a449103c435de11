"""The demo catalogue's shelf while demo orders are replayed in time order: every unit sold, returned
or received is a ledger movement, and products end with the stock their movements explain."""

import heapq
import random

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from audit.recording import history_bulk_record
from inventory.models import Product, StockMovement


class Shelf:
    """The demo catalogue's stock while orders are replayed in time order: every unit sold, returned
    or received becomes a ledger movement with the stock right after it, so the ledger explains every
    product's final stock, and "sold" on the dashboard agrees with the orders."""

    def __init__(self, products, *, rng: random.Random, user_id, order_type_id):
        self.stock = {pk: stock for pk, _, stock, _ in products}
        self.created = {pk: created for pk, _, _, created in products}
        self.rng, self.user_id, self.order_type_id = rng, user_id, order_type_id
        self.movements: list[tuple] = []
        self.returns: list[tuple] = []  # heap of (when, sequence, order id, number, kind, lines)
        self._sequence = 0

    def move(self, product_id, quantity, kind, reason, when, order_id=None):
        self.stock[product_id] += quantity
        self.movements.append(
            (
                product_id,
                quantity,
                kind,
                reason,
                self.user_id,
                self.order_type_id if order_id else None,
                str(order_id) if order_id else "",
                self.stock[product_id],
                when,
            )
        )

    def sell(self, product_id, quantity, when, order_id, number):
        if self.stock[product_id] < quantity:  # the shop reorders before it runs out
            self.move(product_id, self.rng.randint(60, 300), StockMovement.Kind.RECEIPT, RESTOCK, when)
        self.move(product_id, -quantity, StockMovement.Kind.SALE, f"Order {number} placed", when, order_id)

    def give_back_later(self, when, order_id, reason, kind, lines):
        self._sequence += 1
        heapq.heappush(self.returns, (when, self._sequence, order_id, reason, kind, lines))

    def returns_until(self, until):
        """The units coming back (cancellations, returns) due by ``until``, in time order."""
        while self.returns and self.returns[0][0] <= until:
            when, _, order_id, reason, kind, lines = heapq.heappop(self.returns)
            for product_id, quantity in lines:
                self.move(product_id, quantity, kind, reason, when, order_id)


RESTOCK = "Supplier delivery (demo data)"


def settle_stock(stock: dict, *, user) -> None:
    """Products' stock as their movements left it, each with a history row that says why."""
    with transaction.atomic():
        with connection.cursor() as cursor:  # one array each, not a placeholder per product
            cursor.execute(
                "UPDATE inventory_product AS p SET stock = c.stock "
                "FROM unnest(%s::uuid[], %s::int[]) AS c(id, stock) "
                "WHERE p.id = c.id AND p.stock <> c.stock RETURNING p.id",
                [list(stock), list(stock.values())],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        changed = list(
            Product.objects.filter(pk__in=RawSQL("SELECT unnest(%s::uuid[])", [ids])).order_by("pk")
        )
        history_bulk_record(
            changed, reason="Stock after the demo orders (demo data)", user=user, changed_fields=["stock"]
        )
