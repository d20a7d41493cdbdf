"""Plain builder functions for tests: make_item(session, stage="know", …). No fixtures with magic."""

from __future__ import annotations

import itertools
import re
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.accounts.service import Viewer, load_viewer
from civic.areas import service as areas
from civic.areas.models import Commune, Household, Village
from civic.items import service as items
from civic.items.models import Category, Item
from civic.items.schemas import SubmitForm
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


ROLE_HELD_SINCE = date(2020, 1, 1)


def make_user(db: Session, role: str | None = None, *, commune: Commune | None = None,
              village: Village | None = None, name: str = "Người Thử", phone: str | None = None,
              password: str = PASSWORD) -> User:
    user = accounts.create_user(db, phone=phone or next_phone(), display_name=name, password=password)
    if role:
        # Held since long before any date a test moves the clock back to (a grant counts only in its term).
        accounts.grant(db, user, role=role, commune_id=commune.id if commune else None,
                       village_id=village.id if village else None, starts_on=ROLE_HELD_SINCE)
    return user


def viewer(db: Session, user: User | None) -> Viewer:
    return load_viewer(db, user.id) if user else Viewer()


def item_data(village: Village, category: Category, **over) -> dict:
    data = {"kind": "concern", "village_id": str(village.id), "category_id": str(category.id),
            "title": "Cống bị tắc trước nhà văn hoá", "description": "Nước tràn lên đường sau mưa lớn.",
            "address": "Xóm Trên", "contact_phone": "0912345678"}
    data.update(over)
    return data


def make_item(db: Session, commune: Commune, village: Village, category: Category, *,
              stage: str = "submitted", reporter: User | None = None, **over) -> Item:
    """An item taken to `stage` through the real services (submitted, know, or a triage closure).

    The same reporter sending the same text again within minutes gets the item it made (a repeat), so
    each further item of a commune gets its number in the description unless the test gives one."""
    if "description" not in over:
        before = db.execute(select(func.count()).select_from(Item).where(col(Item.commune_id) == commune.id)
                            ).scalar_one()
        if before:
            over["description"] = f"Nước tràn lên đường sau mưa lớn (lần {before + 1})."
    form = SubmitForm.parse(item_data(village, category, **over))
    result = items.submit(db, commune, form, viewer(db, reporter))
    item = result.item
    item._manage_token = result.manage_token  # type: ignore[attr-defined]
    if stage == "submitted":
        return item
    village_head = make_user(db, "village_head", commune=commune, village=village, name="Thư Ký")
    sec = viewer(db, village_head)
    if stage == "know":
        move(db, item, "accept", sec)
    elif stage in ("rejected", "duplicate", "redirected"):
        if stage == "rejected":
            move(db, item, "reject", sec, {"reason": "Ngoài khả năng của thôn."})
        elif stage == "redirected":
            move(db, item, "redirect", sec,
                 {"destination": "Bộ phận tiếp công dân", "reason": "Tranh chấp đất đai."})
        else:
            first = SubmitForm.parse(item_data(village, category, title="Bản gốc phản ánh"))
            original = items.submit(db, commune, first, Viewer()).item
            move(db, item, "mark_duplicate", sec, {"original_code": original.code,
                                                                  "reason": "Trùng với phản ánh trước."})
    else:
        # Later stages are reached through their own services; tests of them set the stage directly.
        item.stage = stage
        item.updated_at = clock.now()
        db.flush()
    return item


