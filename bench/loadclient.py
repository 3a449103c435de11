"""Staff over HTTP against the production server, for the load benchmark (bench/load.py) and the fault
drills (tests/backoffice/test_fault_drills.py): gunicorn started with the project's config file and
production settings, staff logged in through the admin's login form, the CPU the server's processes
use, and where their time goes (py-spy).

Nothing here imports Django: it talks to the server as a browser would.
"""

import html
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONFIG = ROOT / "backoffice" / "gunicorn.conf.py"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(database_url: str, static_root: Path, **extra) -> dict:
    """The environment of ``./dev serve``: DEBUG off, the real password hasher, logs as JSON lines;
    plain HTTP (no TLS on a loopback port)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "LOG_JSON", "FAST_PASSWORD_HASHING", "BACKOFFICE_TESTING", "REDIS_URL"}
        and not key.startswith("PYTEST")
    }
    return env | {
        "DEBUG": "0",
        "HTTPS": "0",
        "SECRET_KEY": "load-and-fault-drills-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url,
        **extra,
    }


def configured_concurrency(env: dict) -> tuple[int, int]:
    """(workers, threads) backoffice/gunicorn.conf.py chooses with ``env``."""
    code = (
        "import runpy; c = runpy.run_path('backoffice/gunicorn.conf.py'); print(c['workers'], c['threads'])"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and config file
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    workers, threads = out.stdout.split()
    return int(workers), int(threads)


def collect_static(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


# --- the server -----------------------------------------------------------------------------------------
class Gunicorn:
    """gunicorn with backoffice/gunicorn.conf.py on a free port; ``env`` says how many workers and
    threads (WEB_CONCURRENCY, WEB_THREADS) and everything else the settings read."""

    def __init__(self, env: dict, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "BIND": f"127.0.0.1:{self.port}"}
        self.log_path = log_path
        self.process = None

    def start(self, timeout=60, *, healthy=True) -> "Gunicorn":
        """Started once /healthz answers 200 (``healthy``) or anything at all (a database that is
        away on purpose), and every worker is up."""
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603
            [str(Path(sys.executable).with_name("gunicorn")), "-c", str(GUNICORN_CONFIG)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        wanted, self.threads = configured_concurrency(self.env)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            status = self.healthz()
            if (status == 200 or (status and not healthy)) and len(self.worker_pids()) >= wanted:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout}s: see {self.log_path}")

    def healthz(self) -> int | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return None

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid) if self.process else []

    def pids(self) -> list[int]:
        return [self.process.pid, *self.worker_pids()] if self.process else []

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by groups of processes while it runs (sampled twice a second, so processes that come
    and go, like restarted workers or PostgreSQL backends, are counted), in cores."""

    def __init__(self, groups: dict):
        self.groups = groups  # name -> callable returning the group's pids
        self.used = dict.fromkeys(groups, 0.0)
        self.last: dict[int, float] = {}
        self._stop = threading.Event()

    def _sample(self):
        for name, pids in self.groups.items():
            for pid in pids():
                now = cpu_seconds(pid)
                if now is None:
                    continue
                key = (name, pid)
                if key in self.last:
                    self.used[name] += max(0.0, now - self.last[key])
                self.last[key] = now

    def __enter__(self):
        self._sample()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.5):
            self._sample()

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()
        self._sample()
        self.seconds = time.monotonic() - self.started

    def cores(self, name) -> float:
        return self.used[name] / self.seconds if self.seconds else 0.0


def postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster of a local cluster and its backends."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [postmaster, *children_of(postmaster)]


# --- staff ---------------------------------------------------------------------------------------------
@dataclass
class Answer:
    path: str
    status: int | None  # None: no HTTP answer (connection refused, reset, timed out)
    seconds: float
    started: float  # time.monotonic() when it was sent
    server_ms: float | None = None  # X-Response-Time: the time inside Django
    retry_after: str | None = None
    body: bytes = b""
    error: str = ""
    retried: bool = False  # sent again after its kept-alive connection broke, as browsers do


