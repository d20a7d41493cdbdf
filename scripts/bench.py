"""`make bench`: seed a large commune and measure the core pages with a real load generator.

1. Build (or reuse) a benchmark SQLite database under var/bench/ — never var/civic.db: the Alembic
   migrations, a commune of 200 villages with their household registers, the 6 categories, a village head
   and a supervisor, and 100,000 items over three years, each with its audit events in one valid hash
   chain. The built file is kept as a pristine copy; every run works on a fresh copy of it, so runs
   start from the same state (the submission benchmark adds items).
2. Serve the app as in production: `civic serve --workers 2 --no-access-log` on a free port.
3. Measure with wrk (installed with apt-get when missing): the home page, a filtered list, a search,
   an item's status page (rotating over many items) and the submission POST (checked afterwards: the
   number of new items must match the number of 303 answers); the Open311 API: GET requests.json with
   1,000 requests a response (a date range among the newest items, checked once before measuring) and
   POST requests.json with an API key and a unique token a request (checked like the submission).
4. Print requests/s and p50/p99 latency per endpoint against the reference figures; stop the server.

Each page is measured twice: with repeated URLs (a page cache, if the app has one, answers them) and
with unique URLs (every request rendered). `--server nodelay` runs the same app under uvicorn's
multi-worker supervisor with TCP_NODELAY restored, to separate the app's cost from uvicorn issue #3149
(with --workers N, every keep-alive response waits ~40 ms for a delayed ACK).

Then (without --only; alone with `--goals`) the table of the goals: each scenario's req/s as a share of
a ceiling app (a bare FastAPI app rendering an 8 KB Jinja page, scripts/bench_ceiling.py) served the
same way in the same run, with civic's page cache off (on for the mixed reads and submissions: measured
from an empty cache, then after --warm seconds of its reads, the goal's figure).

Options: --items N, --duration S, --rebuild, --pristine DB (an existing database built before the latest
migrations: its copy is migrated, nothing is rebuilt), --only home,list,search,status,submit,open311,
--goals, --json PATH; --db postgres (the same on a throwaway PostgreSQL cluster) and --growth SMALL,BIG (the
pages at two sizes on PostgreSQL, and their ratio): scripts/bench_pg.py;
`--help` lists the rest (--urls, --server, --gzip, --wait-quiet, …).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
LUA = Path(__file__).resolve().parent / "bench_wrk.lua"
# Bump when the generated data changes, so an old pristine database is rebuilt.
GENERATOR_VERSION = 1
SECRET_KEY = "civic-bench-secret-key-only-for-the-local-benchmark-0123456789"

# A well-known participation platform on this kind of machine (2 cores): its idea list and idea page.
REFERENCE = {"list": 23.0, "status": 47.0}
TARGET_FACTOR = 50

SCENARIOS = ("home", "list", "search", "status", "submit", "open311_list", "open311_post")
# `--only list` runs the filtered list and the search; `--only open311` both Open311 scenarios.
GROUPS = {"list": ("list", "search"), "open311": ("open311_list", "open311_post")}
OPEN311_PAGE = 1000  # GET requests.json: one full page, the spec's cap


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the data --------------------------------------------------------------------------------------

VILLAGE_STEMS = [
    "Hưng Đạo", "Tân Tiến", "Đồng Tâm", "Quyết Thắng", "Thống Nhất", "Đoàn Kết", "Hoà Bình", "Tiền Phong",
    "Hợp Nhất", "Thắng Lợi", "Phú Lộc", "An Thịnh", "Bình Minh", "Đông Hải", "Trung Hà", "Yên Bình",
    "Phú Cường", "Tân Lập", "Liên Phương", "Minh Khai", "Quang Trung", "Lê Lợi", "Hùng Vương", "Văn Lang",
    "Cẩm Khê",
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
GIVEN = ["Văn Hải", "Thị Lan", "Văn Minh", "Thị Hoa", "Đức Thắng", "Thị Mai", "Văn Tùng", "Thị Hằng",
         "Quang Huy", "Thị Thu", "Văn Sơn", "Thị Nga", "Minh Tuấn", "Thị Yến"]
HAMLETS = ["Trên", "Giữa", "Dưới", "Đông", "Tây", "Chợ", "Đình", "Bến", "Cuối"]

# Per category: (title, description) templates; {n} is a number, {h} a hamlet.
TEXTS: dict[str, list[tuple[str, str]]] = {
    "drainage": [
        ("Cống ngõ {n} bị tắc",
         "Sau mấy trận mưa, cống thoát nước ngõ {n} bị rác và bùn làm tắc, nước tràn lên đường."),
        ("Mương xóm {h} bị bồi lắng", "Mương thoát nước xóm {h} bị bồi lắng, mùa mưa nước ngập vào nhà dân."),
        ("Xây mương thoát nước dọc đường xóm {h}",
         "Đề xuất xây mương thoát nước dài khoảng {n}0 m dọc đường xóm {h}; các hộ góp công, góp đất."),
        ("Hố ga hở nắp ở ngõ {n}", "Hố ga ở đầu ngõ {n} bị mất nắp, rất nguy hiểm cho trẻ em đi học."),
    ],
    "roads": [
        ("Đường ngõ {n} nhiều ổ gà",
         "Đoạn đường ngõ {n} xóm {h} xuống cấp, nhiều ổ gà, trời mưa lầy lội khó đi."),
        ("Bê tông hoá ngõ {n}",
         "Ngõ {n} dài khoảng {n}0 m vẫn là đường đất. Đề xuất bê tông hoá, các hộ góp tiền và ngày công."),
        ("Mở rộng đường liên xóm {h}",
         "Đường liên xóm {h} hẹp, xe cứu thương không vào được. Đề xuất mở rộng, các hộ hiến đất."),
        ("Lắp gương cầu lồi ở ngã ba xóm {h}",
         "Ngã ba xóm {h} khuất tầm nhìn, đã có va quệt. Đề nghị lắp gương cầu lồi."),
    ],
    "lighting": [
        ("Đèn đường ngõ {n} không sáng",
         "Mấy bóng đèn đường ở ngõ {n} hỏng đã lâu, buổi tối học sinh đi học về rất tối."),
        ("Lắp đèn năng lượng mặt trời xóm {h}",
         "Đề xuất lắp {n} cột đèn năng lượng mặt trời trên trục đường xóm {h}; các hộ góp tiền."),
        ("Thay bóng cao áp bằng đèn LED", "Thay các bóng cao áp tốn điện ở xóm {h} bằng đèn LED tiết kiệm."),
    ],
    "environment": [
        ("Rác thải đổ bừa bãi cạnh bờ kênh",
         "Có người đổ rác sinh hoạt cạnh bờ kênh xóm {h}, bốc mùi và thu hút ruồi muỗi."),
        ("Trồng cây xanh quanh sân chơi",
         "Sân chơi của trẻ em xóm {h} nắng gắt, đề nghị trồng hàng cây bóng mát."),
        ("Xây điểm tập kết rác có mái che",
         "Xây điểm tập kết rác có mái che ở cuối ngõ {n}, tránh rác bị mưa cuốn trôi."),
        ("Khói đốt rơm rạ gây ô nhiễm",
         "Mùa gặt nhiều hộ đốt rơm rạ ngoài đồng, khói bay vào khu dân cư xóm {h}."),
    ],
    "public_order": [
        ("Tụ tập gây ồn ào sau 23 giờ",
         "Một nhóm thanh niên thường tụ tập hát karaoke ngoài trời sau 23 giờ ở ngõ {n}."),
        ("Lắp camera an ninh ở đầu ngõ", "Đề nghị lắp camera ở đầu ngõ {n} và ngõ {n}1 để phòng trộm cắp."),
        ("Xe tải chạy quá tốc độ qua thôn",
         "Xe tải chở vật liệu chạy nhanh qua đường xóm {h}, nguy hiểm cho người đi bộ."),
    ],
    "other": [
        ("Sửa mái nhà văn hoá", "Mái nhà văn hoá xóm {h} bị dột nhiều chỗ, ảnh hưởng sinh hoạt chung."),
        ("Xây nhà để xe chung", "Xây nhà để xe chung cạnh sân nhà văn hoá, mỗi hộ góp {n}00 nghìn đồng."),
        ("Loa truyền thanh xóm {h} bị rè",
         "Loa truyền thanh ở xóm {h} bị rè, người dân không nghe rõ thông báo."),
    ],
}
CATEGORY_WEIGHTS = {"drainage": 22, "roads": 26, "lighting": 16, "environment": 16, "public_order": 10,
                    "other": 10}

REJECT_REASONS = ["Ngoài khả năng ngân sách của thôn năm nay; thôn sẽ đưa vào kế hoạch năm sau.",
                  "Việc này thuộc thẩm quyền của huyện; đã hướng dẫn người phản ánh.",
                  "Nội dung chưa rõ vị trí; mời gửi lại với địa chỉ cụ thể."]
REDIRECTS = [("Bộ phận tiếp công dân UBND xã",
              "Tranh chấp đất đai được giải quyết tại bộ phận tiếp công dân."),
             ("Điện lực huyện", "Lưới điện do Điện lực quản lý; đã chuyển phản ánh.")]
DUPLICATE_REASON = "Đã có phản ánh trước về cùng vị trí."
WITHDRAW_REASONS = ["", "Đã được sửa.", "Các hộ đã tự thu xếp."]
STAGE_NOTES = {
    "discuss": "Đã niêm yết tại nhà văn hoá và thông báo trên loa truyền thanh 3 ngày.",
    "do": "Hội nghị thôn biểu quyết thông qua: đa số hộ gia đình đồng ý.",
    "inspect": "Công trình hoàn thành 100 %; mọi khoản đóng góp đã được ghi nhận.",
}
CLOSINGS = {
    "done": "Ban Thanh tra nhân dân đã nghiệm thu: đúng nghị quyết, chất lượng đạt.",
    "not_approved": "Hội nghị thôn: chưa đủ quá nửa số hộ đồng ý.",
    "not_done": "Không thực hiện được; Ban giám sát xác nhận dừng thực hiện.",
}

# The steps after "submitted" that lead to each final state.
PATHS = {
    "submitted": [],
    "recategorized": ["recategorize"],
    "know": ["accept"],
    "discuss": ["accept", "discuss"],
    "do": ["accept", "discuss", "do"],
    "inspect": ["accept", "discuss", "do", "inspect"],
    "done": ["accept", "discuss", "do", "inspect", "close:done"],
    "rejected": ["reject"],
    "duplicate": ["mark_duplicate"],
    "redirected": ["redirect"],
    "withdrawn_early": ["withdraw"],
    "withdrawn": ["accept", "withdraw"],
    "not_approved": ["accept", "discuss", "close:not_approved"],
    "not_done": ["accept", "discuss", "do", "close:not_done"],
}
# Where items end up: older items have travelled further; new ones mostly wait or are just known.
WEIGHTS_OLD = {"submitted": 1, "recategorized": 1, "know": 6, "discuss": 10, "do": 8, "inspect": 6,
               "done": 16, "rejected": 16, "duplicate": 6, "redirected": 8, "withdrawn_early": 2,
               "withdrawn": 3, "not_approved": 8, "not_done": 4}
WEIGHTS_NEW = {"submitted": 20, "recategorized": 10, "know": 30, "discuss": 15, "rejected": 10,
               "duplicate": 5, "redirected": 5, "withdrawn_early": 3, "withdrawn": 2}


def _village_names(n: int) -> list[str]:
    return [VILLAGE_STEMS[i % len(VILLAGE_STEMS)]
            + (f" {i // len(VILLAGE_STEMS) + 1}" if i >= len(VILLAGE_STEMS) else "") for i in range(n)]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"


def build_database(path: Path, *, n_items: int, n_villages: int, seed: int, url: str = "",
                   bulk_insert=None) -> dict:
    """Create the benchmark database at `path` (built beside it and renamed when complete).

    `url` and `bulk_insert(conn, households, items, events)`: build into that (empty) database instead,
    the bulk rows written by the given function (scripts/bench_pg.py: COPY into PostgreSQL)."""
    from sqlalchemy import insert, select, update

    from civic import clock
    from civic.accounts import service as accounts
    from civic.areas import service as areas
    from civic.areas.models import Household
    from civic.audit.models import AuditEvent, AuditHead
    from civic.audit.rules import canonical_json, link_hash
    from civic.cli import migrate
    from civic.db import build_engine, unit_of_work
    from civic.items.models import Category, Item
    from civic.items.rules import fold, format_code
    from civic.seed.demo import CATEGORIES

    tmp = path.with_name(path.stem + ".building.db")
    if not url:
        _remove_db(tmp)
        url = f"sqlite:///{tmp}"
    t0 = time.perf_counter()
    migrate(url)
    t_migrate = time.perf_counter() - t0
    engine = build_engine(url)
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(days=3 * 365)
    setup_at = first - timedelta(days=2)

    # The commune, villages, categories and officials go through the real services (their events
    # open the chain); the bulk of items and events is computed here and inserted with executemany.
    clock.freeze(setup_at)
    try:
        with unit_of_work(write=True, engine=engine) as db:
            commune = areas.create_commune(db, code="NS", name="Nhạo Sơn", province="Phú Thọ")
            villages = []
            for i, name in enumerate(_village_names(n_villages)):
                kind = "to_dan_pho" if i % 5 == 4 else "thon"
                villages.append(areas.create_village(db, commune, name=name,
                                                     slug=fold(name).replace(" ", "-"), kind=kind,
                                                     label="thôn" if kind == "thon" else "tổ dân phố"))
            cats = []
            for pos, (code, vi, en, group, kw) in enumerate(CATEGORIES):
                c = Category(commune_id=commune.id, code=code, name_vi=vi, name_en=en, group=group,
                             keywords=kw, min_disclosure_days=3, position=pos, attributes="[]")
                db.add(c)
                cats.append(c)
            db.flush()
            village_head = accounts.create_user(db, phone="0900000102", display_name="Trần Thị Bình",
                                             password="bench-village_head")
            for v in villages:
                accounts.grant(db, village_head, role="village_head", commune_id=commune.id, village_id=v.id,
                               title="Cán bộ tiếp nhận phản ánh")
            supervisor = accounts.create_user(db, phone="0900000103", display_name="Lê Văn Cường",
                                              password="bench-supervisor")
            accounts.grant(db, supervisor, role="supervisor", commune_id=commune.id,
                           title="Trưởng Ban Thanh tra nhân dân xã")
            commune_id, commune_code = commune.id, commune.code
            village_ids = [v.id for v in villages]
            cat_by_code = {c.code: c.id for c in cats}
            sec_id, sup_id = village_head.id, supervisor.id
    finally:
        clock.reset()
    t_setup = time.perf_counter() - t0 - t_migrate

    # Households: 40–120 a village, a few of which left the register.
    households = []
    for vi, vid in enumerate(village_ids):
        count = rng.randint(40, 120)
        for n in range(1, count + 1):
            households.append({"village_id": vid, "code": f"V{vi + 1:03d}-{n:03d}", "head_name": _person(rng),
                               "active_from": date(2020, 1, 1) + timedelta(days=rng.randint(0, 900)),
                               "active_to": ((now - timedelta(days=rng.randint(10, 300))).date() if n <= 2
                                             else None)})

    # Items, in creation order; their ids are assigned here so events can refer to them.
    span = (now - timedelta(hours=1) - first).total_seconds()
    created = sorted(first + timedelta(seconds=rng.random() * span) for _ in range(n_items))
    cat_codes = list(CATEGORY_WEIGHTS)
    cat_weights = list(CATEGORY_WEIGHTS.values())
    old_states, old_w = list(WEIGHTS_OLD), list(WEIGHTS_OLD.values())
    new_states, new_w = list(WEIGHTS_NEW), list(WEIGHTS_NEW.values())
    seqs: dict[int, int] = {}
    items: list[dict] = []
    codes: list[str] = []
    events: list[tuple] = []  # (at, item_id, step_no, actor_id, role, action, payload)
    for idx, at in enumerate(created):
        item_id = idx + 1
        year = at.astimezone(clock.LOCAL_TZ).year
        seq = seqs[year] = seqs.get(year, 0) + 1
        code = format_code(commune_code, year, seq)
        codes.append(code)
        age = (now - at).total_seconds()
        cat_code = rng.choices(cat_codes, cat_weights)[0]
        category_id = cat_by_code[cat_code]
        village_id = rng.choice(village_ids)
        kind = rng.choices(("concern", "recommendation", "proposal"), (50, 30, 20))[0]
        t_title, t_desc = rng.choice(TEXTS[cat_code])
        hamlet, num = rng.choice(HAMLETS), rng.randint(1, 40)
        title = t_title.format(n=num, h=hamlet)
        description = t_desc.format(n=num, h=hamlet)
        address = f"Ngõ {num}, xóm {hamlet}" if rng.random() < 0.8 else ""
        channel = rng.choices(("web", "api", "assisted"), (85, 10, 5))[0]
        located = rng.random() < 0.5
        state = (rng.choices(new_states, new_w) if age < 30 * 86400 else rng.choices(old_states, old_w))[0]
        steps = PATHS[state]

        # When each step happened: triage within days, later stages over weeks or months.
        times = []
        if steps:
            t = at + timedelta(seconds=min(rng.uniform(0.05, 6) * 86400, age * 0.3))
            times.append(t)
            rest = len(steps) - 1
            if rest:
                room = (now - timedelta(minutes=5) - t).total_seconds()
                window = min(room, rng.uniform(15, 240) * 86400) * 0.95
                offsets = sorted(rng.random() * window for _ in range(rest))
                times.extend(t + timedelta(seconds=o, microseconds=k + 1) for k, o in enumerate(offsets))

        submitted_actor = sec_id if channel == "assisted" else None
        events.append((at, item_id, 0, submitted_actor, "village_head" if channel == "assisted" else "author",
                       "submitted", {"code": code, "kind": kind, "village_id": village_id,
                                     "category_id": category_id, "channel": channel}))
        stage, outcome = "submitted", None
        acknowledged_at = closed_at = None
        stage_changed_at = at
        close_reason = redirected_to = ""
        duplicate_of_id = None
        for step_no, (step, when) in enumerate(zip(steps, times, strict=True), start=1):
            payload: dict = {"from": stage}
            actor, role, action = sec_id, "village_head", step
            if step == "recategorize":
                new_cat = rng.choice([c for c in cat_by_code.values() if c != category_id])
                payload.update(category_from=category_id, category_to=new_cat)
                category_id = new_cat
            elif step == "accept":
                stage, stage_changed_at, acknowledged_at = "know", when, when
                payload["to"] = "know"
            elif step in ("reject", "mark_duplicate", "redirect"):
                outcome = {"reject": "rejected", "mark_duplicate": "duplicate",
                           "redirect": "redirected"}[step]
                if step == "reject":
                    reason = rng.choice(REJECT_REASONS)
                elif step == "redirect":
                    redirected_to, reason = rng.choice(REDIRECTS)
                    payload["destination"] = redirected_to
                else:
                    reason = DUPLICATE_REASON
                    if item_id > 1:
                        duplicate_of_id = rng.randint(max(1, item_id - 500), item_id - 1)
                        payload["original"] = codes[duplicate_of_id - 1]
                    else:  # nothing older to point at
                        outcome, reason, action = "rejected", REJECT_REASONS[0], "reject"
                payload.update(reason=reason, to="closed", outcome=outcome)
                stage, stage_changed_at, acknowledged_at = "closed", when, when
                closed_at, close_reason = when, reason
            elif step == "withdraw":
                actor, role = None, "author"
                reason = rng.choice(WITHDRAW_REASONS)
                if reason:
                    payload["reason"] = reason
                payload.update(to="closed", outcome="withdrawn")
                stage, outcome, stage_changed_at, closed_at = "closed", "withdrawn", when, when
                close_reason = reason
            elif step.startswith("close:"):
                outcome = step.split(":", 1)[1]
                actor, role, action = sup_id, "supervisor", "stage_changed"
                payload.update(to="closed", outcome=outcome, reason=CLOSINGS[outcome])
                stage, stage_changed_at, closed_at, close_reason = "closed", when, when, CLOSINGS[outcome]
            else:  # discuss / do / inspect
                action = "stage_changed"
                payload.update(to=step, text=STAGE_NOTES[step])
                stage, stage_changed_at = step, when
            events.append((when, item_id, step_no, actor, role, action, payload))

        updated_at = times[-1] if times else at
        items.append({
            "id": item_id, "commune_id": commune_id, "code": code, "year": year, "seq": seq, "kind": kind,
            "category_id": category_id, "village_id": village_id, "title": title, "description": description,
            "address": address,
            "lat": round(21.30 + rng.random() * 0.1, 6) if located else None,
            "lng": round(105.15 + rng.random() * 0.1, 6) if located else None,
            "stage": stage, "outcome": outcome, "close_reason": close_reason, "redirected_to": redirected_to,
            "duplicate_of_id": duplicate_of_id, "reporter_id": None,
            "contact_name": _person(rng) if (channel == "assisted" or rng.random() < 0.6) else "",
            "contact_phone": f"09{rng.randint(10000000, 99999999)}",
            "show_name": rng.random() < 0.3, "channel": channel,
            "entered_by_id": sec_id if channel == "assisted" else None,
            "client_token": f"{rng.getrandbits(128):032x}" if channel != "api" else None,
            "manage_token_hash": hashlib.sha256(f"bench-manage-{seed}-{item_id}".encode()).hexdigest(),
            "attributes": "{}", "search_text": fold(f"{title} {description} {address}"),
            "created_at": at, "updated_at": updated_at, "acknowledged_at": acknowledged_at,
            "stage_changed_at": stage_changed_at, "closed_at": closed_at,
        })
    t_generate = time.perf_counter() - t0 - t_migrate - t_setup

    with engine.begin() as conn:
        head_seq, prev = conn.execute(select(AuditHead.seq, AuditHead.hash)
                                      .where(AuditHead.commune_id == commune_id)).one()
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        rows = []
        seq = head_seq
        for at, item_id, _n, actor, role, action, payload in events:
            seq += 1
            digest = link_hash(prev, commune_id=commune_id, seq=seq, item_id=item_id, actor_id=actor,
                               actor_role=role, action=action, payload=payload, created_at=at)
            rows.append({"commune_id": commune_id, "seq": seq, "item_id": item_id, "actor_id": actor,
                         "actor_role": role, "action": action, "payload": canonical_json(payload),
                         "created_at": at, "prev_hash": prev, "hash": digest})
            prev = digest
        t_hash = time.perf_counter()
        if bulk_insert is not None:
            bulk_insert(conn, households, items, rows)
        else:
            conn.execute(insert(Household), households)
            for start in range(0, len(items), 20000):
                conn.execute(insert(Item), items[start:start + 20000])
            for start in range(0, len(rows), 50000):
                conn.execute(insert(AuditEvent), rows[start:start + 50000])
        conn.execute(update(AuditHead).where(AuditHead.commune_id == commune_id).values(seq=seq, hash=prev))
        t_insert = time.perf_counter() - t_hash
    if bulk_insert is None:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    if bulk_insert is None:
        _remove_db(path)
        tmp.rename(path)
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    total = time.perf_counter() - t0
    return {"items": len(items), "events": len(rows) + head_seq, "households": len(households),
            "villages": len(village_ids), "head_seq": seq, "seconds": round(total, 1),
            "phases": {"migrate": round(t_migrate, 1), "setup": round(t_setup, 1),
                       "generate": round(t_generate, 1), "insert": round(t_insert, 1)}}


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _build_key(n_items: int, n_villages: int, seed: int) -> str:
    h = hashlib.sha256(json.dumps({"v": GENERATOR_VERSION, "items": n_items, "villages": n_villages,
                                   "seed": seed}).encode())
    for f in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def pristine_database(args) -> tuple[Path, dict, str]:
    """The pristine SQLite database for these parameters (built if needed), its metadata and its key."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    key = _build_key(args.items, args.villages, args.seed)
    pristine = BENCH_DIR / f"pristine-{key}.db"
    meta_path = BENCH_DIR / f"pristine-{key}.json"
    meta = None
    if args.pristine:
        pristine = Path(args.pristine).resolve()
        meta_path = pristine.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        log(f"using {pristine} ({meta['items']:,} items, built {meta['built_at']}); its copy is migrated")
    elif pristine.exists() and meta_path.exists() and not args.rebuild:
        meta = json.loads(meta_path.read_text())
        log(f"reusing {pristine.relative_to(ROOT)} ({meta['items']:,} items, {meta['events']:,} events, "
            f"built {meta['built_at']})")
    else:
        for old in BENCH_DIR.glob("pristine-*.json"):  # older builds of this size (other sizes stay)
            if json.loads(old.read_text()).get("items") == args.items:
                _remove_db(old.with_suffix(".db"))
                old.unlink()
        log(f"building the benchmark database: {args.items:,} items over {args.villages} villages …")
        meta = build_database(pristine, n_items=args.items, n_villages=args.villages, seed=args.seed)
        meta.update(built_at=datetime.now(UTC).isoformat(timespec="seconds"), key=key)
        log(f"built in {meta['seconds']} s {meta['phases']}: {meta['items']:,} items, {meta['events']:,} "
            f"audit events, {meta['households']:,} households")
        if not args.no_verify:
            _verify_chain(pristine, "after the build")
        meta_path.write_text(json.dumps(meta, indent=2))
    return pristine, meta, key


