"""`make bench BENCH_ARGS="--db postgres"`: the same benchmark on a throwaway PostgreSQL cluster.

The cluster is started the way .ci/run starts the test cluster (initdb and pg_ctl as the `postgres`
user, trust authentication on 127.0.0.1, a free port, fsync off: this is a benchmark, not a store).
Its data comes from the SQLite pristine database of the same key when there is one:

1. `civic migrate` creates the schema on an empty database, as on any new deployment;
2. every table is copied from SQLite in id order with COPY (`cursor.copy`), with triggers and foreign
   keys off for the load (the counters of `item_count` are copied, not recomputed), the sequences are
   set past the highest id, and every table is vacuumed and analysed.

Without one, bench.build_database generates the same kind of data straight into PostgreSQL (its bulk
rows written with COPY, the item triggers on): no SQLite file, and about a third of the CPU, since
SQLite's inserts also feed its FTS index. Then:

3. the loaded cluster stays under var/bench/pg-<key>/ (database `civic_pristine`): the next run with
   the same key starts it again instead of loading. Each run works on `civic_run`, a fresh
   `CREATE DATABASE … TEMPLATE civic_pristine` (a file copy, with the statistics), so the submissions
   of one run never reach the next.

`--growth [SIZES]` (default 100000,1000000) measures the pages at each size on PostgreSQL, both servers
up side by side, each scenario in the order small, big, big, small so that both sizes see the same
minutes of a shared machine, and prints req/s at each size and the ratio (goal: ≥ 0.8).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import bench

PRISTINE_DB = "civic_pristine"
RUN_DB = "civic_run"
# Raised when the loader changes what a loaded cluster holds, so an old one is loaded again.
LOADER_VERSION = 2
GROWTH_GOAL = 0.8
# The pages of the growth table: (name, label). Every request is rendered (page cache off, unique URLs).
GROWTH_PAGES = ("home", "list", "search", "status", "triage", "open311_list")


def log(message: str) -> None:
    bench.log(f"pg: {message}")


def pg_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian's /usr/lib/postgresql/N/bin), or PATH's."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(which).resolve().parent
    raise RuntimeError("PostgreSQL is not installed (no pg_ctl): apt-get install postgresql")


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the command as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")


def psycopg_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(url: str, **kw):
    import psycopg

    return psycopg.connect(psycopg_url(url), options="-c timezone=UTC", **kw)


@dataclass
class Cluster:
    """A PostgreSQL cluster in `home`/data, listening on 127.0.0.1 at a free port while started."""

    home: Path
    port: int = 0
    socket_dir: Path | None = None
    started: bool = field(default=False)

    @property
    def data(self) -> Path:
        return self.home / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        _chown_postgres(self.home)
        subprocess.run(_as_postgres([str(pg_bin() / "initdb"), "-D", str(self.data), "-A", "trust",
                                     "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self.port = bench._free_port()
        self.socket_dir = Path(tempfile.mkdtemp(prefix="civic-bench-pg-"))
        _chown_postgres(self.socket_dir)
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB "
                   "-c maintenance_work_mem=256MB -c max_wal_size=4GB")
        subprocess.run(_as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-w", "-t", "300",
                                     "-l", str(self.home / "log"), "-o", options, "start"]),
                       check=True, stdout=subprocess.DEVNULL)
        self.started = True
        log(f"cluster {self.home.relative_to(bench.ROOT)} up on port {self.port}")

    def stop(self) -> None:
        if self.started:
            subprocess.run(_as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                         "-w", "stop"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None

    def admin(self, *statements: str) -> None:
        """Statements outside a transaction (CREATE/DROP DATABASE), on the `postgres` database."""
        with connect(self.url("postgres"), autocommit=True) as conn:
            for s in statements:
                conn.execute(s)  # type: ignore[arg-type]


# --- the loader --------------------------------------------------------------------------------------

def _pg_tables(conn) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version' ORDER BY table_name")]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_from_sqlite(sqlite_path: Path, url: str) -> dict[str, int]:
    """Copy every table of the SQLite database into the migrated, otherwise empty PostgreSQL database at
    `url`, in id order; set the sequences; vacuum and analyse. Returns the rows copied per table.

    A table SQLite does not have stays empty (logged); raises when a column has no counterpart in SQLite
    (the two were not built by the same migrations) or when a table's count differs after the copy.
    """
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    counts: dict[str, int] = {}
    try:
        sqlite_tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        with connect(url) as conn:
            every = _pg_tables(conn)
            tables = every
            missing = [t for t in every if t not in sqlite_tables]
            if missing:  # a pristine file older than a migration that only added a table: left empty
                log(f"not in {sqlite_path.name}, left empty: {', '.join(missing)}")
                tables = [t for t in tables if t in sqlite_tables]
            # Triggers (the item counters, the search index) and foreign-key checks off for the load:
            # the SQLite database already holds what they would compute and check.
            conn.execute("SET session_replication_role = replica")
            conn.execute("TRUNCATE " + ", ".join(_quote(t) for t in every))  # rows the migrations seeded
            for table in tables:
                t0 = time.perf_counter()
                pg_cols = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position", (table,))]
                sl_cols = {r[1] for r in src.execute(f"PRAGMA table_info({_quote(table)})")}
                absent = [c for c in pg_cols if c not in sl_cols]
                if absent:
                    raise RuntimeError(f"{table}: columns missing in SQLite: {', '.join(absent)}")
                cols = ", ".join(_quote(c) for c in pg_cols)
                order = "id" if "id" in pg_cols else "rowid"
                n = 0
                with conn.cursor() as cur, cur.copy(f"COPY {_quote(table)} ({cols}) FROM STDIN") as copy:
                    for row in src.execute(f"SELECT {cols} FROM {_quote(table)} ORDER BY {order}"):
                        copy.write_row(row)
                        n += 1
                counts[table] = n
                if n >= 10_000:
                    log(f"copied {table}: {n:,} rows in {time.perf_counter() - t0:.1f} s")
            # Each serial column's sequence continues after the highest id copied.
            for table, column in conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' "
                    "AND (column_default LIKE 'nextval(%%' OR is_identity = 'YES')").fetchall():
                conn.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), "
                             f"coalesce((SELECT max({_quote(column)}) FROM {_quote(table)}), 0) + 1, false)",
                             (table, column))
            conn.commit()
            for table in tables:
                pg_n = conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]
                sl_n = src.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]
                if not pg_n == sl_n == counts[table]:
                    raise RuntimeError(f"{table}: {sl_n} rows in SQLite, {pg_n} in PostgreSQL")
        with connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute("VACUUM (FREEZE, ANALYZE)")
            log(f"VACUUM (FREEZE, ANALYZE) in {time.perf_counter() - t0:.1f} s")
    finally:
        src.close()
    return counts


def _migrate(url: str) -> None:
    """`civic migrate`, the installed command, on the empty database: the schema a deployment gets."""
    env = {**bench._db_env(url)}
    proc = subprocess.run([*bench._civic_command(), "migrate"], env=env, cwd=bench.ROOT, capture_output=True,
                          text=True)
    if proc.returncode:
        raise RuntimeError(f"civic migrate failed on PostgreSQL: {(proc.stdout + proc.stderr)[-1500:]}")


def _copy_rows(conn, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    cols = ", ".join(_quote(k) for k in keys)
    t0 = time.perf_counter()
    with conn.cursor() as cur, cur.copy(f"COPY {_quote(table)} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[k] for k in keys])
    log(f"copied {table}: {len(rows):,} rows in {time.perf_counter() - t0:.1f} s")


def bulk_copy(conn, households: list[dict], items: list[dict], events: list[dict]) -> None:
    """bench.build_database's bulk rows into PostgreSQL with COPY, in its transaction. The item triggers
    are off for the COPY (they would update each village's counter row once per item in this one
    transaction: every update walks the row's earlier versions, and 1,000,000 items took longer than an
    hour); the counters are then computed in one statement, as `civic recount --repair` would."""
    raw = conn.connection.driver_connection
    raw.execute("SET LOCAL session_replication_role = replica")
    _copy_rows(raw, "household", households)
    _copy_rows(raw, "item", items)
    _copy_rows(raw, "audit_event", events)
    raw.execute("SET LOCAL session_replication_role = DEFAULT")
    raw.execute("INSERT INTO item_count (commune_id, village_id, stage, n) "
                "SELECT commune_id, village_id, stage, count(*) FROM item "
                "GROUP BY commune_id, village_id, stage "
                "ON CONFLICT (commune_id, village_id, stage) DO UPDATE SET n = EXCLUDED.n")
    for table in ("household", "item", "audit_event"):
        raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")


def compact_counters(conn) -> None:
    """The item triggers updated each village's counter row once per item, all in the load's one
    transaction, so `item_count` holds one dead row version per item (1,891 pages for 1,200 rows at
    300,000 items) that VACUUM cannot give back. Rewrite it, as small as a live deployment keeps it
    (there each update is its own transaction, and HOT updates reuse the page)."""
    conn.execute("VACUUM (FULL) item_count")


def _pristine_path(args) -> tuple[Path, str]:
    key = bench._build_key(args.items, args.villages, args.seed)
    return bench.BENCH_DIR / f"pristine-{key}.db", key


def prepare(args, pristine_database) -> tuple[str, dict, Cluster]:
    """Start the loaded cluster of this size and key, and return the URL of a fresh run database, the
    metadata and the started cluster (stop it when done).

    A missing cluster is loaded from the SQLite pristine database of the same key when there is one (COPY
    table by table), else built straight into PostgreSQL by the same generator (no SQLite file: about
    half the time of an SQLite build, whose inserts maintain its FTS index)."""
    pristine, key = _pristine_path(args)
    home = bench.BENCH_DIR / f"pg-{key}"
    loaded = home / "loaded.json"
    cluster = Cluster(home)
    pg_meta: dict | None = None
    if loaded.exists() and (home / "data" / "PG_VERSION").exists() and not args.rebuild:
        pg_meta = json.loads(loaded.read_text())
        if pg_meta.get("loader") != LOADER_VERSION:
            pg_meta = None
    if pg_meta is None:
        from_sqlite = pristine.exists() and pristine.with_suffix(".json").exists() and not args.rebuild
        _remove_clusters(home, args.items)
        t0 = time.perf_counter()
        cluster.init()
        cluster.start()
        url = cluster.url(PRISTINE_DB)
        try:
            cluster.admin(f"CREATE DATABASE {PRISTINE_DB}")
            if from_sqlite:
                pristine, meta, _key = pristine_database(args)
                log(f"loading {pristine.name} into {home.relative_to(bench.ROOT)} …")
                _migrate(url)
                counts = load_from_sqlite(pristine, url)
            else:
                log(f"building {args.items:,} items over {args.villages} villages straight into "
                    f"{home.relative_to(bench.ROOT)} …")
                meta = bench.build_database(pristine, n_items=args.items, n_villages=args.villages,
                                            seed=args.seed, url=url, bulk_insert=bulk_copy)
                meta.update(built_at=datetime.now(UTC).isoformat(timespec="seconds"), key=key)
                log(f"built in {meta['seconds']} s {meta['phases']}")
                with connect(url, autocommit=True) as conn:
                    counts = {t: conn.execute(f"SELECT count(*) FROM {_quote(t)}").fetchone()[0]
                              for t in _pg_tables(conn)}
                    t1 = time.perf_counter()
                    compact_counters(conn)
                    conn.execute("VACUUM (FREEZE, ANALYZE)")
                    log(f"VACUUM (FREEZE, ANALYZE) in {time.perf_counter() - t1:.1f} s")
                if not args.no_verify:
                    bench._verify_chain(url, "after the build")
            with connect(url) as conn:
                size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                version = conn.execute("SHOW server_version").fetchone()[0]
        except BaseException:
            cluster.stop()
            shutil.rmtree(home, ignore_errors=True)
            raise
        pg_meta = {"loader": LOADER_VERSION, "key": key, "server_version": version, "rows": counts,
                   "bytes": size, "seconds": round(time.perf_counter() - t0, 1),
                   "source": pristine.name if from_sqlite else "generated in PostgreSQL",
                   "generator": meta, "loaded_at": datetime.now(UTC).isoformat(timespec="seconds")}
        loaded.write_text(json.dumps(pg_meta, indent=2))
        log(f"loaded in {pg_meta['seconds']} s: {counts.get('item', 0):,} items, "
            f"{counts.get('audit_event', 0):,} audit events, {size / 2**20:,.0f} MB")
    else:
        log(f"reusing {home.relative_to(bench.ROOT)} (PostgreSQL {pg_meta['server_version']}, "
            f"{pg_meta['bytes'] / 2**20:,.0f} MB, loaded {pg_meta['loaded_at']})")
        cluster.start()
    try:
        cluster.admin(f"DROP DATABASE IF EXISTS {RUN_DB}",
                      f"CREATE DATABASE {RUN_DB} TEMPLATE {PRISTINE_DB}")
    except BaseException:
        cluster.stop()
        raise
    return cluster.url(RUN_DB), {**pg_meta["generator"], "postgres": pg_meta}, cluster


def _remove_clusters(home: Path, items: int) -> None:
    """The cluster about to be loaded (a half-loaded one), and loaded clusters of the same size with
    another key (another generator or migration set). Other sizes stay (--growth needs two), and so
    does a folder without loaded.json: another run may be loading it."""
    shutil.rmtree(home, ignore_errors=True)
    for old in bench.BENCH_DIR.glob("pg-*"):
        info = old / "loaded.json"
        if info.exists() and json.loads(info.read_text()).get("rows", {}).get("item") == items:
            shutil.rmtree(old, ignore_errors=True)


# --- the growth table ----------------------------------------------------------------------------------

@dataclass
class Size:
    items: int
    url: str = ""
    meta: dict = field(default_factory=dict)
    cluster: Cluster | None = None
    server: bench.Server | None = None
    sample: dict = field(default_factory=dict)
    cookie: str = ""


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _growth_paths(size: Size, name: str) -> tuple[str, list[str], bool]:
    """(label, paths, unique URLs) of a page scenario, from this size's own sample."""
    sample = size.sample
    if name == "home":
        return "GET /", ["/"], True
    if name == "list":
        return "GET /items?village=…&stage=discuss", [f"/items?village={v}&stage=discuss"
                                                      for v in sample["villages"]], True
    if name == "search":
        return "GET /items?q=duong", ["/items?q=duong"], True
    if name == "status":
        codes = sample["codes"]
        return f"GET /items/<code> ({len(codes):,} items)", [f"/items/{c}" for c in codes], True
    if name == "triage":
        return "GET /triage (village head of all villages)", ["/triage"], False
    win = bench._open311_window(size.url, bench.OPEN311_PAGE)
    return (f"GET /open311/v2/requests.json ({bench.OPEN311_PAGE:,} requests)",
            [f"/open311/v2/requests.json?start_date={win['start']}&end_date={win['end']}"
             f"&page_size={bench.OPEN311_PAGE}"], True)


