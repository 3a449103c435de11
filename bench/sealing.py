"""The sealed audit trail's cost to writers: order placement and the product import with a sealer
running every second, against no sealer.

    ./dev bench sealing [--buyers 8] [--seconds 60] [--rounds 6] [--import-rows 20000] [--no-write]

Sealing runs beside the writers, never in their transactions: a periodic task (``audit.seal_trails``,
every ``AUDIT_SEAL_SECONDS``, a minute by default) seals what each shop's log gained since its last
block. Here a separate process runs that task every second, far more often than the default, while

- **order placement**: ``--buyers`` processes place orders through ``orders.services.order_place``
  (the "service" way of ``bench/place_orders``: each order writes its history rows and audit entries,
  which the sealer then reads, hashes and seals);
- **product import**: a file of ``--import-rows`` new products goes through the import engine
  (``imports.jobs.import_recorded``, as the command and the workers run it), a fresh file each time.

Each measurement runs once with the sealer ("sealing on") and once without ("sealing off"), in
``--rounds`` interleaved rounds whose order alternates (on/off, then off/on), because the machine is
shared and its load moves. Before every slice the log is sealed to the end (not timed), so a sealed
slice starts with no backlog, as a running shop's sealer keeps it; after a slice without sealing, its
log is sealed alone and timed (what sealing costs per entry with nothing beside it). Goal: with sealing
on, at least 90% of the throughput without sealing. Writes "Sealing" to bench/RESULTS.md.
"""

import argparse
import csv
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import place_orders
from import_products import CATEGORIES

GOAL = 0.90


# --- the sealer ---------------------------------------------------------------------------------------
def sealer(stop, results, every: float):
    """Seal every shop's new entries every ``every`` seconds until ``stop``: (runs, blocks, entries,
    seconds spent sealing, the longest run)."""
    from django.db import connection

    from audit import sealing
    from audit.tasks import _shops

    runs = blocks = entries = 0
    spent = longest = 0.0
    try:
        while not stop.is_set():
            began = time.perf_counter()
            for shop in _shops():
                for block in sealing.seal_tenant(shop):
                    blocks += 1
                    entries += len(block.entry_ids)
            took = time.perf_counter() - began
            runs, spent, longest = runs + 1, spent + took, max(longest, took)
            stop.wait(max(0.0, every - took))
    finally:
        connection.close()
        results.put((runs, blocks, entries, spent, longest))


class Sealing:
    """A sealer process for the duration of the block (``on``), or nothing."""

    def __init__(self, on: bool, every: float = 1.0):
        self.on, self.every, self.stats = on, every, None

    def __enter__(self):
        if self.on:
            context = multiprocessing.get_context("fork")
            self.stop, self.results = context.Event(), context.Queue()
            self.process = context.Process(target=sealer, args=(self.stop, self.results, self.every))
            self.process.start()
        return self

    def __exit__(self, *exc):
        if self.on:
            self.stop.set()
            self.stats = self.results.get(timeout=600)
            self.process.join()


def seal_to_the_end() -> tuple[int, float]:
    """Seal what the log holds now, so the next slice starts without a backlog: (entries, seconds).
    After a slice without sealing, that is the slice's whole log sealed alone, on a quiet database."""
    from django.db import connection

    from audit import sealing
    from audit.tasks import _shops

    started, entries = time.perf_counter(), 0
    for shop in _shops():
        entries += sum(len(block.entry_ids) for block in sealing.seal_tenant(shop))
    seconds = time.perf_counter() - started
    connection.close()
    return entries, seconds


def record_slice(result: dict, sealing: Sealing, rate: float, text: str) -> None:
    """A slice's rate, and what sealing did during it (the sealer's runs) or costs after it (its log
    sealed alone, timed)."""
    result["runs"].append(rate)
    if sealing.stats:
        result["sealer"].append(sealing.stats)
    else:
        result["alone"].append(seal_to_the_end())
    print(f"{text} (load {common.load_average()})", file=sys.stderr)


# --- the import ---------------------------------------------------------------------------------------
def import_file(rows: int, prefix: str) -> Path:
    """``rows`` new products (their SKUs start with ``prefix``: every slice imports new ones)."""
    path = common.DATA / f"sealing_{prefix}_{rows}.csv"
    if path.exists():
        return path
    common.DATA.mkdir(parents=True, exist_ok=True)
    slugs = [f"{top.lower()}-{child}" for top, child in CATEGORIES]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category", "price", "stock", "is_published"])
        for n in range(rows):
            writer.writerow(
                [
                    f"{prefix}-{n:08d}",
                    f"Sealed lamp {n}",
                    slugs[n % len(slugs)],
                    f"{5 + n % 90}.50",
                    n % 40,
                    "1",
                ]
            )
    return path