def prepare_database(args) -> tuple[Path, dict]:
    """The pristine database for these parameters (built if needed) and a fresh working copy of it."""
    pristine, meta, _key = pristine_database(args)
    for stale in BENCH_DIR.glob("paths-*.txt"):
        stale.unlink()
    work = BENCH_DIR / "run.db"
    _remove_db(work)
    wal = Path(str(pristine) + "-wal")
    if wal.exists() and wal.stat().st_size:  # someone opened the pristine copy: take a consistent snapshot
        src, dst = sqlite3.connect(pristine), sqlite3.connect(work)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    else:
        shutil.copyfile(pristine, work)
    if args.pristine:
        from civic.cli import migrate

        migrate(f"sqlite:///{work}")
    return work, meta


def _civic_command() -> list[str]:
    exe = Path(sys.executable).parent / "civic"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "civic.cli"]


# A benchmark database: an SQLite file, or the URL of a PostgreSQL database (`--db postgres`).
Database = Path | str


def _db_url(db: Database) -> str:
    return db if isinstance(db, str) else f"sqlite:///{db}"


def _connect(db: Database):
    """A read connection (DB-API) to the benchmark database, SQLite or PostgreSQL."""
    if isinstance(db, str):
        import bench_pg

        return bench_pg.connect(db, autocommit=True)
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def _db_env(db: Database) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=_db_url(db), SECRET_KEY=SECRET_KEY)
    env.pop("CIVIC_DATABASE_URL", None)
    return env


