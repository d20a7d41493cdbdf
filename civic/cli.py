"""The `civic` command: serve, worker, migrate, setup-code, commune, seed-demo, create-user, api-key, audit,
backup, restore, register, open-data, recount.

Every subcommand runs in a process of its own on a freshly migrated database. A refusal (unknown commune or
village, bad input, a duplicate) exits 2 with one line on stderr and changes nothing: each command writes in
one unit of work, rolled back when a service refuses."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

import civic.domains  # noqa: F401  (every table and stage move, whatever the command touches)
from civic import backup as backups
from civic.accounts import service as accounts
from civic.accounts.models import ApiKey
from civic.accounts.rules import role_code
from civic.areas import service as areas_service
from civic.areas.models import Commune, Village
from civic.areas.schemas import CommuneForm, InviteAdminForm
from civic.areas.service import create_commune, default_commune
from civic.audit import service as audit
from civic.audit import signing
from civic.config import ROOT, get_settings
from civic.db import row_id, unit_of_work
from civic.errors import CivicError
from civic.items import service as items
from civic.seed import demo
from civic.serve import serve
from civic.setup import communes as operators
from civic.setup import service as setup


def _text(message: str, params: dict) -> str:
    try:
        return message % params if params else message
    except (KeyError, TypeError, ValueError):
        return message


def _vi(message: str) -> str:
    from civic.web.i18n import translations

    return translations("vi").gettext(message)


def say_refused(vi: str, en: str) -> int:
    """One line on stderr, Vietnamese first and English second, and the exit code 2."""
    print(f"Từ chối: {vi} | refused: {en}", file=sys.stderr)
    return 2


def refused(exc: CivicError) -> int:
    """Why, on one line (each wrong field, or the message), in Vietnamese and English; exit code 2."""
    errors = getattr(exc, "errors", None) or {}
    if errors:
        pairs = [(field, str(m), getattr(m, "params", None) or exc.params) for field, m in errors.items()]
        vi = "; ".join(f"{field}: {_text(_vi(m), params)}" for field, m, params in pairs)
        en = "; ".join(f"{field}: {_text(m, params)}" for field, m, params in pairs)
    else:
        vi, en = _text(_vi(exc.message), exc.params), _text(exc.message, exc.params)
    return say_refused(vi, en)


def _alembic_config():
    # Alembic (with Mako and Pygments behind it) loads only for the commands that migrate or restore.
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Apply every Alembic migration to the database (DATABASE_URL, or `url`)."""
    cfg = _alembic_config()
    if url:
        cfg.attributes["url"] = url
    from alembic import command

    command.upgrade(cfg, "head")


def cmd_migrate(args) -> int:
    migrate()
    print("database is at the latest migration")
    return 0


def cmd_serve(args) -> int:
    return serve(args.host, args.port, args.workers, access_log=not args.no_access_log)


def cmd_worker(args) -> int:
    """Deliver the notification outbox until stopped (SIGTERM or Ctrl-C); --once: one round and exit."""
    import logging
    import signal
    import threading

    from civic.notify import worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        total = worker.run(stop, once=args.once, threads=args.threads)
    except KeyboardInterrupt:
        return 0
    if args.once:
        print(f"sent {total.sent}, retrying {total.retried}, dead {total.dead}")
    return 0


def cmd_seed_demo(args) -> int:
    with unit_of_work(write=True) as db:
        if demo.has_data(db):
            print("database already has data; demo not loaded")
            return 0 if args.if_empty else 1
        summary = demo.load(db)
    print(summary)
    return 0


def cmd_setup_code(args) -> int:
    """Print the one-time set-up code (the same one the server logs at start-up)."""
    with unit_of_work(write=True) as db:
        code = setup.code(db)
    if code is None:
        return say_refused("trang này đã được thiết lập (đã có xã); hãy đăng nhập",
                           "this site is already set up (a commune exists); log in instead")
    print(code)
    return 0


def cmd_commune_create(args) -> int:
    try:
        with unit_of_work(write=True) as db:
            form = CommuneForm.parse({"code": args.code, "name": args.name, "kind": args.kind,
                                      "province": args.province})
            commune = create_commune(db, code=form.code, name=form.name, kind=form.kind,
                                     province=form.province)
            print(f"created commune {commune.code} ({commune.name}, {commune.kind}, {commune.province})")
    except CivicError as exc:
        return refused(exc)
    return 0