def world(db: Session):
    """A commune with two villages, a category, and one user of each role (village head of village A)."""
    commune = make_commune(db)
    a = make_village(db, commune, "Hưng Đạo")
    b = make_village(db, commune, "Tân Tiến")
    cat = make_category(db, commune)
    users = {
        "resident": make_user(db, "resident", commune=commune, village=a, name="Dân Một"),
        "village_head": make_user(db, "village_head", commune=commune, village=a, name="Trưởng Thôn A"),
        "other_head": make_user(db, "village_head", commune=commune, village=b, name="Trưởng Thôn B"),
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
                "village_id": item.village_id, "category_id": item.category_id,
                "close_reason": item.close_reason,
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
    steps = re.findall(r'<li ([^>]*class="step [^>]*)>\s*'
                       r'<span [^>]*class="step-name"[^>]*>(?:<[^>]+>)*([^<]+)<', html)
    return [(name.strip(), 'aria-current="step"' in attrs) for attrs, name in steps]


# --- Dân làm / Dân kiểm tra ----------------------------------------------------------------------------

def households_of(db: Session, village: Village) -> list[Household]:
    from sqlalchemy import select as _sel

    return list(db.execute(_sel(Household).where(Household.village_id == village.id)
                           .order_by(Household.id)).scalars())


def make_representative(db: Session, commune: Commune, village: Village, household: Household | None = None,
                        name: str = "Chủ Hộ") -> User:
    """A resident who represents a household of the village (the first one unless given)."""
    household = household or households_of(db, village)[0]
    user = make_user(db, "resident", commune=commune, village=village, name=name)
    accounts.link_household(db, user, household, representative=True)
    return user


CONSENT = {"consent_text": "Hộ gia đình tự nguyện hiến đất làm mương theo nghị quyết hội nghị thôn.",
           "consent_on": "2026-01-10", "witness_name": "Nguyễn Văn Trưởng", "witness_role": "Trưởng thôn"}


def consent() -> dict:
    """CONSENT given today (by the test's clock): a consent may not be dated before the item was raised."""
    return {**CONSENT, "consent_on": clock.today_local().isoformat()}


def pledge_data(kind: str = "land", amount: str = "20", **over) -> dict:
    data = {"kind": kind, "amount": amount, **consent()}
    if kind == "land":
        # Recorded by the village head on the household's behalf, land needs the consent confirmed in
        # person (or a scan); a household's own land pledge needs the scan (consent_scan()).
        data["parcel_ref"] = "Thửa 123, tờ bản đồ 5"
        data["consent_in_person"] = "1"
    if kind == "materials":
        data.update(description="Xi măng", unit="bao")
    data.update(over)
    return data


# --- Dân biết / Dân bàn -------------------------------------------------------------------------------

def make_household_rep(db: Session, village: Village, index: int = 0, *, representative: bool = True,
                        name: str = "Chủ Hộ") -> User:
    """A user linked to the village's `index`-th household (by id), its representative by default."""
    from sqlalchemy import select as _sel

    household = db.execute(_sel(Household).where(Household.village_id == village.id).order_by(Household.id)
                           .offset(index).limit(1)).scalar_one()
    user = make_user(db, "resident", commune=db.get(Commune, village.commune_id), village=village, name=name)
    accounts.link_household(db, user, household, representative=representative)
    return user


def disclose(db: Session, item: Item, village_head: User, days_ago: int = 3, *, backdate: bool = True,
             **over):
    """A disclosure on the notice board that started `days_ago` days ago and runs for 7 days.

    A disclosure cannot start before the item was accepted, so with `backdate` an item accepted later than
    the disclosure's first day is taken as accepted at the start of that day (as if the test had begun
    then)."""
    from datetime import datetime as _dt
    from datetime import time as _time
    from datetime import timedelta as _td

    from civic.deliberation import service as deliberation

    start = clock.today_local() - _td(days=days_ago)
    if backdate and item.acknowledged_at is not None and deliberation.accepted_on(item) > start:
        item.acknowledged_at = _dt.combine(start, _time(0, 0), tzinfo=clock.LOCAL_TZ)
        db.flush()
    data = {"channel": "notice_board", "place": "Bảng tin nhà văn hoá", "starts_on": start.isoformat(),
            "ends_on": (start + _td(days=7)).isoformat()}
    data.update(over)
    from civic.deliberation.schemas import DisclosureForm

    return deliberation.add_disclosure(db, item, viewer(db, village_head), DisclosureForm.parse(data))


def make_discuss_item(db: Session, commune: Commune, village: Village, category: Category,
                      village_head: User, *,
                      asks_contribution: bool = True, **over) -> Item:
    """An item taken to Dân bàn through the real services: accepted, disclosed 3 days ago, discussion
    opened."""
    item = make_item(db, commune, village, category, stage="know", **over)
    disclose(db, item, village_head, days_ago=3)
    move(db, item, "open_discussion", viewer(db, village_head),
                        {"question": f"Có đồng ý: {item.title}?",
                         "matter": "1" if asks_contribution else "6", "scope": "village"})
    return item


# --- photos and documents ------------------------------------------------------------------------------
# Real files made with Pillow / pypdf in the test, never fixtures on disk.

def photo_bytes(size: tuple[int, int] = (2400, 1800), fmt: str = "JPEG", *, orientation: int | None = None,
                gps: bool = False, color=(180, 40, 40), corner=(0, 200, 0), **save) -> bytes:
    """A photo of `size` filled with `color`, with a `corner`-coloured block in its top-left corner (as
    stored, before any EXIF orientation), optionally with an EXIF orientation and a GPS position."""
    import io

    from PIL import Image

    mode = "RGBA" if fmt == "PNG" and len(color) == 4 else "RGB"
    im = Image.new(mode, size, color)
    w, h = size
    im.paste(corner + ((255,) if mode == "RGBA" else ()), (0, 0, max(1, w // 4), max(1, h // 4)))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 15"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 48.0, 10.0)}
    buf = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    if fmt in ("JPEG", "WEBP", "PNG", "HEIF"):
        save.setdefault("exif", exif.tobytes())
    im.save(buf, fmt, **save)
    return buf.getvalue()


def pdf_bytes(pages: int = 2, *, javascript: str | None = None, open_action: str | None = None,
              password: str | None = None) -> bytes:
    """A PDF of blank pages; optionally with document JavaScript, an /OpenAction ("js" or "dest"), or a
    password."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if javascript:  # a document-level script in the /Names /JavaScript tree, as viewers run on opening
        action = writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                                      NameObject("/JS"): TextStringObject(javascript)}))
        writer._root_object[NameObject("/Names")] = DictionaryObject({
            NameObject("/JavaScript"): DictionaryObject({
                NameObject("/Names"): ArrayObject([TextStringObject("script"), action])})})
    if open_action == "js":
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")})
    elif open_action == "dest":
        writer._root_object[NameObject("/OpenAction")] = ArrayObject([
            writer.pages[0].indirect_reference, NameObject("/XYZ"),
            NumberObject(0), NumberObject(0), NumberObject(0)])
    if password:
        writer.encrypt(password)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def make_attachment(db: Session, item: Item, data: bytes | None = None, *, filename: str = "anh.jpg",
                    purpose: str = "evidence", private: bool = False, actor: User | None = None, **kw):
    """An attachment stored through the real service (a photo unless `data` says otherwise)."""
    from civic.media import service as media
    from civic.media.schemas import Upload

    data = data if data is not None else photo_bytes()
    prepared = media.prepare(Upload(filename, "application/octet-stream", data), **{
        k: v for k, v in kw.items() if k in ("accept", "field")})
    return media.attach(db, item=item, upload=prepared, purpose=purpose, actor_id=actor.id if actor else None,
                        private=private, **kw)


def consent_scan() -> list:
    """The scan of a signed consent form, prepared as the pledge routes prepare uploads."""
    from civic.media import service as media
    from civic.media.schemas import Upload

    return [media.prepare(Upload("phieu-dong-y.pdf", "application/pdf", pdf_bytes(1)), field="consent_scan")]


def media_files() -> set[str]:
    """Every file under the media directory, as paths relative to it."""
    from civic.media import storage

    root = storage.root()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def move(session: Session, item, action: str, viewer: Viewer, inputs: dict | None = None, *,
         is_author: bool = False):
    """A stage move through the one mover, with its form filled in as a person would type it."""

    form = workflow.form_for(action).parse(inputs or {})
    return workflow.transition(session, item, action, viewer, form, is_author=is_author)


def leave_register(db: Session, village: Village, codes: list[str], on: date) -> None:
    """The households with these codes leave the village's register on `on`, through the areas service."""
    from sqlalchemy import select as _sel

    for code in codes:
        household = db.execute(_sel(Household).where(Household.village_id == village.id,
                                                     Household.code == code)).scalar_one()
        areas.household_leaves(db, household, on)


def hold_meeting(db: Session, item, village_head: Viewer, meeting, present: int, **record) -> None:
    """The village head ticks the first `present` households of the village's register on the meeting's roll
    and records the meeting (chaired by the village head, show of hands, secretary elected by all present)."""
    from sqlalchemy import select as _sel

    from civic.deliberation import service as deliberation
    from civic.deliberation.schemas import RecordMeetingForm, RollForm

    ids = [str(h) for h in db.execute(_sel(Household.id).where(Household.village_id == meeting.village_id)
                                      .order_by(Household.code).limit(present)).scalars()]
    if ids:
        deliberation.mark_roll(db, item, village_head, RollForm.parse({
            "meeting_id": str(meeting.id), "shown": ids, "household": ids}))
    data = {"meeting_id": str(meeting.id), "minutes_taker_name": "Bà Lan", "secretary_votes": str(present),
            "voting_mode": "show_of_hands"}
    data.update(record)
    deliberation.record_meeting(db, item, village_head, RecordMeetingForm.parse(data))


def front_agrees(db: Session, item, on: date | None = None, *, head: User | None = None) -> User:
    """The head of the item's village Front work committee (made here unless given) records the committee's
    agreement to an online vote on the item, dated `on` (today by default). Returns that head."""
    from civic.deliberation import front
    from civic.deliberation.schemas import FrontAgreeForm

    if head is None:
        head = make_user(db, "front_head", commune=db.get(Commune, item.commune_id),
                         village=db.get(Village, item.village_id), name="Trưởng Ban Mặt Trận")
    front.agree(db, item, viewer(db, head), FrontAgreeForm.parse({
        "decided_on": (on or clock.today_local()).isoformat(), "minutes_ref": "Biên bản Ban CTMT 01/2026"}))
    return head