def _verify_chain(db: Database, when: str) -> bool:
    t = time.perf_counter()
    proc = subprocess.run([*_civic_command(), "audit", "verify"], env=_db_env(db), capture_output=True,
                          text=True, cwd=ROOT)
    took = time.perf_counter() - t
    text = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode == 0:
        log(f"civic audit verify {when}: {text[-1] if text else 'ok'} ({took:.1f} s)")
        return True
    log(f"civic audit verify {when} FAILED (exit {proc.returncode}): {' | '.join(text[-3:])}")
    return False


def _count_items(db: Database) -> int:
    conn = _connect(db)
    try:
        return conn.execute("SELECT count(*) FROM item").fetchone()[0]
    finally:
        conn.close()


def _settled_count(db: Database, quiet: float = 1.0, limit: float = 60.0) -> int:
    """The number of items once the server has finished the requests wrk left in flight when it stopped."""
    deadline = time.monotonic() + limit
    count = _count_items(db)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = _count_items(db)
        if again == count:
            return count
        count = again
    return count


def _sample(db: Database, seed: int, n_codes: int) -> dict:
    conn = _connect(db)
    try:
        villages = [r[0] for r in conn.execute("SELECT id FROM village ORDER BY id")]
        categories = [r[0] for r in conn.execute("SELECT id FROM category WHERE active "
                                                 "ORDER BY position, id")]
        codes = [r[0] for r in conn.execute("SELECT code FROM item ORDER BY id")]
    finally:
        conn.close()
    rng = random.Random(seed + 1)
    return {"villages": villages, "categories": categories,
            "codes": rng.sample(codes, min(n_codes, len(codes)))}


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def background_load(seconds: float = 2.0) -> float | None:
    """Percent of all CPUs busy while this benchmark does nothing: other work on the machine skews it."""
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    return round(100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0)), 1)


