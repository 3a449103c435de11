"""Product import speed and memory, on PostgreSQL: this project's import against django-import-export
with its default settings and against the floor (plain bulk_create of the rows and their history).

    ./dev bench import_products [--rows 100000] [--rows 1000000] [--memory-rows N] [--baseline-sample 5000]
                                [--no-write]

For each size it generates a product CSV (bench/data/, git-ignored) and imports it, each method in
its own process (peak memory is that process's RSS) and its own fresh database:

(a) this project: the import engine (``imports``) with the products' resource (``inventory.product_import``),
    as the ``import_products`` command and the Celery task run
    it (check every row, then 2,000-row batches: bulk writes, bulk history and audit rows, the stock
    ledger through ``stock_apply``), then the same file again (every row unchanged);
(b) django-import-export's defaults: a ``ModelResource`` keyed by SKU, the category by slug through
    its ``ForeignKeyWidget``, ``import_data`` (the confirm step; its dry-run preview isn't counted),
    run on the first ``--baseline-sample`` rows and extrapolated as rows/s;
(c) the floor: the same rows read from the same file and written with ``bulk_create`` with their
    history rows, in one transaction, nothing checked;
(a') the same rows under a supplier's column names (``Article number``, ``Title``…), imported with the
    mapping the admin's mapping step guesses for them (``imports.mapping``, ``imports.sources``), as a
    saved mapping is applied: goal >= 90% of the floor, like (a).

It prints rows/s, peak RSS and the ratios against the goals (>= 10x the baseline, >= 50% of the
floor, < 300 MB and within 1.2x from the smallest to the largest size, re-import at least as fast),
and writes the table to bench/RESULTS.md under "Import" (unless --no-write).
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    DATA,
    ROOT,
    create_database,
    default_tenant,
    load_average,
    machine,
    markdown_table,
    now_utc,
    postgres_version,
    psycopg_params,
    server_url,
    setup_django,
    with_database,
    write_section,
)

TEMPLATE = "bench_import_template"
CATEGORIES = [
    (top, child) for top in ("Electronics", "Home", "Garden", "Toys", "Office") for child in range(8)
]
GOALS = (
    "goals: >= 10x baseline rows/s, >= 50% of the floor (>= 90% with a column mapping, issue 21), "
    "peak RSS < 300 MB and within 1.2x across sizes"
)


# --- the file -------------------------------------------------------------------------------------------
def product_file(rows: int) -> Path:
    """A supplier file of ``rows`` products: SKU, name, category (slug), price, stock, flags, text."""
    path = DATA / f"import_products_{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(rows)
    words = ["lamp", "cable", "phone", "chair", "kettle", "drill", "lego", "pen", "desk", "hose", "mug"]
    slugs = [f"{top.lower()}-{child}" for top, child in CATEGORIES]
    partial = path.with_suffix(".tmp")
    with partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category", "price", "stock", "is_published", "description"])
        for n in range(rows):
            writer.writerow(
                [
                    f"SKU-{n:08d}",
                    f"{rng.choice(words).title()} {rng.choice(words)} {n}",
                    rng.choice(slugs),
                    f"{rng.randint(100, 99999) / 100:.2f}",
                    rng.randint(0, 500),
                    "yes" if rng.random() < 0.7 else "no",
                    f"Supplier item {n}: {rng.choice(words)} and {rng.choice(words)}.",
                ]
            )
    partial.rename(path)
    return path


# The same columns as a supplier names them: what the mapping step maps back to ours.
SUPPLIER_HEADERS = ["Article number", "Title", "Product type", "Unit price", "Qty", "Online", "Details"]


def supplier_file(rows: int) -> Path:
    """``product_file(rows)`` under the supplier's header row."""
    path = DATA / f"import_products_{rows}_supplier.csv"
    if path.exists():
        return path
    partial = path.with_suffix(".tmp")
    with product_file(rows).open(newline="") as source, partial.open("w", newline="") as handle:
        next(source)
        csv.writer(handle).writerow(SUPPLIER_HEADERS)
        while chunk := source.read(1 << 20):
            handle.write(chunk)
    partial.rename(path)
    return path


# --- the methods, each run in a child process --------------------------------------------------------------
def prepare():
    """The template database: migrated, with the categories the file names."""
    from django.core.management import call_command

    from inventory.models import Category

    call_command("migrate", verbosity=0)
    with default_tenant():
        for top in sorted({top for top, _ in CATEGORIES}):
            parent = Category.objects.create(name=top, slug=top.lower())
            for top_name, child in CATEGORIES:
                if top_name == top:
                    Category.objects.create(
                        name=f"{top} {child}", slug=f"{top.lower()}-{child}", parent=parent
                    )
    return {}


