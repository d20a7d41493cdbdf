"""Demo data: the commune Nhạo Sơn, its villages and households, categories, about 30 items in every
stage and outcome with timelines that make sense, and the four demo accounts of the README.

Items are created and triaged through the real services with the clock moved back, so their audit
events and timelines are genuine. Stages after Dân biết are reached with a `stage_changed` event
until the deliberation, implementation and supervision services exist.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.service import Viewer, load_viewer
from civic.areas import service as areas
from civic.areas.models import Commune, Household
from civic.audit import service as audit
from civic.items import service as items
from civic.items.models import Category, Item
from civic.workflow import service as workflow
from civic.workflow.stages import Stage

DEMO_ACCOUNTS = [
    # role, phone, password, name, title
    ("resident", "0900000001", "demo-resident", "Nguyễn Văn An", ""),
    ("secretary", "0900000002", "demo-secretary", "Trần Thị Bình", "Bí thư chi bộ thôn Hưng Đạo"),
    ("supervisor", "0900000003", "demo-supervisor", "Lê Văn Cường", "Trưởng Ban Thanh tra nhân dân xã"),
    ("admin", "0900000004", "demo-admin", "Phạm Thị Dung", "Cán bộ Văn phòng UBND xã"),
]

VILLAGES = [
    # name, slug, kind, households
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

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn Hải", "Thị Lan", "Văn Minh", "Thị Hoa", "Đức Thắng", "Thị Mai", "Văn Tùng", "Thị Hằng", "Quang Huy",
         "Thị Thu", "Văn Sơn", "Thị Nga", "Minh Tuấn", "Thị Yến"]


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
         "Sau mấy trận mưa, cống thoát nước trước nhà văn hoá thôn bị rác và bùn làm tắc, nước tràn lên đường.",
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
    Plan("tan-tien", "roads", "proposal", "Bê tông hoá ngõ 7", "Ngõ 7 dài 180 m vẫn là đường đất, mùa mưa lầy "
         "lội. Đề xuất bê tông hoá, các hộ trong ngõ góp tiền và ngày công.", "Ngõ 7", "know", 8),
    Plan("dong-tam", "lighting", "recommendation", "Lắp thêm đèn ở đường ra đồng",
         "Đường ra đồng buổi sáng sớm rất tối, đề nghị lắp thêm 5 cột đèn năng lượng mặt trời.",
         "Đường ra cánh đồng Mả Mé", "know", 6),
    Plan("quyet-thang", "environment", "recommendation", "Trồng cây xanh quanh sân chơi",
         "Sân chơi của trẻ em nắng gắt, đề nghị trồng hàng cây bóng mát xung quanh.", "Sân chơi tổ dân phố",
         "know", 5),
    # Dân bàn
    Plan("hung-dao", "roads", "proposal", "Mở rộng đường liên xóm lên 5 m; các hộ hiến đất",
         "Đường liên xóm hiện rộng 3 m, xe cứu thương không vào được. Đề xuất mở rộng lên 5 m, các hộ hai bên "
         "hiến đất, ai không có đất thì góp công xây lại tường rào.", "Đường liên xóm Hưng Đạo", "discuss", 30),
    Plan("tan-tien", "drainage", "proposal", "Nạo vét kênh tiêu nội đồng",
         "Kênh tiêu bị bồi lắng, lúa vụ mùa hay bị ngập. Đề xuất nạo vét, mỗi hộ góp 2 ngày công.",
         "Kênh tiêu xứ đồng Trại", "discuss", 26),
    Plan("dong-tam", "other", "recommendation", "Sửa mái nhà văn hoá thôn",
         "Mái nhà văn hoá bị dột nhiều chỗ, ảnh hưởng sinh hoạt chung.", "Nhà văn hoá thôn Đồng Tâm",
         "discuss", 22),
    Plan("quyet-thang", "public_order", "recommendation", "Lắp camera an ninh ở các ngõ",
         "Đề nghị lắp 6 camera ở đầu các ngõ để phòng trộm cắp.", "Các ngõ tổ dân phố", "discuss", 20),
    # Dân làm
    Plan("hung-dao", "lighting", "proposal", "Thắp sáng đường quê: 20 cột đèn năng lượng mặt trời",
         "Lắp 20 cột đèn năng lượng mặt trời trên trục đường chính của thôn; các hộ góp tiền theo nghị quyết.",
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
         "Vá các ổ gà trên đoạn đường 400 m; các hộ góp công.", "Đường tổ dân phố Quyết Thắng", "inspect", 60),
    # Closed: done
    Plan("hung-dao", "drainage", "proposal", "Làm nắp cống xóm Trên",
         "Đậy nắp các hố ga hở ở xóm Trên, nguy hiểm cho trẻ em.", "Xóm Trên", "done", 110),
    Plan("dong-tam", "roads", "proposal", "Bê tông hoá ngõ 2", "Bê tông hoá 120 m ngõ 2, các hộ góp tiền và công.",
         "Ngõ 2 Đồng Tâm", "done", 100),
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
STAGE_NOTES = {
    Stage.DISCUSS: "Đã niêm yết tại nhà văn hoá và thông báo trên loa truyền thanh 3 ngày.",
    Stage.DO: "Hội nghị thôn biểu quyết thông qua: đa số hộ gia đình đồng ý.",
    Stage.INSPECT: "Công trình hoàn thành 100 %; mọi khoản đóng góp đã được ghi nhận.",
}


def has_data(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(Commune)).scalar_one() > 0


def _at(base: datetime, days_ago: float, hour: int = 9) -> datetime:
    """`days_ago` days before `base`, at about `hour` o'clock local time, never later than just before `base`."""
    local = (base - timedelta(days=days_ago)).astimezone(clock.LOCAL_TZ)
    local = local.replace(hour=hour, minute=random.randint(0, 59), second=0, microsecond=0)
    return min(local.astimezone(UTC), base - timedelta(minutes=5))


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
    for name, slug, kind, count in VILLAGES:
        v = areas.create_village(session, commune, name=name, slug=slug, kind=kind,
                                 label="thôn" if kind == "thon" else "tổ dân phố")
        villages[slug] = v
        for n in range(1, count + 1):
            head = f"{random.choice(SURNAMES)} {random.choice(GIVEN)}"
            session.add(Household(village_id=v.id, code=f"{slug[:2].upper()}-{n:03d}", head_name=head,
                                  active_from=date(2020, 1, 1)))
        # Two households of each village left the register this year: the denominator follows the date.
        session.flush()
    for slug in villages:
        leavers = session.execute(select(Household).where(Household.village_id == villages[slug].id)
                                  .order_by(Household.id.desc()).limit(2)).scalars().all()
        for h in leavers:
            h.active_to = date(now.year, 3, 1)
    cats = {}
    for pos, (code, vi, en, group, kw) in enumerate(CATEGORIES):
        c = Category(commune_id=commune.id, code=code, name_vi=vi, name_en=en, group=group, keywords=kw,
                     min_disclosure_days=3, position=pos, attributes=json.dumps([]))
        session.add(c)
        cats[code] = c
    session.flush()

    users = {}
    for role, phone, password, name, _title in DEMO_ACCOUNTS:
        users[role] = accounts.create_user(session, phone=phone, display_name=name, password=password)
    accounts.grant(session, users["resident"], role="resident", commune_id=commune.id,
                   village_id=villages["hung-dao"].id)
    accounts.grant(session, users["secretary"], role="secretary", commune_id=commune.id,
                   village_id=villages["hung-dao"].id, title=DEMO_ACCOUNTS[1][4])
    accounts.grant(session, users["supervisor"], role="supervisor", commune_id=commune.id,
                   title=DEMO_ACCOUNTS[2][4])
    accounts.grant(session, users["admin"], role="admin", commune_id=commune.id, title=DEMO_ACCOUNTS[3][4])
    first = session.execute(select(Household).where(Household.village_id == villages["hung-dao"].id)
                            .order_by(Household.id).limit(1)).scalar_one()
    accounts.link_household(session, users["resident"], first, representative=True)
    secretaries = {"hung-dao": users["secretary"]}
    for i, (name, slug, _kind, _n) in enumerate(VILLAGES[1:], start=5):
        u = accounts.create_user(session, phone=f"09000000{i:02d}",
                                 display_name=f"{random.choice(SURNAMES)} {random.choice(GIVEN)}",
                                 password=secrets.token_urlsafe(16))
        accounts.grant(session, u, role="secretary", commune_id=commune.id, village_id=villages[slug].id,
                       title=f"Trưởng {'thôn' if _kind == 'thon' else 'tổ dân phố'} {name}")
        secretaries[slug] = u

    viewers = {k: load_viewer(session, u.id) for k, u in users.items()}
    sec_viewers = {slug: load_viewer(session, u.id) for slug, u in secretaries.items()}

    # Every step of every item, run in time order so the chain's timestamps only move forward.
    steps: list[tuple[datetime, int, str, Plan]] = []
    for idx, plan in enumerate(sorted(PLANS, key=lambda p: -p.days_ago)):
        steps.extend(_steps_for(plan, idx, now))
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
                    "category_id": cats[plan.category].id, "title": plan.title, "description": plan.description,
                    "address": plan.address, "contact_phone": f"09{random.randint(10000000, 99999999)}",
                    "contact_name": f"{random.choice(SURNAMES)} {random.choice(GIVEN)}",
                    "show_name": "1" if plan_idx % 3 == 0 else ""}
            made[plan_idx] = items.submit(session, commune, data, viewer, client_token=secrets.token_hex(8)).item
            continue
        item = made[plan_idx]
        sec = sec_viewers[plan.village]
        if step == "accept":
            workflow.transition(session, item, "accept", sec)
        elif step == "reject":
            reason = ("Ngoài khả năng ngân sách của thôn năm nay; thôn sẽ đưa vào kế hoạch năm sau."
                      if plan.note == "review" else "Đường làng thuộc quản lý của xã; đã chuyển ý kiến lên xã.")
            workflow.transition(session, item, "reject", sec, {"reason": reason})
        elif step == "redirect":
            workflow.transition(session, item, "redirect", sec, {
                "destination": "Bộ phận tiếp công dân UBND xã Nhạo Sơn",
                "reason": "Tranh chấp đất đai được giải quyết theo Luật Đất đai tại bộ phận tiếp công dân."})
        elif step == "duplicate":
            original = next(i for i in made.values() if i.title == "Cống trước nhà văn hoá thôn bị tắc")
            workflow.transition(session, item, "mark_duplicate", sec, {
                "original_code": original.code, "reason": "Đã có phản ánh trước về cùng vị trí."})
        elif step == "withdraw":
            workflow.transition(session, item, "withdraw", Viewer(), {"reason": "Đèn đã được sửa."},
                                is_author=True)
        elif step == "request_review":
            workflow.transition(session, item, "request_review", Viewer(), {
                "reason": "Thanh niên thôn sẵn sàng góp công; xin xem xét lại."}, is_author=True)
        elif step == "redirect_review":
            workflow.transition(session, item, "request_review", Viewer(), {
                "reason": "Tôi muốn thôn hoà giải trước."}, is_author=True)
        elif step == "uphold":
            workflow.transition(session, item, "uphold", viewers["supervisor"], {
                "reason": "Tranh chấp đất đai phải qua hoà giải ở xã theo luật; việc chuyển là đúng."})
        else:  # a later stage, reached by a recorded stage change
            _seed_move(session, item, step, sec if step in (Stage.DISCUSS, Stage.DO, Stage.INSPECT)
                       else viewers["supervisor"])
    clock.freeze(now)
    count = session.execute(select(func.count()).select_from(Item)).scalar_one()
    head = audit.head(session, commune.id)
    return (f"demo commune {commune.name}: {len(villages)} villages, {count} items, "
            f"{head.seq} audit events; accounts 0900000001-0900000004")


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
        out += [(_at(now, d - 1, 10), idx, "redirect", plan), (_at(now, d - 2, 20), idx, "redirect_review", plan),
                (_at(now, d - 6, 14), idx, "uphold", plan)]
        return out
    if t == "duplicate":
        return out + [(_at(now, max(d - 1, 0.01), 15), idx, "duplicate", plan)]
    out.append((_at(now, d - 1, 10), idx, "accept", plan))
    if t == "withdrawn":
        return out + [(_at(now, d - 3, 18), idx, "withdraw", plan)]
    if t == "know":
        return out
    path = {"discuss": [Stage.DISCUSS], "do": [Stage.DISCUSS, Stage.DO],
            "inspect": [Stage.DISCUSS, Stage.DO, Stage.INSPECT],
            "done": [Stage.DISCUSS, Stage.DO, Stage.INSPECT, "done"],
            "not_approved": [Stage.DISCUSS, "not_approved"], "not_done": [Stage.DISCUSS, Stage.DO, "not_done"]}[t]
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
        role = "secretary"
    item.stage_changed_at = item.updated_at = now
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="stage_changed",
                 actor_id=actor.id, actor_role=role, payload=payload)
