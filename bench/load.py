"""Capacity: staff over HTTP against the production server, on 100,000 products and 100,000 orders.

    ./dev bench load [--keep] [--users 5,20,50] [--seconds 60] [--configs sync:4,gthread:2x4]

The server is what ``./dev serve`` runs: gunicorn with backoffice/gunicorn.conf.py, DEBUG off, static
files collected, the real password hasher. Each member of staff logs in through the admin's login
form (operations, support and auditors, in the ratio 2:2:1) and then loops, without pause, over the
pages their role uses: the dashboard, lists (products, orders, customers, the stock ledger), searches
(product name and SKU, order number, customer e-mail), change pages (products, orders, customers)
and the audit log, with ids drawn from the database. Each level of --users runs for --seconds after
a short warm-up.

Reported per level: requests/s, latency p50/p95/p99 as the client sees it (the wait for a worker
included), the median time inside Django (X-Response-Time), errors (anything but 200), and the CPU
of gunicorn's processes, of PostgreSQL and of this client, in cores. Goal on a 2-core machine:
at least 40 requests/s, p95 at most 600 ms with 20 staff, no error with 50.

--configs compares gunicorn set-ups (``sync:N``: N sync workers; ``gthread:NxT``: N workers of T
threads); by default the one backoffice/gunicorn.conf.py chooses. --baseline (``sync:2``, the set-up
issue 26 measured: 2 sync workers) always runs too, and every set-up's requests/s and p95 are given
as ratios to it at the same level, in the same run. All their servers run from the
start and take turns at each level (--rounds turns, --seconds in all for each), so that other work on
the machine weighs on all of them alike: compare them within a run. --profile STAFF samples the
workers with py-spy at that level and says where their time goes. --keep keeps the seeded database
in bench/data/pg (git-ignored) for the next run, as admin_lists --keep does.
The table goes to bench/RESULTS.md ("Load"); --notes appends a Markdown file to that section.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import load_report
import loadclient

SCRIPT = Path(__file__).resolve()
WORK = common.DATA / "load"
STAFF = {  # username -> (role, password); the role's page mix is in PAGES
    "load-ops": ("Operations", "load-ops-password-1"),
    "load-support": ("Support", "load-support-password-1"),
    "load-auditor": ("Auditor", "load-auditor-password-1"),
}
ROLES_IN_TURN = ["load-ops", "load-support", "load-ops", "load-support", "load-auditor"]

# (weight, page) per role: what a morning of that job looks like. Pages name their ids by kind.
PAGES = {
    "load-ops": [
        (10, "/admin/"),
        (20, "/admin/inventory/product/"),
        (15, "/admin/inventory/product/?q={product_word}"),
        (15, "/admin/inventory/product/?q={sku}"),
        (25, "/admin/inventory/product/{product}/change/"),
        (10, "/admin/inventory/stockmovement/"),
        (5, "/admin/orders/order/"),
    ],
    "load-support": [
        (10, "/admin/"),
        (15, "/admin/orders/order/"),
        (5, "/admin/orders/order/?status__exact=paid"),
        (15, "/admin/orders/order/?q={order_number}"),
        (10, "/admin/orders/order/?q={email}"),
        (25, "/admin/orders/order/{order}/change/"),
        (5, "/admin/orders/customer/?q={surname}"),
        (10, "/admin/orders/customer/{customer}/change/"),
        (5, "/admin/inventory/product/?q={product_word}"),
    ],
    "load-auditor": [
        (10, "/admin/"),
        (35, "/admin/audit/auditentry/"),
        (15, "/admin/audit/auditentry/?q={order_number}"),
        (10, "/admin/audit/auditentry/?action__exact=changed"),
        (10, "/admin/orders/order/{order}/change/"),
        (10, "/admin/inventory/product/{product}/change/"),
        (10, "/admin/inventory/stockmovement/"),
    ],
}


# ==== the database (run in a Django process of its own) ===============================================
def prepare(args):
    """Seed (once), the staff's accounts, and sample values for the pages' ids: printed as JSON."""
    common.setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from inventory.models import Product
    from orders.models import Customer, Order

    common.migrate()
    with common.default_tenant():
        products, orders = Product.objects.count(), Order.objects.count()
        if (products, orders) != (args.products, args.orders):
            if products or orders:
                sys.exit(f"database holds {products} products and {orders} orders: rerun with --reseed")
            started = time.monotonic()
            call_command(
                "seed_demo",
                products=args.products,
                customers=max(args.orders // 10, 10),
                orders=args.orders,
                no_users=True,
                stdout=sys.stderr,
            )
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            print(f"seeded in {time.monotonic() - started:.0f}s", file=sys.stderr)
        User = get_user_model()
        for username, (role, password) in STAFF.items():
            user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            if not user.check_password(password):
                user.set_password(password)  # the production hasher: logins cost what they cost
                user.save()
            user.groups.set([Group.objects.get(name=role)])
        rng = random.Random(args.seed)
        sample = 300
        product_rows = list(Product.objects.order_by("?").values_list("pk", "sku", "name")[:sample])
        order_rows = list(Order.objects.order_by("?").values_list("pk", "number")[:sample])
        customer_rows = list(Customer.objects.order_by("?").values_list("pk", "email", "name")[:sample])
        values = {
            "product": [str(pk) for pk, _, _ in product_rows],
            "sku": [sku for _, sku, _ in product_rows],
            "product_word": [rng.choice(name.split()) for _, _, name in product_rows],
            "order": [pk for pk, _ in order_rows],
            "order_number": [number for _, number in order_rows],
            "customer": [pk for pk, _, _ in customer_rows],
            "email": [email for _, email, _ in customer_rows],
            "surname": [name.split()[-1] for _, _, name in customer_rows],
        }
    print(json.dumps(values))


# ==== the load ============================================================================================
class Staff(threading.Thread):
    """One member of staff clicking through their role's pages, one after the other, no pause."""

    def __init__(self, session, username, values, *, seed):
        super().__init__(daemon=True)
        self.session, self.username, self.values = session, username, values
        self.rng = random.Random(seed)
        weights, pages = zip(*PAGES[username], strict=True)
        self.weights, self.pages = weights, pages
        self.answers: list = []
        self.recording = False
        self.running = threading.Event()
        self.stopped = threading.Event()

    def next_path(self) -> str:
        page = self.rng.choices(self.pages, self.weights)[0]
        chosen = {key: quote(str(self.rng.choice(values))) for key, values in self.values.items()}
        return page.format(**chosen)

    def run(self):
        while not self.stopped.is_set():
            if not self.running.wait(0.2):
                continue
            answer = self.session.get(self.next_path())
            answer.body = b""  # only the status, times and error matter here
            if self.recording:
                self.answers.append(answer)