def _cpu_seconds(match) -> float:
    """CPU time (user + system) of the processes `match(pid, ppid, pgrp)` accepts, from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if match(int(stat.parent.name), int(fields[1]), int(fields[2])):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _server_cpu(size: Size) -> tuple[float, float]:
    """(app, database) CPU seconds so far: the server's process group, the cluster's postmaster and its
    children."""
    assert size.server is not None and size.server.proc is not None and size.cluster is not None
    group = size.server.proc.pid
    postmaster = int((size.cluster.data / "postmaster.pid").read_text().split()[0])
    return (_cpu_seconds(lambda _pid, _ppid, pgrp: pgrp == group),
            _cpu_seconds(lambda pid, ppid, _pgrp: postmaster in (pid, ppid)))


def _wait_idle(size: Size, limit: float = 60.0) -> None:
    """Until the server and its database are idle and a page is answered again: the requests a previous
    run left queued are done (a request waiting for a pooled connection uses no CPU, hence the probe)."""
    assert size.server is not None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(_server_cpu(size))
        time.sleep(0.5)
        if sum(_server_cpu(size)) - before < 0.05:
            break
    try:
        urllib.request.urlopen(f"{size.server.base}/items/{size.sample['codes'][0]}", timeout=limit).read()
    except (urllib.error.URLError, OSError) as exc:
        log(f"the server did not answer a probe after the previous run: {exc}")


def _measure(wrk: str, size: Size, name: str, args) -> dict:
    """One run of a page at one size, after a warm-up and once the server is idle; with the CPU time
    the server and PostgreSQL spent per answered request during the run (less noisy than req/s on a
    shared machine: other work slows a request down, it does not make it cost more CPU)."""
    assert size.server is not None
    label, paths, unique = _growth_paths(size, name)
    quiet = argparse.Namespace(**{**vars(args), "warmup": 0})
    f = bench._write_paths(f"growth-{name}-{size.items}", paths)

    def run(a) -> dict:
        if name == "triage":
            return bench._goal_run(wrk, size.server, name, label, lambda: ["authpaths", str(f), size.cookie],
                                   a, lambda c: c == 200)
        return bench.bench_get(wrk, size.server, f"{name}-{size.items}", label, paths, a, unique=unique)

    if args.warmup:
        run(argparse.Namespace(**{**vars(quiet), "duration": args.warmup}))
    _wait_idle(size)
    app0, db0 = _server_cpu(size)
    out = run(quiet)
    app1, db1 = _server_cpu(size)
    answered = max(1, out["requests"])
    out["cpu_ms"] = {"app": round((app1 - app0) * 1000 / answered, 1),
                     "db": round((db1 - db0) * 1000 / answered, 1)}
    return out


def growth(args, prepare_pristine) -> int:
    """The page scenarios at each size (PostgreSQL), interleaved; the table of req/s and ratios."""
    sizes = [Size(int(s)) for s in args.growth.split(",") if s.strip()]
    if len(sizes) != 2 or sizes[0].items >= sizes[1].items:
        raise SystemExit("--growth takes two sizes, the smaller first: e.g. 100000,1000000")
    wrk = bench.ensure_wrk()
    try:
        for size in sizes:
            args.items = size.items
            size.url, size.meta, size.cluster = prepare(args, prepare_pristine)
            size.sample = bench._sample(size.url, args.seed, args.codes)
        for size in sizes:
            size.server = bench.Server(size.url, args.workers, "civic", env={"CIVIC_PAGE_CACHE": "0"})
            size.server.log_path = bench.BENCH_DIR / f"server-{size.items}.log"
            size.server.start()
            size.cookie = bench._login(size.server.base, "0900000102", "bench-village_head")
            prime = ["/", "/items?q=duong", "/triage"] + [f"/items/{c}" for c in size.sample["codes"][:8]]
            bench._prime(size.server, prime, size.cookie)
        small, big = sizes
        rows = []
        started, load_start = datetime.now(UTC), _loadavg()
        busy_before = bench.background_load()
        for name in GROWTH_PAGES:
            runs: dict[int, list[dict]] = {small.items: [], big.items: []}
            for size in (small, big, big, small):
                runs[size.items].append(_measure(wrk, size, name, args))
            rps = {n: sum(r["rps"] for r in rs) / len(rs) for n, rs in runs.items()}
            cpu = {n: sum(r["cpu_ms"]["app"] + r["cpu_ms"]["db"] for r in rs) / len(rs)
                   for n, rs in runs.items()}
            db_cpu = {n: sum(r["cpu_ms"]["db"] for r in rs) / len(rs) for n, rs in runs.items()}
            p50 = {n: sum(r["p50_ms"] for r in rs) / len(rs) for n, rs in runs.items()}
            errors = sum(r["errors"] for rs in runs.values() for r in rs)
            ratio = rps[big.items] / rps[small.items] if rps[small.items] else 0.0
            rows.append({"page": name, "label": _growth_paths(small, name)[0],
                         "rps": {str(n): round(v, 1) for n, v in rps.items()},
                         "p50_ms": {str(n): round(v, 1) for n, v in p50.items()},
                         "cpu_ms": {str(n): round(v, 1) for n, v in cpu.items()},
                         "db_cpu_ms": {str(n): round(v, 1) for n, v in db_cpu.items()},
                         "ratio": round(ratio, 2), "errors": errors, "loadavg": _loadavg()})
            log(f"{name}: {rps[small.items]:.1f} → {rps[big.items]:.1f} req/s, ratio {ratio:.2f}; CPU "
                f"{cpu[small.items]:.1f} → {cpu[big.items]:.1f} ms a request "
                f"(load average {_loadavg()})")
        finished = datetime.now(UTC)
    finally:
        for size in sizes:
            if size.server is not None:
                size.server.stop()
            if size.cluster is not None:
                size.cluster.stop()
    met = print_growth(rows, sizes, args, started, finished, load_start, busy_before)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "sizes": [{"items": s.items, "database": s.meta} for s in sizes], "rows": rows,
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "loadavg_start": load_start, "background_cpu_percent_before": busy_before,
            "load": {"threads": args.threads, "connections": args.connections, "duration_s": args.duration,
                     "server_workers": args.workers}}, indent=2, ensure_ascii=False))
    return 0 if met else 1


def print_growth(rows: list[dict], sizes: list[Size], args, started: datetime, finished: datetime,
                 load_start: str, busy_before: float | None) -> bool:
    """The growth table, in Markdown. req/s is what the goal is about; CPU ms a request (server + database,
    per answered request) is what a busy shared machine disturbs least, and its ratio (small / big) is the
    req/s ratio a quiet machine would show if CPU is what limits the pages."""
    small, big = sizes
    a, b = f"{small.items:,}", f"{big.items:,}"
    print()
    print(f"Growth on PostgreSQL {big.meta['postgres']['server_version'].split()[0]}, {a} → {b} items: page "
          f"cache off, every URL rendered; wrk -t{args.threads} -c{args.connections}, {args.duration:g} s a "
          f"run, `civic serve --workers {args.workers}`; each page measured small, big, big, small (mean of "
          f"two runs). Goal: req/s at {b} ≥ {GROWTH_GOAL} × req/s at {a}.")
    print()
    print(f"| page | req/s {a} | req/s {b} | ratio | CPU ms/request {a} | {b} | CPU ratio | load average |")
    print("|---|---|---|---|---|---|---|---|")
    met = True
    for r in rows:
        ok = r["ratio"] >= GROWTH_GOAL and not r["errors"]
        met &= ok
        errors = f" ({r['errors']} errors)" if r["errors"] else ""
        cpu_s, cpu_b = r["cpu_ms"][str(small.items)], r["cpu_ms"][str(big.items)]
        db_s, db_b = r["db_cpu_ms"][str(small.items)], r["db_cpu_ms"][str(big.items)]
        cpu_ratio = cpu_s / cpu_b if cpu_b else 0.0
        print(f"| {r['label']} | {r['rps'][str(small.items)]:,.1f} | {r['rps'][str(big.items)]:,.1f} | "
              f"{r['ratio']:.2f} {'met' if ok else 'NOT met'}{errors} | {cpu_s:,.1f} (db {db_s:,.1f}) | "
              f"{cpu_b:,.1f} (db {db_b:,.1f}) | {cpu_ratio:.2f} | {r['loadavg']} |")
    print()
    print(f"{started:%Y-%m-%d %H:%M}–{finished:%H:%M} UTC, {os.cpu_count()} CPUs; load average at the start "
          f"{load_start}; other work before the run: "
          f"{busy_before if busy_before is not None else '?'} % of the CPUs.")
    return met
