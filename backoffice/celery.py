"""The Celery app, configured from Django settings (``CELERY_*``).

With ``CELERY_BROKER_URL`` set (Redis at scale) that broker is used. Without it, Celery's file-system
transport keeps the queue in ``var/celery/`` so the demo needs no server: one worker started beside
the web server by ``./dev demo`` picks the messages up.
"""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _create_filesystem_queue_folders(sender, **kwargs):
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
