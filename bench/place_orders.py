"""Order placement under load: 16 concurrent buyers through OrderService against hand-written SQL.

    ./dev bench place_orders [--buyers 16] [--seconds 30] [--rounds 3] [--products 2000]

Each buyer is a thread with its own database connection placing orders of 1-3 lines (1-3 units each)
as fast as it can. The same orders run four ways, interleaved in --rounds slices so a busy machine
slows them alike (each way gets --seconds in total):

- **service**: ``OrderService.place_order`` (orders.services.order_place): row locks in primary-key
  order, stock check, order + lines, stock through the ledger service (a movement per line), history
  rows and audit-log entries for the order, its lines and the products, the payment gateway (the fake
  one), and the popularity update after commit;
- **service, no history**: the same with ``SIMPLE_HISTORY_ENABLED=False`` and the bulk history writer
  switched off: what history and the audit log cost;
- **SQL floor**: the same transaction hand-written with psycopg: lock the products in pk order, check
  stock, insert the order and its lines, update stock, insert a stock movement per line;
- **SQL floor, no ledger**: the floor without the stock movements: what the ledger costs.

Some orders include one of a few scarce products (30 units each, restocked before every slice), so
buyers race for the last units: orders that would oversell are refused. After each slice it checks
that units sold equal units taken from stock, product by product, and that no stock went below zero.
Prints orders/s, p50/p95 latency, refusals and the ratio to the floor, and writes the table to
bench/RESULTS.md ("Order placement").
"""

import argparse
import random
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SCARCE_STOCK = 30


class Shop:
    """What the buyers choose from, read once."""

    def __init__(self, *, products: int, scarce: int):
        from inventory.models import Product
        from orders.models import Customer

        # Products with plenty of stock (none runs out in a run), and a few scarce ones to race for.
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
        from orders.services import InsufficientStock, OrderService

        try:
            OrderService.place_order(
                customer=rng.choice(self.shop.customers), lines=self.shop.basket(rng), user=self.user
            )
        except InsufficientStock:
            return False
        return True

    def close(self):
        from django.db import connection

        connection.close()


