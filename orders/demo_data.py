"""Deterministic demo customers and orders (statuses spread over the last 12 months), whose units
go through the stock ledger as live orders' do."""

import random
from datetime import timedelta
from decimal import Decimal
from operator import itemgetter

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.bulk import copy_binary, in_processes, reset_sequence
from inventory.models import Product, StockMovement
from inventory.services.stock import MOVEMENT_COLUMNS

from .demo_money import DemoMoney, money_story
from .demo_shelf import Shelf, settle_stock
from .models import Customer, Order, OrderItem, OrderStatus, order_number_for
from .services import money, tax_for

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
_order_row = itemgetter(*ORDER_COLUMNS)  # an order's dict as its row, in C
ITEM_COLUMNS = ["id", "order_id", "product_id", "quantity", "unit_price", "line_total"]
BATCH = 20_000


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
    order service writes them. Products' stock ends as the ledger says, with one history row each.

    Chunks of orders (their lines, payments, returns and notes) are made and written by several
    processes at once (``core.bulk.in_processes``), each from a random generator of its own; this
    process replays their units through the shelf in time order and writes the stock movements."""
    catalogue = list(
        Product.objects.filter(is_published=True)
        .order_by("-popularity_score", "pk")
        .values_list("pk", "price", "stock", "created_at")[:50_000]
    )
    customers = list(Customer.objects.values_list("pk", "default_shipping_address"))
    if not catalogue or not customers:
        return 0
    user_id = user.pk if user else None
    shelf = Shelf(
        catalogue, rng=rng, user_id=user_id, order_type_id=ContentType.objects.get_for_model(Order).pk
    )
    now = timezone.now()
    # Order numbers grow with time, as in a real shop: draw the dates first, then replay them in order.
    dates = sorted(now - timedelta(days=_age_in_days(rng)) for _ in range(count))
    chunk_seed = rng.getrandbits(64)
    jobs = [
        (chunk_seed + offset, offset, dates[offset : offset + BATCH]) for offset in range(0, count, BATCH)
    ]
    shared = {
        "first_order": (Order.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1,
        "first_item": (OrderItem.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1,
        "first_ids": DemoMoney.next_ids(),
        "now": now,
        "user_id": user_id,
        "customers": customers,
        "catalogue": catalogue,
        "oldest": min(catalogue, key=lambda product: product[3]),
    }
    done = 0
    for size, stories in in_processes(_order_chunk, jobs, shared=shared):
        for created, sold, given_back in stories:
            shelf.returns_until(created)
            for product_id, quantity, order_id, number in sold:
                shelf.sell(product_id, quantity, created, order_id, number)
            if given_back:
                shelf.give_back_later(*given_back)
        done += size
        if done == count:
            shelf.returns_until(now)
        copy_binary(StockMovement, MOVEMENT_COLUMNS, shelf.movements)
        shelf.movements = []
        if progress:
            progress(done, count)
    reset_sequence(Order)
    reset_sequence(OrderItem)
    DemoMoney.finish()
    settle_stock(shelf.stock, user=user)
    return done


# Ids each order may take, so that chunks written at once never take the same: up to 4 lines (see
# ``_demo_order``), 2 payments (a charge and a refund) and 1 return.
LINES_PER_ORDER, PAYMENTS_PER_ORDER = 4, 2


def _order_chunk(job, shared) -> tuple[int, list]:
    """One chunk of orders with their lines and money, written in one transaction; gives what each
    order does to the shelf: (placed at, units sold, units given back later)."""
    chunk_seed, offset, dates = job
    rng = random.Random(chunk_seed)
    first_payment, first_return = shared["first_ids"]
    money = DemoMoney(
        rng=rng,
        user_id=shared["user_id"],
        payment_id=first_payment + PAYMENTS_PER_ORDER * offset,
        return_id=first_return + offset,
    )
    now, start = shared["now"], shared["first_order"] + offset
    next_item = shared["first_item"] + LINES_PER_ORDER * offset
    orders, items, stories = [], [], []
    for pk, created in enumerate(dates, start=start):
        order, lines = _demo_order(
            pk,
            created,
            now=now,
            rng=rng,
            customers=shared["customers"],
            catalogue=shared["catalogue"],
            oldest=shared["oldest"],
        )
        line_rows = []
        for product_id, quantity, price, line_total in lines:
            items.append((next_item, pk, product_id, quantity, price, line_total))
            line_rows.append((next_item, product_id, quantity, price))
            next_item += 1
        row, sold, given_back = _with_money(order, line_rows, money=money, rng=rng, now=now)
        orders.append(row)
        stories.append((created, sold, given_back))
        money.maybe_note(pk, created)
    with transaction.atomic():
        copy_binary(Order, ORDER_COLUMNS, orders)
        copy_binary(OrderItem, ITEM_COLUMNS, items)
        money.write()
    return len(dates), stories


def _age_in_days(rng: random.Random) -> float:
    """Over the last year, with the last days busier (so support finds drafts, orders awaiting
    payment and parcels to ship on first login)."""
    roll = rng.random()
    return rng.uniform(0, 2) if roll < 0.06 else rng.uniform(2, 10) if roll < 0.16 else rng.uniform(0, 365)


def _with_money(order: dict, lines, *, money, rng, now) -> tuple:
    """The order's row after its story (charges, refunds and returns), the units it sold ((product,
    quantity, order id, number)), and those it gives back later (``Shelf.give_back_later``'s args)."""
    pk, number, status = order["id"], order["number"], order["status"]  # status may turn to refunded
    created, updated = order["created_at"], order["updated_at"]
    sold, given_back = [], None
    if status != OrderStatus.DRAFT:
        sold = [(product_id, quantity, pk, number) for _, product_id, quantity, _ in lines]
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
        given_back = (
            updated,
            pk,
            f"Restocked by cancellation of {number}",
            StockMovement.Kind.CANCELLATION,
            given,
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
        given_back = (
            updated,
            pk,
            f"Returned: {number} (return {return_id})",
            StockMovement.Kind.RETURN,
            [(by_line[line_id], quantity) for line_id, quantity, _ in returned],
        )
        if not everything:
            order["credited"], order["total"] = value, order["subtotal"] + order["tax"] - value
    return _order_row(order), sold, given_back


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
        catalogue[min(int(rng.paretovariate(1.2)) - 1, len(catalogue) - 1)]
        for _ in range(rng.randint(1, LINES_PER_ORDER))
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
