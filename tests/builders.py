"""Plain builder functions for tests: make_item(session, stage="know", …). No fixtures with magic."""

from __future__ import annotations

import itertools
import re
from datetime import date

from sqlmodel import Session

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.accounts.service import Viewer, load_viewer
from civic.areas import service as areas
from civic.areas.models import Commune, Household, Village
from civic.items import service as items
from civic.items.models import Category, Item
from civic.workflow import service as workflow

PASSWORD = "correct-horse-9"
_phones = itertools.count(1)


def make_commune(db: Session, code: str = "NS", name: str = "Nhạo Sơn") -> Commune:
    return areas.create_commune(db, code=code, name=name)


def make_village(db: Session, commune: Commune, name: str = "Hưng Đạo", households: int = 10) -> Village:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()) + f"-{commune.id}-{next(_phones)}"
    village = areas.create_village(db, commune, name=name, slug=slug)
    for n in range(households):
        db.add(Household(village_id=village.id, code=f"H{n:04d}", active_from=date(2020, 1, 1)))
    db.flush()
    return village


def make_category(db: Session, commune: Commune, code: str = "drainage", vi: str = "Thoát nước",
                  en: str = "Drainage") -> Category:
    cat = Category(commune_id=commune.id, code=f"{code}-{commune.id}", name_vi=vi, name_en=en)
    db.add(cat)
    db.flush()
    return cat


def next_phone() -> str:
    return f"091{next(_phones):07d}"


def make_user(db: Session, role: str | None = None, *, commune: Commune | None = None,
              village: Village | None = None, name: str = "Người Thử", phone: str | None = None,
              password: str = PASSWORD) -> User:
    user = accounts.create_user(db, phone=phone or next_phone(), display_name=name, password=password)
    if role:
        accounts.grant(db, user, role=role, commune_id=commune.id if commune else None,
                       village_id=village.id if village else None)
    return user


def viewer(db: Session, user: User | None) -> Viewer:
    return load_viewer(db, user.id) if user else Viewer()


def item_data(village: Village, category: Category, **over) -> dict:
    data = {"kind": "concern", "village_id": str(village.id), "category_id": str(category.id),
            "title": "Cống bị tắc trước nhà văn hoá", "description": "Nước tràn lên đường sau mưa lớn.",
            "address": "Xóm Trên", "contact_phone": "0912345678"}
    data.update(over)
    return data


def make_item(db: Session, commune: Commune, village: Village, category: Category, *, stage: str = "submitted",
              reporter: User | None = None, **over) -> Item:
    """An item taken to `stage` through the real services (submitted, know, or a triage closure)."""
    result = items.submit(db, commune, item_data(village, category, **over), viewer(db, reporter))
    item = result.item
    item._manage_token = result.manage_token  # type: ignore[attr-defined]
    if stage == "submitted":
        return item
    secretary = make_user(db, "secretary", commune=commune, village=village, name="Thư Ký")
    sec = viewer(db, secretary)
    if stage == "know":
        workflow.transition(db, item, "accept", sec)
    elif stage in ("rejected", "duplicate", "redirected"):
        if stage == "rejected":
            workflow.transition(db, item, "reject", sec, {"reason": "Ngoài khả năng của thôn."})
        elif stage == "redirected":
            workflow.transition(db, item, "redirect", sec, {"destination": "Bộ phận tiếp công dân",
                                                            "reason": "Tranh chấp đất đai."})
        else:
            original = items.submit(db, commune, item_data(village, category, title="Bản gốc phản ánh"),
                                    Viewer()).item
            workflow.transition(db, item, "mark_duplicate", sec, {"original_code": original.code,
                                                                  "reason": "Trùng với phản ánh trước."})
    else:
        # Later stages are reached by issue 4/5 services; tests of them set the stage directly.
        item.stage = stage
        item.updated_at = clock.now()
        db.flush()
    return item


def world(db: Session):
    """A commune with two villages, a category, and one user of each role (secretary of village A)."""
    commune = make_commune(db)
    a = make_village(db, commune, "Hưng Đạo")
    b = make_village(db, commune, "Tân Tiến")
    cat = make_category(db, commune)
    users = {
        "resident": make_user(db, "resident", commune=commune, village=a, name="Dân Một"),
        "secretary": make_user(db, "secretary", commune=commune, village=a, name="Bí Thư A"),
        "other_secretary": make_user(db, "secretary", commune=commune, village=b, name="Bí Thư B"),
        "supervisor": make_user(db, "supervisor", commune=commune, name="Giám Sát"),
        "admin": make_user(db, "admin", commune=commune, name="Quản Trị"),
    }
    return commune, a, b, cat, users


# --- helpers for service, web and CLI tests ------------------------------------------------------------
# (appended for the core-loop suite: counting rows, reading the chain, and driving the pages like a browser)

from sqlalchemy import func as _func  # noqa: E402
from sqlalchemy import select as _select  # noqa: E402

from civic.audit.models import AuditEvent  # noqa: E402
from civic.db import unit_of_work  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def count(db: Session, model, *where) -> int:
    return db.execute(_select(_func.count()).select_from(model).where(*where)).scalar_one()


def audit_events(db: Session, commune_id: int | None = None) -> list[AuditEvent]:
    stmt = _select(AuditEvent).order_by(AuditEvent.commune_id, AuditEvent.seq)
    if commune_id is not None:
        stmt = stmt.where(AuditEvent.commune_id == commune_id)
    return list(db.execute(stmt).scalars())


def snapshot(code: str) -> dict:
    """What a user could notice about an item and its commune's chain, read in a fresh transaction."""
    with unit_of_work() as db:
        item = db.execute(_select(Item).where(Item.code == code)).scalar_one()
        return {"stage": item.stage, "outcome": item.outcome, "updated_at": clock.as_utc(item.updated_at),
                "village_id": item.village_id, "category_id": item.category_id, "close_reason": item.close_reason,
                "events": count(db, AuditEvent, AuditEvent.commune_id == item.commune_id),
                "items": count(db, Item)}


def setup_world():
    """world() committed in its own transaction, as the pages would find it."""
    with unit_of_work(write=True) as db:
        return world(db)


def setup_item(*args, **kwargs) -> Item:
    """make_item() committed in its own transaction."""
    with unit_of_work(write=True) as db:
        return make_item(db, *args, **kwargs)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"the page has no field {name!r}"
    return match.group(1)


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return csrf_from(page.text)


def login(client, user: User, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/login")
    answer = client.post("/login", data={"csrf_token": token, "phone": user.phone, "password": password},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]


def submit_form(client, village: Village, category: Category, **over) -> dict:
    """The submission form as a browser would send it: CSRF and client token taken from the page."""
    page = client.get("/submit")
    assert page.status_code == 200
    data = item_data(village, category, **over)
    data["csrf_token"] = csrf_from(page.text)
    data["client_token"] = hidden_value(page.text, "client_token")
    return data


def browser(app):
    """Another browser with its own cookies; use as a context manager."""
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False)



def stage_strip(html: str) -> list[tuple[str, bool]]:
    """The four stages of a status page's strip, each with whether it carries aria-current="step"."""
    steps = re.findall(r'<li ([^>]*class="step [^>]*)>\s*<span [^>]*class="step-name"[^>]*>(?:<[^>]+>)*([^<]+)<',
                       html)
    return [(name.strip(), 'aria-current="step"' in attrs) for attrs, name in steps]
