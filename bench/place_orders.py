"""Order placement under load: 16 concurrent buyers through the order service against hand-written SQL.

    ./dev bench place_orders [--buyers 16] [--seconds 30] [--rounds 3] [--products 2000]
    ./dev bench place_orders --profile 300 [--products 300]   # one buyer: CPU per order, cProfile

Each buyer is a process with its own database connection (as a server's worker processes are; with
``--threads``, threads of one process, which then share one interpreter lock) placing orders of 1-3
lines (1-3 units each) as fast as it can, warmed up before the clock starts (modules, connections, the
task producer: what a worker that has served before has), with Django's DEBUG off as a production
worker runs (with it on, Django's cursor keeps every statement's text with its parameters quoted in,
work the floor's psycopg doesn't do: `DEBUG=1 ./dev bench place_orders` measures that). The same
orders run five ways,
interleaved in --rounds slices so a busy machine slows them alike (each way gets --seconds in total):

- **service**: ``orders.services.order_place`` with its two-step payment: (1) in one transaction, row
  locks in primary-key order, stock check, the order "awaiting payment" + lines, stock through the
  ledger service (a movement per line), a pending charge in the payments ledger, history rows and
  audit-log entries for the order, its lines and the products; commit; (2) the charge, with its
  idempotency key, by the fake payment provider (its own connection and table, as in the demo);
  (3) in a second transaction, the order locked again, the charge's outcome written and the order
  paid, with its history row and audit entry; then, after commit, the e-mail to the customer
  recorded and queued (the notifications app) and the popularity update;
- **service, no history**: the same with ``SIMPLE_HISTORY_ENABLED=False`` and the bulk history writer
  switched off: what history and the audit log cost;
- **SQL floor**: the same steps hand-written with psycopg, writing the same rows: lock the products in
  pk order, check stock, insert the order and its lines, update stock, insert a stock movement per
  line and the pending charge, and the history rows and audit entries of the order, its lines and the
  products (one INSERT ... SELECT per model); commit; the same charge by the same fake provider;
  then lock the order, mark the charge succeeded, the order paid with its history row and audit
  entry; commit; then, as the service's receivers of ``order_placed``, the customer's e-mail in the
  outbox handed to a worker (a Celery task on the queue) and the products' popularity;
- **SQL floor, no history**: the floor without history rows and audit entries;
- **SQL floor, no history, no ledger**: without the stock movements too: what the ledger costs.

Some orders include one of a few scarce products (30 units each, restocked before every slice), so
buyers race for the last units: orders that would oversell are refused. The other products are
refilled to 1,000 units before every slice, so no way pays for the stock an earlier one sold. After
each slice it checks that units sold equal units taken from stock, product by product, and that no
stock went below zero.
Prints orders/s, p50/p95 latency, refusals and the ratio to the floor, and writes the table to
bench/RESULTS.md ("Order placement").
"""

import argparse
import multiprocessing
import os
import queue
import random
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SCARCE_STOCK = 30
PLENTY_STOCK = 1000


class Shop:
    """What the buyers choose from, read once."""

    def __init__(self, *, products: int, scarce: int):
        from inventory.models import Product
        from orders.models import Customer

        # Products with plenty of stock (refilled before each slice), and a few scarce ones to race for.
        stocked = Product.objects.filter(is_published=True, stock__gte=100).order_by("sku")
        ids = list(stocked.values_list("pk", flat=True)[:products])
        self.scarce, self.plenty = ids[:scarce], ids[scarce:]
        self.customers = list(Customer.objects.order_by("pk"))

    def basket(self, rng: random.Random) -> dict:
        lines = {pk: rng.randint(1, 3) for pk in rng.sample(self.plenty, rng.randint(1, 3))}
        if rng.random() < 0.3:
            lines[rng.choice(self.scarce)] = rng.randint(1, 3)
        return lines


