"""Admin lists at 1,000 and at 1,000,000 rows, against a naive baseline, on PostgreSQL.

    ./dev bench admin_lists [--small 1000] [--large 1000000] [--runs 5] [--keep]
    ./dev bench admin_lists --large 0 --only products,orders,customers --no-write   # 1,000 rows only

For every changelist (categories, products, customers, orders, order lines, audit log, stock
movements) it requests the first page, a filtered page, a search, a sort and a deep page through
Django's test client, logged in as a superuser, and reports the median server time over --runs and
the number of queries. The same requests run:

- on two databases seeded with ``seed_demo``: --small products and orders (customers a tenth), and
  --large (``--large 1000000`` = seed_demo --products 1000000 --customers 100000 --orders 1000000),
  plus an audit log topped up to as many entries as orders;
- through the product's admin (/admin/) and through plain Unfold ModelAdmins with the same
  list_display on a separate admin site (/naive/): the naive baseline (Django's defaults: exact
  counts, icontains search, offset paging, per-row queries for computed columns).

Requests are interleaved (each run asks every database and both admins in turn), so a busy machine
slows all of them alike: compare the ratios. Each request's wall time and the serving process's CPU
time are recorded; the CPU time is what rendering costs, whatever else the machine runs. ``--large 0``
leaves out the big database (the 1,000-row comparison with stock Django only). The table is printed
and written to bench/RESULTS.md ("Admin lists").

--keep keeps the PostgreSQL cluster in bench/data/pg (git-ignored) with its seeded databases, so the
next run reuses them instead of seeding a million rows again; without it the databases are seeded
on the server DATABASE_URL names (./dev bench starts a throwaway one).

Each database is served by its own worker process (this script with --worker), so Django's caches
never mix the two.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from stock_admin import install_stock_engine, stock_site

SCRIPT = Path(__file__).resolve()


# ==== worker: one database, both admins ================================================================
class Worker:
    def __init__(self, scale: int):
        self.scale = scale

    # --- data -----------------------------------------------------------------------------------------
    def prepare(self, *, seed: int):
        from django.core.management import call_command
        from django.db import connection

        from inventory.models import Product
        from orders.models import Order

        common.migrate()
        with common.default_tenant():
            products, orders = Product.objects.count(), Order.objects.count()
            if (products, orders) != (self.scale, self.scale):
                if products or orders:
                    raise SystemExit(
                        f"database holds {products} products and {orders} orders, not {self.scale}: "
                        "drop it (the coordinator does with --reseed)"
                    )
                started = time.monotonic()
                call_command(
                    "seed_demo",
                    products=self.scale,
                    customers=max(self.scale // 10, 10),
                    orders=self.scale,
                    seed=seed,
                    no_users=True,
                    stdout=sys.stderr,
                )
                print(f"seeded {self.scale} rows in {time.monotonic() - started:.0f}s", file=sys.stderr)
            self.top_up_audit_log()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # fresh statistics and visibility maps for both
            self.user = common.superuser()
            self.requests = self.build_requests()
        return {"requests": self.requests}

    def top_up_audit_log(self):
        """Demo orders write no audit entries (seeded products and customers do, with no user): add
        as many order changes by four staff users as there are orders (COPY, in batches)."""
        import datetime as dt
        import random

        from django.contrib.auth import get_user_model
        from django.contrib.contenttypes.models import ContentType
        from django.db import transaction
        from django.db.models import Max
        from django.utils import timezone

        from audit.models import AuditEntry
        from core.bulk import copy_rows, secondary_indexes_deferred
        from orders.models import Order

        User = get_user_model()
        staff = [
            User.objects.get_or_create(username=name, defaults={"is_staff": True})[0]
            for name in ("bench-ops", "bench-support", "bench-auditor", "bench-lead")
        ]
        missing = self.scale - AuditEntry.objects.filter(user__in=staff).count()
        if missing <= 0:
            return
        order_type = ContentType.objects.get_for_model(Order).pk
        top_order = Order.objects.aggregate(m=Max("id"))["m"] or 1
        history = 10**9  # history ids no real history row has
        rng = random.Random(8)
        now = timezone.now()
        actions = ["changed"] * 8 + ["created", "deleted"]
        reasons = ["Marked shipped", "Completed", "Line edited", "Refunded", "Address corrected"]
        columns = [
            "created_at",
            "user_id",
            "content_type_id",
            "object_id",
            "object_repr",
            "action",
            "reason",
            "changed_fields",
            "history_id",
        ]
        done = 0
        with secondary_indexes_deferred([AuditEntry]):  # its 12 indexes built once, after
            while done < missing:
                size = min(50_000, missing - done)
                rows = []
                for n in range(done, done + size):
                    order = rng.randint(1, top_order)
                    rows.append(
                        (
                            now - dt.timedelta(days=rng.uniform(0, 365)),
                            rng.choice(staff).pk,
                            order_type,
                            str(order),
                            f"ORD-{order:06d}",
                            rng.choice(actions),
                            rng.choice(reasons),
                            ["status"],
                            history + n,
                        )
                    )
                with transaction.atomic():
                    copy_rows(AuditEntry, columns, rows)
                done += size
        print(f"audit log topped up with {missing} entries", file=sys.stderr)

    # --- the requests -----------------------------------------------------------------------------------
    def build_requests(self) -> list[dict]:
        """(changelist, what, product admin URL, naive admin URL) for every request, with real values
        from this database."""
        import datetime as dt

        from django.contrib.auth import get_user_model

        from audit.models import AuditEntry
        from core.changelist import position_token
        from inventory.models import Category, Product, StockMovement
        from orders.models import Customer, Order, OrderItem

        per_page = 50
        leaf = Category.objects.filter(children__isnull=True).order_by("name").first()
        parent = Category.objects.filter(parent__isnull=True).order_by("name").first()
        product = Product.objects.order_by("sku").only("pk", "sku")[self.scale // 3]
        customer = Customer.objects.order_by("pk")[7]
        order = Order.objects.order_by("pk")[self.scale // 3]
        # A product that was ordered (demo orders draw on part of the catalogue).
        ordered = OrderItem.objects.filter(order=order).values_list("product_id", flat=True).first()
        staff = get_user_model().objects.get(username="bench-support")
        surname = customer.name.split()[-1]

        def deep(changelist, ordering):
            """The middle of the list: the keyset position for ours, the page number for naive."""
            model = models[changelist]
            middle = model.objects.count() // 2
            row = model.objects.order_by(*ordering)[middle : middle + 1].get()
            add(
                changelist,
                "deep page",
                {"after": position_token(row, ordering)},
                {"p": middle // per_page + 1},
            )
            return middle // per_page + 1

        def spec(changelist, what, fast, naive, stock):
            return {"list": changelist, "what": what, "fast": fast, "naive": naive, "stock": stock}

        url = {
            "categories": "/{}/inventory/category/",
            "products": "/{}/inventory/product/",
            "customers": "/{}/orders/customer/",
            "orders": "/{}/orders/order/",
            "order lines": "/{}/orders/orderitem/",
            "audit log": "/{}/audit/auditentry/",
            "stock movements": "/{}/inventory/stockmovement/",
        }
        q = common.query_string
        out = []
        models = {
            "categories": Category,
            "products": Product,
            "customers": Customer,
            "orders": Order,
            "order lines": OrderItem,
            "audit log": AuditEntry,
            "stock movements": StockMovement,
        }

        def add(changelist, what, params, naive_params=None, stock_params=None):
            path = url[changelist]
            naive_params = naive_params if naive_params is not None else params
            out.append(
                spec(
                    changelist,
                    what,
                    path.format("admin") + q(params),
                    path.format("naive") + q(naive_params),
                    path.format("stock") + q(stock_params if stock_params is not None else naive_params),
                )
            )

        def add_sort(changelist, column):
            """Sort by a column (``-name``: descending): its position differs between the admins
            when only one of them has actions (the checkbox column comes first)."""
            fast, naive, stock = (
                {"o": sort_param(site, models[changelist], column, self.user)}
                for site in ("admin", "naive", "stock")
            )
            add(changelist, "sort", fast, naive, stock)

        add("categories", "first page", {})
        add("categories", "filtered", {"parent__id__exact": parent.pk})
        add("categories", "search", {"q": "phone"})
        add_sort("categories", "-product_count")

        add("products", "first page", {})
        add("products", "filtered", {"category__id__exact": leaf.pk})
        add("products", "search name", {"q": "kettlebell olive"})
        add("products", "search SKU", {"q": product.sku[:-1].lower()})
        add_sort("products", "price_money")
        add("products", "deep page by number", {"p": deep("products", ["name", "-pk"])})

        add("customers", "first page", {})
        # Customers joined 30-800 days ago: about half of them joined in this range.
        since, until = (dt.date.today() - dt.timedelta(days=d) for d in (800, 400))
        add(
            "customers",
            "filtered",
            {"created_at_from": since.isoformat(), "created_at_to": until.isoformat()},
            stock_params={"created_at__gte": since.isoformat(), "created_at__lt": until.isoformat()},
        )
        add("customers", "search name", {"q": surname})
        add(
            "customers",
            "search e-mail",
            {"q": customer.email.split(".")[0] + "." + customer.email.split(".")[1]},
        )
        add_sort("customers", "-created_at")
        deep("customers", ["name", "id"])

        add("orders", "first page", {})
        add("orders", "filtered", {"status__exact": "cancelled"})  # about one order in ten
        add("orders", "search number", {"q": order.number})
        add("orders", "search customer", {"q": customer.email})
        add_sort("orders", "-total_money")
        add("orders", "deep page by number", {"p": deep("orders", ["-created_at", "-id"])})

        add("order lines", "first page", {})
        add("order lines", "filtered", {"product__id__exact": ordered})
        add("order lines", "search number", {"q": order.number})
        add_sort("order lines", "order")
        deep("order lines", ["-id"])

        add("audit log", "first page", {})
        add("audit log", "filtered", {"user__id__exact": staff.pk})  # a quarter of the order entries
        add("audit log", "search", {"q": order.number})
        add_sort("audit log", "created_at")
        deep("audit log", ["-created_at", "-id"])

        add("stock movements", "first page", {})
        add("stock movements", "filtered", {"product__id__exact": product.pk})
        # Demo stock is an opening receipt per product (demo orders predate the ledger): a big match.
        add("stock movements", "filtered by kind", {"kind__exact": "receipt"})
        add_sort("stock movements", "created_at")
        deep("stock movements", ["-created_at", "-id"])
        return out

    # --- measuring ----------------------------------------------------------------------------------------
    def client(self):
        if not hasattr(self, "_client"):
            from django.test import Client

            # A browser's User-Agent, as every real request has (Unfold's pages read it for shortcut keys).
            self._client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0")
            self._client.force_login(self.user)
        return self._client

    def explain(self, url: str) -> dict:
        """The scans PostgreSQL chose for the request's queries on business tables (EXPLAIN ANALYZE):
        which index each uses, or a sequential scan, and the time each took."""

        answer = self.run(url, count_queries=True)
        plans = []
        for sql in answer["sql"]:
            if sql.startswith("EXPLAIN") or not any(t in sql for t in BUSINESS_TABLES):
                continue
            scans, elapsed = common.explain_analyze(sql)
            plans.append({"sql": sql[:120], "scans": scans, "ms": round(elapsed, 1)})
        return {"plans": plans}

    def run(self, url: str, *, count_queries=False) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment

        client = self.client()
        if count_queries:
            # Only here: the test environment records each response's template context (rows shown),
            # which costs time on every template rendered.
            setup_test_environment(debug=True)
            try:
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url)
            finally:
                teardown_test_environment()
            queries = [q["sql"] for q in captured.captured_queries]
        else:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        result = {"status": response.status_code}
        if response.status_code == 200 and response.context is not None and "cl" in response.context:
            cl = response.context["cl"]
            result["rows"] = len(cl.result_list)
            result["count"] = cl.result_count
        if count_queries:
            result["queries"] = len(queries)
            result["sql"] = queries
        else:
            result["seconds"] = elapsed
            result["cpu"] = cpu
        return result


BUSINESS_TABLES = ("inventory_", "orders_", "audit_auditentry")


def sort_param(site_name, model, column, user) -> str:
    """The ``o`` value that sorts ``site_name``'s list of ``model`` by ``column``."""
    from django.contrib import admin
    from django.test import RequestFactory

    site = {"admin": admin.site, "naive": NAIVE_SITE[0], "stock": STOCK_SITE[0]}[site_name]
    model_admin = site._registry[model]
    request = RequestFactory().get("/")
    request.user = user
    columns = list(model_admin.get_list_display(request))
    if model_admin.get_actions(request):
        columns = ["action_checkbox", *columns]
    index = columns.index(column.lstrip("-"))
    return f"-{index}" if column.startswith("-") else str(index)