def cmd_commune_list(args) -> int:
    """Every commune: code, name, kind, province, and what it was merged into."""
    with unit_of_work() as db:
        rows = areas_service.communes(db)
        codes = {c.id: c.code for c in rows}
        for c in rows:
            merged = (f"  merged into {codes.get(c.merged_into_id, '?')} on {c.merged_on.isoformat()}"
                      if c.merged_into_id and c.merged_on else "")
            print(f"{c.code}\t{c.name}\t{c.kind}\t{c.province}{merged}")
    return 0


def cmd_commune_merge(args) -> int:
    try:
        on = date.fromisoformat(args.on)
    except ValueError:
        return say_refused(f"ngày {args.on!r} không đúng dạng YYYY-MM-DD",
                           f"{args.on!r} is not a YYYY-MM-DD date")
    try:
        with unit_of_work(write=True) as db:
            source = default_commune(db, args.source)
            into = default_commune(db, args.into)
            merged = operators.merge_communes(db, row_id(source), row_id(into), on)
            _both(f"{source.code} đã nhập vào {into.code} từ {on.isoformat()}: {merged.villages} thôn, "
                  f"{merged.households} hộ chuyển sang; {merged.roles_ended} vai trò cán bộ kết thúc; sổ ghi "
                  f"nhận của {source.code} đóng ở sự kiện {merged.final_seq} ({merged.final_hash})",
                  f"{source.code} merged into {into.code} from {on.isoformat()}: {merged.villages} villages, "
                  f"{merged.households} households continue; {merged.roles_ended} staff roles ended; "
                  f"{source.code}'s chain closed at event {merged.final_seq} ({merged.final_hash})")
    except CivicError as exc:
        return refused(exc)
    return 0


def cmd_commune_invite_admin(args) -> int:
    """An invitation to be a commune's admin: the one-time code and link are printed once."""
    try:
        with unit_of_work(write=True) as db:
            form = InviteAdminForm.parse({"display_name": args.name, "phone": args.phone})
            commune = default_commune(db, args.commune)
            inv, code = operators.invite_admin(db, None, row_id(commune), phone=form.phone,
                                               display_name=form.display_name)
            base = get_settings().public_base
            print(f"invitation {inv.id} for the admin of {commune.code}, valid until "
                  f"{inv.expires_at.isoformat(timespec='minutes')}")
            print(f"code: {code}")
            print(f"link: {base}/c/{commune.code}/invite/{code}")
    except CivicError as exc:
        return refused(exc)
    return 0


def cmd_create_user(args) -> int:
    try:
        with unit_of_work(write=True) as db:
            commune = default_commune(db, args.commune)
            village_id = None
            if args.village:
                village = db.execute(select(Village).where(
                    col(Village.commune_id) == commune.id,
                    (col(Village.slug) == args.village) | (col(Village.name) == args.village),
                )).scalars().first()
                if village is None:
                    return say_refused(f"không có thôn {args.village!r} ở {commune.name}",
                                       f"no village {args.village!r} in {commune.name}")
                village_id = village.id
            user = accounts.create_user(db, phone=args.phone, display_name=args.name, password=args.password,
                                        role=args.role, commune_id=commune.id, village_id=village_id,
                                        title=args.title or "")
            print(f"created user {user.id} ({user.phone}){' as ' + args.role if args.role else ''}")
    except CivicError as exc:
        return refused(exc)
    return 0


def cmd_api_key_create(args) -> int:
    try:
        with unit_of_work(write=True) as db:
            commune = default_commune(db, args.commune)
            key, secret = accounts.create_api_key(db, commune_id=row_id(commune), name=args.name)
    except CivicError as exc:
        return refused(exc)
    print(f"API key {key.id} for {args.name!r} (shown once, keep it secret):\n{secret}")
    return 0


def cmd_api_key_revoke(args) -> int:
    try:
        with unit_of_work(write=True) as db:
            accounts.revoke_api_key(db, args.id)
    except CivicError as exc:
        return refused(exc)
    print(f"API key {args.id} revoked")
    return 0


