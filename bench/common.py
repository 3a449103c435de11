"""What the benchmarks share: Django set-up, a PostgreSQL cluster that can be kept between runs,
timing helpers, the machine's description and the writing of one section of bench/RESULTS.md."""

import datetime as dt
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backoffice import localdb  # noqa: E402 - the project is importable once ROOT is on the path

RESULTS = ROOT / "bench" / "RESULTS.md"
DATA = ROOT / "bench" / "data"  # git-ignored: kept PostgreSQL clusters live here


# --- Django -------------------------------------------------------------------------------------------
def setup_django(database_url: str | None = None):
    """Django with the project's settings, DEBUG on (as ./dev manage) and no debug toolbar."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DEBUG_TOOLBAR", "0")
    os.environ.setdefault("LOG_JSON", "0")
    # Slow baseline requests would flood the output with warnings.
    os.environ.setdefault("SLOW_REQUEST_SECONDS", "3600")
    # Tasks the benchmarks queue (order e-mails) stay in the process (no worker runs): what is measured
    # is writing and queueing them, not a broker (the demo's file-system queue costs more per task
    # than placing the order; Redis at scale costs about a round trip).
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()
    from django.conf import settings

    for host in ("testserver", "localhost"):
        if host not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS.append(host)


def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextmanager
def default_tenant():
    """The default shop active (when the project has tenants), as requests on a bare host have it."""
    try:
        from core.tenancy import activate, default_tenant
    except ImportError:
        with nullcontext():
            yield None
        return
    with activate(default_tenant()) as tenant:
        yield tenant


def superuser(username="bench"):
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_superuser": True, "is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


# --- PostgreSQL ---------------------------------------------------------------------------------------
class KeptCluster:
    """An embedded PostgreSQL cluster in bench/data/<name>, created on first use and kept (data and all)
    between runs, so a million-row seed is paid once. Started for the run and stopped after it."""

    def __init__(self, name="pg"):
        self.dir = DATA / name
        self.started = False

    @property
    def url(self):
        return localdb.database_url(self.dir, "postgres")

    def start(self):
        DATA.mkdir(parents=True, exist_ok=True)
        self.started = localdb.start(self.dir, fast=True)
        print(f"PostgreSQL: kept cluster in {self.dir.relative_to(ROOT)}", file=sys.stderr)
        return self.url

    def stop(self):
        if self.started:
            localdb.stop(self.dir)
            self.started = False


def server_url(keep: bool) -> tuple[str, KeptCluster | None]:
    """The PostgreSQL server to use: the kept cluster in bench/data/ with ``keep``, else DATABASE_URL
    (./dev bench sets it to a throwaway cluster)."""
    if keep:
        cluster = KeptCluster()
        return cluster.start(), cluster
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Run it on PostgreSQL: ./dev bench NAME (or set DATABASE_URL to a PostgreSQL server)")
    return url, None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def psycopg_params(url: str) -> dict:
    """psycopg.connect() keywords for a postgres:// URL (host may be a socket directory in ?host=)."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    params = {"dbname": parts.path.lstrip("/") or "postgres", "user": parts.username or "postgres"}
    if parts.password:
        params["password"] = parts.password
    params["host"] = query.pop("host", None) or parts.hostname or "localhost"
    params["port"] = int(query.pop("port", None) or parts.port or 5432)
    return params


def database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(**psycopg_params(with_database(url, "postgres")), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def create_database(url: str, name: str, *, drop=False):
    import psycopg

    with psycopg.connect(**psycopg_params(with_database(url, "postgres")), autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- measuring ----------------------------------------------------------------------------------------
def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def wait_for_quiet_machine(limit=2.0, patience_minutes=20):
    """Wait (up to ``patience_minutes``) until the 1-minute load is at most ``limit``."""
    deadline = time.monotonic() + patience_minutes * 60
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        print(f"load average {load_average()}: waiting for a quieter machine", file=sys.stderr)
        time.sleep(60)
    return load_average()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(**psycopg_params(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


def explain_analyze(sql: str) -> tuple[list[str], float]:
    """(the scans PostgreSQL chose, execution time in ms) of ``sql`` run under EXPLAIN ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        root = cursor.fetchone()[0][0]
    return sorted(set(plan_scans(root["Plan"]))), root["Execution Time"]


def plan_scans(node):
    """'Index Scan on product_name_idx', 'Seq Scan on orders_order', … for every scan in an EXPLAIN
    (FORMAT JSON) plan node and its children."""
    kind = node.get("Node Type", "")
    if "Scan" in kind:
        target = node.get("Index Name") or node.get("Relation Name") or ""
        if target:
            yield f"{kind} on {target}"
    for child in node.get("Plans", []):
        yield from plan_scans(child)


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- RESULTS.md ---------------------------------------------------------------------------------------
def write_section(title: str, body: str, *, path: Path = RESULTS):
    """Replace the ``## title`` section of RESULTS.md (or append it), leaving every other section as it
    is: other benchmarks write their own sections in the same file. Reads the file right before
    writing, so a section another run wrote meanwhile is kept."""
    heading = f"## {title}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    new = [heading, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *new]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = new
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def write_report(title: str, body: list[str], *, notes: str | None = None, write: bool = True):
    """A benchmark's section: ``body`` lines, then the Markdown file ``notes`` (hand-written findings),
    written to RESULTS.md unless ``write`` is off."""
    if notes and Path(notes).exists():
        body = [*body, "", Path(notes).read_text().strip()]
    if write:
        write_section(title, "\n".join(body))
        print(f"\nwritten to {RESULTS.relative_to(ROOT)} ({title})", file=sys.stderr)


def markdown_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column: l(eft) or r(ight)."""
    align = align or "l" * len(headers)
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def query_string(params: dict) -> str:
    return "?" + urlencode(params) if params else ""
