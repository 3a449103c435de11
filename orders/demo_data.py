"""Deterministic demo customers and orders (statuses spread over the last 12 months), whose units
go through the stock ledger as live orders' do."""

import heapq
import random
import unicodedata
from datetime import timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit.recording import history_bulk_record
from audit.seeding import copy_with_history
from core.bulk import copy_rows, reset_sequence
from inventory.models import Product, StockMovement
from inventory.services.stock import MOVEMENT_COLUMNS

from .models import Customer, Order, OrderItem, OrderStatus, order_number_for
from .services import money, tax_for

FIRST = [
    "Ada",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pedro",
    "Qian",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Andersen",
    "Brown",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "García",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Patel",
    "Rossi",
    "Smith",
    "Tanaka",
    "Novak",
    "Weber",
    "Yilmaz",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "King Street"]
CITIES = [
    "Springfield 10001",
    "Riverton 20417",
    "Lakeside 30522",
    "Hillview 40110",
    "Bayport 50309",
]

CUSTOMER_COLUMNS = ["id", "name", "email", "phone", "default_shipping_address", "created_at"]
ORDER_COLUMNS = [
    "id",
    "number",
    "customer_id",
    "status",
    "subtotal",
    "tax",
    "total",
    "payment_reference",
    "shipping_address",
    "internal_note",
    "created_at",
    "updated_at",
]
ITEM_COLUMNS = ["order_id", "product_id", "quantity", "unit_price", "line_total"]
BATCH = 20_000


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")