def categories():
    from inventory.models import Category

    for top in sorted({top for top, _ in CATEGORIES}):
        parent, _ = Category.objects.get_or_create(slug=top.lower(), defaults={"name": top})
        for top_name, child in CATEGORIES:
            if top_name == top:
                Category.objects.get_or_create(
                    slug=f"{top.lower()}-{child}", defaults={"name": f"{top} {child}", "parent": parent}
                )


def import_slice(path: Path) -> tuple[int, float]:
    from django.db import connection

    from imports.jobs import import_recorded
    from imports.readers import open_table

    with common.default_tenant():
        started = time.perf_counter()
        _job, report = import_recorded(resource="products", table=open_table(path), file_name=path.name)
        seconds = time.perf_counter() - started
    connection.close()
    assert report.written and report.created == report.rows_total, report.summary()
    return report.rows_total, seconds


# --- the run ------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buyers", type=int, default=8)
    parser.add_argument(
        "--seconds", type=float, default=60, help="of order placement per mode, over the rounds"
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between two sealing runs")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    server, _ = common.server_url(keep=False)
    common.create_database(server, "bench_sealing", drop=True)
    database_url = common.with_database(server, "bench_sealing")
    common.setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    common.migrate()
    with common.default_tenant() as tenant:
        call_command(
            "seed_demo", products=args.products, customers=500, orders=0, no_users=True, stdout=sys.stderr
        )
        categories()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        user = common.superuser()
        shop = place_orders.Shop(products=args.products, scarce=20)
    seal_to_the_end()
    load_at_start = common.load_average()

    orders = {
        mode: {"orders": 0, "seconds": 0.0, "latencies": [], "runs": [], "sealer": [], "alone": []}
        for mode in ("on", "off")
    }
    loads = []  # the 1-minute load average after each round
    imports = {
        mode: {"rows": 0, "seconds": 0.0, "runs": [], "sealer": [], "alone": []} for mode in ("on", "off")
    }
    slice_seconds = args.seconds / args.rounds
    for round_ in range(args.rounds):
        modes = ("on", "off") if round_ % 2 == 0 else ("off", "on")
        for mode in modes:
            with common.default_tenant():
                place_orders.restock(shop, user)
            connection.close()
            seal_to_the_end()
            with Sealing(mode == "on", args.every) as sealing:
                latencies, _refused = place_orders.run_slice(
                    lambda: place_orders.ServiceBuyer(shop, tenant, user),
                    buyers=args.buyers,
                    seconds=slice_seconds,
                    seed=round_,
                )
            result = orders[mode]
            result["orders"] += len(latencies)
            result["seconds"] += slice_seconds
            result["latencies"] += latencies
            rate = len(latencies) / slice_seconds
            text = f"round {round_ + 1} orders, sealing {mode:<3} {rate:7.1f} orders/s"
            record_slice(result, sealing, rate, text)
        for mode in modes:
            path = import_file(args.import_rows, f"R{round_}{mode.upper()}")
            seal_to_the_end()
            with Sealing(mode == "on", args.every) as sealing:
                rows, seconds = import_slice(path)
            result = imports[mode]
            result["rows"] += rows
            result["seconds"] += seconds
            rate = rows / seconds
            text = f"round {round_ + 1} import, sealing {mode:<3} {rate:7.0f} rows/s"
            record_slice(result, sealing, rate, text)
        loads.append(common.load_average().split()[0])
    seal_to_the_end()
    with common.default_tenant() as tenant:
        from audit.sealing import trail_verify

        verdict = trail_verify(tenant)
    report(args, orders, imports, loads, load_at_start, server, verdict)


def _sealer_text(stats: list) -> str:
    runs = sum(s[0] for s in stats)
    blocks, entries = sum(s[1] for s in stats), sum(s[2] for s in stats)
    spent, longest = sum(s[3] for s in stats), max((s[4] for s in stats), default=0.0)
    average = spent / runs * 1000 if runs else 0.0
    return (
        f"{runs} runs, {blocks} blocks, {entries:,} entries; {average:.0f} ms a run on average, "
        f"{longest * 1000:.0f} ms at most"
    )


def _alone_text(timings: list) -> str:
    entries, seconds = sum(t[0] for t in timings), sum(t[1] for t in timings)
    per_thousand = seconds / entries * 1000 if entries else 0.0
    return f"{entries:,} entries in {seconds:.1f} s ({per_thousand:.2f} s per 1,000)"


def _alone_share(imports) -> str:
    sealing = sum(t[1] for t in imports["off"]["alone"])
    return f"{sealing / imports['off']['seconds']:.0%}"


def report(args, orders, imports, loads, load, server, verdict):
    def order_rate(mode):
        return orders[mode]["orders"] / orders[mode]["seconds"]

    def import_rate(mode):
        return imports[mode]["rows"] / imports[mode]["seconds"]

    order_ratio, import_ratio = order_rate("on") / order_rate("off"), import_rate("on") / import_rate("off")
    # Each round's on/off pair ran minutes apart; the median of the pairs' ratios is what a burst of
    # other work on the shared machine during one slice doesn't move (the totals show it too).
    order_pairs = [on / off for on, off in zip(orders["on"]["runs"], orders["off"]["runs"], strict=True)]
    import_pairs = [on / off for on, off in zip(imports["on"]["runs"], imports["off"]["runs"], strict=True)]
    order_median, import_median = common.median(order_pairs), common.median(import_pairs)
    rows = [
        [
            "order placement (service)",
            f"{order_rate('off'):.1f} orders/s",
            f"{order_rate('on'):.1f} orders/s",
            f"**{order_ratio:.0%}**",
            f"{common.percentile(orders['off']['latencies'], 0.95) * 1000:.0f} / "
            f"{common.percentile(orders['on']['latencies'], 0.95) * 1000:.0f}",
        ],
        [
            f"product import ({args.import_rows:,} new rows)",
            f"{import_rate('off'):,.0f} rows/s",
            f"{import_rate('on'):,.0f} rows/s",
            f"**{import_ratio:.0%}**",
            "",
        ],
    ]
    table = common.markdown_table(
        ["writer", "sealing off", "sealing on (every second)", "on / off (all rounds)", "p95 ms (off / on)"],
        rows,
        "lrrrr",
    )
    per_round = common.markdown_table(
        [
            "round",
            "orders/s off",
            "orders/s on",
            "on / off",
            "import rows/s off",
            "import rows/s on",
            "on / off",
            "load after",
        ],
        [
            [
                n + 1,
                f"{orders_off:.1f}",
                f"{orders_on:.1f}",
                f"{orders_on / orders_off:.0%}",
                f"{import_off:,.0f}",
                f"{import_on:,.0f}",
                f"{import_on / import_off:.0%}",
                load_after,
            ]
            for n, (orders_off, orders_on, import_off, import_on, load_after) in enumerate(
                zip(
                    orders["off"]["runs"],
                    orders["on"]["runs"],
                    imports["off"]["runs"],
                    imports["on"]["runs"],
                    loads,
                    strict=True,
                )
            )
        ],
        "rrrrrrrr",
    )
    print(table)
    body = [
        f"`./dev bench sealing --buyers {args.buyers} --seconds {args.seconds:g} --rounds {args.rounds} "
        f"--import-rows {args.import_rows}`, {common.now_utc()}.",
        "",
        f"Machine: {common.machine()}; PostgreSQL {common.postgres_version(server)}; load average at the "
        f"start: {load}, at the end: {common.load_average()}. The machine is shared with other work: "
        f"the two modes run in {args.rounds} interleaved rounds (on/off, then off/on), {args.seconds:g} s "
        f"of order placement per mode ({args.buyers} buyer processes) and one import per mode and round. "
        f'A separate process runs the sealing task every {args.every:g} s during the "on" slices (the '
        "default schedule is every minute); before every slice the log is sealed to the end, untimed, and "
        "after a slice without sealing, its log is sealed alone, timed. "
        f"Goal: with sealing on, at least {GOAL:.0%} of the throughput without.",
        "",
        table,
        "",
        f"- With sealing on, order placement keeps **{order_median:.0%}** of its throughput, the median "
        f"of the rounds' pairs ({'meets' if order_median >= GOAL else 'misses'} the goal; "
        f"{order_ratio:.0%} over all rounds together); the import **{import_median:.0%}** "
        f"({'meets' if import_median >= GOAL else 'misses'} it; {import_ratio:.0%} over all rounds).",
        f"- The rounds' pairs range from {min(order_pairs):.0%} to {max(order_pairs):.0%} (orders) and "
        f"from {min(import_pairs):.0%} to {max(import_pairs):.0%} (imports): "
        + (
            "the machine's load moved more than the 10% the goal allows, so read the verdicts with care."
            if max(order_pairs + import_pairs) - min(order_pairs + import_pairs) > 2 * (1 - GOAL)
            else "steady enough to tell a 10% difference."
        ),
        f"- The sealer during order placement: {_sealer_text(orders['on']['sealer'])}.",
        f"- The sealer during the imports: {_sealer_text(imports['on']['sealer'])}.",
        f"- Sealing alone, after each slice without a sealer (no writer running): "
        f"{_alone_text(orders['off']['alone'])} after order placement, "
        f"{_alone_text(imports['off']['alone'])} after an import "
        f"({_alone_share(imports)} of the import's own time).",
        f"- The whole chain verified afterwards: {'yes' if verdict.ok else 'NO: ' + verdict.message} "
        f"({verdict.entries:,} entries in {verdict.blocks} blocks).",
        "",
        "Round by round (the order of the modes alternates; each import is a fresh file of new products):",
        "",
        per_round,
    ]
    if not args.no_write:
        common.write_section("Sealing", "\n".join(body))


if __name__ == "__main__":
    main()