def cmd_api_key_list(args) -> int:
    with unit_of_work() as db:
        for key in db.execute(select(ApiKey).order_by(col(ApiKey.id))).scalars():
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id}\t{key.prefix}…\t{key.name}\t{state}")
    return 0


def _read_checkpoint_file(path: str) -> tuple[signing.PublicKey, dict[str, list[audit.Checkpoint]]]:
    """The public key and the checkpoints (by commune code) of an exported /audit/checkpoints.json."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise audit.BadExport(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise audit.BadExport(f"{path} is not JSON") from None
    key, checkpoints = audit.parse_export(data)
    by_commune: dict[str, list[audit.Checkpoint]] = {}
    for cp in checkpoints:
        by_commune.setdefault(cp.commune, []).append(cp)
    return key, by_commune


def cmd_audit_verify(args) -> int:
    """The chain's links, the checkpoints it must still lead to, and the tables against the events."""
    given_key: signing.PublicKey | None = None
    given: dict[str, list[audit.Checkpoint]] = {}
    if args.checkpoints:
        try:
            given_key, given = _read_checkpoint_file(args.checkpoints)
        except audit.BadExport as exc:
            return say_refused(f"tệp mốc kiểm tra không đọc được: {exc}", str(exc))
    broken = False
    with unit_of_work() as db:
        communes = db.execute(select(Commune).order_by(col(Commune.id))).scalars().all()
        unknown = sorted(set(given) - {c.code for c in communes})
        for code in unknown:
            broken = True
            print(f"{code}: the checkpoint file names a commune this database does not have", file=sys.stderr)
        if not communes:
            print("no commune: nothing to verify")
            return 1 if broken else 0
        for commune in communes:
            cid = row_id(commune)
            result = audit.verify(db, cid)
            if result.ok:
                head = audit.head(db, cid)
                print(f"{commune.code}: chain intact, {result.checked} events, head {head.hash}")
            else:
                broken = True
                print(f"{commune.code}: BROKEN at event {result.broken_seq}: {result.problem} "
                      f"({result.checked} events before it are intact)", file=sys.stderr)
            broken |= _verify_checkpoints(db, commune, given_key, given)
            broken |= _verify_tables(db, commune)
            broken |= _verify_merge_link(db, commune, communes)
    return 1 if broken else 0


def _verify_merge_link(db, commune: Commune, communes) -> bool:
    """A merged commune: its closed chain ends with its merge event and final checkpoint, and the receiving
    commune's chain records that head. True when the link is broken."""
    if commune.merged_into_id is None:
        return False
    into = next((c for c in communes if c.id == commune.merged_into_id), None)
    problem = (audit.merge_link_problem(db, row_id(commune), commune.merged_into_id, commune.code)
               if into is not None else "the receiving commune does not exist")
    if problem:
        print(f"{commune.code}: BROKEN merge link: {problem}", file=sys.stderr)
        return True
    closed = audit.head(db, row_id(commune))
    print(f"{commune.code}: closed, merged into {into.code if into else '?'}; {into.code if into else '?'}'s "
          f"chain records its final head (event {closed.seq}, {closed.hash})")
    return False


def _verify_checkpoints(db, commune: Commune, given_key: signing.PublicKey | None,
                        given: dict[str, list[audit.Checkpoint]]) -> bool:
    """Print what the checkpoints say; True when the chain no longer leads to one of them."""
    cid = row_id(commune)
    mismatch = False
    if given_key is not None and commune.code in given:
        checkpoints, key, source = given[commune.code], given_key, "file"
        own = signing.public_key_if_any()
        if key != own:  # checked with the file's key all the same: a partner's copy outlives a key swap
            print(f"{commune.code}: BROKEN the checkpoint file's public key {key.key_id} is not this "
                  f"deployment's key {own.key_id if own else '(none)'}", file=sys.stderr)
            mismatch = True
    else:
        checkpoints = [audit.as_checkpoint(r, commune.code) for r in audit.stored_checkpoints(db, cid)]
        key, source = None, "stored"
    if not checkpoints:
        print(f"{commune.code}: no checkpoint to compare with (take one with: civic audit checkpoint)")
        return mismatch
    problems = audit.check_checkpoints(db, cid, checkpoints, key or signing.public_key())
    for problem in problems:
        print(f"{commune.code}: BROKEN {problem}", file=sys.stderr)
    if not problems:
        latest = max(checkpoints, key=lambda c: c.seq)
        print(f"{commune.code}: leads to all {len(checkpoints)} {source} checkpoints "
              f"(latest at event {latest.seq}, {latest.taken_at[:10]})")
    return bool(problems) or mismatch


