"""Where an import's file is while it is checked and imported: uploads waiting for their preview to be
confirmed, and jobs' files (a local path even when the storage is remote)."""

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.core.files.storage import default_storage
from django.utils import timezone

from .readers import open_table

UPLOADS = "imports/uploads"
UPLOAD_KEPT = timedelta(days=1)  # an upload whose preview nobody confirmed is removed after this


@contextmanager
def local_file(name: str, storage=default_storage):
    """A path on this machine for a stored file (a temporary copy when the storage is remote)."""
    try:
        path = storage.path(name)
    except NotImplementedError:
        path = None
    if path is not None:
        yield Path(path)
        return
    with (
        storage.open(name, "rb") as source,
        tempfile.NamedTemporaryFile(suffix=Path(name).suffix, delete=False) as copy,
    ):
        shutil.copyfileobj(source, copy)
    try:
        yield Path(copy.name)
    finally:
        os.unlink(copy.name)


def count_rows(job) -> int:
    """The non-blank data rows of a job's file (decides request or worker)."""
    with local_file(job.file.name, job.file.storage) as path:
        return sum(1 for _ in open_table(path, job.file_format).rows())


def upload_keep(file, *, suffix: str) -> str:
    """Keep an uploaded file until its preview is confirmed; it is named by the server (never by the
    person uploading it). Returns its name in the storage."""
    return default_storage.save(f"{UPLOADS}/{uuid.uuid4().hex}{suffix}", file)


def upload_forget(name: str) -> None:
    if name.startswith(f"{UPLOADS}/") and default_storage.exists(name):
        default_storage.delete(name)


def uploads_forget_stale(now=None) -> int:
    """Remove the uploads whose preview was never confirmed (older than ``UPLOAD_KEPT``)."""
    try:
        _, names = default_storage.listdir(UPLOADS)
    except FileNotFoundError:
        return 0
    limit = (now or timezone.now()) - UPLOAD_KEPT
    stale = [name for name in names if default_storage.get_modified_time(f"{UPLOADS}/{name}") < limit]
    for name in stale:
        default_storage.delete(f"{UPLOADS}/{name}")
    return len(stale)