# --- the two ways to place an order --------------------------------------------------------------------
class ServiceBuyer:
    def __init__(self, shop, tenant, user):
        self.shop, self.tenant, self.user = shop, tenant, user

    def place(self, rng) -> bool:
        from orders.services import InsufficientStock, order_place

        try:
            order_place(customer=rng.choice(self.shop.customers), lines=self.shop.basket(rng), user=self.user)
        except InsufficientStock:
            return False
        return True

    def close(self):
        from django.db import connection

        connection.close()


class SqlBuyer:
    """The floor: the order's rows written by hand, one transaction, nothing else."""

    def __init__(self, shop, tenant, user, *, ledger=True, history=True, database_url):
        import psycopg
        from django.contrib.contenttypes.models import ContentType

        from inventory.models import Product
        from orders.models import Order, OrderItem
        from orders.payments import FakePaymentGateway

        self.shop, self.ledger, self.history, self.user_id = shop, ledger, history, user.pk
        self.gateway = FakePaymentGateway()
        self.tenant_id = tenant.pk if tenant is not None else None
        self.order_type = ContentType.objects.get_for_model(Order).pk
        self.connection = psycopg.connect(**common.psycopg_params(database_url), autocommit=True)
        # The history rows and audit entries the service writes, one statement per model.
        self.history_sql = {
            "order": history_sql(Order, where="t.id = %(id)s", object_repr="number"),
            "lines": history_sql(
                OrderItem, where="t.order_id = %(id)s", object_repr="quantity || ' x ' || product_id"
            ),
            "products": history_sql(
                Product, where="t.id = ANY(%(id)s)", object_repr="name || ' (' || sku || ')'"
            ),
        }
        self.currency = settings_currency()

    def _tenant(self, columns: str) -> tuple[str, str]:
        # (extra column, extra placeholder) when the tables carry a tenant column.
        return ("tenant_id, " + columns, "%s, ") if self.tenant_id is not None else (columns, "")

    def place(self, rng) -> bool:
        from notifications.tasks import send_message
        from orders.models import order_number_for
        from orders.services import money, tax_for

        customer = rng.choice(self.shop.customers)
        lines = self.shop.basket(rng)
        tenant = [self.tenant_id] if self.tenant_id is not None else []
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, stock, price FROM inventory_product WHERE id = ANY(%s) AND is_published "
                "ORDER BY id FOR UPDATE",
                [list(lines)],
            )
            products = {pk: (stock, price) for pk, stock, price in cursor.fetchall()}
            if len(products) != len(lines) or any(products[pk][0] < q for pk, q in lines.items()):
                return False  # leaving the block commits nothing but the locks' release
            cursor.execute("SELECT nextval(pg_get_serial_sequence('orders_order', 'id'))")
            order_id = cursor.fetchone()[0]
            number = order_number_for(order_id)
            subtotal = sum((money(products[pk][1] * q) for pk, q in lines.items()), Decimal("0"))
            tax = tax_for(subtotal)
            columns, mark = self._tenant(
                "id, number, customer_id, status, subtotal, tax, credited, total, shipping_address, "
                "created_at, updated_at"
            )
            cursor.execute(
                f"INSERT INTO orders_order ({columns}) VALUES "
                f"({mark}%s, %s, %s, 'pending', %s, %s, 0, %s, %s, now(), now())",
                [
                    *tenant,
                    order_id,
                    number,
                    customer.pk,
                    subtotal,
                    tax,
                    subtotal + tax,
                    customer.default_shipping_address,
                ],
            )
            columns, mark = self._tenant("order_id, product_id, quantity, unit_price, line_total")
            cursor.executemany(
                f"INSERT INTO orders_orderitem ({columns}) VALUES ({mark}%s, %s, %s, %s, %s)",
                [
                    [*tenant, order_id, pk, q, products[pk][1], money(products[pk][1] * q)]
                    for pk, q in lines.items()
                ],
            )
            cursor.execute(
                "UPDATE inventory_product AS p SET stock = p.stock - v.q, updated_at = now() "
                "FROM unnest(%s::uuid[], %s::int[]) AS v(id, q) WHERE p.id = v.id",
                [list(lines), list(lines.values())],
            )
            if self.ledger:
                columns, mark = self._tenant(
                    "product_id, quantity, kind, reason, user_id, reference_type_id, reference_id, "
                    "stock_after, created_at"
                )
                cursor.executemany(
                    f"INSERT INTO inventory_stockmovement ({columns}) VALUES "
                    f"({mark}%s, %s, 'sale', %s, %s, %s, %s, %s, now())",
                    [
                        [
                            *tenant,
                            pk,
                            -q,
                            f"Order {number} placed",
                            self.user_id,
                            self.order_type,
                            str(order_id),
                            products[pk][0] - q,
                        ]
                        for pk, q in lines.items()
                    ],
                )
            idempotency_key = uuid.uuid4().hex
            columns, mark = self._tenant(
                "order_id, kind, status, purpose, amount, currency, idempotency_key, gateway_reference, "
                "batch, user_id, reason, failure, created_at"
            )
            cursor.execute(
                f"INSERT INTO orders_payment ({columns}) VALUES "
                f"({mark}%s, 'charge', 'pending', 'placement', %s, %s, %s, '', %s, %s, %s, '', now())",
                [
                    *tenant,
                    order_id,
                    subtotal + tax,
                    self.currency,
                    idempotency_key,
                    uuid.uuid4(),
                    self.user_id,
                    f"Order {number} placed",
                ],
            )
            if self.history:
                reason = f"Order {number} placed"
                for key, ident, history_type, fields in (
                    ("order", order_id, "+", "[]"),
                    ("lines", order_id, "+", "[]"),
                    ("products", list(lines), "~", '["stock"]'),
                ):
                    cursor.execute(
                        self.history_sql[key],
                        {
                            "id": ident,
                            "reason": reason,
                            "type": history_type,
                            "user": self.user_id,
                            "action": "created" if history_type == "+" else "changed",
                            "fields": fields,
                        },
                    )
        # Step 2, no transaction open: the charge, as the service asks the same fake provider.
        reference = self.gateway.charge(
            amount=subtotal + tax, currency=self.currency, idempotency_key=idempotency_key, description=number
        )
        # Step 3: the order locked again, the charge's outcome, the order paid with its history.
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [order_id])
            cursor.execute(
                "UPDATE orders_payment SET status = 'succeeded', gateway_reference = %s, settled_at = now() "
                "WHERE idempotency_key = %s AND status = 'pending'",
                [reference, idempotency_key],
            )
            cursor.execute(
                "UPDATE orders_order SET status = 'paid', updated_at = now() WHERE id = %s", [order_id]
            )
            if self.history:
                cursor.execute(
                    self.history_sql["order"],
                    {
                        "id": order_id,
                        "reason": f"Order {number} paid",
                        "type": "~",
                        "user": self.user_id,
                        "action": "changed",
                        "fields": '["status"]',
                    },
                )
        # After the commit, as the service's order_placed receivers: the customer's e-mail recorded in
        # the outbox and handed to a worker (notifications), and the products' popularity.
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO notifications_message (tenant_id, kind, event_key, state, order_id, context, "
                "recipient, from_email, reply_to, subject, body_text, body_html, message_id, attempts, "
                "last_error, created_at, due_at, updated_at) VALUES (%s, 'order_placed', %s, 'queued', %s, "
                "%s::jsonb, '', '', '', '', '', '', '', 0, '', now(), now(), now()) RETURNING id",
                [self.tenant_id, f"order_placed:{order_id}", order_id, '{"paid": true}'],
            )
            (message_id,) = cursor.fetchone()
        send_message.delay(message_id, self.tenant_id)
        with self.connection.cursor() as cursor:
            ids = sorted(lines)  # locked in primary-key order, as every writer does (no deadlocks)
            cursor.execute(
                "WITH locked AS (SELECT id FROM inventory_product WHERE id = ANY(%(ids)s) "
                "ORDER BY id FOR UPDATE) "
                "UPDATE inventory_product AS p SET popularity_score = p.popularity_score + v.q "
                "FROM unnest(%(ids)s::uuid[], %(q)s::int[]) AS v(id, q) "
                "WHERE p.id = v.id AND p.id IN (SELECT id FROM locked)",
                {"ids": ids, "q": [lines[pk] for pk in ids]},
            )
        return True

    def close(self):
        self.connection.close()


