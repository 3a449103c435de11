"""Settings of this process's database session (``SET``), for a block or for good, and the same
settings on other connections (the processes and threads of a big load)."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def session_settings(settings: dict[str, str]):
    """``settings`` for this session during the block, as they were after it (``RESET``)."""
    set_session(settings)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name in settings:
                cursor.execute(f"RESET {name}")


def set_session(settings: dict[str, str]) -> None:
    with connection.cursor() as cursor:
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
