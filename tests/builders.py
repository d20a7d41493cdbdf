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
