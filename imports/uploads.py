"""Where uploaded import files live, and how a browser refers to one: never by a path.

- **Private storage**: import files (and uploads waiting for their confirmation) are kept under
  ``settings.PRIVATE_FILES_ROOT``, outside ``MEDIA_ROOT``, in a storage that has no URL. Nothing
  serves them; a permission-checked view streams a job's file to staff who may read it.
- **Server-chosen names**: a stored file is named by the server (a random token), never after the
  client's file name, which is only shown.
- **Signed tokens**: between the preview and the confirmation of an import, the browser holds a token
  signed with the user's and the shop's ids, not a file name; the confirmation is refused unless
  the same user confirms in the same shop within ``UPLOAD_MAX_AGE``.
"""

import os
import re
import secrets
import time
from pathlib import PurePosixPath

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from core.exceptions import DomainError

UPLOAD_MAX_AGE = 24 * 60 * 60  # seconds a previewed upload may wait for its confirmation
_SALT = "backoffice.uploads.pending"  # kept: tokens signed before the move stay valid
_PENDING = "pending"
_NAME = re.compile(r"^[0-9a-f]{32}$")


class UploadRefused(DomainError):
    pass


class PrivateFileStorage(FileSystemStorage):
    """Files no URL reaches, under ``settings.PRIVATE_FILES_ROOT`` (read when used, so tests and
    deployments can move it)."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_FILES_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Private files have no URL: they are streamed by a view that checks permissions.")


def private_storage():
    """The storage of import files (a callable, so migrations name it rather than its settings)."""
    return storages["private"]


def import_file_path(job, filename: str) -> str:
    """``imports/<shop id>/<random>.<format>``: the server names a job's file; the client's name is
    kept on the job for display only."""
    extension = re.sub(r"[^a-z0-9]", "", (job.file_format or "").lower())[:10] or "bin"
    return f"imports/{job.tenant_id}/{secrets.token_hex(16)}.{extension}"


def fix_file_path(job, filename: str) -> str:
    """``imports/<shop id>/<random>-to-fix.csv``: the rows of a job's file to fix."""
    return f"imports/{job.tenant_id}/{secrets.token_hex(16)}-to-fix.csv"


# --- uploads waiting for their confirmation ------------------------------------------------------------
def pending_save(content) -> str:
    """Keep an uploaded file (its bytes, or the upload itself) until it is confirmed; returns its
    server-chosen name (not for clients: give them ``pending_token``). Uploads older than
    ``UPLOAD_MAX_AGE`` are cleared on the way."""
    storage = private_storage()
    _clear_expired(storage)
    name = secrets.token_hex(16)
    storage.save(pending_path(name), content if hasattr(content, "read") else ContentFile(content))
    return name


def pending_path(name: str) -> str:
    """Where a pending upload is in the private storage."""
    if not _NAME.match(name or ""):
        raise UploadRefused("This upload can't be found: upload the file again.")
    return f"{_PENDING}/{name}"


def pending_token(name: str, *, user, tenant, **facts) -> str:
    """What the browser carries between preview and confirmation: the upload, bound to this user and
    this shop, with ``facts`` the preview established (the file's name as uploaded, its format),
    signed: a client can't name another file, use another person's upload, or change the facts."""
    return signing.dumps({**facts, "name": name, "user": user.pk, "tenant": tenant.pk}, salt=_SALT)


def pending_claims(token: str, *, user, tenant, step: str = "") -> dict:
    """The facts ``token`` carries, if it stands for an upload of this user in this shop that is still
    waiting (and, with ``step``, was signed for that step). The upload stays where it is."""
    try:
        claims = signing.loads(token or "", salt=_SALT, max_age=UPLOAD_MAX_AGE)
    except signing.SignatureExpired as error:
        raise UploadRefused("This upload waited too long to be confirmed: upload the file again.") from error
    except signing.BadSignature as error:
        raise UploadRefused("This upload can't be found: upload the file again.") from error
    name = claims.get("name") if isinstance(claims, dict) else None
    if not isinstance(name, str) or not _NAME.match(name) or (step and claims.get("step") != step):
        raise UploadRefused("This upload can't be found: upload the file again.")
    if claims.get("user") != user.pk or claims.get("tenant") != tenant.pk:
        raise UploadRefused(
            "This upload was made by someone else, or in another shop: upload the file again."
        )
    if not private_storage().exists(f"{_PENDING}/{name}"):
        raise UploadRefused("This upload was confirmed already, or has expired: upload the file again.")
    return claims


def pending_take(token: str, *, user, tenant, step: str = "") -> tuple[bytes, dict]:
    """The content of the upload ``token`` stands for, removed from the waiting area (a
    confirmation can't be replayed), and the token's facts. Refused for a token that isn't this
    user's in this shop (or wasn't signed for ``step``)."""
    claims = pending_claims(token, user=user, tenant=tenant, step=step)
    storage = private_storage()
    path = f"{_PENDING}/{claims['name']}"
    with storage.open(path, "rb") as file:
        content = file.read()
    storage.delete(path)
    return content, claims


def pending_forget(name: str) -> None:
    """Drop a pending upload that won't be confirmed (its preview found rows to fix)."""
    private_storage().delete(pending_path(name))


def _clear_expired(storage) -> None:
    try:
        _, names = storage.listdir(_PENDING)
    except FileNotFoundError:
        return
    oldest = time.time() - UPLOAD_MAX_AGE
    for name in names:
        path = str(PurePosixPath(_PENDING) / name)
        try:
            if os.path.getmtime(storage.path(path)) < oldest:
                storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue
