"""Backups: one tar file holding the database, the media and a manifest; and restoring one.

A backup is a tar (gzip-compressed for SQLite, whose raw pages shrink to about a third; plain for
PostgreSQL, whose custom-format dump is compressed already, like the photos) with these members:

- `database.sqlite3` (SQLite's online backup API: a consistent copy while the app runs) or
  `database.pgdump` (`pg_dump --format=custom`, taken in the same snapshot the row counts are read in);
- `media/<key>`: every file of the media folder, streamed one at a time (never all in memory); the
  database is copied first, and stored files are never changed, so every file the copy names is there;
- `manifest.json`, last: format, versions, Alembic revision, row counts per table, each commune's audit
  chain head, and the SHA-256 and size of every other member. Written last so the checksums are taken in
  the one streaming pass; a backup cut short has no manifest and is refused.

Backups are the recovery path for the audit chain and every resident's submission (OWASP ASVS 4.0 V8.1.5:
regular backups, with restores tested), and they hold personal data and password hashes, so the file is
created readable by its owner only (V8.1.6: backups stored securely).

`restore` checks every checksum before it touches anything, refuses a target that holds data unless
forced, then restores the database and the media; the caller migrates and verifies the audit chain.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, make_url

from civic import clock
from civic.config import get_settings
from civic.db import build_engine, is_sqlite
from civic.media import storage

FORMAT = "civic-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"
# Temporary files of uploads being written (civic/media/storage.py): never part of a backup.
_UPLOAD_TEMP_PREFIX = ".up-"
_CHUNK = 1024 * 1024
# The manifest's own SHA-256 (of its canonical JSON without this key): a changed row count or chain head is
# caught before the restore starts, like a changed member.
_SELF = "manifest_sha256"
_HEADS_SQL = ("SELECT c.code, h.commune_id, h.seq, h.hash FROM audit_head h "
              "JOIN commune c ON c.id = h.commune_id ORDER BY c.code")
_Heads = dict[str, dict[str, Any]]


def _heads(rows: Any) -> dict[str, dict[str, Any]]:
    return {code: {"commune_id": cid, "seq": seq, "hash": digest} for code, cid, seq, digest in rows}


class Refused(Exception):
    """The command cannot do what was asked; nothing was changed. Vietnamese first, English second."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