# --- the server ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_nodelay(port: int, workers: int) -> None:
    """uvicorn with N workers over a listening socket marked IPPROTO_TCP, for `--server nodelay`.

    uvicorn's multi-worker supervisor binds its socket with proto 0; the accepted sockets inherit it and
    asyncio then skips TCP_NODELAY, so every keep-alive response waits ~40 ms for a delayed ACK
    (Kludex/uvicorn#3149). This launcher shows what the app does without that stall.
    """
    from uvicorn.supervisors import Multiprocess

    config = _NoDelayConfig("civic.main:create_app", factory=True, host="127.0.0.1", port=port,
                            workers=workers, access_log=False, proxy_headers=True)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


try:
    import uvicorn as _uvicorn

    class _NoDelayConfig(_uvicorn.Config):
        def bind_socket(self):
            sock = super().bind_socket()
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return sock
            fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            fixed.set_inheritable(True)
            return fixed
except ImportError:  # pragma: no cover - only the nodelay launcher needs it
    pass


class Server:
    def __init__(self, db: Database, workers: int, kind: str = "civic", env: dict[str, str] | None = None):
        self.db, self.workers, self.kind, self.env = db, workers, kind, env or {}
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = BENCH_DIR / "server.log"

    def start(self, timeout: float = 60) -> None:
        if self.kind == "nodelay":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-nodelay", str(self.port),
                   str(self.workers)]
        elif self.kind == "ceiling":
            cmd = [sys.executable, str(Path(__file__).resolve().parent / "bench_ceiling.py"), str(self.port),
                   str(self.workers)]
        else:
            cmd = [*_civic_command(), "serve", "--workers", str(self.workers), "--no-access-log",
                   "--port", str(self.port)]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env={**_db_env(self.db), **self.env}, cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        # every worker must be up: ask a few times
                        for _ in range(self.workers * 4):
                            urllib.request.urlopen(self.base + "/healthz", timeout=5).read()
                        names = {"civic": "civic serve", "ceiling": "ceiling app"}
                        launcher = names.get(self.kind, "nodelay launcher")
                        log(f"server up on {self.base} ({launcher}"
                            f", {self.workers} workers, pid {self.proc.pid})")
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        else:  # the supervisor is gone; make sure no worker of its group lingers
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()
        self.proc = None
        log("server stopped")


# --- the load ----------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: apt-get install -y wrk")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], env=env).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], env=env, check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


def run_wrk(wrk: str, base: str, script_args: list[str], *, duration: float, threads: int, connections: int
            ) -> dict:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
           "--timeout", "30s", "-s", str(LUA), base, "--", *script_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(min(1.0, duration / 2))
        spread = _connections_per_process(int(base.rsplit(":", 1)[1]))
        stdout, stderr = proc.communicate(timeout=duration + 120)
    except BaseException:  # a timeout, Ctrl-C or SIGTERM: never leave the load generator running
        proc.kill()
        proc.communicate()
        raise
    for line in stdout.splitlines():
        if line.startswith("BENCHJSON "):
            result = json.loads(line[len("BENCHJSON "):])
            result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
            result["connections_per_worker"] = spread
            return result
    raise RuntimeError(f"wrk failed (exit {proc.returncode}): {stdout[-800:]} {stderr[-800:]}")


def _connections_per_process(port: int) -> list[int]:
    """How the load generator's connections are spread over the server's worker processes (Linux `ss`)."""
    if not shutil.which("ss"):
        return []
    try:
        out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