class StaffSession:
    """One member of staff: a browser's cookies and one kept-alive connection."""

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.username, self.password, self.timeout = username, password, timeout
        self.cookies: dict[str, str] = {}
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def request(self, method: str, path: str, body: bytes | None = None, headers=None) -> Answer:
        headers = {"Host": f"{self.host}:{self.port}", "Accept": "text/html", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                content = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.close()
                # A kept-alive connection that broke before any answer: browsers send an idempotent
                # request again on a new connection, once.
                stale = http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                if attempt == 1 and reused and method in ("GET", "HEAD") and isinstance(error, stale):
                    continue
                failure = f"{type(error).__name__}: {error}"
                return Answer(path, None, time.monotonic() - started, started, error=failure)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        server = response.getheader("X-Response-Time")
        return Answer(
            path=path,
            status=response.status,
            seconds=time.monotonic() - started,
            started=started,
            server_ms=float(server.removesuffix("ms")) if server else None,
            retry_after=response.getheader("Retry-After"),
            body=content,
            error="" if response.status < 400 else content[:200].decode(errors="replace"),
            retried=attempt == 2,
        )

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def log_in(self) -> None:
        """Through the admin's login form, as a person does; raises if it doesn't land on the admin."""
        form = self.get("/admin/login/?next=/admin/")
        match = CSRF_INPUT.search(form.body.decode(errors="replace"))
        if form.status != 200 or not match:
            raise RuntimeError(f"login form: HTTP {form.status} {form.error}")
        fields = {
            "csrfmiddlewaretoken": html.unescape(match.group(1)),
            "username": self.username,
            "password": self.password,
            "next": "/admin/",
        }
        answer = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            body=urllib.parse.urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://{self.host}:{self.port}",
                "Referer": f"http://{self.host}:{self.port}/admin/login/",
            },
        )
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {self.username} failed: HTTP {answer.status} {answer.error}")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- where the workers' time goes (py-spy) ------------------------------------------------------------
def py_spy() -> list[str] | None:
    """py-spy from PATH, or through uv (from PyPI, into uv's cache: nothing added to the project)."""
    import shutil

    if shutil.which("py-spy"):
        return ["py-spy"]
    uv = shutil.which("uv") or str(Path.home() / ".cache" / "backoffice-tools" / "bin" / "uv")
    return [uv, "tool", "run", "py-spy"] if Path(uv).exists() else None


def start_profiler(pids, seconds, profile: Path) -> list:
    """py-spy on each of ``pids`` for ``seconds``: raw stacks in ``profile``-PID.txt."""
    command = py_spy()
    if command is None:
        print("py-spy not found (pip install py-spy, or install uv): no profile", file=sys.stderr)
        return []
    for old in profile.parent.glob(profile.name + "-*.txt"):
        old.unlink()
    options = ["--duration", str(round(seconds)), "--rate", "50", "--format", "raw", "--nonblocking"]
    log = open(profile.parent / "py-spy.log", "a")  # noqa: SIM115 - inherited by the children
    return [
        subprocess.Popen(  # noqa: S603 - py-spy on our own workers
            [*command, "record", "--pid", str(pid), *options, "--output", f"{profile}-{pid}.txt"],
            stdout=log,
            stderr=log,
        )
        for pid in pids
    ]


# A sample counts for the first of these its stack contains (frames as py-spy names them).
TIME_GOES_TO = [
    ("database: psycopg sending queries and waiting for PostgreSQL", ("psycopg/",)),
    ("list rows: the admin's result_list (Unfold's items_for_result, label templates)", ("result_list (",)),
    ("other template rendering: layout, sidebar, header, filters, forms, inlines", ("django/template/",)),
    ("admin views: changelists, forms, querysets built (no SQL)", ("django/contrib/admin/", "django/forms/")),
    ("ORM outside the views: sessions, users, permissions", ("django/db/",)),
    ("middleware and the rest of Django", ("django/core/handlers/",)),
    ("gunicorn: accepting, parsing, writing responses", ("",)),
]


def where_the_time_goes(profile: Path) -> list[tuple[str, float]]:
    counts = dict.fromkeys((name for name, _ in TIME_GOES_TO), 0)
    for path in profile.parent.glob(profile.name + "-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            for name, markers in TIME_GOES_TO:
                if any(marker in stack for marker in markers):
                    counts[name] += int(samples)
                    break
    total = sum(counts.values()) or 1
    return [(name, count / total) for name, count in counts.items()]