def _verify_tables(db, commune: Commune) -> bool:
    """Print every table field the events do not bear out; True when there is one."""
    found = audit.reconcile(db, row_id(commune))
    for d in found:
        print(f"{commune.code}: TABLE DIFFERS {d.describe()}", file=sys.stderr)
    if not found:
        print(f"{commune.code}: the tables agree with the events (items, decisions, pledges, deliveries, "
              f"budget, spending, progress, inspections, verdicts, meetings, boards)")
    return bool(found)


def cmd_audit_checkpoint(args) -> int:
    """Sign and store each commune's head (or one commune's), after checking its chain."""
    broken = False
    with unit_of_work(write=True) as db:
        if args.commune:
            try:
                communes = [default_commune(db, args.commune)]
            except CivicError as exc:
                return refused(exc)
        else:
            communes = list(db.execute(select(Commune).order_by(col(Commune.id))).scalars())
        for commune in communes:
            result = audit.verify(db, row_id(commune))
            if not result.ok:
                broken = True
                print(f"{commune.code}: no checkpoint taken, the chain is BROKEN at event "
                      f"{result.broken_seq}: {result.problem}", file=sys.stderr)
                continue
            cp = audit.take_checkpoint(db, row_id(commune), commune.code)
            print(f"{commune.code}: checkpoint at event {cp.seq}, head {cp.hash}, signed by key {cp.key_id}")
    return 1 if broken else 0


def cmd_audit_export(args) -> int:
    """Print a commune's checkpoints and public key as JSON (what /audit/checkpoints.json serves)."""
    with unit_of_work() as db:
        try:
            commune = default_commune(db, args.commune)
        except CivicError as exc:
            return refused(exc)
        data = audit.export_checkpoints(db, row_id(commune), commune.code)
    print(json.dumps(data, ensure_ascii=False, indent=1))
    return 0


def _both(vi: str, en: str, *, err: bool = False) -> None:
    """A message in Vietnamese, then in English."""
    print(f"{vi}\n{en}", file=sys.stderr if err else sys.stdout)


def cmd_backup(args) -> int:
    try:
        summary = backups.create(args.output, args.compress)
    except backups.Refused as exc:
        _both(f"Không sao lưu được: {exc.vi}", f"backup refused: {exc.en}", err=True)
        return 2
    except OSError as exc:
        _both(f"Sao lưu thất bại: {exc}", f"backup failed: {exc}", err=True)
        return 1
    m = summary.manifest
    rows = sum(m["rows"].values())
    # With `-` the backup itself is on stdout: the report goes to stderr.
    to_err = summary.path == "-"
    _both(f"Đã sao lưu vào {summary.path}: {summary.size:,} byte, {rows:,} dòng, {m['media']['files']} tệp "
          f"ảnh/tài liệu, trong {summary.seconds:.1f} giây.",
          f"backup written to {summary.path}: {summary.size:,} bytes, {rows:,} rows, {m['media']['files']} "
          f"media files, in {summary.seconds:.1f} s", err=to_err)
    for code, head in m["audit_heads"].items():
        print(f"{code}: {head['seq']} events, head {head['hash']}", file=sys.stderr if to_err else sys.stdout)
    return 0


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def cmd_restore(args) -> int:
    started = time.monotonic()
    try:
        if str(args.path) == "-":
            with backups.spooled_stdin() as path:
                summary = backups.restore(path, force=args.force, known_revisions=_known_revisions())
        else:
            summary = backups.restore(args.path, force=args.force, known_revisions=_known_revisions())
    except backups.Refused as exc:
        _both(f"Không khôi phục: {exc.vi}", f"restore refused: {exc.en}", err=True)
        return 2
    except backups.Mismatch as exc:
        _both(f"Khôi phục KHÔNG đúng: {exc.vi}", f"restore FAILED: {exc.en}", err=True)
        return 1
    except OSError as exc:
        _both(f"Khôi phục thất bại: {exc}", f"restore FAILED: {exc}", err=True)
        return 1
    m = summary.manifest
    _both(f"Đã khôi phục bản sao lưu lúc {m['created_at']} (civic {m['civic_version']}, "
          f"phiên bản CSDL {m['alembic_revision']}): {sum(summary.rows.values()):,} dòng, "
          f"{summary.media_files} tệp ({summary.media_bytes:,} byte), trong {summary.seconds:.1f} giây.",
          f"restored the backup of {m['created_at']} (civic {m['civic_version']}, database revision "
          f"{m['alembic_revision']}): {sum(summary.rows.values()):,} rows, {summary.media_files} media files "
          f"({summary.media_bytes:,} bytes), in {summary.seconds:.1f} s")
    print("  " + ", ".join(f"{table} {count}" for table, count in sorted(summary.rows.items()) if count))
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if m["alembic_revision"] != head:
        migrate()
        _both(f"Đã nâng cơ sở dữ liệu từ {m['alembic_revision']} lên {head}.",
              f"database migrated from {m['alembic_revision']} to {head}")
    heads = backups.current_heads(get_settings().database_url)
    if heads != m["audit_heads"]:
        _both("Khôi phục KHÔNG đúng: đầu chuỗi nhật ký khác với bản sao lưu.",
              "restore FAILED: the audit chain heads differ from the backup's", err=True)
        return 1
    # The same check as `civic audit verify`, with its defaults.
    verify = build_parser().parse_args(["audit", "verify"])
    if verify.fn(verify) != 0:
        _both("Khôi phục KHÔNG đúng: chuỗi nhật ký bị hỏng (xem trên).",
              "restore FAILED: the audit chain does not verify (see above)", err=True)
        return 1
    took = time.monotonic() - started
    _both(f"Khôi phục xong trong {took:.1f} giây; chuỗi nhật ký nguyên vẹn.",
          f"restore done in {took:.1f} s; the audit chain is intact")
    return 0