def _summarise(name: str, label: str, r: dict, ok_statuses) -> dict:
    seconds = r["duration_us"] / 1e6
    e = r["errors"]
    bad_status = sum(n for code, n in r["statuses"].items() if not ok_statuses(code))
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    return {"endpoint": name, "label": label, "requests": r["requests"], "seconds": round(seconds, 2),
            "rps": round(r["requests"] / seconds, 1) if seconds else 0.0,
            "p50_ms": round(r["latency_us"]["p50"] / 1000, 2),
            "p90_ms": round(r["latency_us"]["p90"] / 1000, 2),
            "p99_ms": round(r["latency_us"]["p99"] / 1000, 2),
            "max_ms": round(r["latency_us"]["max"] / 1000, 2),
            "errors": bad_status + socket_errors, "bad_status": bad_status, "socket_errors": e,
            "statuses": r["statuses"], "kb_per_response": round(r["bytes"] / max(1, r["requests"]) / 1024, 1),
            "connections_per_worker": r.get("connections_per_worker", [])}


def _write_paths(name: str, paths: list[str]) -> Path:
    f = BENCH_DIR / f"paths-{name}.txt"
    f.write_text("\n".join(paths) + "\n")
    return f


def bench_get(wrk, server, name, label, paths, args, *, unique: bool) -> dict:
    """GET the paths in rotation. unique: every URL gets a parameter no page reads, so that no cache can
    answer; else the same URLs come again (a page cache, if any, answers after the warm-up)."""
    variant = "unique" if unique else "repeat"
    f = _write_paths(f"{name}-{variant}", paths)

    def script_args():
        extra = ["unique", os.urandom(3).hex()] if unique else []
        return ["paths", str(f), *extra, *(["gzip"] if args.gzip else [])]

    if args.warmup:
        run_wrk(wrk, server.base, script_args(), duration=args.warmup, threads=args.threads,
                connections=args.connections)
    r = run_wrk(wrk, server.base, script_args(), duration=args.duration, threads=args.threads,
                connections=args.connections)
    out = _summarise(name, label, r, lambda code: 200 <= code < 400)
    out["variant"] = variant
    log(f"{name:7} {variant:7} {out['rps']:>8,.1f} req/s  "
        f"p50 {out['p50_ms']:.1f} ms  p99 {out['p99_ms']:.1f} ms  "
        f"statuses {out['statuses']}  connections per worker {out['connections_per_worker']}")
    return out


def _session_for_submit(base: str) -> tuple[str, str]:
    with urllib.request.urlopen(base + "/submit", timeout=30) as r:
        html = r.read().decode()
        cookies = r.headers.get_all("Set-Cookie") or []
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    cookie = next((c.split(";", 1)[0].split("=", 1)[1] for c in cookies if c.startswith("civic_session=")),
                  None)
    if not m or not cookie:
        raise RuntimeError("GET /submit gave no CSRF token or no civic_session cookie")
    return m.group(1), cookie


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def bench_submit(wrk, server, db: Database, sample: dict, args) -> dict:
    csrf, cookie = _session_for_submit(server.base)
    title = urllib.parse.quote_plus("Đèn đường ngõ 5 không sáng")
    desc = urllib.parse.quote_plus("Ba bóng đèn đường ở ngõ 5 đã hỏng hơn hai tuần, buổi tối rất tối.")
    villages = ",".join(map(str, sample["villages"]))
    categories = ",".join(map(str, sample["categories"]))

    # One submission by hand first, so a broken form shows its answer instead of thousands of errors.
    body = urllib.parse.urlencode({"csrf_token": csrf,
                                   "client_token": f"probe{os.getpid()}{int(time.time())}",
                                   "kind": "concern", "village_id": sample["villages"][0],
                                   "category_id": sample["categories"][0],
                                   "title": "Đèn đường ngõ 5 không sáng",
                                   "description": "Ba bóng đèn đường ở ngõ 5 đã hỏng hơn hai tuần.",
                                   "contact_phone": "0912345678"}).encode()
    req = urllib.request.Request(server.base + "/submit", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          "Cookie": f"civic_session={cookie}"})
    try:
        status, answer = urllib.request.build_opener(_NoRedirect).open(req, timeout=30).status, ""
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read().decode(errors="replace")
    if status != 303:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer))[:400]
        raise RuntimeError(f"a probe POST /submit answered {status}, not 303: {text}")

    def script_args():
        nonce = os.urandom(4).hex()
        return ["submit", csrf, cookie, nonce, villages, categories, title, desc]

    if args.warmup:
        run_wrk(wrk, server.base, script_args(), duration=args.warmup, threads=args.threads,
                connections=args.connections)
    before = _settled_count(db)
    r = run_wrk(wrk, server.base, script_args(), duration=args.duration, threads=args.threads,
                connections=args.connections)
    after = _settled_count(db)
    out = _summarise("submit", "POST /submit (303 → /submitted/…)", r, lambda code: code == 303)
    return _check_creations(out, "submit ", r, before, after, 303, args.connections)


def _check_creations(out: dict, tag: str, r: dict, before: int, after: int, status: int,
                     connections: int) -> dict:
    """Items created must match the successful answers (+ at most one in flight per connection)."""
    created, answered = after - before, r["statuses"].get(status, 0)
    in_flight = created - answered
    # wrk stops with up to one request per connection unanswered; the server may still commit those.
    consistent = 0 <= in_flight <= connections
    out["check"] = {"items_before": before, "items_after": after, "items_created": created,
                    f"responses_{status}": answered, "committed_after_wrk_stopped": in_flight,
                    "ok": consistent}
    log(f"{tag} {out['rps']:>8,.1f} req/s  p50 {out['p50_ms']:.1f} ms  p99 {out['p99_ms']:.1f} ms  "
        f"statuses {out['statuses']}; items +{created:,} for {answered:,} × {status}"
        f"{'' if in_flight == 0 else f' (+{in_flight} answered after wrk stopped)'} → "
        f"{'consistent' if consistent else 'MISMATCH'}")
    if not consistent:
        out["errors"] += abs(in_flight)
    return out


# --- the Open311 API ---------------------------------------------------------------------------------

def _w3c(stored: str | datetime) -> datetime:
    """A created_at as SQLite keeps it (UTC, naive or with +00:00), or as PostgreSQL gives it."""
    value = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _open311_window(db: Database, want: int) -> dict:
    """start_date/end_date around the newest items: the shortest range (whole days, at most the spec's 90)
    that holds at least `want` requests, from the spread of the generated dates."""
    conn = _connect(db)
    try:
        first, last, total = conn.execute("SELECT min(created_at), max(created_at), count(*) FROM item"
                                          ).fetchone()
        end = _w3c(last).replace(microsecond=0) + timedelta(seconds=1)
        for days in (7, 14, 30, 60, 90):
            start = end - timedelta(days=days)
            held = conn.execute(f"SELECT count(*) FROM item WHERE created_at >= '{start:%Y-%m-%d %H:%M:%S}' "
                                f"AND created_at <= '{end:%Y-%m-%d %H:%M:%S}'").fetchone()[0]
            if held >= want:
                break
    finally:
        conn.close()
    span_days = (_w3c(last) - _w3c(first)).total_seconds() / 86400
    return {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "days": days, "items_in_range": held, "items_from": str(first)[:19], "items_to": str(last)[:19],
            "items_per_day": round(total / max(span_days, 1), 1)}


def bench_open311_list(wrk, server, db: Database, args) -> dict:
    win = _open311_window(db, OPEN311_PAGE)
    path = (f"/open311/v2/requests.json?start_date={win['start']}&end_date={win['end']}"
            f"&page_size={OPEN311_PAGE}")
    log(f"open311 items from {win['items_from']} to {win['items_to']} "
        f"(about {win['items_per_day']:g} a day); "
        f"{win['days']} days up to the newest hold {win['items_in_range']:,}")
    # Once by hand first: the response must really hold a full page of requests.
    with urllib.request.urlopen(server.base + path, timeout=60) as r:
        body = r.read()
        listed = json.loads(body)
    if len(listed) != OPEN311_PAGE:
        raise RuntimeError(f"GET {path} held {len(listed)} requests, not {OPEN311_PAGE}")
    log(f"open311 GET requests.json holds {len(listed):,} requests ({len(body) / 1024:,.0f} KB) — measuring")
    out = bench_get(wrk, server, "open311_list", f"GET /open311/v2/requests.json ({OPEN311_PAGE:,} requests)",
                    [path], args, unique=True)
    out["check"] = {"requests_in_response": len(listed), "kb_per_response": round(len(body) / 1024, 1), **win}
    return out


