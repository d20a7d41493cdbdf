"""Demo data: the commune Nhạo Sơn, its villages and households, categories, about 30 items in every
stage and outcome with timelines that make sense, and the four demo accounts of the README.

Items are created and triaged through the real services with the clock moved back, so their audit
events and timelines are genuine. Stages after Dân biết are reached with a `stage_changed` event
until the deliberation, implementation and supervision services exist.
"""

from __future__ import annotations

import functools
import json
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.accounts.service import Viewer, load_viewer
from civic.areas import register
from civic.areas import service as areas
from civic.areas.models import Commune, Household, Village
from civic.audit import service as audit
from civic.boards import service as boards
from civic.boards.schemas import BoardForm, MemberForm, RecogniseForm
from civic.db import row_id
from civic.deliberation import service as deliberation
from civic.deliberation.models import Comment, Meeting
from civic.deliberation.schemas import (
    CommentForm,
    DecideForm,
    DisclosureForm,
    HideCommentForm,
    RecordMeetingForm,
    RollForm,
    ScheduleMeetingForm,
)
from civic.implementation import service as impl
from civic.implementation.models import Pledge
from civic.implementation.schemas import (
    BudgetLineForm,
    DeliveryForm,
    PledgeForm,
    PledgeOnBehalfForm,
    ProgressForm,
    SettingsForm,
    SpendingForm,
    WithdrawForm,
)
from civic.items import service as items
from civic.items.models import Category, Item
from civic.items.schemas import SubmitForm
from civic.media import service as media
from civic.media.schemas import Prepared, Upload
from civic.supervision import service as sup
from civic.supervision.schemas import AnswerForm, FindingForm, MarkForm, SignOffVoteForm, VerdictForm
from civic.workflow import service as workflow
from civic.workflow.stages import Stage

DEMO_ACCOUNTS = [
    # role, phone, password, name, title
    ("resident", "0900000001", "demo-resident", "Nguyễn Văn An", ""),
    ("village_head", "0900000002", "demo-head", "Trần Thị Bình", "Trưởng thôn Hưng Đạo"),
    ("supervisor", "0900000003", "demo-supervisor", "Lê Văn Cường", "Trưởng Ban Thanh tra nhân dân xã"),
    ("admin", "0900000004", "demo-admin", "Phạm Thị Dung", "Cán bộ Văn phòng UBND xã"),
]

VILLAGES = [
    # name, slug, kind, households (the households are in demo_register.csv)
    ("Hưng Đạo", "hung-dao", "thon", 64),
    ("Tân Tiến", "tan-tien", "thon", 112),
    ("Đồng Tâm", "dong-tam", "thon", 47),
    ("Quyết Thắng", "quyet-thang", "to_dan_pho", 88),
]

CATEGORIES = [
    # code, vi, en, group, keywords
    ("drainage", "Thoát nước", "Drainage", "infrastructure", "mương cống rãnh ngập nước"),
    ("roads", "Đường giao thông", "Roads", "infrastructure", "đường ngõ cầu ổ gà bê tông"),
    ("lighting", "Chiếu sáng", "Street lighting", "infrastructure", "đèn điện chiếu sáng"),
    ("environment", "Môi trường", "Environment", "environment", "rác thải ô nhiễm cây xanh"),
    ("public_order", "An ninh trật tự", "Public order", "safety", "an ninh trật tự tiếng ồn"),
    ("other", "Khác", "Other", "other", ""),
]

# The Open311 service definitions of the categories that ask partners for more (attribute[CODE]).
CATEGORY_ATTRIBUTES = {
    "drainage": [
        {"code": "problem", "datatype": "singlevaluelist", "required": True, "order": 1,
         "description": "Vấn đề là gì?", "description_en": "What is the problem?",
         "values": [{"key": "blocked", "name": "Tắc nghẽn", "name_en": "Blocked"},
                    {"key": "broken", "name": "Hư hỏng, vỡ", "name_en": "Broken"},
                    {"key": "flooding", "name": "Ngập nước", "name_en": "Flooding"},
                    {"key": "no_cover", "name": "Mất nắp cống", "name_en": "Missing cover"}]},
        {"code": "length_m", "datatype": "number", "required": False, "order": 2,
         "datatype_description": "mét / metres",
         "description": "Đoạn bị ảnh hưởng dài bao nhiêu mét?",
         "description_en": "How many metres are affected?"},
    ],
    "roads": [
        {"code": "surface", "datatype": "singlevaluelist", "required": False, "order": 1,
         "description": "Mặt đường", "description_en": "Road surface",
         "values": [{"key": "earth", "name": "Đường đất", "name_en": "Earth"},
                    {"key": "concrete", "name": "Bê tông", "name_en": "Concrete"},
                    {"key": "asphalt", "name": "Nhựa", "name_en": "Asphalt"}]},
        {"code": "hazards", "datatype": "multivaluelist", "required": False, "order": 2,
         "description": "Nguy hiểm", "description_en": "Hazards",
         "values": [{"key": "pothole", "name": "Ổ gà", "name_en": "Pothole"},
                    {"key": "blind_corner", "name": "Khuất tầm nhìn", "name_en": "Blind corner"},
                    {"key": "landslide", "name": "Sạt lở", "name_en": "Landslide"}]},
    ],
    "lighting": [
        {"code": "lamps_out", "datatype": "number", "required": False, "order": 1,
         "description": "Số bóng đèn không sáng", "description_en": "Number of lamps out"},
    ],
}

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn Hải", "Thị Lan", "Văn Minh", "Thị Hoa", "Đức Thắng", "Thị Mai", "Văn Tùng", "Thị Hằng",
         "Quang Huy", "Thị Thu", "Văn Sơn", "Thị Nga", "Minh Tuấn", "Thị Yến"]


def _move(session: Session, item: Item, action: str, viewer: Viewer, values: dict[str, str] | None = None,
          *, is_author: bool = False) -> Item:
    """A stage move with its form filled in as a person would type it."""
    form = workflow.form_for(action).parse(values or {})
    return workflow.transition(session, item, action, viewer, form, is_author=is_author)


@dataclass
class Plan:
    village: str
    category: str
    kind: str
    title: str
    description: str
    address: str
    target: str  # submitted | know | discuss | do | inspect | done | rejected | duplicate | redirected |
    #             withdrawn | not_approved | not_done
    days_ago: int
    note: str = ""


