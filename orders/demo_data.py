"""Deterministic demo customers and orders (statuses spread over the last 12 months), whose units
go through the stock ledger as live orders' do."""

import random
import unicodedata
from datetime import timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.seeding import copy_with_history
from core.bulk import copy_binary, reset_sequence
from inventory.models import Product, StockMovement
from inventory.services.stock import MOVEMENT_COLUMNS

from .demo_money import DemoMoney, money_story
from .demo_shelf import Shelf, settle_stock
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
    "credited",
    "total",
    "shipping_address",
    "created_at",
    "shipped_at",
    "updated_at",
]
ITEM_COLUMNS = ["id", "order_id", "product_id", "quantity", "unit_price", "line_total"]
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
    """Recent orders are drafts, awaiting payment (on delivery) or paid; older ones shipped; the oldest
    completed, some cancelled, refunded or partially refunded (a line came back)."""
    roll = rng.random()
    if age_days < 2:
        for status, upto in (
            (OrderStatus.DRAFT, 0.15),
            (OrderStatus.PENDING, 0.4),
            (OrderStatus.PAID, 0.85),
        ):
            if roll < upto:
                return status
        return OrderStatus.CANCELLED
    if age_days < 10:
        for status, upto in (
            (OrderStatus.PAID, 0.25),
            (OrderStatus.SHIPPED, 0.8),
            (OrderStatus.PARTIALLY_REFUNDED, 0.85),
            (OrderStatus.CANCELLED, 0.95),
        ):
            if roll < upto:
                return status
        return OrderStatus.PENDING
    for status, upto in (
        (OrderStatus.COMPLETED, 0.78),
        (OrderStatus.PARTIALLY_REFUNDED, 0.84),
        (OrderStatus.CANCELLED, 0.92),
    ):
        if roll < upto:
            return status
    return OrderStatus.REFUNDED