def _create_api_key(db: Database) -> str:
    """An API key in the benchmark database, through the real service (hashed, audited)."""
    from sqlalchemy import select

    import civic.models  # noqa: F401  (every table, so foreign keys resolve)
    from civic.accounts import service as accounts
    from civic.areas.models import Commune
    from civic.db import build_engine, unit_of_work

    engine = build_engine(_db_url(db))
    try:
        with unit_of_work(write=True, engine=engine) as session:
            commune_id = session.execute(select(Commune.id).order_by(Commune.id)).scalars().first()
            _key, secret = accounts.create_api_key(session, commune_id=commune_id, name="make bench")
    finally:
        engine.dispose()
    return secret


def bench_open311_post(wrk, server, db: Database, args) -> dict:
    api_key = _create_api_key(db)
    conn = _connect(db)
    try:
        services = [r[0] for r in conn.execute("SELECT code FROM category WHERE active "
                                               "ORDER BY position, id")]
        villages = [r[0] for r in conn.execute("SELECT slug FROM village ORDER BY id")]
    finally:
        conn.close()
    desc = urllib.parse.quote_plus("Ba bóng đèn đường ở ngõ 5 đã hỏng hơn hai tuần, buổi tối rất tối.")
    # One request by hand first, so a broken request shows its answer instead of thousands of errors.
    body = urllib.parse.urlencode({"api_key": api_key, "service_code": services[0], "lat": "21.3021",
                                   "long": "105.2104", "address_id": villages[0],
                                   "token": f"probe{os.getpid()}{int(time.time())}",
                                   "description": "Ba bóng đèn đường ở ngõ 5 đã hỏng hơn hai tuần."}).encode()
    req = urllib.request.Request(server.base + "/open311/v2/requests.json", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, answer = r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read().decode(errors="replace")
    if status != 200 or "service_request_id" not in answer:
        raise RuntimeError(f"a probe POST /open311/v2/requests.json answered {status}: {answer[:400]}")

    def script_args():
        return ["open311", api_key, os.urandom(4).hex(), ",".join(services), ",".join(villages), desc]

    if args.warmup:
        run_wrk(wrk, server.base, script_args(), duration=args.warmup, threads=args.threads,
                connections=args.connections)
    before = _settled_count(db)
    r = run_wrk(wrk, server.base, script_args(), duration=args.duration, threads=args.threads,
                connections=args.connections)
    after = _settled_count(db)
    out = _summarise("open311_post", "POST /open311/v2/requests.json (api_key, unique token)", r,
                     lambda code: code == 200)
    return _check_creations(out, "open311 POST", r, before, after, 200, args.connections)


# --- the report ------------------------------------------------------------------------------------

# --- the goals: shares of a ceiling app served the same way in the same run ---------------------------

# (scenario, label, goal as a share of the ceiling's req/s, p99 limit in ms or None)
GOALS = (
    ("status", "status page, rendered every time (cache off)", 0.40, None),
    ("list", "filtered list, rendered every time", 0.35, None),
    ("mixed", "mixed, cache warm: 90 % reads, 5 % GET /submit, 5 % POST", 0.45, None),
    ("triage", "triage queue, signed-in village head of all villages", 0.15, None),
    ("submit", "POST /submit alone", 0.15, 250.0),
)


def _login(base: str, phone: str, password: str) -> str:
    """A signed-in session cookie, through the login form as a browser sends it."""
    with urllib.request.urlopen(base + "/login", timeout=30) as r:
        html = r.read().decode()
        cookies = r.headers.get_all("Set-Cookie") or []
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    cookie = next((c.split(";", 1)[0].split("=", 1)[1] for c in cookies
                   if c.startswith("civic_session=")), "")
    if not token or not cookie:
        raise RuntimeError("GET /login gave no CSRF token or no session cookie")
    body = urllib.parse.urlencode({"csrf_token": token.group(1), "phone": phone,
                                   "password": password}).encode()
    req = urllib.request.Request(base + "/login", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          "Cookie": f"civic_session={cookie}"})
    try:
        answer = urllib.request.build_opener(_NoRedirect).open(req, timeout=30)
        status, headers = answer.status, answer.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    if status != 303:
        raise RuntimeError(f"POST /login answered {status}, not 303")
    signed = next((c.split(";", 1)[0].split("=", 1)[1] for c in headers.get_all("Set-Cookie") or []
                   if c.startswith("civic_session=")), cookie)
    return signed


def _prime(server, paths: list[str], cookie: str = "") -> None:
    """Each worker's first pages compile their templates and load catalogs: ask for a few by hand (each
    worker several times) before the load generator starts, so no measured request waits for that."""
    headers = {"Cookie": f"civic_session={cookie}"} if cookie else {}
    for path in paths[:16] * (server.workers * 2):
        request = urllib.request.Request(server.base + path, headers=headers)
        try:
            urllib.request.urlopen(request, timeout=60).read()
        except urllib.error.HTTPError:
            pass


def _goal_run(wrk, server, name: str, label: str, script_args, args, ok_statuses) -> dict:
    if args.warmup:
        run_wrk(wrk, server.base, script_args(), duration=args.warmup, threads=args.threads,
                connections=args.connections)
    r = run_wrk(wrk, server.base, script_args(), duration=args.duration, threads=args.threads,
                connections=args.connections)
    out = _summarise(name, label, r, ok_statuses)
    log(f"{name:8} {out['rps']:>8,.1f} req/s  p50 {out['p50_ms']:.1f} ms  p99 {out['p99_ms']:.1f} ms  "
        f"statuses {out['statuses']}")
    return out


def bench_goals(wrk, db: Database, sample: dict, args) -> dict:
    """The ceiling app, then civic with its page cache off (every page rendered): each goal scenario."""
    results: dict[str, dict] = {}
    ceiling = Server(db, args.workers, "ceiling")
    try:
        ceiling.start()
        f = _write_paths("ceiling", ["/"])
        results["ceiling"] = _goal_run(wrk, ceiling, "ceiling", "ceiling: 8 KB Jinja page, no database",
                                       lambda: ["paths", str(f)], args, lambda c: c == 200)
    finally:
        ceiling.stop()
    server = Server(db, args.workers, "civic", env={"CIVIC_PAGE_CACHE": "0"})
    try:
        server.start()
        status_paths = _write_paths("goal-status", [f"/items/{c}" for c in sample["codes"]])
        list_paths = [f"/items?village={v}&stage=discuss" for v in sample["villages"]]
        random.Random(args.seed + 3).shuffle(list_paths)
        list_file = _write_paths("goal-list", list_paths)
        mixed = [f"/items/{c}" for c in sample["codes"][:2000]] + list_paths
        random.Random(args.seed + 4).shuffle(mixed)
        mixed_file = _write_paths("goal-mixed", mixed)
        _prime(server, [f"/items/{c}" for c in sample["codes"][:8]] + list_paths[:4] + ["/", "/submit"])
        results["status"] = _goal_run(wrk, server, "status", GOALS[0][1],
                                      lambda: ["paths", str(status_paths)], args, lambda c: c == 200)
        results["list"] = _goal_run(wrk, server, "list", GOALS[1][1],
                                    lambda: ["paths", str(list_file)], args, lambda c: c == 200)
        cookie = _login(server.base, "0900000102", "bench-village_head")
        triage_file = _write_paths("goal-triage", ["/triage"])
        _prime(server, ["/triage"], cookie)
        results["triage"] = _goal_run(wrk, server, "triage", GOALS[3][1],
                                      lambda: ["authpaths", str(triage_file), cookie], args,
                                      lambda c: c == 200)
        results["submit"] = bench_submit(wrk, server, db, sample, args)
    finally:
        server.stop()
    # The mixed traffic as deployed: the page cache on, so each submission must not empty it. First from
    # an empty cache (each worker renders each of the 2,200 pages the first time it is asked: a run of 10 s
    # asks for each about once, so this measures rendering), then with the cache warm, as a commune's
    # pages are once they have been read: the goal's figure.
    server = Server(db, args.workers, "civic")
    try:
        server.start()
        title = urllib.parse.quote_plus("Đèn đường ngõ 5 không sáng")
        desc = urllib.parse.quote_plus("Ba bóng đèn đường ở ngõ 5 đã hỏng hơn hai tuần, buổi tối rất tối.")
        villages = ",".join(map(str, sample["villages"]))
        categories = ",".join(map(str, sample["categories"]))
        _prime(server, [f"/items/{c}" for c in sample["codes"][:8]] + list_paths[:4] + ["/submit"])
        before = _settled_count(db)

        def mixed_args():
            return ["mixed", str(mixed_file), os.urandom(4).hex(), villages, categories, title, desc]

        results["mixed_cold"] = _goal_run(wrk, server, "cold", "mixed, cache empty at the start", mixed_args,
                                          argparse.Namespace(**{**vars(args), "warmup": 0}),
                                          lambda c: c in (200, 303))
        if args.warm:  # every read path of the mix, over every connection, until each worker holds it
            run_wrk(wrk, server.base, ["paths", str(mixed_file)], duration=args.warm, threads=args.threads,
                    connections=args.connections)
        results["mixed"] = _goal_run(wrk, server, "mixed", GOALS[2][1], mixed_args, args,
                                     lambda c: c in (200, 303))
        results["mixed"]["items_created"] = _settled_count(db) - before
    finally:
        server.stop()
    return results


