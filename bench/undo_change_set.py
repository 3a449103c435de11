"""Undo of a 10,000-row change set against the change itself, on PostgreSQL.

    ./dev bench undo_change_set [--rows 10000] [--repeat 3]

Two kinds of change set, each timed as made and as undone, in the same run:
- a bulk publish (one field on every row);
- a bulk stock adjustment (every row's stock, through the stock ledger: undo writes corrections).
It prints the times, the queries each took and the ratio undo / change (goal: at most 2 times),
and writes the table to bench/RESULTS.md under "Undo of a change set".
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DEBUG_TOOLBAR", "0")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from audit.undo import change_set_undo  # noqa: E402
from inventory.models import Product  # noqa: E402
from inventory.services import product_set_flag, stock_adjust_many  # noqa: E402


def timed(call):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
    return result, elapsed, len(queries)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if Product.objects.count() < args.rows:
        import random

        from inventory.demo_data import seed_products

        seed_products(args.rows - Product.objects.count(), rng=random.Random(11))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True)[: args.rows])
    product_set_flag(products=ids, flag="unpublish", user=user)

    results = {"bulk publish": [], "bulk stock +5": []}
    for _ in range(args.repeat):
        change, change_time, change_queries = timed(
            lambda: product_set_flag(products=ids, flag="publish", user=user)
        )
        _, undo_time, undo_queries = timed(lambda c=change: change_set_undo(change_set=c, user=user))
        assert not Product.objects.filter(pk__in=ids, is_published=True).exists()
        results["bulk publish"].append((change_time, undo_time, change_queries, undo_queries))

        change, change_time, change_queries = timed(
            lambda: stock_adjust_many(products=ids, quantity=5, reason="Bench delivery", user=user)
        )
        _, undo_time, undo_queries = timed(lambda c=change: change_set_undo(change_set=c, user=user))
        results["bulk stock +5"].append((change_time, undo_time, change_queries, undo_queries))

    lines = [
        f"{args.rows:,} rows, median of {args.repeat} runs, PostgreSQL {connection.pg_version // 10000}, "
        f"{platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        "",
        "| change set | change (s) | undo (s) | undo / change | queries (change) | queries (undo) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in results.items():
        change_time = statistics.median(r[0] for r in runs)
        undo_time = statistics.median(r[1] for r in runs)
        lines.append(
            f"| {name} | {change_time:.2f} | {undo_time:.2f} | {undo_time / change_time:.2f}x | "
            f"{runs[0][2]} | {runs[0][3]} |"
        )
    table = "\n".join(lines)
    print(table)
    write_results(table)


def write_results(table: str) -> None:
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = (
        f"## Undo of a change set\n\n`./dev bench undo_change_set`, {stamp}. "
        f"Goal: undo at most 2x the change's time.\n\n{table}\n"
    )
    start = text.find("## Undo of a change set")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    results.write_text(text)


if __name__ == "__main__":
    from core.tenancy import activate, default_tenant

    call_command("migrate", verbosity=0)
    with activate(default_tenant()):
        main()