PLANS: list[Plan] = [
    # Awaiting triage
    Plan("hung-dao", "drainage", "concern", "Cống trước nhà văn hoá thôn bị tắc",
         "Sau mấy trận mưa, cống thoát nước trước nhà văn hoá thôn bị rác và bùn làm tắc, "
         "nước tràn lên đường.",
         "Trước nhà văn hoá thôn Hưng Đạo", "submitted", 1),
    Plan("hung-dao", "lighting", "concern", "Đèn đường ngõ 3 không sáng",
         "Ba bóng đèn đường ở ngõ 3 đã hỏng hơn hai tuần, buổi tối học sinh đi học về rất tối.",
         "Ngõ 3, xóm Trên", "submitted", 9),
    Plan("tan-tien", "environment", "concern", "Rác thải đổ bừa bãi cạnh bờ kênh",
         "Có người đổ rác sinh hoạt cạnh bờ kênh đầu thôn, bốc mùi và thu hút ruồi muỗi.",
         "Bờ kênh đầu thôn Tân Tiến", "submitted", 3),
    Plan("dong-tam", "roads", "recommendation", "Lắp gương cầu lồi ở ngã ba chợ",
         "Ngã ba cạnh chợ bị khuất tầm nhìn, đã có mấy vụ va quệt. Đề nghị lắp gương cầu lồi.",
         "Ngã ba chợ Đồng Tâm", "submitted", 6),
    Plan("quyet-thang", "public_order", "concern", "Tụ tập gây ồn ào sau 23 giờ",
         "Một nhóm thanh niên thường tụ tập hát karaoke ngoài trời sau 23 giờ ở sân bóng.",
         "Sân bóng tổ dân phố Quyết Thắng", "submitted", 2),
    # Dân biết
    Plan("hung-dao", "drainage", "proposal", "Xây mương thoát nước xóm Dưới; hộ tôi góp 20 m² đất",
         "Đề xuất xây mương thoát nước dài khoảng 300 m dọc đường xóm Dưới. Hộ tôi xin hiến 20 m² đất để "
         "làm mương; mong các hộ cùng góp công, góp tiền.", "Đường xóm Dưới", "know", 12),
    Plan("tan-tien", "roads", "proposal", "Bê tông hoá ngõ 7",
         "Ngõ 7 dài 180 m vẫn là đường đất, mùa mưa lầy lội. Đề xuất bê tông hoá, các hộ trong ngõ góp tiền "
         "và ngày công.", "Ngõ 7", "know", 8),
    Plan("dong-tam", "lighting", "recommendation", "Lắp thêm đèn ở đường ra đồng",
         "Đường ra đồng buổi sáng sớm rất tối, đề nghị lắp thêm 5 cột đèn năng lượng mặt trời.",
         "Đường ra cánh đồng Mả Mé", "know", 6),
    Plan("quyet-thang", "environment", "recommendation", "Trồng cây xanh quanh sân chơi",
         "Sân chơi của trẻ em nắng gắt, đề nghị trồng hàng cây bóng mát xung quanh.", "Sân chơi tổ dân phố",
         "know", 5),
    # Dân bàn
    Plan("hung-dao", "roads", "proposal", "Mở rộng đường liên xóm lên 5 m; các hộ hiến đất",
         "Đường liên xóm hiện rộng 3 m, xe cứu thương không vào được. Đề xuất mở rộng lên 5 m, "
         "các hộ hai bên hiến đất, ai không có đất thì góp công xây lại tường rào.",
         "Đường liên xóm Hưng Đạo", "discuss", 30),
    Plan("tan-tien", "drainage", "proposal", "Nạo vét kênh tiêu nội đồng",
         "Kênh tiêu bị bồi lắng, lúa vụ mùa hay bị ngập. Đề xuất nạo vét, mỗi hộ góp 2 ngày công.",
         "Kênh tiêu xứ đồng Trại", "discuss", 26),
    Plan("dong-tam", "other", "recommendation", "Sửa mái nhà văn hoá thôn",
         "Mái nhà văn hoá bị dột nhiều chỗ, ảnh hưởng sinh hoạt chung.", "Nhà văn hoá thôn Đồng Tâm",
         "discuss", 22),
    Plan("quyet-thang", "public_order", "recommendation", "Lắp camera an ninh ở các ngõ",
         "Đề nghị lắp 6 camera ở đầu các ngõ để phòng trộm cắp.", "Các ngõ tổ dân phố", "discuss", 20),
    # Dân làm
    Plan("hung-dao", "drainage", "proposal",  # carried through Dân làm and Dân kiểm tra
         "Đào mương thoát nước dọc đường xóm Giữa; các hộ hiến đất, góp công",
         "Mương dài 420 m dọc đường xóm Giữa để hết ngập mùa mưa. Các hộ hai bên hiến đất làm mương, "
         "các hộ khác góp tiền, ngày công hoặc vật liệu theo nghị quyết hội nghị thôn.",
         "Đường xóm Giữa", "do", 58),
    Plan("hung-dao", "lighting", "proposal", "Thắp sáng đường quê: 20 cột đèn năng lượng mặt trời",
         "Lắp 20 cột đèn năng lượng mặt trời trên trục đường chính của thôn; "
         "các hộ góp tiền theo nghị quyết.",
         "Trục đường chính thôn Hưng Đạo", "do", 55),
    Plan("tan-tien", "roads", "proposal", "Làm cầu bê tông qua mương",
         "Cây cầu tre qua mương đã mục, đề xuất làm cầu bê tông rộng 2 m.", "Cầu mương xóm Giữa", "do", 48),
    Plan("dong-tam", "drainage", "proposal", "Cải tạo rãnh thoát nước chợ",
         "Rãnh thoát nước quanh chợ bị vỡ, nước thải chảy ra đường.", "Chợ Đồng Tâm", "do", 44),
    Plan("quyet-thang", "environment", "proposal", "Xây điểm tập kết rác có mái che",
         "Xây điểm tập kết rác có mái che, tránh rác bị mưa cuốn trôi.", "Cuối tổ dân phố", "do", 40),
    # Dân kiểm tra
    Plan("hung-dao", "environment", "proposal", "Trồng 200 cây bóng mát dọc đường",
         "Mỗi hộ nhận chăm sóc cây trước cửa nhà; xã hỗ trợ cây giống.", "Đường trục thôn", "inspect", 70),
    Plan("tan-tien", "lighting", "recommendation", "Thay bóng đèn cao áp bằng đèn LED",
         "Thay 15 bóng cao áp tốn điện bằng đèn LED.", "Đường trục thôn Tân Tiến", "inspect", 65),
    Plan("quyet-thang", "roads", "proposal", "Vá ổ gà đường tổ dân phố",
         "Vá các ổ gà trên đoạn đường 400 m; các hộ góp công.", "Đường tổ dân phố Quyết Thắng",
         "inspect", 60),
    # Closed: done
    Plan("hung-dao", "drainage", "proposal", "Làm nắp cống xóm Trên",
         "Đậy nắp các hố ga hở ở xóm Trên, nguy hiểm cho trẻ em.", "Xóm Trên", "done", 110),
    Plan("dong-tam", "roads", "proposal", "Bê tông hoá ngõ 2",
         "Bê tông hoá 120 m ngõ 2, các hộ góp tiền và công.", "Ngõ 2 Đồng Tâm", "done", 100),
    Plan("tan-tien", "environment", "recommendation", "Khơi thông mương sau trường học",
         "Mương sau trường bị rác làm tắc, bốc mùi.", "Sau trường tiểu học", "done", 90),
    # Closed: other outcomes
    Plan("hung-dao", "other", "concern", "Tranh chấp ranh giới đất với hộ bên cạnh",
         "Hộ bên cạnh xây tường lấn sang đất nhà tôi khoảng 0,5 m.", "Xóm Giữa", "redirected", 20),
    Plan("hung-dao", "roads", "recommendation", "Xây sân bóng mini có cỏ nhân tạo",
         "Đề nghị xây sân bóng cỏ nhân tạo cho thanh niên.", "Bãi đất trống cạnh đình", "rejected", 18,
         "review"),
    Plan("tan-tien", "public_order", "recommendation", "Cấm xe tải vào đường làng",
         "Xe tải chở vật liệu làm hỏng đường làng, đề nghị cấm xe trên 5 tấn.", "Đường làng Tân Tiến",
         "rejected", 15),
    Plan("hung-dao", "drainage", "concern", "Cống trước nhà văn hoá bị tắc (gửi lại)",
         "Cống trước nhà văn hoá bị tắc, nước tràn lên đường.", "Trước nhà văn hoá thôn", "duplicate", 1),
    Plan("dong-tam", "lighting", "concern", "Hỏng đèn ở cổng chợ", "Đèn ở cổng chợ không sáng.",
         "Cổng chợ", "withdrawn", 14),
    Plan("quyet-thang", "other", "proposal", "Xây nhà để xe chung cho tổ dân phố",
         "Xây nhà để xe chung, mỗi hộ góp 2 triệu đồng.", "Sân nhà văn hoá tổ dân phố", "not_approved", 50),
    Plan("tan-tien", "drainage", "proposal", "Xây bể chứa nước mưa chung",
         "Xây bể chứa nước mưa 20 m³ dùng chung cho xóm.", "Xóm Cuối", "not_done", 95),
]

