"""Deterministic demo customers and orders (statuses spread over the last 12 months).

Demo orders are history: they were placed before the stock ledger began, so their products' opening
stock already accounts for them and they write no stock movements.
"""

import random
import unicodedata
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.seeding import copy_with_history
from backoffice.bulk import copy_rows, reset_sequence
from inventory.models import Product

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


def seed_customers(count: int, *, rng: random.Random, progress=None) -> int:
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


def seed_orders(count: int, *, rng: random.Random, progress=None) -> int:
    catalogue = list(
        Product.objects.filter(is_published=True)
        .order_by("-popularity_score", "pk")
        .values_list("pk", "price")[:50_000]
    )
    customers = list(Customer.objects.values_list("pk", "default_shipping_address"))
    if not catalogue or not customers:
        return 0
    start = (Order.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1
    now = timezone.now()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        orders, items = [], []
        for pk in range(start + done, start + done + size):
            customer_id, address = rng.choice(customers)
            created = now - timedelta(days=rng.uniform(0, 365))
            age = (now - created).total_seconds() / 86400
            status = _status_for(age, rng)
            subtotal = Decimal("0")
            # Popular products sell more: pick from the head of the catalogue more often.
            chosen = {
                catalogue[min(int(rng.paretovariate(1.2)) - 1, len(catalogue) - 1)]
                for _ in range(rng.randint(1, 4))
            }
            for product_id, price in chosen:
                quantity = rng.choice((1, 1, 1, 2, 2, 3))
                line_total = money(price * quantity)
                subtotal += line_total
                items.append((pk, product_id, quantity, price, line_total))
            tax = tax_for(subtotal)
            charged = status != OrderStatus.PENDING and not (status == OrderStatus.CANCELLED and age < 2)
            orders.append(
                (
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
                    created,
                )
            )
        with transaction.atomic():
            copy_rows(Order, ORDER_COLUMNS, orders)
            copy_rows(OrderItem, ITEM_COLUMNS, items)
        done += size
        if progress:
            progress(done, count)
    reset_sequence(Order)
    return done