class SqlBuyer:
    """The floor: the order's rows written by hand, one transaction, nothing else."""

    def __init__(self, shop, tenant, user, *, ledger=True, database_url):
        import psycopg
        from django.contrib.contenttypes.models import ContentType

        from orders.models import Order

        self.shop, self.ledger, self.user_id = shop, ledger, user.pk
        self.tenant_id = tenant.pk if tenant is not None else None
        self.order_type = ContentType.objects.get_for_model(Order).pk
        self.connection = psycopg.connect(**common.psycopg_params(database_url))

    def _tenant(self, columns: str) -> tuple[str, str]:
        # (extra column, extra placeholder) when the tables carry a tenant column.
        return ("tenant_id, " + columns, "%s, ") if self.tenant_id is not None else (columns, "")

    def place(self, rng) -> bool:
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
                "id, number, customer_id, status, subtotal, tax, total, payment_reference, "
                "shipping_address, internal_note, created_at, updated_at"
            )
            cursor.execute(
                f"INSERT INTO orders_order ({columns}) VALUES "
                f"({mark}%s, %s, %s, 'paid', %s, %s, %s, %s, %s, '', now(), now())",
                [
                    *tenant,
                    order_id,
                    number,
                    customer.pk,
                    subtotal,
                    tax,
                    subtotal + tax,
                    f"sql_{order_id}",
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
        return True

    def close(self):
        self.connection.close()


# --- running -------------------------------------------------------------------------------------------
def run_slice(make_buyer, *, buyers: int, seconds: float, seed: int):
    """``buyers`` threads placing orders for ``seconds``: (latencies of placed orders, refusals)."""
    latencies, refused, errors = [], [0], []
    lock = threading.Lock()
    start = threading.Barrier(buyers + 1)
    stop_at = [0.0]

    def buyer(n):
        with common.default_tenant():
            rng = random.Random(seed * 1000 + n)
            try:
                placer = make_buyer()
            except Exception as error:
                errors.append(error)
                start.wait()
                return
            mine, no = [], 0
            start.wait()
            try:
                while time.perf_counter() < stop_at[0]:
                    began = time.perf_counter()
                    if placer.place(rng):
                        mine.append(time.perf_counter() - began)
                    else:
                        no += 1
            except Exception as error:
                errors.append(error)
            finally:
                placer.close()
            with lock:
                latencies.extend(mine)
                refused[0] += no

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(buyers)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds  # (set again once every buyer is ready)
    start.wait()
    stop_at[0] = time.perf_counter() + seconds
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"a buyer failed: {errors[0]!r}")
    return latencies, refused[0]


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


def restock_scarce(shop, user):
    from inventory.models import Product
    from inventory.services import stock_apply

    changes = {
        pk: SCARCE_STOCK - stock
        for pk, stock in Product.objects.filter(pk__in=shop.scarce).values_list("pk", "stock")
        if stock != SCARCE_STOCK
    }
    stock_apply(changes=changes, kind="receipt", reason="Benchmark restock", user=user)


class NoHistory:
    """History and audit entries off: simple-history's signals and the bulk writer the services use."""

    def __enter__(self):
        from django.conf import settings

        import inventory.services
        import orders.services

        self.saved = [
            (settings, "SIMPLE_HISTORY_ENABLED", getattr(settings, "SIMPLE_HISTORY_ENABLED", True)),
            *(
                (module, "history_bulk_record", module.history_bulk_record)
                for module in (inventory.services, orders.services)
            ),
        ]
        settings.SIMPLE_HISTORY_ENABLED = False
        inventory.services.history_bulk_record = orders.services.history_bulk_record = lambda *a, **k: None
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
    parser.add_argument("--wait-for-quiet", action="store_true", help="wait until the load average is <= 2")
    args = parser.parse_args()

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
    connection.close()

    ways = {
        "service": lambda: ServiceBuyer(shop, tenant, user),
        "service, no history": lambda: ServiceBuyer(shop, tenant, user),
        "SQL floor": lambda: SqlBuyer(shop, tenant, user, database_url=database_url),
        "SQL floor, no ledger": lambda: SqlBuyer(shop, tenant, user, ledger=False, database_url=database_url),
    }
    load = common.wait_for_quiet_machine() if args.wait_for_quiet else common.load_average()
    results = {
        name: {"latencies": [], "refused": 0, "units": 0, "seconds": 0.0, "problems": []} for name in ways
    }
    slice_seconds = args.seconds / args.rounds
    for round_ in range(args.rounds):
        for name, make in ways.items():
            with common.default_tenant():
                restock_scarce(shop, user)
                before = stock_snapshot()
            connection.close()
            context = NoHistory() if name == "service, no history" else _nothing()
            with context:
                latencies, refused = run_slice(make, buyers=args.buyers, seconds=slice_seconds, seed=round_)
            with common.default_tenant():
                units, problems = check_no_oversell(before, stock_snapshot())
            result = results[name]
            result["latencies"] += latencies
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
    service = len(results["service"]["latencies"]) / results["service"]["seconds"]
    no_history = len(results["service, no history"]["latencies"]) / results["service, no history"]["seconds"]
    no_ledger = len(results["SQL floor, no ledger"]["latencies"]) / results["SQL floor, no ledger"]["seconds"]
    problems = sum(len(r["problems"]) for r in results.values())
    body = [
        f"`./dev bench place_orders --buyers {args.buyers} --seconds {args.seconds:g} "
        f"--rounds {args.rounds}`, {common.now_utc()}.",
        "",
        f"Machine: {common.machine()}; PostgreSQL {common.postgres_version(server)}; load average at the "
        f"start: {load}. {args.buyers} buyer threads, each with its own connection, {args.seconds:g} s "
        f"per way in {args.rounds} interleaved slices; up to {args.products} products, {args.scarce} of them "
        f"scarce ({SCARCE_STOCK} units, restocked before each slice). Goal: the service at least 50% of "
        "the floor, zero oversell.",
        "",
        table,
        "",
        f"- The service reaches **{service / floor:.0%}** of the hand-written SQL floor "
        f"({'meets' if service / floor >= 0.5 else 'misses'} the 50% goal).",
        f"- History and audit entries cost {1 - service / no_history:.0%} of the service's throughput "
        f"(service with history off: {no_history:.1f} orders/s against {service:.1f}).",
        f"- The stock ledger (a movement per line) costs the floor {1 - floor / no_ledger:.0%} "
        f"({floor:.1f} orders/s with it, {no_ledger:.1f} without).",
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