# The public facts recorded when a seeded item moves past Dân biết (until issues 4 and 5 record them).
STAGE_NOTES: dict[str, str] = {
    Stage.DISCUSS: "Đã niêm yết tại nhà văn hoá và thông báo trên loa truyền thanh 3 ngày.",
    Stage.DO: "Hội nghị thôn biểu quyết thông qua: đa số hộ gia đình đồng ý.",
    Stage.INSPECT: "Công trình hoàn thành 100 %; mọi khoản đóng góp đã được ghi nhận.",
}


REGISTER_FILE = Path(__file__).with_name("demo_register.csv")


def _load_register(session: Session, commune: Commune) -> None:
    """The households of the demo villages, from the bundled register file, through the same import code an
    office uses (civic/areas/register.py): a spreadsheet the commune keeps, loaded and recorded as one
    `register_imported` event."""
    today = clock.today_local()
    parsed = register.read(REGISTER_FILE.read_bytes(), register.villages(session, row_id(commune)), None,
                           today)
    plan = register.preview(session, parsed, today)
    assert plan.clean, plan.errors[:3]  # the bundled file is checked by tests/seed
    register.apply(session, row_id(commune), plan, today, actor_role="seed")


def has_data(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(Commune)).scalar_one() > 0


def _at(base: datetime, days_ago: float, hour: int = 9) -> datetime:
    """`days_ago` days before `base`, at about `hour` o'clock local time, never later than just before
    `base`."""
    local = (base - timedelta(days=days_ago)).astimezone(clock.LOCAL_TZ)
    local = local.replace(hour=hour, minute=random.randint(0, 59), second=0, microsecond=0)
    return min(local.astimezone(UTC), base - timedelta(minutes=5))


@functools.cache
def _nobodys_password() -> tuple[str, str]:
    """The password of the demo's example people who never log in with one (village heads of the other
    villages, board members, households that vote): random, known to nobody, and hashed once. Argon2id at
    full strength costs about half a second a hash, and the demo makes over thirty of these people."""
    password = secrets.token_urlsafe(16)
    return password, accounts.hash_password(password)


def _example_person(session: Session, *, phone: str, display_name: str) -> User:
    password, password_hash = _nobodys_password()
    return accounts.create_user(session, phone=phone, display_name=display_name, password=password,
                                password_hash=password_hash)


def load(session: Session, now: datetime | None = None) -> str:
    random.seed(20261125)
    real_now = now or clock.now()
    try:
        return _load(session, real_now)
    finally:
        clock.reset()


