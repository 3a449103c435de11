import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.models import AuditSeal, TrailCheck
from audit.sealing import seal_tenant, trail_verify
from backoffice.models import Tenant
from backoffice.roles import AUDITOR, OPERATIONS, SUPPORT, setup_roles
from core.bulk import foreign_keys_deferred, load_settings, secondary_indexes_deferred
from core.summaries import summaries_paused, summaries_rebuild, summary_tables
from core.tenancy import activate, add_tenant_argument, current_tenant, tenant_from_options
from inventory.demo_data import seed_categories, seed_products
from inventory.models import Product
from orders.demo_customers import seed_customers
from orders.demo_data import seed_orders

DEMO_SHOPS = [
    ("acme", "Acme Outfitters"),
    ("globex", "Globex Home"),
    ("initech", "Initech Books"),
    ("umbrella", "Umbrella Garden"),
]

# Demo logins: printed on screen, and refused when DEBUG is off (known passwords).
DEMO_USERS = [
    ("admin", "admin-demo", None, "superuser: everything"),
    ("ops", "ops-demo", OPERATIONS, "operations: catalogue, stock, imports"),
    ("support", "support-demo", SUPPORT, "support: orders and customers"),
    ("auditor", "auditor-demo", AUDITOR, "auditor: reads everything, changes nothing"),
]


DEMO_DATA_AUTHOR = "demo-data"

# From this many rows (products + customers + orders), the demo data is loaded with the plain indexes
# of its apps' tables dropped and built after (core.bulk.secondary_indexes_deferred): a million of
# each then takes minutes instead of ten. Below it, rebuilding the indexes would cost more than it saves.
DEFERRED_INDEXES_FROM = 100_000
DEMO_DATA_APPS = ("inventory", "orders", "audit")
INDEX_BUILDERS = 2  # connections building the indexes at once: the machine's cores
SEALER_MODELS = (AuditSeal, TrailCheck)


def demo_data_author():
    """The account the demo data is written by, so its history says who wrote it. It can't log in:
    inactive, no password."""
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_DATA_AUTHOR,
        defaults={"first_name": "Demo", "last_name": "data", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _analyze(*, except_tables: set[str]) -> None:
    """The planner's statistics of the tables not analyzed since they were loaded (the summaries,
    rebuilt since, are)."""
    summaries = {table.table for table in summary_tables()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [table for (table,) in cursor.fetchall() if table not in except_tables or table in summaries]
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(table) for table in tables))


def _exit_on_sigterm(signum, frame):
    sys.exit(128 + signum)


