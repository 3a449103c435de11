"""Celery in tests: a private file-system queue, and a worker embedded in the test process."""

from contextlib import contextmanager
from pathlib import Path

from celery.contrib.testing.worker import start_worker
from kombu import pools


def filesystem_broker(folder: Path) -> tuple[str, dict]:
    for name in ("messages", "processed", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folder / "messages"),
        "data_folder_out": str(folder / "messages"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),  # else control/ in the working directory
        "store_processed": False,
    }


def use_broker(app, url: str, options: dict) -> None:
    """Point the Celery app at another broker (connections and producers made for the old one go)."""
    app.conf.broker_url, app.conf.broker_transport_options = url, options
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def embedded_worker(broker: str, options: dict):
    """A worker in a thread of this process on ``broker``; the app's broker is put back after."""
    from backoffice.celery import app

    saved = app.conf.broker_url, app.conf.broker_transport_options, app.conf.worker_hijack_root_logger
    use_broker(app, broker, options)
    app.conf.worker_hijack_root_logger = False
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING") as running:
            yield running
    finally:
        use_broker(app, *saved[:2])
        app.conf.worker_hijack_root_logger = saved[2]