def _load(session: Session, now: datetime) -> str:
    start = now - timedelta(days=130)
    clock.freeze(start)
    commune = areas.create_commune(session, code="NS", name="Nhạo Sơn", province="Phú Thọ")
    villages = {}
    for name, slug, kind, _count in VILLAGES:
        villages[slug] = areas.create_village(session, commune, name=name, slug=slug, kind=kind,
                                              label="thôn" if kind == "thon" else "tổ dân phố")
    _load_register(session, commune)
    # Two households of each village left the register this year: the denominator follows the date.
    for slug in villages:
        leavers = session.execute(select(Household).where(col(Household.village_id) == villages[slug].id)
                                  .order_by(col(Household.id).desc()).limit(2)).scalars().all()
        for h in leavers:
            h.active_to = date(now.year, 3, 1)
    cats = {}
    for pos, (code, vi, en, group, kw) in enumerate(CATEGORIES):
        c = Category(commune_id=row_id(commune), code=code, name_vi=vi, name_en=en, group=group, keywords=kw,
                     min_disclosure_days=3, position=pos,
                     attributes=json.dumps(CATEGORY_ATTRIBUTES.get(code, []), ensure_ascii=False))
        session.add(c)
        cats[code] = c
    session.flush()

    users = {}
    for role, phone, password, name, _title in DEMO_ACCOUNTS:
        users[role] = accounts.create_user(session, phone=phone, display_name=name, password=password)
    accounts.grant(session, users["resident"], role="resident", commune_id=commune.id,
                   village_id=villages["hung-dao"].id)
    accounts.grant(session, users["village_head"], role="village_head", commune_id=commune.id,
                   village_id=villages["hung-dao"].id, title=DEMO_ACCOUNTS[1][4])
    accounts.grant(session, users["supervisor"], role="supervisor", commune_id=commune.id,
                   title=DEMO_ACCOUNTS[2][4])
    accounts.grant(session, users["admin"], role="admin", commune_id=commune.id, title=DEMO_ACCOUNTS[3][4])
    first = session.execute(select(Household).where(col(Household.village_id) == villages["hung-dao"].id)
                            .order_by(col(Household.id)).limit(1)).scalar_one()
    accounts.link_household(session, users["resident"], first, representative=True)
    village_heads = {"hung-dao": users["village_head"]}
    for i, (name, slug, _kind, _n) in enumerate(VILLAGES[1:], start=5):
        u = _example_person(session, phone=f"09000000{i:02d}",
                            display_name=f"{random.choice(SURNAMES)} {random.choice(GIVEN)}")
        accounts.grant(session, u, role="village_head", commune_id=commune.id, village_id=villages[slug].id,
                       title=f"Trưởng {'thôn' if _kind == 'thon' else 'tổ dân phố'} {name}")
        village_heads[slug] = u

    board = _inspection_board(session, commune, villages, users)
    viewers = {k: load_viewer(session, u.id) for k, u in users.items()}
    sec_viewers = {slug: load_viewer(session, u.id) for slug, u in village_heads.items()}

    # Every step of every item, run in time order so the chain's timestamps only move forward.
    steps: list[tuple[datetime, int, str, Plan]] = []
    for idx, plan in enumerate(sorted(PLANS, key=lambda p: -p.days_ago)):
        steps.extend(_steps_for(plan, idx, now))
        steps.extend(_deliberation_steps(plan, idx, now))
    steps.extend(_work_steps(steps, now))  # Dân làm and Dân kiểm tra
    steps.sort(key=lambda s: (s[0], s[1]))
    made: dict[int, Item] = {}
    resident_items = {0, 5, 9, 23}  # some items are the demo resident's own
    for at, idx, step, plan in steps:
        clock.freeze(at)
        plan_idx = idx
        if step == "submit":
            anonymous = plan_idx not in resident_items
            viewer = Viewer() if anonymous else viewers["resident"]
            data = {"kind": plan.kind, "village_id": villages[plan.village].id,
                    "category_id": cats[plan.category].id, "title": plan.title,
                    "description": plan.description,
                    "address": plan.address, "contact_phone": f"09{random.randint(10000000, 99999999)}",
                    "contact_name": f"{random.choice(SURNAMES)} {random.choice(GIVEN)}",
                    "show_name": "1" if plan_idx % 3 == 0 else "", "client_token": secrets.token_hex(8)}
            made[plan_idx] = items.submit(session, commune, SubmitForm.parse(data), viewer).item
            continue
        item = made[plan_idx]
        sec = sec_viewers[plan.village]
        if step == "accept":
            _move(session, item, "accept", sec)
        elif step == "reject":
            reason = ("Ngoài khả năng ngân sách của thôn năm nay; thôn sẽ đưa vào kế hoạch năm sau."
                      if plan.note == "review"
                      else "Đường làng thuộc quản lý của xã; đã chuyển ý kiến lên xã.")
            _move(session, item, "reject", sec, {"reason": reason})
        elif step == "redirect":
            _move(session, item, "redirect", sec, {
                "destination": "Bộ phận tiếp công dân UBND xã Nhạo Sơn",
                "reason": "Tranh chấp đất đai được giải quyết theo Luật Đất đai tại bộ phận tiếp công dân."})
        elif step == "duplicate":
            original = next(i for i in made.values() if i.title == "Cống trước nhà văn hoá thôn bị tắc")
            _move(session, item, "mark_duplicate", sec, {
                "original_code": original.code, "reason": "Đã có phản ánh trước về cùng vị trí."})
        elif step == "withdraw":
            _move(session, item, "withdraw", Viewer(), {"reason": "Đèn đã được sửa."},
                                is_author=True)
        elif step == "request_review":
            _move(session, item, "request_review", Viewer(), {
                "reason": "Thanh niên thôn sẵn sàng góp công; xin xem xét lại."}, is_author=True)
        elif step == "redirect_review":
            _move(session, item, "request_review", Viewer(), {
                "reason": "Tôi muốn thôn hoà giải trước."}, is_author=True)
        elif step == "uphold":
            _move(session, item, "uphold", viewers["supervisor"], {
                "reason": "Tranh chấp đất đai phải qua hoà giải ở xã theo luật; việc chuyển là đúng."})
        elif step.startswith("d_") or (step == Stage.DISCUSS and plan.title in DELIBERATION_DEMO):
            _deliberation_step(session, item, step, plan, sec, villages[plan.village], now)
        elif step.startswith("w_"):  # a Dân làm step
            _work_step(session, item, step, plan, sec, board[0], viewers["resident"])
        elif step in (Stage.INSPECT, "done", "not_done") and plan.target in WORK_TARGETS:
            _work_move(session, item, step, sec, viewers["supervisor"], board)
        else:  # a later stage, reached by a recorded stage change
            _seed_move(session, item, step, sec if step in (Stage.DISCUSS, Stage.DO, Stage.INSPECT)
                       else viewers["supervisor"])
    clock.freeze(now)
    count = session.execute(select(func.count()).select_from(Item)).scalar_one()
    chain = audit.head(session, row_id(commune))
    return (f"demo commune {commune.name}: {len(villages)} villages, {count} items, "
            f"{chain.seq} audit events; accounts 0900000001-0900000004")


# --- Dân kiểm tra: the commune's people's inspection board -----------------------------------------

BOARD_NAMES = ("Hoàng Văn Sơn", "Đỗ Thị Hạnh", "Vũ Văn Khải", "Ngô Thị Lan")