NAIVE_SITE = []
STOCK_SITE = []
STOCK_GOAL = 1.1  # our time / stock Django's for the same rows
GROWTH_GOAL = 1.2  # time at --large rows / time at --small rows


def unfold_column(model_admin, name):
    """Our admin's column as a plain Unfold admin has it: badges and yes/no icons rendered by
    Unfold's templates (``@display(label=…)``), not by core.cells."""
    from unfold.decorators import display

    method = getattr(type(model_admin), name)
    raw = getattr(method, "__wrapped__", method)

    def column(self, obj):
        return raw(model_admin, obj)

    options = {
        "description": getattr(method, "short_description", None),
        "ordering": getattr(method, "admin_order_field", None),
        **getattr(method, "unfold_options", {}),
    }
    return display(column, **options)


def install_naive_site():
    """The baseline: plain Unfold ModelAdmins (Django's defaults) with the product's list_display,
    filters and search fields, on their own admin site at /naive/."""
    import types

    from django.conf import settings
    from django.contrib import admin
    from django.db.models import Sum
    from django.urls import clear_url_caches, include, path
    from unfold.admin import ModelAdmin
    from unfold.sites import UnfoldAdminSite

    import backoffice.urls
    from audit.models import AuditEntry
    from inventory.models import Category, Product, StockMovement
    from orders.models import Customer, Order, OrderItem

    def ours(model):
        return type(admin.site._registry[model])  # the project's admin class, wherever it lives

    site = UnfoldAdminSite(name="naive")
    NAIVE_SITE.append(site)

    def naive(model, product_admin, **methods):
        """A ModelAdmin with the product admin's columns, filters, search and default ordering,
        computed columns done the obvious way (a query per row)."""
        instance = admin.site._registry[model]
        copied = {
            name: unfold_column(instance, name)
            for name in product_admin.list_display
            if isinstance(name, str) and hasattr(product_admin, name) and name not in methods
        }
        attrs = {
            "list_display": product_admin.list_display,
            "list_filter": product_admin.list_filter,
            "search_fields": product_admin.search_fields,
            "ordering": product_admin.ordering,
            "date_hierarchy": product_admin.date_hierarchy,
            "list_per_page": product_admin.list_per_page,
            **copied,
            **methods,
        }
        site.register(model, type(f"Naive{model.__name__}Admin", (ModelAdmin,), attrs))

    def column(description, function):
        function.short_description = description
        return function

    naive(Category, ours(Category), product_count=column("Products", lambda self, c: c.products.count()))
    naive(Product, ours(Product))
    naive(
        Customer,
        ours(Customer),
        order_count=column("Orders", lambda self, c: c.orders.count()),
        lifetime_value=column(
            "Lifetime value",
            lambda self, c: c.orders.filter(status__in=("paid", "shipped", "completed")).aggregate(
                v=Sum("total")
            )["v"],
        ),
    )
    naive(
        Order,
        ours(Order),
        item_count=column("Items", lambda self, o: o.items.aggregate(n=Sum("quantity"))["n"]),
    )
    naive(OrderItem, ours(OrderItem))
    naive(AuditEntry, ours(AuditEntry))
    naive(StockMovement, ours(StockMovement))

    urlconf = types.ModuleType("bench_admin_lists_urls")

    install_stock_engine()
    STOCK_SITE.append(stock_site(admin.site))
    urlconf.urlpatterns = [
        path("naive/", site.urls),
        path("stock/", STOCK_SITE[0].urls),
        *backoffice.urls.urlpatterns,
    ]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    clear_url_caches()
    return include