def print_goals(goals: dict, meta: dict, args) -> bool:
    """The goal table; True when every goal is met."""
    ceiling = goals["ceiling"]["rps"] or 1.0
    print()
    print(f"goals at {meta['items']:,} items — share of the ceiling app served the same way in this run "
          f"(ceiling {ceiling:,.1f} req/s, p50 {goals['ceiling']['p50_ms']:.1f} ms, "
          f"p99 {goals['ceiling']['p99_ms']:.1f} ms); civic's page cache off but for the mixed traffic")
    head = (f"{'scenario':<62} {'req/s':>9} {'share':>7} {'goal':>6} {'p50':>9} {'p99':>10} "
            f"{'errors':>7}  met")
    print(head)
    print("-" * len(head))
    all_met = True
    for name, label, goal, p99_limit in GOALS:
        r = goals[name]
        share = r["rps"] / ceiling
        met = share >= goal and (p99_limit is None or r["p99_ms"] < p99_limit) and not r["errors"]
        all_met &= met
        goal_text = f"{goal:.2f}" + (f" · p99 < {p99_limit:.0f} ms" if p99_limit else "")
        print(f"{label:<62} {r['rps']:>9,.1f} {share:>7.2f} {goal:>6.2f} {r['p50_ms']:>6.1f} ms "
              f"{r['p99_ms']:>7.1f} ms {r['errors']:>7}  {'yes' if met else 'NO'}"
              + ("" if not p99_limit else f" (goal {goal_text})"))
    cold = goals.get("mixed_cold")
    if cold:
        label = "mixed, cache empty at the start (not a goal: each page is rendered)"
        print(f"{label:<62} {cold['rps']:>9,.1f} {cold['rps'] / ceiling:>7.2f} {'':>6} "
              f"{cold['p50_ms']:>6.1f} ms {cold['p99_ms']:>7.1f} ms {cold['errors']:>7}")
    if "items_created" in goals.get("mixed", {}):
        print(f"mixed: {goals['mixed']['items_created']:,} items created by the POSTs of both mixed runs")
    return all_met