class Command(BaseCommand):
    help = "Fill an empty database with a realistic, deterministic demo catalogue, customers and orders."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=300)
        parser.add_argument("--customers", type=int, default=80)
        parser.add_argument("--orders", type=int, default=400)
        parser.add_argument("--seed", type=int, default=42, help="Same seed, same data.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (but print the logins) if products exist.",
        )
        parser.add_argument("--no-users", action="store_true", help="Don't create the demo logins.")
        add_tenant_argument(parser)
        parser.add_argument(
            "--tenants",
            type=int,
            default=0,
            help="Also create this many demo shops (acme, globex, ...), each with its own data.",
        )

    def handle(self, *args, **options):
        for name in ("products", "customers", "orders"):
            if options[name] < 0:
                raise CommandError(f"--{name} can't be negative.")
        setup_roles()
        if options["tenants"] > len(DEMO_SHOPS):
            raise CommandError(f"--tenants can be at most {len(DEMO_SHOPS)}.")
        tenants = [tenant_from_options(options)]
        for subdomain, name in DEMO_SHOPS[: options["tenants"]]:
            tenant, _ = Tenant.objects.get_or_create(subdomain=subdomain, defaults={"name": name})
            tenants.append(tenant)
        for offset, tenant in enumerate(tenants):
            with activate(tenant):
                self.stdout.write(f"{tenant} ({tenant.subdomain}):")
                existing = Product.objects.count()
                if existing and options["if_empty"]:
                    self.stdout.write(f"  already holds {existing} products: demo data left as it is.")
                elif existing:
                    raise CommandError(
                        f"{tenant} already holds {existing} products; seed_demo fills an empty shop "
                        "(use --if-empty to skip seeding instead)."
                    )
                else:
                    self._seed({**options, "seed": options["seed"] + offset})
        if not options["no_users"]:
            self._users(tenants)
        if len(tenants) > 1:
            self.stdout.write(f"\nShops: {tenants[0]} at http://127.0.0.1:8000/admin/")
            for tenant in tenants[1:]:
                self.stdout.write(f"       {tenant} at http://{tenant.subdomain}.localhost:8000/admin/")

    def _seed(self, options):
        rng = random.Random(options["seed"])
        started = time.monotonic()
        author = demo_data_author()
        seed_categories()
        with ThreadPoolExecutor(max_workers=1) as sealer:
            # The summary tables are built once from the loaded rows rather than a delta row per row.
            with summaries_paused():
                sealed, analyzed = self._load_all(options, rng, author, started, sealer)
            summaries_rebuild()
            self.stdout.write(f"  dashboard summaries built ({time.monotonic() - started:.0f}s)")
            _analyze(except_tables=analyzed)
            if sealed:
                sealed.result()
            else:
                self._seal_trail(current_tenant(), started)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.0f}s."))

    def _load_all(self, options, rng, author, started, sealer):
        """Loads the rows; gives the sealing of the audit trail when it was started beside the
        index builds (see below), and the tables analyzed after loading (beside the index builds)."""
        rows = options["products"] + options["customers"] + options["orders"]
        if rows < DEFERRED_INDEXES_FROM:
            self._load(options, rng, author, started)
            return None, set()
        models = [
            model
            for label in DEMO_DATA_APPS
            for model in apps.get_app_config(label).get_models()
            if model not in SEALER_MODELS  # written while the indexes are built: see below
        ]
        # A stopped seed (Ctrl-C, or SIGTERM turned into SystemExit here) still builds the indexes
        # again: without them the shop would work, slowly.
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main_thread else None
        sealed = None
        try:
            with (
                load_settings(),
                secondary_indexes_deferred(models, builders=INDEX_BUILDERS, analyze=True) as dropped,
                foreign_keys_deferred(models) as keys,
            ):
                self.stdout.write(
                    f"  {len(dropped)} indexes and {len(keys)} foreign keys dropped while "
                    "loading, built and checked after"
                )
                self._load(options, rng, author, started)
                # The audit trail is sealed (Python hashing, reads by primary key) on a connection of
                # its own while the keys are checked and the indexes built (the server's work). Not
                # inside a transaction, whose locks and rows the other connection would wait for.
                if not connection.in_atomic_block:
                    sealed = sealer.submit(
                        self._seal_trail, current_tenant(), started, own_connection=True, read_entries=False
                    )
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
        self.stdout.write(f"  indexes built, foreign keys checked ({time.monotonic() - started:.0f}s)")
        return sealed, {model._meta.db_table for model in models}

    def _seal_trail(self, tenant, started, *, own_connection=False, read_entries=True):
        """The demo's audit trail starts sealed and verified, as a running shop's is. A big seed's
        check reads the chain but not the entries back: sealing has just hashed every one of them
        (a million: a minute), and nothing else writes meanwhile; ``verify_audit`` reads them."""
        try:
            seal_tenant(tenant)
            self.stdout.write(f"  audit trail sealed ({time.monotonic() - started:.0f}s)")
            trail_verify(tenant, read_entries=read_entries)
            self.stdout.write(f"  audit trail verified ({time.monotonic() - started:.0f}s)")
        finally:
            if own_connection:  # this thread's connection
                connection.close()

    def _load(self, options, rng, author, started):
        for label, seed, count in (
            ("products", seed_products, options["products"]),
            ("customers", seed_customers, options["customers"]),
            ("orders", seed_orders, options["orders"]),
        ):
            if count:
                made = seed(count, rng=rng, progress=self._progress(label), user=author)
                self.stdout.write(f"  {made} {label} ({time.monotonic() - started:.0f}s)")

    def _progress(self, label):
        last = [0.0]

        def report(done, total):
            now = time.monotonic()
            if now - last[0] > 5 or done == total:
                last[0] = now
                self.stdout.write(f"  {label}: {done}/{total}", ending="\r" if done < total else "\n")
                self.stdout.flush()

        return report

    def _users(self, tenants):
        """Demo logins (known passwords) only in development, and only on a database without any
        login yet: never on a production database, and a password someone changed is never reset."""
        if not settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "DEBUG is off: demo logins with known passwords were not created. "
                    "Create real accounts with `manage.py createsuperuser`."
                )
            )
            return
        User = get_user_model()
        unusable = UNUSABLE_PASSWORD_PREFIX  # the demo data's own author can't log in
        can_log_in = User.objects.filter(is_active=True).exclude(password__startswith=unusable)
        if can_log_in.exists():
            # The demo's own logins (from an earlier run) join new demo shops; nothing else changes.
            existing = list(
                User.objects.filter(username__in=[name for name, *_ in DEMO_USERS]).order_by("pk")
            )
            for user in existing:
                if not user.is_superuser:
                    user.tenants.add(*tenants)
            names = ", ".join(user.username for user in existing) or "none"
            self.stdout.write(
                f"\nLogins exist already, so no demo login was created or reset (demo logins: {names})."
            )
            return
        self.stdout.write("\nLogins (http://127.0.0.1:8000/admin/):")
        for username, password, role, what in DEMO_USERS:
            user = User.objects.create_user(
                username=username,
                email=f"{username}@example.com",
                password=password,
                is_staff=True,
                is_superuser=role is None,
            )
            if role:
                user.groups.set([Group.objects.get(name=role)])
                user.tenants.add(*tenants)
            self.stdout.write(f"  {username:<8} / {password:<13} {what}")
