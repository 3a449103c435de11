"""A job's file as a path on this machine (a temporary copy when the storage is remote), and its
rows counted (which decides whether the request or a worker imports it)."""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.files.storage import default_storage

from .readers import open_table
from .sources import ImportOptions


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
    """The non-blank data rows of a job's file, read as its options say (decides request or worker)."""
    options = ImportOptions.from_json(job.options)
    with local_file(job.file.name, job.file.storage) as path:
        table = open_table(path, job.file_format, encoding=options.encoding, delimiter=options.delimiter)
        return sum(1 for _ in table.rows())
