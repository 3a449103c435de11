"""The dashboard cold (its cache cleared before each request), with EXPLAIN ANALYZE of every query.

    ./dev bench dashboard [--keep] [--database bench_lists_1000000 ...] [--runs 5] [--no-write]

Uses the databases bench/admin_lists seeds (``--keep``: the kept cluster in bench/data/pg), one after
the other: for each, the median time of --runs cold dashboard requests through Django's test client
(superuser: every section), then each query the page runs, with the scans PostgreSQL chose and the
time it took. Written to bench/RESULTS.md ("Dashboard").
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def measure(database_url: str, runs: int) -> dict:
    common.setup_django(database_url)
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(common.superuser())
    client.get("/admin/")  # per-process caches and templates: the cold part measured is the figures
    times = []
    for _ in range(runs):
        cache.clear()
        started = time.perf_counter()
        response = client.get("/admin/")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
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
    return {"median": common.median(times), "min": min(times), "plans": plans}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", action="append", help="database name (repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import json

        print(json.dumps(measure(args.worker, args.runs), default=str))
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
            text = (
                f"**{name}**: cold dashboard median {result['median'] * 1000:.0f} ms "
                f"(fastest {result['min'] * 1000:.0f} ms) over {args.runs} requests.\n\n"
                + common.markdown_table(["query", "scans", "ms"], rows, "llr")
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