def seed_orders(count: int, *, rng: random.Random, progress=None, user=None) -> int:
    """``count`` orders over the last year, replayed in time order through the stock ledger: each
    placed order takes its units (a sale movement), cancelled ones give them back later, returns
    bring units back (a return movement), and a product about to run out is restocked first (a
    receipt). Drafts take nothing. Charges, refunds and returns go to the payments ledger as the
    order service writes them. Products' stock ends as the ledger says, with one history row each."""
    catalogue = list(
        Product.objects.filter(is_published=True)
        .order_by("-popularity_score", "pk")
        .values_list("pk", "price", "stock", "created_at")[:50_000]
    )
    customers = list(Customer.objects.values_list("pk", "default_shipping_address"))
    if not catalogue or not customers:
        return 0
    shelf = Shelf(
        catalogue,
        rng=rng,
        user_id=user.pk if user else None,
        order_type_id=ContentType.objects.get_for_model(Order).pk,
    )
    oldest = min(catalogue, key=lambda product: product[3])
    money = DemoMoney(rng=rng, user_id=user.pk if user else None)
    start = (Order.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1
    next_item = (OrderItem.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1
    now = timezone.now()
    # Order numbers grow with time, as in a real shop: draw the dates first, then replay them in order.
    dates = sorted(now - timedelta(days=_age_in_days(rng)) for _ in range(count))
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        orders, items = [], []
        for offset in range(size):
            pk = start + done + offset
            created = dates[done + offset]
            shelf.returns_until(created)
            order, lines = _demo_order(
                pk, created, now=now, rng=rng, customers=customers, catalogue=catalogue, oldest=oldest
            )
            line_rows = []
            for product_id, quantity, price, line_total in lines:
                items.append((next_item, pk, product_id, quantity, price, line_total))
                line_rows.append((next_item, product_id, quantity, price))
                next_item += 1
            orders.append(_with_money(order, line_rows, shelf=shelf, money=money, rng=rng, now=now))
            money.maybe_note(pk, created)
        if done + size == count:
            shelf.returns_until(now)
        with transaction.atomic():
            copy_binary(Order, ORDER_COLUMNS, orders)
            copy_binary(OrderItem, ITEM_COLUMNS, items)
            copy_binary(StockMovement, MOVEMENT_COLUMNS, shelf.movements)
            money.write()
        shelf.movements = []
        done += size
        if progress:
            progress(done, count)
    reset_sequence(Order)
    reset_sequence(OrderItem)
    DemoMoney.finish()
    settle_stock(shelf.stock, user=user)
    return done


def _age_in_days(rng: random.Random) -> float:
    """Over the last year, with the last days busier (so support finds drafts, orders awaiting
    payment and parcels to ship on first login)."""
    roll = rng.random()
    return rng.uniform(0, 2) if roll < 0.06 else rng.uniform(2, 10) if roll < 0.16 else rng.uniform(0, 365)


def _with_money(order: dict, lines, *, shelf, money, rng, now) -> tuple:
    """The order's row, after its story: units sold (and back), charges, refunds and returns."""
    pk, number, status = order["id"], order["number"], order["status"]  # status may turn to refunded
    created, updated = order["created_at"], order["updated_at"]
    if status != OrderStatus.DRAFT:
        for _, product_id, quantity, _ in lines:
            shelf.sell(product_id, quantity, created, pk, number)
    charged = order.pop("charged")
    charge = money.charge(pk, number, order["subtotal"] + order["tax"], created) if charged else None
    if status == OrderStatus.CANCELLED:
        if charge:
            money.refund(
                pk,
                charge,
                order["subtotal"] + order["tax"],
                updated,
                purpose="cancellation",
                reason="Customer cancelled by e-mail",
            )
        given = [(product_id, quantity) for _, product_id, quantity, _ in lines]
        shelf.give_back_later(
            updated, pk, f"Restocked by cancellation of {number}", StockMovement.Kind.CANCELLATION, given
        )
    elif status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
        if sum(quantity for _, _, quantity, _ in lines) == 1:  # one unit back is all of it
            order.update(status=OrderStatus.REFUNDED, **money_story(OrderStatus.REFUNDED, **_values(order)))
        everything = order["status"] == OrderStatus.REFUNDED
        by_line = {line_id: product_id for line_id, product_id, _, _ in lines}
        return_id, returned, value, reason = money.give_back(
            pk,
            number,
            [(line_id, quantity, price) for line_id, _, quantity, price in lines],
            updated,
            everything=everything,
        )
        money.refund(pk, charge, value, updated, purpose="refund", reason=reason, return_id=return_id)
        shelf.give_back_later(
            updated,
            pk,
            f"Returned: {number} (return {return_id})",
            StockMovement.Kind.RETURN,
            [(by_line[line_id], quantity) for line_id, quantity, _ in returned],
        )
        if not everything:
            order["credited"], order["total"] = value, order["subtotal"] + order["tax"] - value
    return tuple(order[column] for column in ORDER_COLUMNS)


def _values(order: dict) -> dict:
    return {"subtotal": order["subtotal"], "tax": order["tax"]}


def _demo_order(pk, created, *, now, rng, customers, catalogue, oldest):
    """One demo order (its columns, and ``charged``) and its lines as (product id, quantity, unit
    price, line total)."""
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
        product_id, price, _, _ = oldest
        lines.append((product_id, 1, price, money(price)))
    subtotal = sum((line[3] for line in lines), Decimal("0"))
    tax = tax_for(subtotal)
    # Cancelled within two days: before it was paid (on delivery); older ones had been paid.
    charged = status not in (OrderStatus.DRAFT, OrderStatus.PENDING) and not (
        status == OrderStatus.CANCELLED and age < 2
    )
    if status == OrderStatus.CANCELLED:
        updated = created + timedelta(hours=rng.uniform(0.5, min(36, age * 24)))
    elif status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
        updated = created + timedelta(days=rng.uniform(3, max(3.1, min(20, age))))
    else:
        updated = created
    shipped = status in (
        OrderStatus.SHIPPED,
        OrderStatus.COMPLETED,
        OrderStatus.REFUNDED,
        OrderStatus.PARTIALLY_REFUNDED,
    )
    order = {
        "id": pk,
        "number": order_number_for(pk),
        "customer_id": customer_id,
        "status": status,
        "subtotal": subtotal,
        "tax": tax,
        **money_story(status, subtotal=subtotal, tax=tax),
        "shipping_address": address,
        "created_at": created,
        "shipped_at": created + timedelta(days=1) if shipped else None,
        "updated_at": min(updated, now),
        "charged": charged,
    }
    return order, lines
