"""The load benchmark's report (bench/load.py): the table, the goals, the pages, the profile."""

import os
import re

import common


def by_page(answers) -> dict:
    """By kind of page (the path with its ids and search terms blanked): how many, the client's p50
    and p95, and the median time in Django."""
    kinds: dict = {}
    for answer in answers:
        kind = re.sub(r"/[0-9a-f-]{6,}/|/\d+/", "/<id>/", answer.path.split("?")[0])
        if "?" in answer.path:
            kind += "?" + answer.path.split("?", 1)[1].split("=")[0]
        kinds.setdefault(kind, []).append(answer)
    return {
        kind: (
            len(found),
            common.percentile([a.seconds for a in found], 0.5),
            common.percentile([a.seconds for a in found], 0.95),
            common.median([a.server_ms / 1000 for a in found if a.server_ms is not None]),
        )
        for kind, found in sorted(kinds.items())
    }


def per_request(result, cpu) -> float:
    """Milliseconds of CPU per request."""
    return result[cpu] * 1000 / result["rps"] if result["rps"] else float("nan")


def capacity(result, cores=2) -> float:
    cpu = result["cpu_web"] + result["cpu_postgres"] + result["cpu_client"]
    return cores * result["rps"] / cpu if cpu else float("nan")


def one_line(result) -> str:
    return (
        f"{result['rps']:.1f} req/s, p50 {ms(result['p50'])} ms, p95 {ms(result['p95'])} ms, "
        f"errors {result['errors']}, CPU web {result['cpu_web']:.2f} pg {result['cpu_postgres']:.2f} "
        f"client {result['cpu_client']:.2f}"
    )


def ms(seconds):
    return f"{seconds * 1000:.0f}"


def ratios(results, baseline: str) -> dict:
    """(config, staff) -> (requests/s, p95) as ratios to the baseline set-up's at the same level."""
    base = {r["users"]: r for r in results if r["config"] == baseline}
    found = {}
    for r in results:
        b = base.get(r["users"])
        if b and b["rps"] and b["p95"]:
            found[r["config"], r["users"]] = (r["rps"] / b["rps"], r["p95"] / b["p95"])
    return found


def report(args, results, load, server_url):
    against = ratios(results, args.baseline)
    headers = [
        "gunicorn",
        "staff",
        "requests/s",
        f"requests/s ÷ {args.baseline}",
        f"p95 ÷ {args.baseline}",
        "p50 (ms)",
        "p95 (ms)",
        "p99 (ms)",
        "in Django p50 (ms)",
        "errors",
        "CPU web",
        "CPU PostgreSQL",
        "CPU client",
        "CPU ms per request (web + PostgreSQL)",
    ]
    rows = [
        [
            r["config"],
            r["users"],
            f"{r['rps']:.1f}",
            *(f"{x:.2f}" for x in against.get((r["config"], r["users"]), (float("nan"),) * 2)),
            ms(r["p50"]),
            ms(r["p95"]),
            ms(r["p99"]),
            ms(r["server_p50"]),
            f"{r['errors']} / {r['requests']}",
            f"{r['cpu_web']:.2f}",
            f"{r['cpu_postgres']:.2f}",
            f"{r['cpu_client']:.2f}",
            f"{per_request(r, 'cpu_web'):.0f} + {per_request(r, 'cpu_postgres'):.0f}",
        ]
        for r in results
    ]
    table = common.markdown_table(headers, rows, "l" + "r" * (len(headers) - 1))
    print(table)
    misses = []
    for r in results:
        where = f"{r['config']}, {r['users']} staff"
        if r["users"] >= 20 and r["rps"] < 40:
            misses.append(f"{where}: {r['rps']:.1f} requests/s (goal: at least 40)")
        if r["users"] == 20 and r["p95"] > 0.6:
            misses.append(f"{where}: p95 {ms(r['p95'])} ms (goal: at most 600)")
        if r["users"] == 50 and r["errors"]:
            misses.append(f"{where}: {r['errors']} errors (goal: none)")
    # Pages at the lowest level of the first set-up: the least waiting for a worker.
    lightest = min(results, key=lambda r: r["users"])
    pages = common.markdown_table(
        ["page", "requests", "p50 (ms)", "p95 (ms)", "in Django p50 (ms)"],
        [
            [f"`{kind}`", n, ms(p50), ms(p95), ms(django)]
            for kind, (n, p50, p95, django) in lightest["by_page"].items()
        ],
        "lrrrr",
    )
    command = f"./dev bench load --users {args.users} --seconds {args.seconds} --rounds {args.rounds}"
    command += f" --configs {args.configs}" if args.configs else ""
    command += f" --baseline {args.baseline}"
    command += f" --profile {args.profile}" if args.profile else ""
    body = [
        f"`{command}`, {common.now_utc()}.",
        "",
        f"Machine: {common.machine()}; PostgreSQL {common.postgres_version(server_url)}; load average "
        f"before the run {load}, after it {common.load_average()}. {args.products:,} products, "
        f"{args.orders:,} orders, {max(args.orders // 10, 10):,} customers (seed_demo).",
        "",
        "Staff log in through the admin's login form and loop without pause over their role's pages "
        "(operations, support, auditors 2:2:1; lists, searches, change pages, the dashboard, the audit "
        f"log); {args.seconds} s per level and set-up, in {args.rounds} turns taken in order by the "
        f"set-ups, each after {args.warmup} s of warm-up. Latency is the client's (the wait for a free "
        "worker included); *in Django* is X-Response-Time. CPU in cores (the machine has "
        f"{os.cpu_count()}), and per request in milliseconds. The ratios compare each set-up with "
        f"{args.baseline} at the same level in this run (the figures that carry over to a quieter "
        "machine). Goal: at least 40 requests/s, p95 at most 600 ms with 20 staff, no error with 50.",
        "",
        table,
        "",
        ("Short of the goals in this run:\n\n" + "\n".join(f"- {m}" for m in misses))
        if misses
        else "Every goal met in this run.",
        "",
        "What 2 idle cores would serve at the CPU each request cost in this run (web, PostgreSQL and "
        "client together): "
        + "; ".join(
            f"{r['config']} with {r['users']} staff {capacity(r):.0f} requests/s" for r in results if r["rps"]
        )
        + ".",
        "",
        f"By page, {lightest['config']} with {lightest['users']} staff:",
        "",
        pages,
    ]
    profiled = [r for r in results if r["profile"]]
    for r in profiled:
        body += [
            "",
            f"Where the workers' time goes ({r['config']}, {r['users']} staff; py-spy samples of the "
            "workers' threads while not idle):",
            "",
            common.markdown_table(
                ["", "share"], [[name, f"{share * 100:.0f}%"] for name, share in r["profile"]], "lr"
            ),
        ]
    common.write_report("Load", body, notes=args.notes, write=not args.no_write)