class Setup:
    """One gunicorn set-up under test: its server, and its staff logged in and waiting for work."""

    def __init__(self, config, env, values, *, staff_count, seed):
        self.name = config["name"]
        server_env = env | {k: v for k, v in config.items() if k != "name"}
        self.server = loadclient.Gunicorn(server_env, WORK / f"gunicorn-{self.slug}.log").start()
        self.staff = []
        for n in range(staff_count):
            username = ROLES_IN_TURN[n % len(ROLES_IN_TURN)]
            session = loadclient.StaffSession(self.server.url, username, STAFF[username][1])
            session.log_in()
            member = Staff(session, username, values, seed=seed * 1000 + n)
            member.start()
            self.staff.append(member)
        print(f"{self.name}: {self.server.url}, workers {self.server.worker_pids()}", file=sys.stderr)

    @property
    def slug(self):
        return self.name.replace(":", "-")

    def close(self):
        for member in self.staff:
            member.stopped.set()
        for member in self.staff:
            member.join(5)
            member.session.close()
        self.server.stop()


def measure_slice(setup, cluster_dir, *, users, seconds, warmup, profile=None) -> dict:
    """``users`` staff of ``setup`` clicking for ``seconds`` (after ``warmup``): their answers and
    the CPU the server, PostgreSQL and this client used meanwhile."""
    active = setup.staff[:users]
    for member in active:
        member.answers = []
        member.running.set()
    time.sleep(warmup)
    groups = {
        "web": setup.server.pids,
        "postgres": lambda: loadclient.postgres_pids(cluster_dir),
        "client": lambda: [os.getpid()],
    }
    spies = loadclient.start_profiler(setup.server.worker_pids(), seconds, profile) if profile else []
    with loadclient.CpuMeter(groups) as cpu:
        for member in active:
            member.recording = True
        time.sleep(seconds)
        for member in active:
            member.recording = False
    for member in active:
        member.running.clear()
    for spy in spies:
        spy.wait(60)
    time.sleep(0.5)  # requests in flight finish outside the window (and aren't counted)
    return {
        "answers": [a for member in active for a in member.answers],
        "seconds": cpu.seconds,
        "cpu": {name: cpu.used[name] for name in groups},
    }


def summary(name, users, slices, profile=None) -> dict:
    answers = [a for piece in slices for a in piece["answers"]]
    seconds = sum(piece["seconds"] for piece in slices)
    latencies = [a.seconds for a in answers]
    errors = [a for a in answers if a.status != 200]
    server_ms = [a.server_ms for a in answers if a.server_ms is not None]

    def cores(group):
        return sum(piece["cpu"][group] for piece in slices) / seconds

    return {
        "config": name,
        "users": users,
        "requests": len(answers),
        "rps": len(answers) / seconds,
        "p50": common.percentile(latencies, 0.50),
        "p95": common.percentile(latencies, 0.95),
        "p99": common.percentile(latencies, 0.99),
        "server_p50": common.median(server_ms) / 1000,
        "errors": len(errors),
        "error_kinds": sorted({f"{e.status or ''} {e.error[:80]}".strip() for e in errors})[:5],
        "cpu_web": cores("web"),
        "cpu_postgres": cores("postgres"),
        "cpu_client": cores("client"),
        "by_page": load_report.by_page(answers),
        "profile": loadclient.where_the_time_goes(profile) if profile else None,
    }