def profile(shop, tenant, user, *, orders: int, database_url: str):
    """``orders`` placements by one buyer through the service and as many through the floor, in
    interleaved thirds, each timed: wall time, this process's CPU time and the CPU time of the
    PostgreSQL backends serving it (its connection's and the fake provider's), per order. Then the
    statements of one order, and ``orders`` more through the service under cProfile."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders import payments

    def backend_seconds(*pids) -> float:
        ticks = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    service, floor = ServiceBuyer(shop, tenant, user), SqlBuyer(shop, tenant, user, database_url=database_url)
    rng = random.Random(1)
    for _ in range(20):
        service.place(rng), floor.place(rng)
    connection.ensure_connection()
    gateway = payments._connection().info.backend_pid
    ways = {
        "service": (service, connection.connection.info.backend_pid),
        "SQL floor": (floor, floor.connection.info.backend_pid),
    }
    times = {name: [0.0, 0.0, 0.0] for name in ways}
    for third in range(3):
        for name, (buyer, backend) in ways.items():
            count = orders // 3 + (third < orders % 3)
            wall, cpu, server = time.perf_counter(), time.process_time(), backend_seconds(backend, gateway)
            for _ in range(count):
                buyer.place(rng)
            spent = times[name]
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu
            spent[2] += backend_seconds(backend, gateway) - server
    floor.close()
    with CaptureQueriesContext(connection) as queries:
        service.place(rng)
    profiler = cProfile.Profile(time.process_time)  # CPU time: waiting for the server costs no CPU here
    profiler.enable()
    for _ in range(orders):
        service.place(rng)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    print(f"{len(queries)} statements on the shop's connection for one order:")
    for query in queries.captured_queries:
        print(f"  {query['sql'][:160]}")
    print(
        f"load average {common.load_average()}; DEBUG {'on' if settings_debug() else 'off'}; per order, "
        f"{orders} orders each way, not profiled:"
    )
    for name, (wall, cpu, server) in times.items():
        print(
            f"  {name:<10} {wall / orders * 1000:6.2f} ms wall, {cpu / orders * 1000:6.2f} ms CPU here, "
            f"{server / orders * 1000:6.2f} ms CPU in PostgreSQL"
        )


def settings_debug() -> bool:
    from django.conf import settings

    return settings.DEBUG


def settings_currency() -> str:
    from django.conf import settings

    return settings.ORDER_CURRENCY


def history_sql(model, *, where: str, object_repr: str) -> str:
    """One statement writing the history rows of ``model``'s rows that match ``where`` (copied from
    the table) and their audit-log entries, as simple-history and the audit log do for the service."""
    from django.contrib.contenttypes.models import ContentType

    history = model.history.model
    columns = ", ".join(field.column for field in history.tracked_fields)
    content_type = ContentType.objects.get_for_model(model).pk
    return (
        f"WITH h AS (INSERT INTO {history._meta.db_table} ({columns}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, now(), %(reason)s, %(type)s, %(user)s FROM {model._meta.db_table} AS t "
        f"WHERE {where} RETURNING *) "
        "INSERT INTO audit_auditentry (tenant_id, created_at, user_id, content_type_id, object_id, "
        "object_repr, action, reason, changed_fields, history_id) "
        f"SELECT tenant_id, history_date, history_user_id, {content_type}, id::text, {object_repr}, "
        "%(action)s, history_change_reason, %(fields)s::jsonb, history_id FROM h"
    )


# --- running -------------------------------------------------------------------------------------------
def warm_up():
    """What a buyer's first order would otherwise pay once, done before the clock starts, the same for
    every way (as in a server's worker that has served before): the modules imported, the shop's and
    the provider's connections open, the task queue's producer ready."""
    from django.db import connection

    import orders.services  # noqa: F401
    from notifications.tasks import send_message
    from orders.payments import FakePaymentGateway

    connection.ensure_connection()
    FakePaymentGateway().lookup(idempotency_key="warm-up")
    with send_message.app.producer_or_acquire():
        pass


def run_slice(make_buyer, *, buyers: int, seconds: float, seed: int, threads: bool = False):
    """``buyers`` processes (like a server's worker processes; threads with ``threads``) placing orders
    for ``seconds``: (latencies of placed orders, refusals)."""
    context = multiprocessing.get_context("fork")
    kind = threading if threads else context
    start = kind.Barrier(buyers + 1)
    outcomes = queue.Queue() if threads else context.Queue()

    def buyer(n):
        mine, no, error = [], 0, None
        with common.default_tenant():
            rng = random.Random(seed * 1000 + n)
            try:
                placer = make_buyer()
                warm_up()
            except Exception as failure:
                start.wait()
                outcomes.put(([], 0, repr(failure)))
                return
            start.wait()
            stop_at = time.perf_counter() + seconds
            try:
                while time.perf_counter() < stop_at:
                    began = time.perf_counter()
                    if placer.place(rng):
                        mine.append(time.perf_counter() - began)
                    else:
                        no += 1
            except Exception as failure:
                error = repr(failure)
            finally:
                placer.close()
        outcomes.put((mine, no, error))

    workers = [
        (threading.Thread if threads else context.Process)(target=buyer, args=(n,)) for n in range(buyers)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    latencies, refused, errors = [], 0, []
    for _ in workers:
        mine, no, error = outcomes.get(timeout=seconds + 300)
        latencies += mine
        refused += no
        if error:
            errors.append(error)
    for worker in workers:
        worker.join()
    if errors:
        raise SystemExit(f"a buyer failed: {errors[0]}")
    return latencies, refused


def stock_snapshot():
    from django.db.models import Sum

    from inventory.models import Product
    from orders.models import OrderItem

    stock = dict(Product.objects.values_list("pk", "stock"))
    sold = dict(OrderItem.objects.values("product").annotate(n=Sum("quantity")).values_list("product", "n"))
    return stock, sold


def check_no_oversell(before, after) -> tuple[int, list[str]]:
    """Units sold in the slice (from the order lines) against units taken from stock, per product."""
    (stock0, sold0), (stock1, sold1) = before, after
    problems, units = [], 0
    for pk in stock1:
        sold = sold1.get(pk, 0) - sold0.get(pk, 0)
        taken = stock0[pk] - stock1[pk]
        units += sold
        if sold != taken:
            problems.append(f"{pk}: {sold} sold, stock down by {taken}")
        if stock1[pk] < 0:
            problems.append(f"{pk}: stock {stock1[pk]}")
    return units, problems


def restock(shop, user):
    """Before each slice: the scarce products back to a few units, the others to plenty (so only the
    scarce ones are ever refused, whichever way ran before)."""
    from inventory.models import Product
    from inventory.services import stock_apply

    levels = dict.fromkeys(shop.plenty, PLENTY_STOCK) | dict.fromkeys(shop.scarce, SCARCE_STOCK)
    changes = {
        pk: levels[pk] - stock
        for pk, stock in Product.objects.filter(pk__in=levels).values_list("pk", "stock")
        if stock != levels[pk]
    }
    stock_apply(changes=changes, kind="receipt", reason="Benchmark restock", user=user)


class NoHistory:
    """History and audit entries off: simple-history's signals and the bulk writer the services use."""

    def __enter__(self):
        from django.conf import settings

        import inventory.services.stock
        import orders.services.common
        import orders.services.placement

        writers = (inventory.services.stock, orders.services.common, orders.services.placement)
        self.saved = [
            (settings, "SIMPLE_HISTORY_ENABLED", getattr(settings, "SIMPLE_HISTORY_ENABLED", True)),
            *((module, "history_bulk_record", module.history_bulk_record) for module in writers),
        ]
        settings.SIMPLE_HISTORY_ENABLED = False
        for module in writers:
            module.history_bulk_record = lambda *a, **k: None
        return self

    def __exit__(self, *exc):
        for owner, name, value in self.saved:
            setattr(owner, name, value)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="per way, in total over the rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--scarce", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--threads", action="store_true", help="buyers as threads of one process")
    parser.add_argument("--wait-for-quiet", action="store_true", help="wait until the load average is <= 2")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of the benchmark: N orders by one buyer through the service under cProfile, with "
        "the statements each sends (what to read when the ratio is low)",
    )
    args = parser.parse_args()

    # DEBUG off, as a server's workers run (it then wants a secret key: a throwaway one will do).
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-place-orders-throwaway")
    server, _ = common.server_url(keep=False)
    common.create_database(server, "bench_orders", drop=True)
    database_url = common.with_database(server, "bench_orders")
    common.setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    common.migrate()
    with common.default_tenant() as tenant:
        call_command(
            "seed_demo", products=args.products, customers=500, orders=0, no_users=True, stdout=sys.stderr
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        user = common.superuser()
        shop = Shop(products=args.products, scarce=args.scarce)
        if args.profile:
            restock(shop, user)
            return profile(shop, tenant, user, orders=args.profile, database_url=database_url)
    connection.close()

    ways = {
        "service": lambda: ServiceBuyer(shop, tenant, user),
        "service, no history": lambda: ServiceBuyer(shop, tenant, user),
        "SQL floor": lambda: SqlBuyer(shop, tenant, user, database_url=database_url),
        "SQL floor, no history": lambda: SqlBuyer(
            shop, tenant, user, history=False, database_url=database_url
        ),
        "SQL floor, no history, no ledger": lambda: SqlBuyer(
            shop, tenant, user, history=False, ledger=False, database_url=database_url
        ),
    }
    load = common.wait_for_quiet_machine() if args.wait_for_quiet else common.load_average()
    results = {
        name: {"latencies": [], "refused": 0, "units": 0, "seconds": 0.0, "problems": [], "rounds": []}
        for name in ways
    }
    slice_seconds = args.seconds / args.rounds
    for round_ in range(args.rounds):
        for name, make in ways.items():
            with common.default_tenant():
                restock(shop, user)
                before = stock_snapshot()
            connection.close()
            context = NoHistory() if name == "service, no history" else _nothing()
            with context:
                latencies, refused = run_slice(
                    make, buyers=args.buyers, seconds=slice_seconds, seed=round_, threads=args.threads
                )
            with common.default_tenant():
                units, problems = check_no_oversell(before, stock_snapshot())
            result = results[name]
            result["latencies"] += latencies
            result["rounds"].append(len(latencies) / slice_seconds)
            result["refused"] += refused
            result["units"] += units
            result["seconds"] += slice_seconds
            result["problems"] += problems
            print(
                f"round {round_ + 1} {name:<22} {len(latencies) / slice_seconds:7.1f} orders/s "
                f"({refused} refused, {len(problems)} stock problems)",
                file=sys.stderr,
            )
    report(args, results, load, server)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def report(args, results, load, server):
    floor = len(results["SQL floor"]["latencies"]) / results["SQL floor"]["seconds"]
    rows = []
    for name, r in results.items():
        rate = len(r["latencies"]) / r["seconds"]
        rows.append(
            [
                name,
                f"{rate:.1f}",
                f"{common.percentile(r['latencies'], 0.5) * 1000:.1f}",
                f"{common.percentile(r['latencies'], 0.95) * 1000:.1f}",
                f"{rate / floor:.0%}",
                len(r["latencies"]),
                r["refused"],
                r["units"],
                "none" if not r["problems"] else f"{len(r['problems'])} products",
            ]
        )
    table = common.markdown_table(
        [
            "way",
            "orders/s",
            "p50 (ms)",
            "p95 (ms)",
            "of the floor",
            "orders",
            "refused (no stock)",
            "units sold",
            "oversell / stock mismatch",
        ],
        rows,
        "lrrrrrrrl",
    )
    print(table)

    def rate(name):
        return len(results[name]["latencies"]) / results[name]["seconds"]

    service, no_history = rate("service"), rate("service, no history")
    floor_no_history, floor_no_ledger = (
        rate("SQL floor, no history"),
        rate("SQL floor, no history, no ledger"),
    )
    problems = sum(len(r["problems"]) for r in results.values())
    rounds = zip(results["service"]["rounds"], results["SQL floor"]["rounds"], strict=True)
    by_round = ", ".join(f"{ours / theirs:.0%}" for ours, theirs in rounds)
    buyers = "threads of one process" if args.threads else "processes"
    body = [
        f"`./dev bench place_orders --buyers {args.buyers} --seconds {args.seconds:g} "
        f"--rounds {args.rounds}{' --threads' if args.threads else ''}`, {common.now_utc()}.",
        "",
        f"Machine: {common.machine()}; PostgreSQL {common.postgres_version(server)}; load average at the "
        f"start: {load}; Django's DEBUG {'on' if settings_debug() else 'off'}. {args.buyers} buyers "
        f"({buyers}), each with its own connection, {args.seconds:g} s "
        f"per way in {args.rounds} interleaved slices; up to {args.products} products, {args.scarce} of them "
        f"scarce ({SCARCE_STOCK} units, restocked before each slice; the others refilled to "
        f"{PLENTY_STOCK:,}). Each order is paid in two steps (the order and a pending charge "
        "committed, the fake provider called, the charge settled and the order paid), and its e-mail "
        "recorded and queued. Goal: the service at least 75% of the floor (the same steps written by "
        "hand in SQL), zero oversell.",
        "",
        table,
        "",
        f"- The service reaches **{service / floor:.0%}** of the hand-written SQL floor "
        f"({'meets' if service / floor >= 0.75 else 'misses'} the 75% goal; round by round {by_round}), and "
        f"{service / floor_no_history:.0%} of the floor that writes no history.",
        f"- History and audit entries cost the service {1 - service / no_history:.0%} of its throughput "
        f"({no_history:.1f} orders/s without them, {service:.1f} with), and the floor "
        f"{1 - floor / floor_no_history:.0%} ({floor_no_history:.1f} without, {floor:.1f} with).",
        "- The stock ledger (a movement per line) costs the floor "
        f"{1 - floor_no_history / floor_no_ledger:.0%} ({floor_no_history:.1f} orders/s with it, "
        f"{floor_no_ledger:.1f} without).",
        "- Oversell: "
        + (
            "none: in every slice units sold equal units taken from stock, product by product, and no stock "
            "went below zero."
            if not problems
            else f"**{problems} problems** (see the table)."
        ),
    ]
    if not args.no_write:
        common.write_section("Order placement", "\n".join(body))
        print(f"\nwritten to {common.RESULTS.relative_to(common.ROOT)} (Order placement)", file=sys.stderr)
    if problems:
        raise SystemExit("oversell or stock mismatch: see above")


if __name__ == "__main__":
    main()