def ours(path: Path, limit: int | None):
    from imports.jobs import import_recorded
    from imports.readers import open_table

    if os.environ.get("BENCH_WHAT_IF") == "unnest-stock-update":
        what_if_unnest_stock_update()

    table = open_table(path)
    started = time.perf_counter()
    _job, report = import_recorded(resource="products", table=table, file_name=path.name)
    seconds = time.perf_counter() - started
    assert report.written and not report.invalid, report.summary()
    return {
        "rows": report.rows_total,
        "seconds": seconds,
        "created": report.created,
        "unchanged": report.unchanged,
    }


def mapped(path: Path, limit: int | None):
    """(a) through a column mapping: the targets the mapping step guesses for the supplier's names."""
    from imports.jobs import import_recorded
    from imports.mapping import guess
    from imports.readers import open_table
    from imports.registry import spec_class
    from imports.sources import ImportOptions, open_source

    headers = open_table(path).headers
    targets = [item.target for item in guess(spec_class("products"), headers)]
    assert all(targets), dict(zip(headers, targets, strict=True))
    started = time.perf_counter()
    source = open_source(path, "csv", ImportOptions(headers=headers, targets=targets))
    _job, report = import_recorded(resource="products", table=source.table, file_name=path.name)
    seconds = time.perf_counter() - started
    assert report.written and not report.invalid, report.summary()
    return {"rows": report.rows_total, "seconds": seconds, "created": report.created}


def dry_run(path: Path, limit: int | None):
    """The streaming part alone: every row read and checked, each batch's products looked up."""
    from imports.engine import run_import
    from imports.readers import open_table
    from imports.registry import new_spec

    started = time.perf_counter()
    report = run_import(new_spec("products"), table=open_table(path), file_name=path.name, dry_run=True)
    return {"rows": report.rows_total, "seconds": time.perf_counter() - started, "created": report.created}


def what_if_unnest_stock_update():
    """What if ``stock_apply`` added the changes with one UPDATE joined to the arrays of ids and
    changes (instead of a CASE of 1,000 branches per 1,000 rows)? Not the project's code: a
    measurement for its owner (inventory/services/stock.py)."""
    from django.db import connection

    from inventory.services import stock as services

    def add_to_stock(changes, *, now):
        ids = list(changes)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_product p SET stock = p.stock + c.quantity, updated_at = %s "
                "FROM unnest(%s::uuid[], %s::int[]) AS c(id, quantity) WHERE p.id = c.id",
                [now, ids, [changes[pk] for pk in ids]],
            )

    services._add_to_stock = add_to_stock


def baseline(path: Path, limit: int | None):
    """django-import-export as a user would set it up, with the library's defaults."""
    from import_export import fields, resources, widgets
    from import_export.formats.base_formats import CSV

    from inventory.models import Category, Product

    class ProductResource(resources.ModelResource):
        category = fields.Field(
            attribute="category", column_name="category", widget=widgets.ForeignKeyWidget(Category, "slug")
        )

        class Meta:
            model = Product
            fields = ("sku", "name", "category", "price", "stock", "is_published", "description")
            import_id_fields = ("sku",)

    with path.open() as handle:
        lines = [line for _, line in zip(range(limit + 1), handle, strict=False)]
    started = time.perf_counter()
    dataset = CSV(encoding="utf-8").create_dataset("".join(lines))
    result = ProductResource().import_data(dataset, dry_run=False, file_name=path.name)
    seconds = time.perf_counter() - started
    assert not result.has_errors() and not result.has_validation_errors(), result.base_errors[:1]
    return {"rows": len(dataset), "seconds": seconds, "created": result.totals["new"]}


def floor(path: Path, limit: int | None):
    """The same rows and one history row each, by bulk_create in one transaction; nothing checked."""
    import uuid
    from decimal import Decimal
    from itertools import batched

    from django.db import transaction
    from django.utils import timezone
    from django.utils.text import slugify

    from inventory.models import Category, Product

    history = Product.history.model
    tracked = [field.attname for field in history.tracked_fields]
    categories = dict(Category.objects.values_list("slug", "pk"))
    rows = 0
    started = time.perf_counter()
    with transaction.atomic(), path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        now = timezone.now()
        for batch in batched(reader, 2000, strict=False):
            products = [
                Product(
                    id=uuid.uuid4(),
                    sku=sku,
                    name=name,
                    slug=slugify(name),
                    category_id=categories[category],
                    price=Decimal(price),
                    stock=int(stock),
                    is_published=published == "yes",
                    description=description,
                    created_at=now,
                    updated_at=now,
                )
                for sku, name, category, price, stock, published, description in batch
            ]
            Product.objects.bulk_create(products)
            history.objects.bulk_create(
                [
                    history(
                        **{name: getattr(product, name) for name in tracked},
                        history_date=now,
                        history_type="+",
                        history_change_reason=f"Imported from {path.name}",
                    )
                    for product in products
                ]
            )
            rows += len(products)
    return {"rows": rows, "seconds": time.perf_counter() - started, "created": rows}