# --- civic register: the household register from a spreadsheet ------------------------------------------

def _tr(message: str, params: dict | None = None) -> tuple[str, str]:
    """A message id and its parameters in Vietnamese and in English."""
    from civic.web.i18n import translations

    params = params or {}
    vi = translations("vi").gettext(message)
    return (vi % params if params else vi), (message % params if params else message)


def _refused(exc: CivicError) -> int:
    vi, en = _tr(exc.message, exc.params)
    _both(f"Không nhận tệp: {vi}", f"refused: {en}", err=True)
    return 2


def _column(key: str) -> tuple[str, str]:
    from civic.areas import rules

    return _tr(rules.COLUMN_LABELS.get(key, key)) if key else ("", "")


def cmd_register_import(args) -> int:
    from civic import clock
    from civic.areas import register

    try:
        register.check_size(args.file.stat().st_size, get_settings().register_max_bytes)
        data = args.file.read_bytes()
    except OSError as exc:
        _both(f"Không đọc được {args.file}: {exc.strerror}", f"cannot read {args.file}: {exc.strerror}",
              err=True)
        return 2
    except CivicError as exc:
        return _refused(exc)
    today = clock.today_local()
    try:
        with unit_of_work(write=not args.dry_run) as db:
            commune = default_commune(db, args.commune)
            parsed = register.read(data, register.villages(db, row_id(commune)), None, today)
            plan = register.preview(db, parsed, today)
            c = plan.counts()
            _both(f"{commune.code}: thêm {c['added']} hộ, sửa {c['changed']}, ra khỏi sổ {c['left']}, "
                  f"không đổi {c['unchanged']}, dòng lỗi {c['bad_rows']}.",
                  f"{commune.code}: {c['added']} to add, {c['changed']} changed, {c['left']} leave, "
                  f"{c['unchanged']} unchanged, {c['bad_rows']} bad rows")
            for error in plan.errors:
                col_vi, col_en = _column(error.column)
                vi, en = _tr(error.message, error.message.params)
                print(f"dòng {error.line}, cột {col_vi}: {vi} / line {error.line}, column {col_en}: {en}",
                      file=sys.stderr)
            if plan.errors:
                _both("Không thay đổi gì: sửa các dòng lỗi rồi nhập lại.",
                      "nothing was changed: correct the bad rows and import again", err=True)
                return 2
            if args.dry_run:
                _both("Chạy thử (--dry-run): không thay đổi gì.", "dry run: nothing was changed")
                return 0
            register.apply(db, row_id(commune), plan, today, actor_role="cli")
    except CivicError as exc:
        return _refused(exc)
    if plan.empty:
        _both("Sổ hộ đã đúng như tệp: không thay đổi gì.", "the register already matches the file: "
              "nothing changed")
    else:
        _both("Đã cập nhật sổ hộ.", "the register was updated")
    return 0