def parse_config(text: str) -> dict:
    """``sync:4`` -> 4 sync workers; ``gthread:2x4`` -> 2 workers of 4 threads."""
    kind, _, size = text.partition(":")
    if kind == "sync":
        return {"name": text, "WEB_CONCURRENCY": size, "WEB_THREADS": "1"}
    if kind == "gthread":
        workers, _, threads = size.partition("x")
        return {"name": text, "WEB_CONCURRENCY": workers, "WEB_THREADS": threads}
    raise SystemExit(f"--configs: {text!r} is neither sync:N nor gthread:NxT")


def default_config() -> dict:
    """What backoffice/gunicorn.conf.py chooses on this machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "WEB_THREADS")}
    workers, threads = loadclient.configured_concurrency(env)
    return parse_config(f"gthread:{workers}x{threads}" if threads > 1 else f"sync:{workers}")


def coordinator(args):
    server_url, cluster = common.server_url(args.keep)
    name = f"bench_load_{args.products}"
    setups = []
    try:
        common.create_database(server_url, name, drop=args.reseed)
        database_url = common.with_database(server_url, name)
        started = time.monotonic()
        prepared = subprocess.run(  # noqa: S603
            [sys.executable, str(SCRIPT), "--prepare", *sys.argv[1:]],
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=subprocess.PIPE,
            check=True,
            text=True,
        )
        values = json.loads(prepared.stdout.strip().splitlines()[-1])
        print(f"database ready ({time.monotonic() - started:.0f}s)", file=sys.stderr)
        if args.prepare_only:
            return
        # Without --keep, ./dev bench's throwaway cluster: its data folder holds DATABASE_URL's socket.
        cluster_dir = cluster.dir if cluster else Path(common.psycopg_params(database_url)["host"])
        WORK.mkdir(parents=True, exist_ok=True)
        env = loadclient.production_env(database_url, WORK / "static")
        loadclient.collect_static(env)
        configs = [parse_config(c) for c in args.configs.split(",")] if args.configs else [default_config()]
        if args.baseline not in [c["name"] for c in configs]:
            configs.append(parse_config(args.baseline))
        levels = [int(n) for n in args.users.split(",")]
        # Every set-up's server runs from the start (idle, it costs nothing); they take turns.
        setups = [Setup(c, env, values, staff_count=max(levels), seed=args.seed) for c in configs]
        load = common.wait_for_quiet_machine() if args.wait_for_quiet else common.load_average()
        results = []
        for users in levels:
            results += run_level(args, setups, cluster_dir, users)
        load_report.report(args, results, load, server_url)
    finally:
        for setup in setups:
            setup.close()
        if cluster:
            cluster.stop()


def run_level(args, setups, cluster_dir, users) -> list[dict]:
    """``users`` staff on every set-up, in --rounds turns of --seconds / --rounds each, so that a
    machine that gets busier or quieter meanwhile weighs on all of them alike."""
    slices = {setup.name: [] for setup in setups}
    piece = args.seconds / args.rounds
    for round_ in range(args.rounds):
        for setup in setups:
            profile = None
            if args.profile == users and round_ == 0:
                profile = WORK / f"profile-{setup.slug}"
            slices[setup.name].append(
                measure_slice(
                    setup, cluster_dir, users=users, seconds=piece, warmup=args.warmup, profile=profile
                )
            )
    results = []
    for setup in setups:
        profile = WORK / f"profile-{setup.slug}" if args.profile == users else None
        result = summary(setup.name, users, slices[setup.name], profile)
        results.append(result)
        print(f"{setup.name:>12} {users:>3} staff: {load_report.one_line(result)}", file=sys.stderr)
        if result["error_kinds"]:
            print(f"    errors: {result['error_kinds']}", file=sys.stderr)
        for name, share in result["profile"] or []:
            print(f"    {share * 100:3.0f}% {name}", file=sys.stderr)
    return results


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", default="5,20,50", help="staff at each level, comma-separated")
    parser.add_argument("--seconds", type=int, default=60, help="measured seconds per level and set-up")
    parser.add_argument("--rounds", type=int, default=3, help="turns the set-ups take at each level")
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each turn is measured")
    parser.add_argument("--configs", help="gunicorn set-ups to compare, e.g. sync:2,sync:4,gthread:2x4")
    parser.add_argument("--baseline", default="sync:2", help="the set-up others are compared with")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--keep", action="store_true", help="keep and reuse the cluster in bench/data/pg")
    parser.add_argument("--reseed", action="store_true", help="drop the benchmark's database first")
    parser.add_argument("--prepare-only", action="store_true", help="seed (or check) the database and stop")
    parser.add_argument("--no-write", action="store_true", help="don't write bench/RESULTS.md")
    parser.add_argument("--wait-for-quiet", action="store_true", help="wait until the load average is <= 2")
    parser.add_argument("--notes", help="a Markdown file appended to the RESULTS.md section")
    parser.add_argument(
        "--profile", type=int, metavar="STAFF", help="sample the workers with py-spy at this level of staff"
    )
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args)
    else:
        coordinator(args)


if __name__ == "__main__":
    main()