METHODS = {
    "prepare": prepare,
    "ours": ours,
    "mapped": mapped,
    "baseline": baseline,
    "floor": floor,
    "dry_run": dry_run,
}


def child(method: str, database_url: str, path: str | None, limit: int | None):
    setup_django(database_url)
    if method == "prepare":
        result = prepare()
    elif os.environ.get("BENCH_PROFILE") == method:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        with default_tenant():
            result = profile.runcall(METHODS[method], Path(path), limit)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    else:
        with default_tenant():
            result = METHODS[method](Path(path), limit)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# --- the run ------------------------------------------------------------------------------------------------
def run_child(
    method: str, url: str, database: str, path: Path | None = None, limit: int | None = None, what_if=""
) -> dict:
    command = [sys.executable, __file__, "--child", method, "--database-url", with_database(url, database)]
    if path is not None:
        command += ["--file", str(path)]
    if limit is not None:
        command += ["--limit", str(limit)]
    env = {**os.environ, "BENCH_WHAT_IF": what_if}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"{method} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    if os.environ.get("BENCH_PROFILE") == method:
        print(done.stderr, file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fresh_database(url: str, name: str):
    import psycopg

    with psycopg.connect(**psycopg_params(with_database(url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')


def drop_database(url: str, name: str):
    import psycopg

    with psycopg.connect(**psycopg_params(with_database(url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rate(result: dict) -> float:
    return result["rows"] / result["seconds"]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, action="append", help="file size(s); default 100000")
    parser.add_argument("--baseline-sample", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true", help="don't write bench/RESULTS.md")
    parser.add_argument(
        "--memory-rows",
        type=int,
        help="also compare the peak RSS of a dry run (read, check, look up; no writes) at this size",
    )
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also time (a) with stock_apply's CASE update replaced by one UPDATE ... FROM unnest()",
    )
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database_url, args.file, args.limit)
        return

    sizes = sorted(set(args.rows or [100_000]))
    url, cluster = server_url(keep=False)
    os.environ.setdefault("DEBUG", "1")
    create_database(url, TEMPLATE, drop=True)
    run_child("prepare", url, TEMPLATE)
    print(f"PostgreSQL {postgres_version(url)}; {machine()}; load {load_average()}", file=sys.stderr)

    results = {}
    for size in sizes:
        path = product_file(size)
        database = f"bench_import_{size}"
        fresh_database(url, database)
        print(f"{size:,} rows: this project's import…", file=sys.stderr)
        first = run_child("ours", url, database, path)
        print(f"  {rate(first):,.0f} rows/s; re-import…", file=sys.stderr)
        again = run_child("ours", url, database, path)
        assert again["unchanged"] == size, again
        drop_database(url, database)
        fresh_database(url, database)
        print(f"  {rate(again):,.0f} rows/s; floor…", file=sys.stderr)
        bottom = run_child("floor", url, database, path)
        print(f"  {rate(bottom):,.0f} rows/s; with a column mapping…", file=sys.stderr)
        drop_database(url, database)
        fresh_database(url, database)
        with_mapping = run_child("mapped", url, database, supplier_file(size))
        print(f"  {rate(with_mapping):,.0f} rows/s", file=sys.stderr)
        drop_database(url, database)
        results[size] = {"ours": first, "again": again, "floor": bottom, "mapped": with_mapping}
        if args.what_if:
            fresh_database(url, database)
            results[size]["what_if"] = run_child("ours", url, database, path, what_if="unnest-stock-update")
            print(f"  what-if: {rate(results[size]['what_if']):,.0f} rows/s", file=sys.stderr)
            drop_database(url, database)

    memory = {}
    if args.memory_rows:
        for size in sorted({sizes[0], args.memory_rows}):
            fresh_database(url, "bench_import_memory")
            print(f"dry run of {size:,} rows (memory)…", file=sys.stderr)
            memory[size] = run_child("dry_run", url, "bench_import_memory", product_file(size))
            print(f"  {memory[size]['peak_rss_mb']:.0f} MB", file=sys.stderr)
            drop_database(url, "bench_import_memory")

    sample = min(args.baseline_sample, sizes[0])
    fresh_database(url, "bench_import_baseline")
    print(f"django-import-export defaults on {sample:,} rows…", file=sys.stderr)
    base = run_child("baseline", url, "bench_import_baseline", product_file(sizes[0]), sample)
    print(f"  {rate(base):,.0f} rows/s", file=sys.stderr)
    drop_database(url, "bench_import_baseline")
    drop_database(url, TEMPLATE)

    report = render(results, base, sample, url, memory)
    print(report)
    if not args.no_write:
        write_section("Import", report)
        print("Written to bench/RESULTS.md (section Import)", file=sys.stderr)
    if cluster:
        cluster.stop()


def render(results: dict, base: dict, sample: int, url: str, memory: dict) -> str:
    rows = []
    for size, result in results.items():
        ours_rate, again_rate, floor_rate = rate(result["ours"]), rate(result["again"]), rate(result["floor"])
        rows.append(
            [
                f"{size:,}",
                "(a) this project",
                f"{result['ours']['seconds']:.1f}",
                f"{ours_rate:,.0f}",
                f"{result['ours']['peak_rss_mb']:.0f}",
                f"{ours_rate / rate(base):.1f}x",
                f"{100 * ours_rate / floor_rate:.0f}%",
            ]
        )
        rows.append(
            [
                f"{size:,}",
                "(a) re-import, all unchanged",
                f"{result['again']['seconds']:.1f}",
                f"{again_rate:,.0f}",
                f"{result['again']['peak_rss_mb']:.0f}",
                f"{again_rate / rate(base):.1f}x",
                f"{100 * again_rate / floor_rate:.0f}%",
            ]
        )
        mapped_rate = rate(result["mapped"])
        rows.append(
            [
                f"{size:,}",
                "(a') with a column mapping (a supplier's names)",
                f"{result['mapped']['seconds']:.1f}",
                f"{mapped_rate:,.0f}",
                f"{result['mapped']['peak_rss_mb']:.0f}",
                f"{mapped_rate / rate(base):.1f}x",
                f"{100 * mapped_rate / floor_rate:.0f}%",
            ]
        )
        if "what_if" in result:
            what_if = rate(result["what_if"])
            rows.append(
                [
                    f"{size:,}",
                    "(a) what-if: stock_apply's UPDATE ... FROM unnest()",
                    f"{result['what_if']['seconds']:.1f}",
                    f"{what_if:,.0f}",
                    f"{result['what_if']['peak_rss_mb']:.0f}",
                    f"{what_if / rate(base):.1f}x",
                    f"{100 * what_if / floor_rate:.0f}%",
                ]
            )
        rows.append(
            [
                f"{size:,}",
                "(c) floor: bulk_create + history",
                f"{result['floor']['seconds']:.1f}",
                f"{floor_rate:,.0f}",
                f"{result['floor']['peak_rss_mb']:.0f}",
                f"{floor_rate / rate(base):.1f}x",
                "100%",
            ]
        )
    rows.append(
        [
            f"{sample:,} (sample)",
            "(b) django-import-export defaults",
            f"{base['seconds']:.1f}",
            f"{rate(base):,.0f}",
            f"{base['peak_rss_mb']:.0f}",
            "1.0x",
            "",
        ]
    )
    table = markdown_table(
        ["rows", "method", "seconds", "rows/s", "peak RSS (MB)", "vs (b)", "of (c)"], rows, "llrrrrr"
    )
    sizes = sorted(results)
    lines = [
        f"`./dev bench import_products{''.join(f' --rows {s}' for s in sizes)}"
        f"{f' --memory-rows {max(memory)}' if memory else ''}`, {now_utc()}.",
        f"PostgreSQL {postgres_version(url)}; {machine()}; load average at the end {load_average()}.",
        "",
        table,
        "",
        f"The baseline ran on the first {sample:,} rows of the file; its rows/s are extrapolated. {GOALS}.",
    ]
    if len(sizes) > 1:
        small, large = results[sizes[0]]["ours"]["peak_rss_mb"], results[sizes[-1]]["ours"]["peak_rss_mb"]
        lines.append(
            f"Peak RSS of (a): {small:.0f} MB at {sizes[0]:,} rows, {large:.0f} MB at {sizes[-1]:,} rows "
            f"({large / small:.2f}x)."
        )
    if memory:
        sizes = sorted(memory)
        small, large = memory[sizes[0]], memory[sizes[-1]]
        lines.append(
            "Dry runs (every row read and checked, each batch's products looked up, nothing written): "
            + ", ".join(
                f"{size:,} rows in {result['seconds']:.0f} s, peak RSS {result['peak_rss_mb']:.0f} MB"
                for size, result in sorted(memory.items())
            )
            + f" ({large['peak_rss_mb'] / small['peak_rss_mb']:.2f}x)."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