def _inspection_board(session: Session, commune: Commune, villages: dict[str, Village],
                      users: dict[str, User]) -> list[Viewer]:
    """The people's inspection board of the commune: five members, one or more from each village, elected
    at the village meetings and recognised by the commune People's Committee before the demo's first item.
    The demo supervisor heads it (his title says so); the others have no login."""
    today = clock.today_local()
    admin = load_viewer(session, users["admin"].id)
    elected = today - timedelta(days=40)
    board = boards.create_board(session, admin, BoardForm.parse({
        "kind": "inspection", "elected_on": elected.isoformat(), "term_starts_on": elected.isoformat(),
        "term_ends_on": elected.replace(year=elected.year + 5).isoformat(),
        "election_ref": "Biên bản bầu Ban Thanh tra nhân dân tại hội nghị các thôn"}))
    members = [users["supervisor"]]
    homes = [villages["hung-dao"], *(villages[slug] for _n, slug, _k, _c in VILLAGES[1:]),
             villages["tan-tien"]]
    for i, name in enumerate(BOARD_NAMES, start=20):
        members.append(_example_person(session, phone=f"09000000{i:02d}", display_name=name))
    for n, (user, village) in enumerate(zip(members, homes, strict=True)):
        household = session.execute(select(Household).where(col(Household.village_id) == village.id)
                                    .order_by(col(Household.id)).offset(2 + n).limit(1)).scalar_one()
        accounts.link_household(session, user, household, representative=False)
        boards.add_member(session, admin, row_id(board), MemberForm.parse(
            {"phone": user.phone, "position": "head" if n == 0 else "member"}))
    boards.recognise(session, admin, row_id(board), RecogniseForm.parse(
        {"decision_no": "45/QĐ-UBND", "recognised_on": (elected + timedelta(days=10)).isoformat()}))
    return [load_viewer(session, u.id) for u in members]


# --- Dân biết and Dân bàn: two items filled in through the deliberation services ----------------------------

KNOW_DEMO = "Xây mương thoát nước xóm Dưới; hộ tôi góp 20 m² đất"
DISCUSS_DEMO = "Mở rộng đường liên xóm lên 5 m; các hộ hiến đất"
DELIBERATION_DEMO = {KNOW_DEMO, DISCUSS_DEMO}
DEMO_COMMENTS = {
    KNOW_DEMO: ["Mùa mưa năm nào xóm Dưới cũng ngập, làm mương là cần thiết.",
                "Nhà tôi sẵn sàng góp 3 ngày công đào mương.",
                "Đề nghị thôn công khai dự toán trước khi họp bàn."],
    DISCUSS_DEMO: ["Đường rộng 5 m thì xe cứu thương, xe cứu hỏa vào được, tôi ủng hộ.",
                   "Nhà tôi hiến 15 m², đề nghị thôn xây lại tường rào giúp.",
                   "Mấy người này chỉ biết nói, chẳng làm gì!!!",
                   "Các hộ không có đất mặt đường góp công được không?"],
}


def _deliberation_steps(plan: Plan, idx: int, now: datetime) -> list[tuple[datetime, int, str, Plan]]:
    if plan.title == KNOW_DEMO:
        return [(_at(now, 11, 16), idx, "d_disclose_board", plan),
                (_at(now, 10, 7), idx, "d_disclose_loud", plan),
                (_at(now, 9, 20), idx, "d_comments", plan), (_at(now, 8, 19), idx, "d_supports", plan)]
    if plan.title == DISCUSS_DEMO:
        return [(_at(now, 29, 15), idx, "d_disclose_board", plan),
                (_at(now, 28, 7), idx, "d_disclose_loud", plan),
                (_at(now, 13, 20), idx, "d_comments", plan), (_at(now, 12, 8), idx, "d_hide", plan),
                (_at(now, 12, 19), idx, "d_supports", plan), (_at(now, 14, 16), idx, "d_meeting", plan),
                (_at(now, 7, 22), idx, "d_record", plan), (_at(now, 7, 23), idx, "d_vote", plan)]
    return []


def _demo_household_viewers(session: Session, village, count: int) -> list[Viewer]:
    """Representatives of households 2… of the village (household 1 is the demo resident's)."""
    found = session.execute(select(Household).where(col(Household.village_id) == village.id)
                            .order_by(col(Household.id)).offset(1).limit(count)).scalars().all()
    out = []
    for n, household in enumerate(found):
        phone = f"09001{village.id % 10}{n:04d}"
        user = session.execute(select(User).where(col(User.phone) == phone)).scalar_one_or_none()
        if user is None:
            user = _example_person(session, phone=phone, display_name=f"{SURNAMES[n % 10]} {GIVEN[n % 14]}")
            accounts.grant(session, user, role="resident", commune_id=village.commune_id,
                           village_id=village.id)
            accounts.link_household(session, user, household, representative=True)
        out.append(load_viewer(session, user.id))
    return out