class Mismatch(Exception):
    """The restored instance does not hold what the manifest says."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass
class Snapshot:
    """What the manifest says about the database copy."""

    kind: str
    revision: str
    rows: dict[str, int]
    heads: dict[str, dict[str, Any]]
    server_version: str = ""
    tool: str = ""


@dataclass
class BackupSummary:
    path: str
    size: int
    seconds: float
    manifest: dict[str, Any]


@dataclass
class RestoreSummary:
    manifest: dict[str, Any]
    rows: dict[str, int]
    media_files: int
    media_bytes: int
    seconds: float
    replaced: list[str] = field(default_factory=list)


# --- the database ------------------------------------------------------------------------------------

def database_kind(url: str) -> str:
    if is_sqlite(url):
        return "sqlite"
    if make_url(url).get_backend_name() == "postgresql":
        return "postgresql"
    raise Refused(f"Không hỗ trợ sao lưu cơ sở dữ liệu loại {make_url(url).get_backend_name()}.",
                  f"backups support SQLite and PostgreSQL, not {make_url(url).get_backend_name()}")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise Refused("DATABASE_URL không chỉ tới một tệp SQLite.", "DATABASE_URL names no SQLite file")
    return Path(database)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _sqlite_rows(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _sqlite_tables(conn)}


def _sqlite_snapshot(path: Path) -> Snapshot:
    conn = sqlite3.connect(path)
    try:
        tables = _sqlite_tables(conn)
        if "alembic_version" not in tables:
            raise Refused("Cơ sở dữ liệu chưa có bảng của civic (hãy chạy `civic migrate`).",
                          "the database has no civic tables (run `civic migrate`)")
        rows = _sqlite_rows(conn)
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        heads = _heads(conn.execute(_HEADS_SQL))
    finally:
        conn.close()
    return Snapshot("sqlite", revision[0] if revision else "", rows, heads,
                    server_version=sqlite3.sqlite_version, tool="sqlite3 backup API")


def _dump_sqlite(url: str, target: Path) -> Snapshot:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise Refused(f"Không có cơ sở dữ liệu tại {source_path}.", f"no database at {source_path}")
    source = sqlite3.connect(source_path, timeout=15)
    copy = sqlite3.connect(target)
    try:
        # One step (pages=-1): the copy is one read transaction, consistent while the app keeps writing.
        source.backup(copy)
        # A standalone file: no -wal beside it when it is opened again.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    return _sqlite_snapshot(target)


def _libpq_url(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq address of a SQLAlchemy PostgreSQL URL, and the environment that carries its password:
    a password on a command line is visible to every user of the machine (`ps`)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _pg_major(version: str) -> int:
    """15 from "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"; 0 when there is no version."""
    match = re.search(r"\(PostgreSQL\)\s*(\d+)", version)
    return int(match.group(1)) if match else 0


def pg_tool(name: str, server_major: int) -> tuple[str, str]:
    """The newest `pg_dump`/`pg_restore` on PATH or under /usr/lib/postgresql/*/bin, and its version;
    refused when none is at least the server's major version (an older one cannot read a newer server)."""
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    candidates = [p for p in [shutil.which(name), *installed] if p]
    found: list[tuple[int, str, str]] = []
    for candidate in dict.fromkeys(candidates):
        try:
            out = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=30).stdout
        except OSError:
            continue
        found.append((_pg_major(out), candidate, out.strip()))
    if not found:
        raise Refused(f"Không tìm thấy {name} (cài gói postgresql-client phiên bản {server_major} trở lên).",
                      f"{name} not found (install postgresql-client {server_major} or newer)")
    major, path, version = max(found)
    if major < server_major:
        raise Refused(f"{name} phiên bản {major} quá cũ cho máy chủ PostgreSQL {server_major}; "
                      f"hãy cài postgresql-client {server_major} trở lên.",
                      f"{name} {major} is older than the PostgreSQL server ({server_major}); "
                      f"install postgresql-client {server_major} or newer")
    return path, version


def _pg_server_major(conn: Connection) -> tuple[int, str]:
    num = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    return num // 10000, str(conn.execute(text("SHOW server_version")).scalar_one())


def _pg_tables(conn: Connection) -> list[str]:
    return list(conn.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")).scalars())


def _pg_rows(conn: Connection, tables: list[str]) -> dict[str, int]:
    return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in tables}


def _pg_snapshot(conn: Connection, tables: list[str]) -> tuple[str, dict[str, int], _Heads]:
    rows = _pg_rows(conn, tables)
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    heads = _heads(conn.execute(text(_HEADS_SQL)))
    return revision or "", rows, heads


def _dump_postgresql(url: str, target: Path) -> Snapshot:
    engine = build_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            major, server_version = _pg_server_major(conn)
            tool, tool_version = pg_tool("pg_dump", major)
            tables = _pg_tables(conn)
            if "alembic_version" not in tables:
                raise Refused("Cơ sở dữ liệu chưa có bảng của civic (hãy chạy `civic migrate`).",
                              "the database has no civic tables (run `civic migrate`)")
            # pg_dump reads the snapshot this transaction exported, so the counts below describe the dump.
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            address, env = _libpq_url(make_url(url))
            run = subprocess.run([tool, "--format=custom", "--no-password", f"--snapshot={snapshot_id}",
                                  "--file", str(target), "--dbname", address],
                                 capture_output=True, text=True, env=env)
            if run.returncode != 0:
                problem = run.stderr.strip()
                raise Refused(f"pg_dump thất bại: {problem}", f"pg_dump failed: {problem}")
            revision, rows, heads = _pg_snapshot(conn, tables)
    finally:
        engine.dispose()
    return Snapshot("postgresql", revision, rows, heads, server_version=server_version, tool=tool_version)


# --- writing the tar ---------------------------------------------------------------------------------

class _Hashing:
    """A readable file that hashes what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data


class _Counting:
    """A writable file that counts the bytes written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.written = 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o644
    return info


def _add_file(tar: tarfile.TarFile, name: str, path: Path, files: dict[str, dict[str, Any]]) -> int:
    with path.open("rb") as fh:
        stat = os.fstat(fh.fileno())
        reader = _Hashing(fh)
        tar.addfile(_member(name, stat.st_size, stat.st_mtime), reader)
    files[name] = {"sha256": reader.sha.hexdigest(), "size": stat.st_size}
    return stat.st_size


def _media_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(member name, path) of every regular file under the media folder, in a stable order."""
    if not root.is_dir():
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith(_UPLOAD_TEMP_PREFIX) or path.is_symlink() or not path.is_file():
                continue
            yield MEDIA_PREFIX + path.relative_to(root).as_posix(), path


def _site_name(heads: dict[str, dict[str, Any]]) -> str:
    codes = [re.sub(r"[^A-Za-z0-9_-]+", "-", code).strip("-") for code in heads]
    return codes[0] if len(codes) == 1 and codes[0] else "site"


def default_name(heads: dict[str, dict[str, Any]], compressed: bool) -> str:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    return f"civic-{_site_name(heads)}-{stamp}.tar" + (".gz" if compressed else "")


def create(output: str | None, compress: str = "auto") -> BackupSummary:
    """Write a backup to `output` (a file, a folder, `-` for stdout, or None: var/backups/)."""
    started = time.monotonic()
    settings = get_settings()
    kind = database_kind(settings.database_url)
    gz = compress == "gzip" or (compress == "auto" and kind == "sqlite")
    to_stdout = output == "-"
    if to_stdout:
        folder = None
    elif output is None:
        folder = Path(settings.var_dir) / "backups"
    elif output.endswith(os.sep) or Path(output).is_dir():
        folder = Path(output)
    else:
        folder = Path(output).parent
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".civic-backup-", dir=folder) as tmp:
        dump = Path(tmp) / (SQLITE_MEMBER if kind == "sqlite" else PG_MEMBER)
        snap = (_dump_sqlite if kind == "sqlite" else _dump_postgresql)(settings.database_url, dump)
        if to_stdout:
            target = "-"
        elif folder is not None and (output is None or output.endswith(os.sep) or Path(output).is_dir()):
            target = str(folder / default_name(snap.heads, gz))
        else:
            target = str(output)
        partial = Path(tmp) / "backup.partial"
        with _open_output(partial, to_stdout) as raw:
            counter = _Counting(raw)
            manifest = _write_tar(counter, gz, dump, snap)
        if not to_stdout:
            os.replace(partial, target)
    return BackupSummary(target, counter.written, time.monotonic() - started, manifest)


@contextmanager
def _open_output(partial: Path, to_stdout: bool) -> Iterator[BinaryIO]:
    if to_stdout:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    # Owner-only from the first byte: the file holds personal data and password hashes.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def _write_tar(out: _Counting, gz: bool, dump: Path, snap: Snapshot) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    media_files = media_bytes = 0
    zipped = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) if gz else None
    stream: Any = zipped or out
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_file(tar, dump.name, dump, files)
        for name, path in _media_files(storage.root()):
            media_bytes += _add_file(tar, name, path, files)
            media_files += 1
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "civic_version": _civic_version(),
            "alembic_revision": snap.revision,
            "created_at": clock.now().isoformat(),
            "database": {"kind": snap.kind, "member": dump.name, "server_version": snap.server_version,
                         "tool": snap.tool},
            "compression": "gzip" if gz else "none",
            "rows": snap.rows,
            "audit_heads": snap.heads,
            "media": {"files": media_files, "bytes": media_bytes},
            "files": files,
        }
        manifest[_SELF] = hashlib.sha256(_canonical(manifest)).hexdigest()
        data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        tar.addfile(_member(MANIFEST, len(data), time.time()), io.BytesIO(data))
    if zipped is not None:
        zipped.close()
    return manifest


def _canonical(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes, without its own checksum."""
    return json.dumps({k: v for k, v in manifest.items() if k != _SELF}, ensure_ascii=False, indent=1,
                      sort_keys=True).encode()


def _civic_version() -> str:
    try:
        return importlib_metadata.version("civic")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - the package is always installed
        return "unknown"


# --- reading and restoring -----------------------------------------------------------------------------

# A member name from a backup becomes a path on this machine: only plain names inside the media folder are
# accepted, never an absolute path, `..`, a hidden name, a link or a device (OWASP ASVS 4.0 V12.3.1: file
# names from outside are not used as paths unchecked; the tar "path traversal" attack).
_SAFE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
_MANIFEST_MAX = 256 * 1024 * 1024


def _damaged(detail: str) -> Refused:
    return Refused(f"Tệp sao lưu bị hỏng hoặc đã bị sửa ({detail}); không khôi phục gì cả.",
                   f"the backup is damaged or was altered ({detail}); nothing was restored")


def _media_relative(name: str) -> PurePosixPath | None:
    """The path inside the media folder of a media member, or None when the name is not a media file."""
    if not name.startswith(MEDIA_PREFIX):
        return None
    relative = PurePosixPath(name[len(MEDIA_PREFIX):])
    if not relative.parts or not all(_SAFE_PART.fullmatch(part) for part in relative.parts):
        raise _damaged(f"unsafe member name {name!r}")
    return relative


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        if not path.is_file():
            raise Refused(f"Không có tệp sao lưu {path}.", f"no backup file at {path}") from exc
        raise _damaged(f"not a tar file: {exc}") from exc


@contextmanager
def _reading() -> Iterator[None]:
    """A tar or gzip error while reading the backup: the file is damaged (other OS errors, a full disk
    say, are not the file's fault and propagate)."""
    try:
        yield
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _damaged(str(exc) or type(exc).__name__) from exc


def _members(tar: tarfile.TarFile) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Every member, each a regular file with a safe name; anything else makes the backup damaged."""
    seen: set[str] = set()
    with _reading():
        for member in tar:
            name = member.name
            if not member.isfile():
                raise _damaged(f"member {name!r} is not a regular file")
            if name in seen:
                raise _damaged(f"member {name!r} appears twice")
            seen.add(name)
            if name not in (MANIFEST, SQLITE_MEMBER, PG_MEMBER):
                _media_relative(name)
                if not name.startswith(MEDIA_PREFIX):
                    raise _damaged(f"unexpected member {name!r}")
            fh = tar.extractfile(member)
            if fh is None:  # pragma: no cover - a regular file always has contents
                raise _damaged(f"member {name!r} cannot be read")
            yield member, fh


def _sha256(fh: IO[bytes], into: IO[bytes] | None = None) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    while chunk := fh.read(_CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if into is not None:
            into.write(chunk)
    return sha.hexdigest(), size


def check(path: Path) -> dict[str, Any]:
    """Read the whole backup once and return its manifest when every member matches its checksum;
    raise Refused otherwise. Nothing is written."""
    seen: dict[str, tuple[str, int]] = {}
    manifest_bytes: bytes | None = None
    with _open_tar(path) as tar, _reading():
        for member, fh in _members(tar):
            if member.name == MANIFEST:
                if member.size > _MANIFEST_MAX:
                    raise _damaged("manifest too large")
                manifest_bytes = fh.read()
            else:
                seen[member.name] = _sha256(fh)
    if manifest_bytes is None:
        raise _damaged("no manifest.json: the file is cut short or not a civic backup")
    try:
        manifest = json.loads(manifest_bytes)
        if hashlib.sha256(_canonical(manifest)).hexdigest() != manifest[_SELF]:
            raise _damaged("checksum of manifest.json does not match")
        files = manifest["files"]
        if manifest.get("format") != FORMAT:
            raise _damaged("not a civic backup")
        if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
            raise Refused("Tệp sao lưu có định dạng mới hơn phiên bản civic này; hãy cập nhật civic.",
                          "the backup has a newer format than this civic reads; update civic")
        kind, member_name = manifest["database"]["kind"], manifest["database"]["member"]
        expected = {name: (str(entry["sha256"]), int(entry["size"])) for name, entry in files.items()}
        rows = {str(t): int(n) for t, n in manifest["rows"].items()}
        heads = {str(c): (int(h["commune_id"]), int(h["seq"]), str(h["hash"]))
                 for c, h in manifest["audit_heads"].items()}
        str(manifest["alembic_revision"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _damaged(f"manifest.json is not readable: {exc}") from exc
    del rows, heads
    if (kind, member_name) not in (("sqlite", SQLITE_MEMBER), ("postgresql", PG_MEMBER)):
        raise _damaged(f"unknown database {kind!r}")
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    if missing or extra or member_name not in seen:
        raise _damaged(f"members missing: {missing[:3]}, not in the manifest: {extra[:3]}")
    for name, (digest, size) in expected.items():
        if seen[name] != (digest, size):
            raise _damaged(f"checksum of {name} does not match")
    return manifest


# Tables whose rows do not make a target "hold data": the set-up nonce is written by the first start of a
# server (or `civic setup-code`) before anything else, and a restore replaces it.
NOT_DATA = frozenset({"alembic_version", "setup_nonce"})
# The search index's SQLite tables (FTS5 keeps its configuration in rows of its own even when empty); the
# items they index are data, and the item table is checked.
INDEX_PREFIX = "item_fts"


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=15)
    try:
        return any(conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()
                   for t in _sqlite_tables(conn) if t not in NOT_DATA and not t.startswith(INDEX_PREFIX))
    finally:
        conn.close()


def _media_has_files(root: Path) -> bool:
    return next(_media_files(root), None) is not None


def _restore_sqlite(url: str, tar: tarfile.TarFile, member: tarfile.TarInfo, digest: str) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".civic-restore-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            source = tar.extractfile(member)
            assert source is not None
            got, _size = _sha256(source, out)
            out.flush()
            os.fsync(out.fileno())
        if got != digest:
            raise _damaged(f"checksum of {member.name} changed while restoring")
        # The journal files of the database being replaced must not be applied to the restored one.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _restore_postgresql(url: str, tar: tarfile.TarFile, member: tarfile.TarInfo, digest: str,
                        dump_tool: str) -> None:
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            major, _version = _pg_server_major(conn)
        tool, _tool_version = pg_tool("pg_restore", max(major, _pg_major(dump_tool)))
        with tempfile.TemporaryDirectory(prefix="civic-restore-") as tmp:
            dump = Path(tmp) / PG_MEMBER
            with dump.open("wb") as out:
                source = tar.extractfile(member)
                assert source is not None
                got, _size = _sha256(source, out)
            if got != digest:
                raise _damaged(f"checksum of {member.name} changed while restoring")
            with engine.begin() as conn:
                tables = _pg_tables(conn)
                if tables:  # only empty or forced (checked before): the restore brings every table back
                    conn.execute(text("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
                # ...and every function of civic's own (the triggers' functions), which the dump creates
                # again; an extension's functions stay with their extension.
                for function in conn.execute(text(
                        "SELECT p.oid::regprocedure::text FROM pg_proc p "
                        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
                        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
                        "AND d.objid = p.oid AND d.deptype = 'e')")).scalars():
                    conn.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))
            address, env = _libpq_url(make_url(url))
            run = subprocess.run([tool, "--no-owner", "--no-privileges", "--single-transaction",
                                  "--exit-on-error", "--no-password", "--dbname", address, str(dump)],
                                 capture_output=True, text=True, env=env)
            if run.returncode != 0:
                raise Mismatch(f"pg_restore thất bại: {run.stderr.strip()}",
                               f"pg_restore failed: {run.stderr.strip()}")
    finally:
        engine.dispose()


def _restore_media(tar: tarfile.TarFile, root: Path, files: dict[str, Any]) -> tuple[int, int]:
    count = total = 0
    for member, fh in _members(tar):
        relative = _media_relative(member.name)
        if relative is None:
            continue
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_UPLOAD_TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = _sha256(fh, out)
            if digest != files[member.name]["sha256"]:
                raise _damaged(f"checksum of {member.name} changed while restoring")
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        count += 1
        total += size
    return count, total


def current_rows(url: str) -> dict[str, int]:
    """Rows per table of the database at `url` (the restored one)."""
    if database_kind(url) == "sqlite":
        lite = sqlite3.connect(_sqlite_path(url), timeout=15)
        try:
            return _sqlite_rows(lite)
        finally:
            lite.close()
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return _pg_rows(conn, _pg_tables(conn))
    finally:
        engine.dispose()


def current_heads(url: str) -> dict[str, dict[str, Any]]:
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return _heads(conn.execute(text(_HEADS_SQL)))
    finally:
        engine.dispose()


def restore(path: Path, *, force: bool = False, known_revisions: set[str] | None = None) -> RestoreSummary:
    """Restore the backup at `path` into the DATABASE_URL database and the media folder.

    Every checksum is checked first, and a target holding data is refused unless `force`; a Refused
    raised here changed nothing. The caller migrates to head and verifies the audit chain afterwards."""
    started = time.monotonic()
    settings = get_settings()
    url = settings.database_url
    manifest = check(path)
    kind = database_kind(url)
    held = manifest["database"]["kind"]
    if held != kind:
        raise Refused(f"Bản sao lưu chứa cơ sở dữ liệu {held}, còn DATABASE_URL là {kind}.",
                      f"the backup holds a {held} database and DATABASE_URL is {kind}")
    revision = manifest["alembic_revision"]
    if known_revisions is not None and revision not in known_revisions:
        raise Refused(f"Bản sao lưu có phiên bản cơ sở dữ liệu {revision!r} mà civic này không biết "
                      "(bản sao lưu từ civic mới hơn); hãy cập nhật civic.",
                      f"the backup's database revision {revision!r} is unknown to this civic "
                      "(made by a newer civic); update civic")
    root = storage.root()
    busy = []
    if _target_has_data(url, kind):
        busy.append("database")
    if _media_has_files(root):
        busy.append(f"media ({root})")
    if busy and not force:
        raise Refused(f"Nơi khôi phục đã có dữ liệu ({', '.join(busy)}). Khôi phục sẽ thay cơ sở dữ liệu; "
                      "dùng --force nếu chắc chắn muốn thay.",
                      f"the target already holds data ({', '.join(busy)}); a restore replaces the database: "
                      "give --force if that is what you want")
    with _open_tar(path) as tar, _reading():
        # The database is the first member: read no further than it (a gzip file has no index).
        member = next(m for m, _fh in _members(tar) if m.name == manifest["database"]["member"])
        digest = manifest["files"][member.name]["sha256"]
        if kind == "sqlite":
            _restore_sqlite(url, tar, member, digest)
        else:
            _restore_postgresql(url, tar, member, digest, manifest["database"].get("tool", ""))
    with _open_tar(path) as tar, _reading():
        media_files, media_bytes = _restore_media(tar, root, manifest["files"])
    rows = current_rows(url)
    expected = {t: int(n) for t, n in manifest["rows"].items()}
    if rows != expected:
        differ = sorted(t for t in set(rows) | set(expected) if rows.get(t) != expected.get(t))
        raise Mismatch(f"Số dòng đã khôi phục khác với bản sao lưu: {', '.join(differ)}.",
                       f"restored row counts differ from the backup's: {', '.join(differ)}")
    return RestoreSummary(manifest, rows, media_files, media_bytes, time.monotonic() - started,
                          replaced=busy)


@contextmanager
def spooled_stdin() -> Iterator[Path]:
    """Standard input saved to a temporary file (owner-only): a restore reads the backup twice, first to
    check it, then to restore it, and `docker compose run -T app civic restore - < file` has no other path."""
    with tempfile.TemporaryDirectory(prefix="civic-restore-") as tmp:
        path = Path(tmp) / "backup.tar"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, _CHUNK)
        yield path


def _target_has_data(url: str, kind: str) -> bool:
    if kind == "sqlite":
        return _sqlite_has_data(_sqlite_path(url))
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return any(conn.execute(text(f'SELECT 1 FROM "{t}" LIMIT 1')).first()
                       for t in _pg_tables(conn) if t not in NOT_DATA)
    finally:
        engine.dispose()
