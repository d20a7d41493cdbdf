"""Files stored by content hash under the media directory (settings.media_dir, default var/media).

A file's key is `ab/cd/<sha256>.<ext>`: the same bytes are stored once, and a stored file never changes,
so it can be cached for a year. Files are written before the transaction that records them commits; a
session remembers what it wrote (only files that did not exist before), and when the transaction rolls
back those files are removed again, so a failed request leaves no file behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col

from civic.config import get_settings
from civic.db import get_engine
from civic.errors import N_, CivicError
from civic.media.models import Attachment

log = logging.getLogger("civic.media")
_WRITTEN = "civic_media_written"


class StorageUnavailable(CivicError):
    """The media folder cannot be written (read-only mount, full disk, permissions): 503, try later.

    Raised inside the writing transaction, so it rolls back and nothing is recorded without its files;
    the form is shown again with what was typed (civic/web/forms.py).
    """

    status = 503

    def __init__(self) -> None:
        super().__init__(N_("The photo or document could not be saved right now, so nothing was sent. "
                            "What you typed is kept below: please try again in a few minutes."))


def root() -> Path:
    settings = get_settings()
    return Path(settings.media_dir) if settings.media_dir else Path(settings.var_dir) / "media"


def key_for(data: bytes, ext: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


def path(key: str) -> Path:
    return root() / key


def digest_of(key: str) -> str:
    """The content hash a key names (its file name without the extension)."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def put(session: OrmSession | None, data: bytes, ext: str) -> str:
    """Store `data` (once) and return its key; remember a newly written file on the session."""
    key = key_for(data, ext)
    target = path(key)
    try:
        if target.is_file():
            return key
        _write(target, data)
    except OSError as exc:
        log.error("media storage cannot be written (%s): %s", root(), exc)
        raise StorageUnavailable() from exc
    if session is not None:
        session.info.setdefault(_WRITTEN, []).append(key)
    return key


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".up-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: a reader never sees half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def probe() -> None:
    """Write, read back and delete a small file in the media folder; OSError (or ValueError) if it fails.

    For /healthz/media: a load balancer takes a worker out when its storage cannot take an upload."""
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    data = os.urandom(16)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if Path(tmp).read_bytes() != data:
            raise ValueError("the probe file read back differently")
    finally:
        Path(tmp).unlink(missing_ok=True)


def written(session: OrmSession) -> list[str]:
    return list(session.info.get(_WRITTEN, []))


def discard_written(session: OrmSession) -> None:
    """Remove the files this session wrote that no committed row refers to."""
    keys = session.info.pop(_WRITTEN, [])
    if not keys:
        return
    in_use: set[str] = set()
    try:

        cols = (col(Attachment.display_key), col(Attachment.thumb_key), col(Attachment.original_key))
        with get_engine().connect() as conn:
            for column in cols:
                in_use.update(conn.execute(select(column).where(column.in_(keys))).scalars())
    except Exception:  # pragma: no cover - the database is gone: removing is still right for our own files
        log.warning("could not check media keys in use; removing the files of the failed transaction")
    for key in keys:
        if key in in_use:
            continue  # another request stored the same bytes and committed meanwhile
        try:
            path(key).unlink(missing_ok=True)
        except OSError:  # pragma: no cover
            log.warning("could not remove %s", key)


@event.listens_for(OrmSession, "after_commit")
def _forget(session: OrmSession) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(OrmSession, "after_rollback")
def _cleanup(session: OrmSession) -> None:
    discard_written(session)