def worker_main(args):
    common.setup_django(args.database_url)
    install_naive_site()
    worker = Worker(args.scale)
    out = sys.stdout
    sys.stdout = sys.stderr  # everything else Django or the seed prints goes to stderr
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["do"] == "prepare":
                answer = worker.prepare(seed=command["seed"])
            elif command["do"] == "run":
                answer = worker.run(command["url"], count_queries=command.get("count_queries", False))
            elif command["do"] == "explain":
                answer = worker.explain(command["url"])
            else:
                answer = {"error": f"unknown command {command['do']}"}
        except Exception as error:
            import traceback

            traceback.print_exc()
            answer = {"error": repr(error)}
        out.write(json.dumps(answer, default=str) + "\n")
        out.flush()


# ==== coordinator =======================================================================================
class WorkerProcess:
    def __init__(self, scale: int, database_url: str):
        self.scale = scale
        self.process = subprocess.Popen(  # noqa: S603 - this script, our arguments
            [sys.executable, str(SCRIPT), "--worker", "--scale", str(scale), "--database-url", database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the worker for {self.scale} rows stopped")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"worker for {self.scale} rows: {answer['error']}")
        return answer

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "—"


def ms(seconds):
    return f"{seconds * 1000:.0f}" if seconds == seconds else "—"


def coordinator_main(args):
    server, cluster = common.server_url(args.keep)
    workers = []
    try:
        scales = [args.small, args.large] if args.large else [args.small]
        for scale in scales:
            name = f"bench_lists_{scale}"
            common.create_database(server, name, drop=args.reseed)
            workers.append(WorkerProcess(scale, common.with_database(server, name)))
        requests = {}
        for worker in workers:
            started = time.monotonic()
            requests[worker.scale] = worker.ask(do="prepare", seed=args.seed)["requests"]
            print(f"{worker.scale} rows ready ({time.monotonic() - started:.0f}s)", file=sys.stderr)
        if args.prepare_only:
            return
        if args.explain:
            return explain_report(args, workers[-1], requests[args.large])
        load = common.wait_for_quiet_machine() if args.wait_for_quiet else common.load_average()
        only = set(args.only.split(",")) if args.only else None
        keys = [(r["list"], r["what"]) for r in requests[args.small] if not only or r["list"] in only]
        by_key = {scale: {(r["list"], r["what"]): r for r in requests[scale]} for scale in scales}

        def admins(scale):
            # Stock Django only at the small scale: the goal compares the same 50 rows rendered.
            return ("fast", "naive", "stock") if scale == args.small else ("fast", "naive")

        samples = {}  # (list, what, scale, admin) -> [seconds]
        cpu = {}  # (list, what, scale, admin) -> [CPU seconds of the serving process]
        info = {}  # (list, what, scale, admin) -> {"queries", "status", "rows", "count"}
        for key in keys:
            for worker in workers:
                for admin in admins(worker.scale):
                    url = by_key[worker.scale][key][admin]
                    worker.ask(do="run", url=url)  # warm-up: caches, prepared plans
                    counted = worker.ask(do="run", url=url, count_queries=True)
                    info[(*key, worker.scale, admin)] = counted
                    if counted["status"] != 200:
                        print(f"  {key} {admin} at {worker.scale}: HTTP {counted['status']}", file=sys.stderr)
            for _ in range(args.runs):
                for worker in workers:
                    for admin in admins(worker.scale):
                        url = by_key[worker.scale][key][admin]
                        answer = worker.ask(do="run", url=url)
                        samples.setdefault((*key, worker.scale, admin), []).append(answer["seconds"])
                        cpu.setdefault((*key, worker.scale, admin), []).append(answer["cpu"])
            line = " ".join(
                f"{scale}/{admin}={ms(common.median(samples[(*key, scale, admin)]))}ms"
                f"(cpu {ms(common.median(cpu[(*key, scale, admin)]))})"
                for scale in scales
                for admin in admins(scale)
            )
            print(f"{key[0]:>16} {key[1]:<20} {line}", file=sys.stderr)

        if args.large:
            report(args, keys, scales, samples, cpu, info, load, server)
        else:
            stock_report(args, keys, samples, cpu, load)
        if args.show_sql and args.large:
            for key in keys:
                sql = info[(*key, args.large, "fast")].get("sql", [])
                print(f"\n== {key} ({len(sql)} queries)")
                for statement in sql:
                    print("  ", statement[:300])
    finally:
        for worker in workers:
            worker.close()
        if cluster:
            cluster.stop()


def explain_report(args, worker, requests):
    """Which index every search, filter, sort and deep page uses at --large rows (EXPLAIN ANALYZE)."""
    rows = []
    for request in requests:
        if request["what"] == "first page" or (args.only and request["list"] not in args.only.split(",")):
            continue
        for plan in worker.ask(do="explain", url=request["fast"])["plans"]:
            scans = ", ".join(f"`{scan}`" for scan in plan["scans"])
            kind = "count" if plan["sql"].startswith("SELECT COUNT") else "rows"
            rows.append([request["list"], request["what"], kind, scans, f"{plan['ms']:.1f}"])
    table = common.markdown_table(["list", "request", "query", "scans", "ms"], rows, "lllrr")
    print(table)
    if not args.no_write:
        body = (
            f"`./dev bench admin_lists --keep --explain`, {common.now_utc()}, {args.large:,} rows: the scans "
            "PostgreSQL chose (EXPLAIN ANALYZE) for the list's own queries (the rows of the page and, when "
            "filtered, the count).\n\n" + table
        )
        common.write_section("Admin lists: query plans", body)


def stock_report(args, keys, samples, cpu, load):
    """--large 0: ours against stock Django at --small rows: the serving process's CPU time, median
    and fastest of the runs (a loaded machine slows some runs of either side), wall time in brackets."""
    small = args.small
    rows = []
    for key in keys:
        ours, stock = (cpu[(*key, small, admin)] for admin in ("fast", "stock"))
        ours_wall, stock_wall = (common.median(samples[(*key, small, admin)]) for admin in ("fast", "stock"))
        rows.append(
            [
                key[0],
                key[1],
                f"{common.median(ours) * 1000:.1f} / {min(ours) * 1000:.1f} ({ms(ours_wall)})",
                f"{common.median(stock) * 1000:.1f} / {min(stock) * 1000:.1f} ({ms(stock_wall)})",
                f"{ratio(common.median(ours), common.median(stock))} / {ratio(min(ours), min(stock))} "
                f"({ratio(ours_wall, stock_wall)})",
                f"{common.median(cpu[(*key, small, 'naive')]) * 1000:.1f}",
            ]
        )
    headers = [
        "list",
        "request",
        "ours: CPU ms, median / fastest (wall)",
        "stock Django",
        "ours / stock",
        "naive CPU ms",
    ]
    print(common.markdown_table(headers, rows, "llrrrr"))
    print(f"\n{small:,} rows, {args.runs} interleaved runs; load average at the start: {load}", end="")
    print(f", at the end: {common.load_average()}")


def report(args, keys, scales, samples, cpu, info, load, server):
    small, large = scales
    headers = [
        "list",
        "request",
        f"{small:,} rows (ms)",
        f"stock Django at {small:,} (ms)",
        "ours / stock, wall (CPU)",
        f"{large:,} rows (ms)",
        "large / small",
        f"naive at {large:,} (ms)",
        "naive / ours",
        "queries (small / large)",
        "naive queries",
        "rows shown (small / large)",
    ]
    rows, misses = [], []
    for key in keys:
        fast_small = common.median(samples[(*key, small, "fast")])
        fast_large = common.median(samples[(*key, large, "fast")])
        stock_small = common.median(samples[(*key, small, "stock")])
        cpu_ratio = common.median(cpu[(*key, small, "fast")]) / common.median(cpu[(*key, small, "stock")])
        naive_large = common.median(samples[(*key, large, "naive")])
        q_small = info[(*key, small, "fast")]["queries"]
        q_large = info[(*key, large, "fast")]["queries"]
        q_naive = info[(*key, large, "naive")]["queries"]
        growth = fast_large / fast_small
        speedup = naive_large / fast_large
        rows.append(
            [
                key[0],
                key[1],
                ms(fast_small),
                ms(stock_small),
                f"{ratio(fast_small, stock_small)} ({cpu_ratio:.2f}x)",
                ms(fast_large),
                f"{growth:.2f}x",
                ms(naive_large),
                f"{speedup:.1f}x",
                f"{q_small} / {q_large}",
                q_naive,
                f"{info[(*key, small, 'fast')].get('rows', '?')} / "
                f"{info[(*key, large, 'fast')].get('rows', '?')}",
            ]
        )
        if key[0] in ("products", "orders", "customers") and cpu_ratio > STOCK_GOAL:
            misses.append(f"{key[0]} {key[1]}: {cpu_ratio:.2f}x stock Django's CPU time")
        if growth > GROWTH_GOAL:
            misses.append(f"{key[0]} {key[1]}: {growth:.2f}x slower at {large:,} rows than at {small:,}")
        if max(q_small, q_large) > 10:
            misses.append(f"{key[0]} {key[1]}: {max(q_small, q_large)} queries")
        if key[0] in ("products", "orders") and speedup < 5:
            misses.append(f"{key[0]} {key[1]}: only {speedup:.1f}x faster than the naive admin")
    table = common.markdown_table(headers, rows, "llrrrrrrrrrr")
    print(table)
    body = [
        f"`./dev bench admin_lists --small {small} --large {large} --runs {args.runs}`, {common.now_utc()}.",
        "",
        f"Machine: {common.machine()}; PostgreSQL {common.postgres_version(server)}; "
        f"load average at the start of the timed runs: {load}.",
        "",
        f"Median server time of {args.runs} runs through Django's test client (superuser, 50 rows a page), "
        "requests interleaved across both databases and the admins. *Stock Django* is a plain "
        "`django.contrib.admin` ModelAdmin rendered by Django's own templates, showing the same rows "
        "(our queryset, columns, search fields and ordering; Django's default filters for the same "
        "fields). *Naive* is a plain Unfold ModelAdmin with the same columns, filters and search fields "
        "(Django's defaults); the deep page of both is `?p=N` at the same depth, ours follows the keyset "
        f"link (`?after=`). Goals: at most 10 queries; products, orders and customers at most "
        f"{STOCK_GOAL}x stock Django's time at {small:,} rows; every request at most {GROWTH_GOAL}x its "
        f"{small:,}-row time at {large:,} rows; products and orders at least 5x faster than naive.",
        "",
        table,
        "",
    ]
    body += (
        ["Short of the goals in this run:", ""] + [f"- {m}" for m in misses]
        if misses
        else ["Every request met the goals in this run."]
    )
    if args.notes and Path(args.notes).exists():
        body += ["", Path(args.notes).read_text().strip()]
    if not args.no_write:
        common.write_section("Admin lists", "\n".join(body))
        print(f"\nwritten to {common.RESULTS.relative_to(common.ROOT)} (Admin lists)", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep and reuse the cluster in bench/data/pg")
    parser.add_argument("--reseed", action="store_true", help="drop the benchmark databases first")
    parser.add_argument("--prepare-only", action="store_true", help="seed (or check) the databases and stop")
    parser.add_argument("--only", help="comma-separated changelists, e.g. products,orders")
    parser.add_argument("--no-write", action="store_true", help="don't write bench/RESULTS.md")
    parser.add_argument("--wait-for-quiet", action="store_true", help="wait until the load average is <= 2")
    parser.add_argument("--show-sql", action="store_true", help="print the large run's SQL per request")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="only EXPLAIN ANALYZE the searches, filters and sorts at --large",
    )
    parser.add_argument("--notes", help="a Markdown file appended to the RESULTS.md section")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
    else:
        coordinator_main(args)


if __name__ == "__main__":
    main()
