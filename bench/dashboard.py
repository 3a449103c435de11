"""The dashboard cold (its cache cleared before each request), with EXPLAIN ANALYZE of every query.

    ./dev bench dashboard [--keep] [--database bench_lists_1000000 ...] [--runs 5] [--no-write]

Uses the databases bench/admin_lists seeds (``--keep``: the kept cluster in bench/data/pg), one after
the other: for each, places --deltas orders through the order service (a busy minute: their summary
rows are deltas, not folded yet; all rolled back at the end), then times --runs cold dashboard requests
through Django's test client (superuser: every section; the cached request beside it), then each
query the page runs, with the scans PostgreSQL chose and the time it took. Written to
bench/RESULTS.md ("Dashboard").
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SUMMARY_TABLES = (
    "inventory_stocksummary",
    "inventory_stockflowsummary",
    "orders_ordersummary",
    "orders_productsalessummary",
    "orders_productsaleswindow",
)


def table_rows(cursor) -> dict:
    rows = {}
    for table in ("orders_order", "orders_orderitem", "inventory_product", "inventory_stockmovement"):
        cursor.execute(f"SELECT count(*) FROM {table}")
        rows[table] = cursor.fetchone()[0]
    for table in SUMMARY_TABLES:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE folded), count(*) FILTER (WHERE NOT folded) FROM {table}"
        )
        rows[table] = cursor.fetchone()
    return rows


def place_recent_orders(count: int) -> None:
    """A busy minute's orders through the service, so the figures read delta rows not folded yet."""
    import random

    from inventory.models import Product
    from orders.models import Customer
    from orders.services import order_place

    rng = random.Random(7)
    products = list(Product.objects.filter(is_published=True, stock__gt=20).order_by("pk")[:500])
    customers = list(Customer.objects.order_by("pk")[:100])
    for _ in range(count):
        lines = dict.fromkeys(rng.sample(products, rng.randint(1, 3)), 1)
        order_place(customer=rng.choice(customers), lines=lines, charge=False)  # payment due on delivery


def measure(database_url: str, runs: int, deltas: int) -> dict:
    common.setup_django(database_url)
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(common.superuser())
    client.get("/admin/")  # per-process caches and templates: the cold part measured is the figures
    with transaction.atomic():  # rolled back: the kept database keeps its rows
        with common.default_tenant():
            place_recent_orders(deltas)
        with connection.cursor() as cursor:
            rows = table_rows(cursor)
        times, cpu, cached = [], [], []
        for _ in range(runs):
            cache.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get("/admin/")
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert response.status_code == 200, response.status_code
            started = time.perf_counter()
            client.get("/admin/")
            cached.append(time.perf_counter() - started)
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            client.get("/admin/")
        plans = []
        for query in captured.captured_queries:
            sql = query["sql"]
            if not any(table in sql for table in ("inventory_", "orders_")):
                continue
            scans, elapsed = common.explain_analyze(sql)
            plans.append({"sql": " ".join(sql.split())[:110], "scans": scans, "ms": elapsed})
        transaction.set_rollback(True)
    return {
        "median": common.median(times),
        "min": min(times),
        "cpu": common.median(cpu),
        "cached": common.median(cached),
        "rows": rows,
        "plans": plans,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", action="append", help="database name (repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--deltas", type=int, default=200, help="orders placed first (not folded; rolled back after)"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import json

        print(json.dumps(measure(args.worker, args.runs, args.deltas), default=str))
        return
    import json
    import subprocess

    server, cluster = common.server_url(args.keep)
    sections = []
    try:
        for name in args.database or ["bench_lists_1000", "bench_lists_1000000"]:
            if not common.database_exists(server, name):
                print(f"{name}: no such database (seed it with bench/admin_lists --keep --prepare-only)")
                continue
            out = subprocess.run(  # noqa: S603 - this script, our arguments
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    common.with_database(server, name),
                    "--runs",
                    str(args.runs),
                    "--deltas",
                    str(args.deltas),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            rows = [
                [p["sql"].replace("|", "\\|"), ", ".join(p["scans"]), f"{p['ms']:.1f}"]
                for p in result["plans"]
            ]
            counts = result["rows"]
            sizes = ", ".join(
                f"{table} {counts[table][0]:,} rows + {counts[table][1]:,} deltas" for table in SUMMARY_TABLES
            )
            text = (
                f"**{name}** ({counts['orders_order']:,} orders, {counts['orders_orderitem']:,} lines, "
                f"{counts['inventory_product']:,} products, {counts['inventory_stockmovement']:,} stock "
                f"movements): cold dashboard median **{result['median'] * 1000:.0f} ms** (fastest "
                f"{result['min'] * 1000:.0f} ms; the serving process's CPU {result['cpu'] * 1000:.0f} ms), "
                f"cached {result['cached'] * 1000:.0f} ms, over {args.runs} "
                f"requests, after {args.deltas} orders placed through the service and not folded yet.\n\n"
                f"Summary tables: {sizes}.\n\n" + common.markdown_table(["query", "scans", "ms"], rows, "llr")
            )
            print(text + "\n")
            sections.append(text)
    finally:
        if cluster:
            cluster.stop()
    if sections and not args.no_write:
        body = (
            f"`./dev bench dashboard`, {common.now_utc()}; load average {common.load_average()}. "
            "Each request clears the dashboard's cache first (cold figures); EXPLAIN ANALYZE of each "
            "query the page runs.\n\n" + "\n\n".join(sections)
        )
        common.write_section("Dashboard", body)


if __name__ == "__main__":
    main()