def cmd_register_export(args) -> int:
    from civic.areas import register

    suffix = args.file.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        _both("Tên tệp phải kết thúc bằng .xlsx hoặc .csv.", "the file name must end in .xlsx or .csv",
              err=True)
        return 2
    try:
        with unit_of_work() as db:
            commune = default_commune(db, args.commune)
            ids = [v.id for v in register.villages(db, row_id(commune))]
            rows = list(register.export_rows(db, ids))
    except CivicError as exc:
        return _refused(exc)
    data = register.to_xlsx(rows) if suffix == ".xlsx" else register.to_csv(rows)
    try:
        args.file.write_bytes(data)
    except OSError as exc:
        _both(f"Không ghi được {args.file}: {exc.strerror}", f"cannot write {args.file}: {exc.strerror}",
              err=True)
        return 1
    _both(f"Đã xuất {len(rows)} hộ vào {args.file}.", f"{len(rows)} households written to {args.file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civic",
                                     description="civic: grassroots-democracy feedback platform.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="serve the web app", description="Serve the web app with uvicorn.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--no-access-log", action="store_true", help="do not log each request")
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("worker", help="deliver notifications (e-mail, SMS, Web Push, Zalo)",
                       description="Deliver the notification outbox; several may run against PostgreSQL.")
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.add_argument("--threads", type=int, default=8, help="messages sent at once (default 8)")
    p.set_defaults(fn=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations",
                       description="Apply every Alembic migration to the database named by DATABASE_URL.")
    p.set_defaults(fn=cmd_migrate)

    p = sub.add_parser("setup-code", help="print the one-time set-up code",
                       description="Print the one-time code that /setup asks for (the same one the server "
                                   "logs at start-up). Refused (exit 2) once a commune exists.")
    p.set_defaults(fn=cmd_setup_code)

    p = sub.add_parser("commune", help="create, list, merge communes; invite their admins",
                       description="Manage communes.")
    co = p.add_subparsers(dest="commune_command", required=True, metavar="ACTION")
    c = co.add_parser("create", help="create a commune (without the demo)",
                      description="Create a commune with its own audit chain. Its code (2 to 8 letters or "
                                  "digits) begins every item code.")
    c.add_argument("--code", required=True, help="e.g. NS")
    c.add_argument("--name", required=True, help="e.g. \"Nhạo Sơn\"")
    c.add_argument("--kind", choices=["xa", "phuong", "dac_khu"], default="xa",
                   help="xa (xã), phuong (phường) or dac_khu (đặc khu); default xa")
    c.add_argument("--province", required=True, help="province or city")
    c.set_defaults(fn=cmd_commune_create)
    c = co.add_parser("list", help="list the communes", description="List every commune of this site.")
    c.set_defaults(fn=cmd_commune_list)
    c = co.add_parser("invite-admin", help="invite a commune's administrator (prints a one-time code)",
                      description="Make an invitation to be the commune's administrator; the code and link "
                                  "are printed once (the person opens the link and chooses a password).")
    c.add_argument("--commune", required=True, help="commune code")
    c.add_argument("--phone", required=True, help="the person's mobile number")
    c.add_argument("--name", required=True, help="the person's name")
    c.set_defaults(fn=cmd_commune_invite_admin)
    c = co.add_parser("merge", help="merge a commune into another (its history is kept)",
                      description="Merge commune --from into commune --into from the date --on: the merged "
                                  "commune's items keep their codes and pages, its villages continue in the "
                                  "receiving commune, its staff roles end and its audit chain is closed with "
                                  "a checkpoint the receiving chain records.")
    c.add_argument("--from", dest="source", required=True, metavar="CODE", help="the commune merged")
    c.add_argument("--into", required=True, metavar="CODE", help="the receiving commune")
    c.add_argument("--on", required=True, metavar="YYYY-MM-DD", help="the merge date")
    c.set_defaults(fn=cmd_commune_merge)

    p = sub.add_parser("seed-demo", help="load the demo commune",
                       description="Load the demo commune Nhạo Sơn: villages, households, categories, about "
                                   "30 items in every stage and outcome, and the four demo accounts.")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the database already has data")
    p.set_defaults(fn=cmd_seed_demo)

    p = sub.add_parser("create-user", help="create a user, optionally with a role",
                       description="Create a user account; with --role, grant a role in the commune or a "
                                   "village.")
    p.add_argument("--phone", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", type=role_code, choices=list(accounts.ROLES),
                   help="a role of the catalog ('secretary', its former name, is read as village_head)")
    p.add_argument("--village", help="village slug or name (for village roles, e.g. village_head, resident)")
    p.add_argument("--commune", help="commune code (default: the first commune)")
    p.add_argument("--title", help="official title shown on the timeline")
    p.set_defaults(fn=cmd_create_user)

    p = sub.add_parser("api-key", help="manage Open311 API keys",
                       description="Create, list or revoke API keys.")
    ak = p.add_subparsers(dest="api_key_command", required=True, metavar="ACTION")
    c = ak.add_parser("create", help="create a key (printed once; stored hashed)",
                      description="Create an API key for a partner system. The key is printed once and "
                                  "stored only as a hash.")
    c.add_argument("--name", required=True, help="who the key is for")
    c.add_argument("--commune", help="commune code (default: the first commune)")
    c.set_defaults(fn=cmd_api_key_create)
    r = ak.add_parser("revoke", help="revoke a key", description="Revoke an API key by its id.")
    r.add_argument("id", type=int)
    r.set_defaults(fn=cmd_api_key_revoke)
    ls = ak.add_parser("list", help="list keys", description="List API keys (never the secrets).")
    ls.set_defaults(fn=cmd_api_key_list)

    p = sub.add_parser("audit", help="check the audit chain", description="Audit chain tools.")
    au = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = au.add_parser("verify", help="recompute every commune's hash chain",
                      description="Recompute every commune's hash chain, check that it still leads to every "
                                  "signed checkpoint, and replay the events into the public state (stage, "
                                  "outcome, tallies, totals) to compare with the tables; exit 0 when all "
                                  "hold, 1 naming each broken event, checkpoint or table field otherwise.")
    v.add_argument("--checkpoints", metavar="FILE",
                   help="an exported /audit/checkpoints.json to compare with (default: the stored ones)")
    v.set_defaults(fn=cmd_audit_verify)
    c = au.add_parser("checkpoint", help="sign and store the chain heads (run it nightly)",
                      description="Check each commune's chain and sign its head with the deployment's "
                                  "Ed25519 key: a dated checkpoint shown on /audit and exported for "
                                  "partners.")
    c.add_argument("--commune", help="commune code (default: every commune)")
    c.set_defaults(fn=cmd_audit_checkpoint)
    e = au.add_parser("export", help="print the checkpoints and public key as JSON",
                      description="Print, as JSON, a commune's signed checkpoints and the public key "
                                  "that checks them, as served at /audit/checkpoints.json.")
    e.add_argument("--commune", help="commune code (default: the first commune)")
    e.set_defaults(fn=cmd_audit_export)

    p = sub.add_parser("backup", help="write a backup file (database, media, manifest)",
                       description="Write one tar file: the database (SQLite online backup or pg_dump), "
                                   "the media folder and manifest.json (versions, row counts, audit chain "
                                   "heads, a SHA-256 of every member). Safe while the app runs. Exit 0 when "
                                   "written, 1 when writing failed, 2 when refused.")
    p.add_argument("--output", "-o", metavar="PATH",
                   help="file or folder to write (default var/backups/civic-<commune>-<UTC time>.tar[.gz]); "
                        "- writes to stdout")
    p.add_argument("--compress", choices=["auto", "gzip", "none"], default="auto",
                   help="auto (default): gzip for SQLite, none for PostgreSQL (its dump is compressed "
                        "already)")
    p.set_defaults(fn=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into an empty instance",
                       description="Check every checksum of a backup file, then restore its database into "
                                   "DATABASE_URL and its media into the media folder, migrate to the latest "
                                   "revision, and verify the audit chain. Stop the app first. Exit 0 when "
                                   "restored and verified, 1 when the restored data does not verify, 2 when "
                                   "refused (nothing changed).")
    p.add_argument("path", type=Path, help="the backup file (.tar or .tar.gz); - reads it from stdin")
    p.add_argument("--force", action="store_true",
                   help="restore even when the database or the media folder holds data: the database is "
                        "replaced; media files are added (files of the same name hold the same bytes)")
    p.set_defaults(fn=cmd_restore)

    p = sub.add_parser("register", help="import or export the household register (XLSX or CSV)",
                       description="The household register from a spreadsheet: import a file (preview, then "
                                   "apply) or export the register.")
    rg = p.add_subparsers(dest="register_command", required=True, metavar="ACTION")
    i = rg.add_parser("import", help="load the register from an XLSX or CSV file",
                      description="Read a register file (columns Thôn/Tổ dân phố, Mã hộ, Họ tên chủ hộ, Địa "
                                  "chỉ, Số điện thoại, Ngày vào sổ, Ngày ra khỏi sổ), print what it would "
                                  "add, change and end, and every bad row; apply it unless --dry-run. "
                                  "Households of the file's villages that are not in it leave the register "
                                  "today. Exit 0 when applied (or a clean dry run), 2 when refused or the "
                                  "file has bad rows (nothing changed).")
    i.add_argument("file", type=Path, help="the .xlsx or .csv file")
    i.add_argument("--commune", help="commune code (default: the first commune)")
    i.add_argument("--dry-run", action="store_true", help="only print the preview; change nothing")
    i.set_defaults(fn=cmd_register_import)
    e = rg.add_parser("export", help="write the register to an XLSX or CSV file",
                      description="Write every household of the commune (those that left too, with the "
                                  "date) to a file in the import's format: .xlsx or .csv by the name.")
    e.add_argument("file", type=Path, help="the file to write (.xlsx or .csv)")
    e.add_argument("--commune", help="commune code (default: the first commune)")
    e.set_defaults(fn=cmd_register_export)

    p = sub.add_parser("open-data", help="build the open-data package (run it daily)",
                       description="The public figures as a Frictionless Data Package.")
    od = p.add_subparsers(dest="open_data_command", required=True, metavar="ACTION")
    b = od.add_parser("build", help="write datapackage.json and its CSV files",
                      description="Write each commune's datapackage.json and its CSV files (public columns "
                                  "only) into <var_dir>/open-data/<commune code>/, served at "
                                  "/open-data/datapackage.json.")
    b.add_argument("--commune", help="commune code (default: every commune)")
    b.set_defaults(fn=cmd_open_data_build)
    p = sub.add_parser("recount", help="check the item counters against the items (--repair fixes them)",
                       description="Compare the counters the home page and the list show (items per "
                                   "village and stage) with the items themselves; exit 1 if they differ. "
                                   "With --repair, write them again from the items.")
    p.add_argument("--repair", action="store_true", help="rewrite the counters that differ")
    p.set_defaults(fn=cmd_recount)
    return parser


def cmd_open_data_build(args) -> int:
    """Write each commune's open-data package (or one commune's) into <var_dir>/open-data/<code>/."""
    from civic.reports import opendata

    with unit_of_work() as db:
        if args.commune:
            try:
                communes = [default_commune(db, args.commune)]
            except CivicError as exc:
                return refused(exc)
        else:
            communes = list(db.execute(select(Commune).order_by(col(Commune.id))).scalars())
        for commune in communes:
            out = opendata.build(db, commune, get_settings().var_dir)
            print(f"{commune.code}: {out / opendata.PACKAGE}")
    return 0


def cmd_recount(args) -> int:
    with unit_of_work(write=args.repair) as db:
        wrong = items.recount(db, repair=args.repair)
    for commune_id, village_id, stage, kept, actual in wrong:
        print(f"commune {commune_id}, village {village_id}, {stage}: counted {kept}, items {actual}")
    if not wrong:
        print("the item counters match the items")
        return 0
    if args.repair:
        print(f"repaired {len(wrong)} counters")
        return 0
    print(f"{len(wrong)} counters differ from the items: run civic recount --repair", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    get_settings()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