def _deliberation_step(session: Session, item: Item, step: str, plan: Plan, sec: Viewer, village,
                       now: datetime) -> None:

    today = clock.today_local()
    if step == Stage.DISCUSS:
        _move(session, item, "open_discussion", sec, {
            "question": "Các hộ có đồng ý mở rộng đường liên xóm lên 5 m, các hộ hai bên hiến đất và "
                        "góp công xây lại tường rào không?", "matter": "1", "scope": "village",
            "land_area": "40", "labour_quantity": "2"})
    elif step == "d_disclose_board":
        deliberation.add_disclosure(session, item, sec, DisclosureForm.parse({
            "channel": "notice_board", "place": "Bảng tin nhà văn hoá thôn Hưng Đạo",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
            "note": "Niêm yết nội dung đề xuất và sơ đồ vị trí."}))
    elif step == "d_disclose_loud":
        deliberation.add_disclosure(session, item, sec, DisclosureForm.parse({
            "channel": "loudspeaker", "place": "Loa truyền thanh thôn", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=2)).isoformat(), "note": "Phát 3 buổi sáng liên tiếp."}))
    elif step == "d_comments":
        people = _demo_household_viewers(session, village, 6)
        for n, text in enumerate(DEMO_COMMENTS[plan.title]):
            deliberation.add_comment(session, item, people[n], CommentForm.parse({"body": text}))
            clock.advance(timedelta(minutes=17))
        deliberation.add_comment(session, item, sec, CommentForm.parse({
            "body": "Thôn ghi nhận các ý kiến; dự toán sẽ được niêm yết cùng giấy mời họp."}))
    elif step == "d_hide":
        rude = next(c for c in _comments(session, item) if c.body.startswith("Mấy người này"))
        deliberation.hide_comment(session, item, sec, HideCommentForm.parse({
            "comment_id": str(rude.id), "reason": "Lời lẽ xúc phạm, không góp ý về nội dung."}))
    elif step == "d_supports":
        for v in _demo_household_viewers(session, village, 27 if plan.title == DISCUSS_DEMO else 12):
            deliberation.support(session, item, v)
    elif step == "d_meeting":
        starts = datetime.combine(today + timedelta(days=7), datetime.min.time().replace(hour=19, minute=30),
                                  tzinfo=clock.LOCAL_TZ)
        deliberation.schedule_meeting(session, item, sec, ScheduleMeetingForm.parse({
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá thôn Hưng Đạo",
            "agenda": "1. Thông qua phương án mở rộng đường liên xóm lên 5 m. 2. Hiến đất và góp công "
                      "xây lại tường rào. 3. Biểu quyết."}))
    elif step == "d_record":
        meeting = session.execute(select(Meeting).where(col(Meeting.item_id) == item.id)).scalar_one()
        present = [str(h) for h in session.execute(
            select(col(Household.id)).where(col(Household.village_id) == item.village_id)
            .order_by(col(Household.code)).limit(45)).scalars()]
        deliberation.mark_roll(session, item, sec, RollForm.parse({
            "meeting_id": str(meeting.id), "shown": present, "household": present}))
        deliberation.record_meeting(session, item, sec, RecordMeetingForm.parse({
            "meeting_id": str(meeting.id), "secretary_votes": "40", "voting_mode": "show_of_hands",
            "minutes_taker_name": "Nguyễn Văn Hùng",
            "minutes_text": "45 hộ dự họp. Các hộ thống nhất mở rộng đường; 21 hộ hai bên đăng ký hiến đất; "
                            "các hộ còn lại góp công xây lại tường rào. Biểu quyết giơ tay."}))
    elif step == "d_vote":
        deliberation.decide(session, item, sec, DecideForm.parse({
            "method": "meeting_vote", "yes": "38", "no": "4", "abstain": "3"}))


def _comments(session: Session, item: Item):
    return session.execute(select(Comment).where(col(Comment.item_id) == item.id)
                           .order_by(col(Comment.id))).scalars().all()


def _steps_for(plan: Plan, idx: int, now: datetime) -> list[tuple[datetime, int, str, Plan]]:
    d = plan.days_ago
    t = plan.target
    out = [(_at(now, d, 8), idx, "submit", plan)]
    if t == "submitted":
        return out
    if t in ("rejected",):
        out.append((_at(now, d - 1, 10), idx, "reject", plan))
        if plan.note == "review":
            out.append((_at(now, d - 3, 19), idx, "request_review", plan))
        return out
    if t == "redirected":
        out += [(_at(now, d - 1, 10), idx, "redirect", plan),
                (_at(now, d - 2, 20), idx, "redirect_review", plan),
                (_at(now, d - 6, 14), idx, "uphold", plan)]
        return out
    if t == "duplicate":
        return out + [(_at(now, max(d - 1, 0.01), 15), idx, "duplicate", plan)]
    out.append((_at(now, d - 1, 10), idx, "accept", plan))
    if t == "withdrawn":
        return out + [(_at(now, d - 3, 18), idx, "withdraw", plan)]
    if t == "know":
        return out
    paths: dict[str, list[str]] = {
        "discuss": [Stage.DISCUSS], "do": [Stage.DISCUSS, Stage.DO],
        "inspect": [Stage.DISCUSS, Stage.DO, Stage.INSPECT],
        "done": [Stage.DISCUSS, Stage.DO, Stage.INSPECT, "done"],
        "not_approved": [Stage.DISCUSS, "not_approved"], "not_done": [Stage.DISCUSS, Stage.DO, "not_done"]}
    path = paths[t]
    span = max(d - 2, len(path))
    for n, step in enumerate(path, start=1):
        out.append((_at(now, d - 1 - span * n / (len(path) + 1), 14), idx, str(step), plan))
    return out


CLOSINGS = {
    "done": ("done", "Ban Thanh tra nhân dân đã nghiệm thu: đúng nghị quyết, chất lượng đạt."),
    "not_approved": ("not_approved", "Hội nghị thôn: 31 trên 88 hộ đồng ý, chưa đủ quá nửa số hộ."),
    "not_done": ("not_done", "Không xin được đất làm bể; Ban giám sát xác nhận dừng thực hiện."),
}


def _seed_move(session: Session, item: Item, step: str, actor: Viewer) -> None:
    """Record a stage change for demo history (the later stages' own services replace this)."""
    now = clock.now()
    payload: dict = {"from": item.stage}
    if step in CLOSINGS:
        outcome, reason = CLOSINGS[step]
        item.stage, item.outcome, item.closed_at, item.close_reason = Stage.CLOSED, outcome, now, reason
        payload.update({"to": Stage.CLOSED, "outcome": outcome, "reason": reason})
        role = "supervisor"
    else:
        item.stage = step
        payload.update({"to": step, "text": STAGE_NOTES.get(step, "")})
        role = "village_head"
    item.stage_changed_at = item.updated_at = now
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="stage_changed",
                 actor_id=actor.id, actor_role=role, payload=payload)


# --- Dân làm and Dân kiểm tra: pledges, deliveries, budget, progress, inspections, verdicts -----------------
# Every item that reaches Dân làm gets its work recorded through the implementation and supervision
# services; its moves to Dân kiểm tra and its closures go through the real transitions.

DITCH_DEMO = "Đào mương thoát nước dọc đường xóm Giữa; các hộ hiến đất, góp công"
INSPECT_DEMO = "Trồng 200 cây bóng mát dọc đường"
VERDICT_DEMO = "Làm nắp cống xóm Trên"
WORK_TARGETS = ("do", "inspect", "done", "not_done")
CONSENT_TEXT = ("Hộ gia đình chúng tôi tự nguyện đóng góp cho công trình theo nghị quyết hội nghị thôn; "
                "đã được nghe phổ biến và không bị ép buộc. Hộ có thể rút lại trước khi khởi công.")