def print_table(results: list[dict], meta: dict, args) -> None:
    print()
    server_name = "civic serve" if args.server == "civic" else "uvicorn + TCP_NODELAY"
    print(f"civic bench — {meta['items']:,} items, {meta['villages']} villages, "
          f"{meta['events']:,} audit events; server: {server_name}, {args.workers} workers; "
          f"wrk: {args.threads} threads × {args.connections} connections, "
          f"{args.duration:g} s each; {os.cpu_count()} CPUs shared by server and wrk")
    head = f"{'endpoint':<64} {'req/s':>9} {'p50':>9} {'p99':>10} {'errors':>7} {'conns':>7}  vs reference"
    print(head)
    print("-" * (len(head) + 14))
    for r in results:
        ref = REFERENCE.get("list" if r["endpoint"] in ("list", "search") else r["endpoint"])
        versus = ""
        if ref:
            factor = r["rps"] / ref
            versus = f"{factor:,.0f}× (target {TARGET_FACTOR}× = {ref * TARGET_FACTOR:,.0f}) " +\
                ("ok" if factor > TARGET_FACTOR else "BELOW")
        spread = "/".join(map(str, r.get("connections_per_worker") or [])) or "?"
        print(f"{r['label']:<64} {r['rps']:>9,.1f} {r['p50_ms']:>6.1f} ms {r['p99_ms']:>7.1f} ms "
              f"{r['errors']:>7} "
              f"{spread:>7}  {versus}")
    print()
    print(f"Reference: a well-known participation platform serves its idea list at about "
          f"{REFERENCE['list']:g} req/s and its idea page at about {REFERENCE['status']:g} on this kind of "
          f"machine; the target is more than "
          f"{TARGET_FACTOR}× that: ≈{REFERENCE['list'] * TARGET_FACTOR:,.0f} req/s for a list and "
          f"≈{REFERENCE['status'] * TARGET_FACTOR:,.0f} for an item page.")
    print("errors = non-2xx/3xx answers and socket errors (for the submission: anything but 303).")
    print("conns = how the load generator's connections were spread over the server's worker processes.")
    print("repeated = the same URLs again (a page cache answers after the warm-up); unique URLs = a "
          "parameter no page reads makes every request new, so each page is rendered.")
    sub = next((r for r in results if r["endpoint"] == "submit"), None)
    if sub:
        c = sub["check"]
        print(f"submission check: {c['items_created']:,} new items for {c['responses_303']:,} answers 303 "
              f"({c['committed_after_wrk_stopped']} committed after wrk stopped) — "
              f"{'consistent' if c['ok'] else 'MISMATCH'}")
    o_list = next((r for r in results if r["endpoint"] == "open311_list"), None)
    if o_list:
        c = o_list["check"]
        print(f"open311 list check: each response holds {c['requests_in_response']:,} requests "
              f"({c['kb_per_response']:,.0f} KB JSON): start_date={c['start']} end_date={c['end']} "
              f"({c['days']} days, {c['items_in_range']:,} items; items run from {c['items_from']} to "
              f"{c['items_to']}, about {c['items_per_day']:g} a day)")
    o_post = next((r for r in results if r["endpoint"] == "open311_post"), None)
    if o_post:
        c = o_post["check"]
        print(f"open311 POST check: {c['items_created']:,} new items for {c['responses_200']:,} answers 200 "
              f"({c['committed_after_wrk_stopped']} committed after wrk stopped) — "
              f"{'consistent' if c['ok'] else 'MISMATCH'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=100_000,
                   help="items in the benchmark database (default 100000)")
    p.add_argument("--villages", type=int, default=200, help="villages (default 200)")
    p.add_argument("--seed", type=int, default=20260101, help="random seed of the generated data")
    p.add_argument("--duration", type=float, default=10, help="seconds of load per endpoint (default 10)")
    p.add_argument("--warmup", type=float, default=2,
                   help="seconds of warm-up per endpoint (default 2; 0: none)")
    p.add_argument("--warm", type=float, default=30,
                   help="seconds of reads that warm the page cache before the mixed goal's run (default 30)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    p.add_argument("--server", choices=("civic", "nodelay"), default="civic",
                   help="civic: `civic serve` as shipped (default); nodelay: the same app under uvicorn's "
                        "multi-worker supervisor with TCP_NODELAY restored (uvicorn issue #3149), for "
                        "comparison")
    p.add_argument("--serve-nodelay", nargs=2, type=int, metavar=("PORT", "WORKERS"), help=argparse.SUPPRESS)
    p.add_argument("--codes", type=int, default=10_000, help="item codes the status page rotates over")
    p.add_argument("--hot", type=int, default=100,
                   help="item codes of the repeated status-page run (default 100)")
    p.add_argument("--urls", choices=("both", "repeat", "unique"), default="both",
                   help="GET each page with repeated URLs (a page cache can answer), with unique URLs (every "
                        "request rendered), or both (default)")
    p.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip on GETs, as browsers do")
    p.add_argument("--rebuild", action="store_true", help="rebuild the benchmark database even if one exists")
    p.add_argument("--pristine", metavar="DB",
                   help="use this pristine database (with its .json beside it), built before the latest "
                        "migrations: its working copy is migrated to the latest instead of a rebuild")
    p.add_argument("--build-only", action="store_true", help="build (or check) the database and stop")
    p.add_argument("--only", default="", help="comma-separated: home,list,search,status,submit,open311 "
                                              "(list = the filtered list and the search; open311 = "
                                              "open311_list and open311_post)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip `civic audit verify` after the build and run")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                   help="wait up to S seconds for other work on the machine to stop before measuring")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                   help="sqlite (default), or postgres: a throwaway PostgreSQL cluster, loaded from the "
                        "SQLite database of the same key (or generated straight into it when there is none) "
                        "and kept under var/bench/pg-<key>/ (scripts/bench_pg.py)")
    p.add_argument("--growth", nargs="?", const="100000,1000000", metavar="SMALL,BIG",
                   help="on PostgreSQL: the pages at two sizes (default 100000,1000000), side by side, and "
                        "the table of req/s and ratios (goal: at least 0.8)")
    p.add_argument("--goals", action="store_true",
                   help="only the goal table: a ceiling app, then civic with its page cache off (status "
                        "page, filtered list, mixed reads and submissions, triage queue, POST /submit)")
    args = p.parse_args(argv)
    if args.serve_nodelay:  # internal: the server process of `--server nodelay`
        _serve_nodelay(*args.serve_nodelay)
        return 0

    for name in (s.strip() for s in args.only.split(",") if s.strip()):
        if name not in SCENARIOS and name not in GROUPS:
            p.error(f"--only: unknown endpoint {name!r}; choose from {', '.join([*SCENARIOS, *GROUPS])}")

    # Never let this process (or a child) fall back on var/civic.db or a developer's DATABASE_URL.
    os.environ.update(DATABASE_URL=f"sqlite:///{BENCH_DIR / 'run.db'}", SECRET_KEY=SECRET_KEY)
    os.environ.pop("CIVIC_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)

    started = time.perf_counter()
    if args.growth:
        import bench_pg

        return bench_pg.growth(args, pristine_database)
    if args.db == "postgres":
        import bench_pg

        url, pg_meta, cluster = bench_pg.prepare(args, pristine_database)
        os.environ["DATABASE_URL"] = url
        try:
            return 0 if args.build_only else _run(args, url, pg_meta, started)
        finally:
            cluster.stop()
    db, meta = prepare_database(args)
    if args.build_only:
        return 0
    return _run(args, db, meta, started)


def _run(args, db: Database, meta: dict, started: float) -> int:
    """The scenarios (or only the goal table) against the prepared database; 1 when something failed."""
    chosen: list[str] = []
    for name in (s.strip() for s in args.only.split(",") if s.strip()):
        chosen.extend(n for n in GROUPS.get(name, (name,)) if n not in chosen)
    chosen = [s for s in SCENARIOS if s in chosen] if chosen else list(SCENARIOS)
    sample = _sample(db, args.seed, args.codes)
    wrk = ensure_wrk()

    load_before = background_load()
    waited_until = time.monotonic() + args.wait_quiet
    while load_before is not None and load_before > 10 and time.monotonic() < waited_until:
        log(f"waiting for a quiet machine: {load_before:.0f} % of the CPUs busy with other work")
        time.sleep(3)
        load_before = background_load()
    if load_before is not None:
        log(f"background CPU load before the run: {load_before:.0f} % of {os.cpu_count()} CPUs"
            + (" — other work is running; the figures will be low and noisy" if load_before > 10 else ""))
    if args.goals:
        goals = bench_goals(wrk, db, sample, args)
        met = print_goals(goals, meta, args)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({"database": meta, "goals": goals}, indent=2,
                                                  ensure_ascii=False))
        return 0 if met else 1
    server = Server(db, args.workers, args.server)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def _stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in previous:
        signal.signal(sig, _stop)
    results: list[dict] = []
    chain_ok = None
    try:
        server.start()
        rng = random.Random(args.seed + 2)
        list_paths = [f"/items?village={v}&stage=discuss" for v in sample["villages"]]
        rng.shuffle(list_paths)
        codes = sample["codes"]
        hot = codes[:args.hot]
        gets = {
            # name: ((label, paths) with the same URLs again, (label, paths) with every URL new)
            "home": (("GET /", ["/"]), ("GET /", ["/"])),
            "list": ((f"GET /items?village=…&stage=discuss ({len(list_paths)} villages)", list_paths),
                     (f"GET /items?village=…&stage=discuss ({len(list_paths)} villages)", list_paths)),
            "search": (("GET /items?q=duong (whole commune)", ["/items?q=duong"]),
                       ("GET /items?q=duong (whole commune)", ["/items?q=duong"])),
            "status": ((f"GET /items/<code> ({len(hot):,} hot items)", [f"/items/{c}" for c in hot]),
                       (f"GET /items/<code> ({len(codes):,} items)", [f"/items/{c}" for c in codes])),
        }
        variants = {"both": (False, True), "repeat": (False,), "unique": (True,)}[args.urls]
        for name in chosen:
            if name == "submit":
                results.append(bench_submit(wrk, server, db, sample, args))
                continue
            if name == "open311_list":
                results.append(bench_open311_list(wrk, server, db, args))
                continue
            if name == "open311_post":
                results.append(bench_open311_post(wrk, server, db, args))
                continue
            for unique in variants:
                label, paths = gets[name][1 if unique else 0]
                label += " · unique URLs" if unique else " · repeated"
                results.append(bench_get(wrk, server, name, label, paths, args, unique=unique))
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    load_after = background_load()
    if ("submit" in chosen or "open311_post" in chosen) and not args.no_verify:
        chain_ok = _verify_chain(db, "after the run")

    print_table(results, meta, args)
    if load_before is not None and load_after is not None:
        busy = max(load_before, load_after)
        warning = " — NOT a quiet machine: treat these figures as a lower bound" if busy > 10 else ""
        print(f"background CPU load (other processes, measured while idle before/after): "
              f"{load_before:.0f} % / {load_after:.0f} %" + warning)
    if chain_ok is not None:
        print(f"audit chain after the run: {'intact' if chain_ok else 'BROKEN'}")
    media_result = None
    if not args.only:  # the evidence-upload figure: one 4 MB phone photo through check, resize, store
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_media

        media_result = bench_media.measure()
        print(bench_media.summary(media_result))
    goals_met = None
    if not args.only:  # the goal table: a ceiling app and civic with its page cache off, same run
        goals = bench_goals(wrk, db, sample, args)
        goals_met = print_goals(goals, meta, args)
        media_result = {"photo_upload": media_result, "goals": goals}
    print(f"(whole bench: {time.perf_counter() - started:.0f} s; "
          f"server log: {server.log_path.relative_to(ROOT)})")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "database": meta, "cpus": os.cpu_count(),
            "load": {"tool": "wrk", "threads": args.threads, "connections": args.connections,
                     "duration_s": args.duration, "warmup_s": args.warmup, "server_workers": args.workers,
                     "server": args.server, "gzip": args.gzip},
            "reference_rps": REFERENCE, "target_factor": TARGET_FACTOR,
            "results": results, "audit_chain_ok_after_run": chain_ok,
            "background_cpu_percent": {"before": load_before, "after": load_after},
            "photo_upload": media_result,
        }, indent=2, ensure_ascii=False))
        log(f"figures written to {args.json}")
    failed = any(r["errors"] for r in results) or chain_ok is False or goals_met is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