def seed_customers(count: int, *, rng: random.Random, progress=None, user=None) -> int:
    start = (Customer.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1
    now = timezone.now()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        rows = []
        for pk in range(start + done, start + done + size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            address = f"{rng.randint(1, 250)} {rng.choice(STREETS)}\n{rng.choice(CITIES)}"
            rows.append(
                (
                    pk,
                    f"{first} {last}",
                    f"{_ascii(first)}.{_ascii(last)}.{pk}@example.com",
                    f"+1 555 {rng.randint(1000000, 9999999)}",
                    address,
                    now - timedelta(days=rng.uniform(30, 800)),
                )
            )
        with transaction.atomic():
            copy_with_history(
                Customer,
                CUSTOMER_COLUMNS,
                rows,
                reason="Demo data",
                describe=lambda row: f"{row[1]} <{row[2]}>",
                when=lambda row: row[5],
                user=user,
            )
        done += size
        if progress:
            progress(done, count)
    reset_sequence(Customer)
    return done


def _status_for(age_days: float, rng: random.Random) -> str:
    roll = rng.random()
    if age_days < 2:
        return (
            OrderStatus.PENDING if roll < 0.4 else OrderStatus.PAID if roll < 0.85 else OrderStatus.CANCELLED
        )
    if age_days < 10:
        return (
            OrderStatus.PAID
            if roll < 0.25
            else OrderStatus.SHIPPED
            if roll < 0.85
            else OrderStatus.CANCELLED
            if roll < 0.95
            else OrderStatus.PENDING
        )
    return (
        OrderStatus.COMPLETED
        if roll < 0.82
        else OrderStatus.CANCELLED
        if roll < 0.92
        else OrderStatus.REFUNDED
    )


class _Shelf:
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

    def give_back_later(self, when, order_id, number, kind, lines):
        self._sequence += 1
        heapq.heappush(self.returns, (when, self._sequence, order_id, number, kind, lines))

    def returns_until(self, until):
        """The returns (cancellations, refunds) due by ``until``, in time order."""
        while self.returns and self.returns[0][0] <= until:
            when, _, order_id, number, kind, lines = heapq.heappop(self.returns)
            verb = "cancellation" if kind == StockMovement.Kind.CANCELLATION else "refund"
            for product_id, quantity in lines:
                self.move(product_id, quantity, kind, f"Restocked by {verb} of {number}", when, order_id)


RESTOCK = "Supplier delivery (demo data)"


def seed_orders(count: int, *, rng: random.Random, progress=None, user=None) -> int:
    """``count`` orders over the last year, replayed in time order through the stock ledger: each
    takes its units (a sale movement), cancelled and refunded ones give them back later, and a
    product about to run out is restocked first (a receipt). Products' stock ends as the ledger says,
    with one history row each saying so."""
    catalogue = list(
        Product.objects.filter(is_published=True)
        .order_by("-popularity_score", "pk")
        .values_list("pk", "price", "stock", "created_at")[:50_000]
    )
    customers = list(Customer.objects.values_list("pk", "default_shipping_address"))
    if not catalogue or not customers:
        return 0
    shelf = _Shelf(
        catalogue,
        rng=rng,
        user_id=user.pk if user else None,
        order_type_id=ContentType.objects.get_for_model(Order).pk,
    )
    start = (Order.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1
    now = timezone.now()
    # Order numbers grow with time, as in a real shop: draw the dates first, then replay them in order.
    dates = sorted(now - timedelta(days=rng.uniform(0, 365)) for _ in range(count))
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        orders, items = [], []
        for offset in range(size):
            pk = start + done + offset
            created = dates[done + offset]
            shelf.returns_until(created)
            order, lines = _demo_order(
                pk, created, now=now, rng=rng, customers=customers, catalogue=catalogue
            )
            number = order[1]
            for product_id, quantity, price, line_total in lines:
                shelf.sell(product_id, quantity, created, pk, number)
                items.append((pk, product_id, quantity, price, line_total))
            status, updated = order[3], order[-1]
            if status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
                kind = (
                    StockMovement.Kind.CANCELLATION
                    if status == OrderStatus.CANCELLED
                    else StockMovement.Kind.REFUND
                )
                shelf.give_back_later(updated, pk, number, kind, [(p, q) for p, q, *_ in lines])
            orders.append(order)
        if done + size == count:
            shelf.returns_until(now)
        with transaction.atomic():
            copy_rows(Order, ORDER_COLUMNS, orders)
            copy_rows(OrderItem, ITEM_COLUMNS, items)
            copy_rows(StockMovement, MOVEMENT_COLUMNS, shelf.movements)
        shelf.movements = []
        done += size
        if progress:
            progress(done, count)
    reset_sequence(Order)
    _settle_stock(shelf.stock, user=user)
    return done


def _demo_order(pk, created, *, now, rng, customers, catalogue):
    """The row of one demo order, and its lines as (product id, quantity, unit price, line total)."""
    customer_id, address = rng.choice(customers)
    age = (now - created).total_seconds() / 86400
    status = _status_for(age, rng)
    # Popular products sell more: pick from the head of the catalogue more often; a product is
    # sold only once it exists.
    chosen = {
        catalogue[min(int(rng.paretovariate(1.2)) - 1, len(catalogue) - 1)] for _ in range(rng.randint(1, 4))
    }
    lines = []
    for product_id, price, _, product_created in sorted(chosen):
        if product_created <= created:
            quantity = rng.choice((1, 1, 1, 2, 2, 3))
            lines.append((product_id, quantity, price, money(price * quantity)))
    if not lines:  # every pick was newer than the order: the oldest product instead
        product_id, price, _, _ = min(catalogue, key=lambda product: product[3])
        lines.append((product_id, 1, price, money(price)))
    subtotal = sum((line[3] for line in lines), Decimal("0"))
    tax = tax_for(subtotal)
    charged = status != OrderStatus.PENDING and not (status == OrderStatus.CANCELLED and age < 2)
    if status == OrderStatus.CANCELLED:
        updated = created + timedelta(hours=rng.uniform(0.5, min(36, age * 24)))
    elif status == OrderStatus.REFUNDED:
        updated = created + timedelta(days=rng.uniform(3, min(20, age)))
    else:
        updated = created
    order = (
        pk,
        order_number_for(pk),
        customer_id,
        status,
        subtotal,
        tax,
        subtotal + tax,
        f"demo_{pk}" if charged else "",
        address,
        "",
        created,
        min(updated, now),
    )
    return order, lines


def _settle_stock(stock: dict, *, user) -> None:
    """Products' stock as their movements left it, each with a history row that says why."""
    products = list(Product.objects.filter(pk__in=list(stock)).order_by("pk"))
    changed = [product for product in products if product.stock != stock[product.pk]]
    with transaction.atomic():
        with connection.cursor() as cursor:
            ids = [product.pk for product in changed]
            cursor.execute(
                "UPDATE inventory_product AS p SET stock = c.stock "
                "FROM unnest(%s::uuid[], %s::int[]) AS c(id, stock) WHERE p.id = c.id",
                [ids, [stock[pk] for pk in ids]],
            )
        for product in changed:
            product.stock = stock[product.pk]
        history_bulk_record(
            changed, reason="Stock after the demo orders (demo data)", user=user, changed_fields=["stock"]
        )