def _work_steps(steps: list[tuple[datetime, int, str, Plan]],
                now: datetime) -> list[tuple[datetime, int, str, Plan]]:
    """The Dân làm / Dân kiểm tra steps of each item, timed between its move to Dân làm and its next move."""
    out = []
    by_idx: dict[int, list[tuple[datetime, str, Plan]]] = {}
    for at, idx, step, plan in steps:
        by_idx.setdefault(idx, []).append((at, step, plan))
    for idx, entries in by_idx.items():
        plan = entries[0][2]
        if plan.target not in WORK_TARGETS:
            continue
        entries.sort(key=lambda e: e[0])
        starts = [at for at, step, _p in entries if step == Stage.DO]
        if not starts:
            continue
        start = starts[0]
        after = [at for at, step, _p in entries if at > start and step in (Stage.INSPECT, "done", "not_done")]
        end = after[0] if after else now - timedelta(hours=2)
        span = end - start

        def when(frac: float, start: datetime = start, span: timedelta = span) -> datetime:
            return start + span * frac

        out += [(when(0.05), idx, "w_setup", plan), (when(0.15), idx, "w_pledges", plan),
                (when(0.25), idx, "w_withdraw", plan), (when(0.35), idx, "w_progress_1", plan),
                (when(0.5), idx, "w_deliver_1", plan), (when(0.6), idx, "w_spend", plan),
                (when(0.7), idx, "w_progress_2", plan)]
        if plan.target != "not_done" and plan.title != DITCH_DEMO:
            out += [(when(0.8), idx, "w_deliver_all", plan), (when(0.9), idx, "w_progress_done", plan)]
        if plan.target == "inspect":
            moved = after[0]
            out += [(moved + timedelta(days=1), idx, "w_inspection", plan),
                    (min(moved + timedelta(days=3), now - timedelta(hours=3)), idx, "w_answers", plan)]
        if plan.title == VERDICT_DEMO:
            done_at = [a for a, step, _p in entries if step == "done"][0]
            out += [(min(done_at + timedelta(days=n), now - timedelta(hours=1)), idx, f"w_verdict_{n}", plan)
                    for n in range(1, 4)]
    return out


def _active_households(session: Session, item: Item) -> list[Household]:
    today = clock.today_local()
    rows = session.execute(select(Household).where(col(Household.village_id) == item.village_id)
                           .order_by(col(Household.id))).scalars().all()
    return [h for h in rows if h.active_from <= today and (h.active_to is None or h.active_to > today)]


def _signed_form_scan() -> Prepared:
    """A photo of the household's signed consent form (a blank page stands in for it in the demo)."""
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (620, 877), "white").save(buf, "JPEG")
    return media.prepare(Upload("giay-dong-y-hien-dat.jpg", "image/jpeg", buf.getvalue()),
                         field="consent_scan")


def _work_step(session: Session, item: Item, step: str, plan: Plan, sec: Viewer, supervisor: Viewer,
               resident: Viewer) -> None:

    today = clock.today_local().isoformat()
    ditch = plan.title == DITCH_DEMO
    households = _active_households(session, item)
    rng = random.Random(f"{item.code}-{step}")
    consent = {"consent_text": CONSENT_TEXT, "consent_on": today, "witness_name": "Đỗ Văn Hùng",
               "witness_role": "Trưởng Ban công tác Mặt trận thôn"}
    if step == "w_setup":
        impl.save_settings(session, item, sec, SettingsForm.parse({
            "needed_land_m2": "1.400" if ditch else "",
            "needed_money": "60.000.000" if ditch else "8.000.000",
            "needed_labour_days": "150" if ditch else "40",
            "publish_pledger_names": "1" if ditch else ""}))
        budget_lines = [("state", "Hỗ trợ chương trình nông thôn mới",
                         "250.000.000" if ditch else "40.000.000"),
                        ("commune", "Ngân sách xã đối ứng", "80.000.000" if ditch else "10.000.000"),
                        ("community", "Các hộ gia đình đóng góp", "60.000.000" if ditch else "8.000.000")]
        if ditch:
            budget_lines.append(("sponsor", "Doanh nghiệp vật liệu xây dựng", "20.000.000"))
        for source, label, amount in budget_lines:
            impl.add_budget_line(session, item, sec,
                                 BudgetLineForm.parse({"source": source, "label": label, "amount": amount}))
    elif step == "w_pledges":
        share = 0.85 if ditch else 0.4  # most households pledge for the ditch
        chosen = households[1:][: int(len(households) * share)]
        land_left = 1400 if ditch else 0
        if ditch and resident.id is not None and households and households[0].village_id == item.village_id:
            impl.pledge(session, item, resident, PledgeForm.parse(
                {"kind": "land", "amount": "20", "parcel_ref": "Thửa 218, tờ bản đồ 9", **consent}),
                consent_scan=[_signed_form_scan()])
            land_left -= 20
        for n, h in enumerate(chosen):
            if ditch and n < 16 and land_left > 0:
                land = min(land_left, rng.choice((60, 75, 80, 90, 100, 120)))
                land_left -= land
                # Signed at the village meeting: the village head confirms it before the witness.
                data = {"kind": "land", "amount": str(land), "consent_in_person": "1",
                        "parcel_ref": f"Thửa {100 + n * 7}, tờ bản đồ 9"}
            elif n % 3 == 0:
                data = {"kind": "labour", "amount": rng.choice(("2", "3", "4,5", "5"))}
            elif n % 3 == 1:
                data = {"kind": "money",
                        "amount": rng.choice(("500.000", "1.000.000", "1.500.000", "2.000.000"))}
            else:
                data = {"kind": "materials", "amount": rng.choice(("5", "10", "20")),
                        "description": "Xi măng PCB30", "unit": "bao"}
            form = PledgeOnBehalfForm.parse({**data, "household": h.code, **consent})
            impl.pledge(session, item, sec, form)
    elif step == "w_withdraw":
        rows = session.execute(select(Pledge).where(col(Pledge.item_id) == item.id,
                                                    col(Pledge.kind) == "money")
                               .order_by(col(Pledge.id).desc()).limit(2 if ditch else 1)).scalars().all()
        for p in rows:
            reason = WithdrawForm.parse({"reason": "Gia đình có người ốm, xin rút lại."})
            impl.withdraw(session, item, p.id, sec, reason)
    elif step.startswith("w_progress"):
        percent, text = {
            "w_progress_1": (20 if ditch else 30, "Đã khởi công: giải phóng mặt bằng, đào xong đoạn đầu."),
            "w_progress_2": (70 if ditch else 75, "Đã đổ bê tông thành mương và đáy mương phần lớn tuyến."),
            "w_progress_done": (100, "Hoàn thành toàn bộ; đã lát tấm đan và dọn dẹp mặt bằng."),
        }[step]
        impl.post_progress(session, item, sec, ProgressForm.parse({"percent": str(percent), "text": text}))
    elif step in ("w_deliver_1", "w_deliver_all"):
        rows, _n = impl.pledge_rows(session, item, size=1000)
        for n, r in enumerate(rows):
            if r.pledge.withdrawn_at is not None or r.remaining == 0:
                continue
            if step == "w_deliver_1" and n % 4 == 3:
                continue  # a quarter has not delivered yet
            evidence = {"land": "Biên bản bàn giao mặt bằng", "money": "Phiếu thu của Ban phát triển thôn",
                        "labour": "Sổ chấm công", "materials": "Biên bản nhận vật tư"}[r.pledge.kind]
            delivery = DeliveryForm.for_kind(r.pledge.kind).parse({
                "amount": str(r.remaining).replace(".", ","), "delivered_on": today,
                "evidence": f"{evidence} số {n + 1}"})
            impl.record_delivery(session, item, row_id(r.pledge), sec, delivery)
    elif step == "w_spend":
        lines = impl.budget(session, item).rows
        impl.add_spending(session, item, sec, SpendingForm.parse({
            "budget_line_id": str(lines[0].line.id), "amount": "120.000.000" if ditch else "25.000.000",
            "spent_on": today, "description": "Xi măng, cát, đá, thép", "document_ref": "HĐ 0004512"}))
        impl.add_spending(session, item, sec, SpendingForm.parse({
            "budget_line_id": str(lines[2].line.id), "amount": "18.500.000" if ditch else "3.000.000",
            "spent_on": today, "description": "Thuê máy đào và nhân công kỹ thuật",
            "document_ref": "Phiếu chi 27"}))
    elif step == "w_inspection":
        ins = sup.open_new_inspection(session, item, supervisor)
        entries = sup.checklist(session, [row_id(ins)])[row_id(ins)]
        for e in entries[:3]:
            sup.mark_entry(session, item, supervisor, MarkForm.parse({"target_id": e.id, "mark": "ok"}))
        sup.mark_entry(session, item, supervisor, MarkForm.parse(
            {"target_id": entries[3].id, "mark": "not_ok",
             "note": "Hoá đơn cây giống thiếu 20 cây so với biên bản nghiệm thu."}))
        due = (clock.today_local() + timedelta(days=10)).isoformat()
        sup.add_finding(session, item, supervisor, FindingForm.parse(
            {"severity": "serious", "due_on": due, "entry_id": str(entries[3].id),
             "text": "Hoá đơn mua cây giống ghi 200 cây nhưng đếm thực tế 180 cây."}))
        sup.add_finding(session, item, supervisor, FindingForm.parse(
            {"severity": "needs_fixing", "due_on": due, "text": "12 cây bị chết, cần trồng dặm."}))
        sup.add_finding(session, item, supervisor, FindingForm.parse(
            {"severity": "note", "text": "Nên làm biển ghi tên hộ nhận chăm sóc cây."}))
    elif step == "w_answers":
        found = sup.findings(session, item)
        answers = {"serious": "20 cây còn lại sẽ trồng tuần tới; nhà cung cấp đã xác nhận giao bù, "
                              "kèm biên bản.",
                   "needs_fixing": "Đã trồng dặm 12 cây ngày hôm qua, các hộ nhận chăm sóc.",
                   "note": "Thôn sẽ làm biển gỗ trước Tết."}
        for f in found:
            sup.answer_finding(session, item, sec,
                               AnswerForm.parse({"target_id": f.id, "answer": answers[f.severity]}))
        needs = [f for f in found if f.severity == "needs_fixing"]
        if needs:
            sup.resolve_finding(session, item, supervisor, needs[0].id)
    elif step.startswith("w_verdict_"):
        n = int(step.rsplit("_", 1)[1])
        people = _demo_household_viewers(session, session.get(Village, item.village_id), 12)
        choices = [("done", "5", "Nắp cống chắc chắn, trẻ em đi lại an toàn."), ("done", "4", ""),
                   ("partly", "3", "Còn hai hố ga cuối xóm chưa có nắp."), ("done", "5", ""),
                   ("not_done", "2", "Hố ga trước nhà tôi vẫn hở.")]
        for k, v in enumerate(people[(n - 1) * 4: n * 4]):
            verdict, score, comment = choices[(k + n) % len(choices)]
            sup.give_verdict(session, item, v, VerdictForm.parse({"verdict": verdict, "satisfaction": score,
                                                                  "comment": comment}))


def _work_move(session: Session, item: Item, step: str, sec: Viewer, supervisor: Viewer, board: list[Viewer]
               ) -> None:
    """The real transitions out of Dân làm for items whose work was recorded: the board inspects and signs
    off by majority; the commune official closes what cannot be done."""
    if step == Stage.INSPECT:
        _move(session, item, "start_inspection", sec)
    elif step == "done":
        if item.stage == Stage.DO:
            _move(session, item, "start_inspection", sec)
        head = board[0]
        ins = sup.open_new_inspection(session, item, head)
        for e in sup.checklist(session, [row_id(ins)])[row_id(ins)]:
            sup.mark_entry(session, item, head, MarkForm.parse({"target_id": e.id, "mark": "ok"}))
        f = sup.add_finding(session, item, head, FindingForm.parse(
            {"severity": "note", "text": "Cần dọn sạch vật liệu thừa ở cuối tuyến."}))
        sup.answer_finding(session, item, sec, AnswerForm.parse(
            {"target_id": f.id, "answer": "Đã dọn sạch ngay trong ngày nghiệm thu."}))
        sup.resolve_finding(session, item, head, f.id)
        sup.vote_sign_off(session, item, board[4], SignOffVoteForm.parse({"vote": "disagree"}))
        for member in board[:3]:  # three of five: the majority of all members signs it off
            sup.vote_sign_off(session, item, member, SignOffVoteForm.parse({"vote": "agree"}))
    elif step == "not_done":
        _move(session, item, "close_not_done", supervisor, {"reason": CLOSINGS["not_done"][1]})
