"""The household register page: download the template, upload an XLSX or CSV file, see the preview (what is
added, changed, leaves, and every bad row), apply it with one button, export the register.

The upload itself changes nothing in the database: the route reads the file within
CIVIC_REGISTER_MAX_BYTES, checks the CSRF token, keeps the bytes on the server under a random token (with
their SHA-256) and shows the preview. It reads its multipart body with the same reader as post_form, but
not through post_form, whose file handling is for photos and documents. Applying goes through post_form:
the token, the file's SHA-256 and the preview's digest are posted back, the same file is read again and
compared with the register again, and only an identical preview is applied. A commune admin works on every
village; a village head only on their own village(s).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from civic import clock
from civic.accounts.service import Viewer
from civic.areas import register, rules
from civic.areas.models import Commune
from civic.areas.schemas import PREVIEW_GONE, RegisterApplyForm, RegisterFileQuery
from civic.config import get_settings
from civic.core.collation import vi_key
from civic.core.kinds import Role
from civic.errors import N_, CivicError, Conflict, Forbidden, Invalid, NotFound, TooLarge
from civic.web import communes
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.uploads import FORM_OVERHEAD, UPLOAD_ROUTES, UploadRoute, read_multipart

router = APIRouter()
register_forms(RegisterApplyForm)

PAGE = "/admin/register"
FOR_STAFF = N_("This page is for the commune's administrators and village heads.")
CHOOSE_FILE = N_("Please choose the register file (.xlsx or .csv).")
APPLIED = N_("The register was updated: %(added)s households added, %(changed)s changed, %(left)s left the "
             "register.")
NOTHING = N_("The register already matches this file: nothing was changed.")
SPOOL_HOURS = 24
ERRORS_SHOWN = 100  # bad rows listed on the preview page; all of them are in problems.csv
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_HEX = re.compile(r"[0-9a-f]{64}")


class _RegisterUpload(UploadRoute):
    """The register upload's body cap: four times CIVIC_REGISTER_MAX_BYTES, so that a file somewhat over
    the limit gets the page's own clear message (the reader keeps no byte past the limit) and a body far
    over it the middleware's 413."""

    def max_body(self, per_file: int) -> int:
        return 4 * get_settings().register_max_bytes + FORM_OVERHEAD


UPLOAD_ROUTES.append(_RegisterUpload(re.compile(r"/admin/register/preview"), 1))


# --- who may do what ----------------------------------------------------------------------------------

def _scope(web: Web, commune: Commune) -> tuple[frozenset[int] | None, str]:
    """The villages this viewer may load and export (None: all of the commune) and the role acting."""
    viewer: Viewer = require_user(web)
    if commune.id in viewer.communes(Role.ADMIN):
        return None, Role.ADMIN
    own = {v.id for v in register.villages(web.session, commune.id or 0)} & viewer.villages(Role.VILLAGE_HEAD)
    if not own:
        raise Forbidden(FOR_STAFF)
    return frozenset(own), Role.VILLAGE_HEAD


def _village_names(web: Web, commune: Commune, scope: frozenset[int] | None) -> dict[int, str]:
    return {v.id: v.name for v in register.villages(web.session, commune.id or 0)
            if scope is None or v.id in scope}


# --- the uploaded file, kept between the preview and the apply ------------------------------------------

def _spool() -> Path:
    return get_settings().var_dir / "register-uploads"


def _keep(data: bytes, user_id: int | None, commune_id: int | None) -> tuple[str, str]:
    """Keep an uploaded file under a random token; returns (token, sha256). Files older than a day go."""
    folder = _spool()
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - SPOOL_HOURS * 3600
    for old in folder.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass
    token = secrets.token_urlsafe(24)
    digest = register.sha256(data)
    (folder / f"{token}.bin").write_bytes(data)
    (folder / f"{token}.json").write_text(json.dumps({"sha256": digest, "user_id": user_id,
                                                      "commune_id": commune_id}))
    return token, digest


def _kept(token: str, sha256: str, user_id: int | None) -> bytes:
    """The file kept under `token`, when it is the same user's and its bytes still have `sha256`."""
    gone = Invalid(PREVIEW_GONE, field=register.FIELD)
    if not _TOKEN.fullmatch(token) or not _HEX.fullmatch(sha256):
        raise gone
    folder = _spool()
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        raise gone from None
    if meta.get("user_id") != user_id or meta.get("sha256") != sha256 or register.sha256(data) != sha256:
        raise gone
    return data


def _forget(token: str) -> None:
    for suffix in (".bin", ".json"):
        (_spool() / f"{token}{suffix}").unlink(missing_ok=True)


# --- pages ------------------------------------------------------------------------------------------

def _page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    commune = communes.current(web.request, web.session)
    scope, _role = _scope(web, commune)
    names = _village_names(web, commune, scope)
    return web.render("register/upload.html", status=state.status, commune=commune,
                      villages=sorted(names.values(), key=vi_key), admin=scope is None,
                      max_mb=f"{get_settings().register_max_bytes / 1048576:g}", columns=rules.COLUMNS,
                      **state.context())


def _page_again(request: Request, state: FormState) -> HTMLResponse:
    with reading(request) as web:
        return _page(web, state)


@router.get(PAGE, response_class=HTMLResponse, name="household_register")
def register_page(web: CurrentWeb):
    return _page(web)


def _preview(request: Request, values: dict[str, Any], uploads: dict) -> HTMLResponse:
    with reading(request) as web:
        web.check_csrf(values)
        commune = communes.current(web.request, web.session)
        scope, _role = _scope(web, commune)
        files = uploads.get("file") or []
        try:
            if not files or not files[0].data:
                raise Invalid(CHOOSE_FILE, field=register.FIELD)
            data = files[0].data
            register.check_size(len(data), get_settings().register_max_bytes)
            today = clock.today_local()
            parsed = register.read(data, register.villages(web.session, commune.id or 0), scope, today)
            plan = register.preview(web.session, parsed, today)
        except (Invalid, TooLarge) as exc:
            return _page(web, _refusal(web, exc))
        # The file is kept to be applied (a clean preview that changes something) or for the list of all
        # its problems (a preview with bad rows).
        token, digest = _keep(data, web.viewer.id, commune.id) if not plan.empty or plan.errors else ("", "")
        return web.render("register/preview.html", status=200 if plan.clean else 422, commune=commune,
                          plan=plan, counts=plan.counts(), shown=register.SHOWN, today=today,
                          names=_village_names(web, commune, scope), labels=rules.COLUMN_LABELS,
                          filename=files[0].filename[:120], token=token, sha256=digest,
                          fmt_day=_fmt_day, errors_shown=ERRORS_SHOWN)


def _fmt_day(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def _refusal(web: Web, exc: CivicError) -> FormState:
    message = web.error_text(exc)
    return FormState("upload", {}, {register.FIELD: message}, message, exc.status)


@router.post("/admin/register/preview", name="household_register_preview")
async def upload(request: Request):
    size = request.headers.get("content-length", "")
    limit = get_settings().register_max_bytes
    try:
        values, uploads = await read_multipart(request, file_fields={"file": 1}, max_bytes=limit)
    except (Invalid, TooLarge) as exc:
        sent = getattr(exc, "values", None)
        if sent is None:
            raise
        refusal: CivicError = exc
        if isinstance(exc, TooLarge):  # the reader's message is about photos: say it for a register
            refusal = TooLarge(register.TOO_LARGE, field=register.FIELD,
                               size=f"{int(size) / 1048576:.1f}" if size.isdigit() else "?",
                               mb=f"{limit / 1048576:g}")

        def again() -> HTMLResponse:
            with reading(request) as web:
                web.check_csrf(sent)
                return _page(web, _refusal(web, refusal))

        return await run_in_threadpool(again)
    return await run_in_threadpool(_preview, request, values, uploads)


@router.post("/admin/register/apply", name="household_register_apply")
async def apply(request: Request):
    applied: list[str] = []

    def act(db, web: Web, form: RegisterApplyForm, files) -> Done:
        viewer = require_user(web)
        commune = communes.current(web.request, db)
        scope, role = _scope(web, commune)
        data = _kept(form.token, form.sha256, viewer.id)
        today = clock.today_local()
        parsed = register.read(data, register.villages(db, commune.id or 0), scope, today)
        plan = register.preview(db, parsed, today)
        if plan.digest != form.digest:
            raise Conflict(register.CHANGED_SINCE)
        counts = register.apply(db, commune.id or 0, plan, today, actor_id=viewer.id, actor_role=role)
        applied.append(form.token)
        if plan.empty:
            return Done(PAGE, NOTHING)
        return Done(PAGE, APPLIED, counts)

    answer = await post_form(request, RegisterApplyForm, action="apply", act=act,
                             page=lambda state: _page_again(request, state))
    if answer.status_code == 303 and applied:  # committed: the kept file (personal data) goes now, not before
        _forget(applied[-1])
    return answer


# --- files to download ------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
TEMPLATE_GUIDE = [
    "Sổ hộ gia đình: mỗi dòng là một hộ. Giữ nguyên dòng tiêu đề.",
    "Thôn/Tổ dân phố: tên thôn (hoặc mã) như trên trang Thôn của xã. "
    "Thôn chưa có: tạo trước ở /admin/villages.",
    "Mã hộ: mã của hộ trong thôn, không trùng trong một thôn (tối đa 32 ký tự).",
    "Họ tên chủ hộ: bắt buộc. Địa chỉ, Số điện thoại: không bắt buộc, không bao giờ hiện công khai.",
    "Ngày vào sổ, Ngày ra khỏi sổ: ngày/tháng/năm, ví dụ 15/06/2026. Để trống Ngày vào sổ: ngày nhập.",
    "Hộ có trong sổ mà không có trong tệp (của các thôn trong tệp) sẽ ra khỏi sổ từ ngày nhập; "
    "không hộ nào bị xoá.",
    "Household register: one household a row; keep the header row. English headers (Village, Household code, "
    "Head of household, Address, Phone, Joined, Left) are read too.",
]


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})


@router.get("/admin/register/template.xlsx", name="household_register_template_xlsx")
def template_xlsx(web: CurrentWeb):
    _scope(web, communes.current(web.request, web.session))
    return _download(register.to_xlsx([], instructions=TEMPLATE_GUIDE), XLSX, "mau-so-ho.xlsx")


@router.get("/admin/register/template.csv", name="household_register_template_csv")
def template_csv(web: CurrentWeb):
    _scope(web, communes.current(web.request, web.session))
    return _download(register.to_csv([]), CSV, "mau-so-ho.csv")


@router.get("/admin/register/problems.csv", name="household_register_problems")
def problems_csv(web: CurrentWeb):
    """Every bad row of a previewed file (line, column, message in the viewer's language), as CSV."""
    from civic.web.i18n import translations

    commune = communes.current(web.request, web.session)
    scope, _role = _scope(web, commune)
    try:
        query = RegisterFileQuery.parse(web.request.query_params)
        data = _kept(query.token, query.sha256, web.viewer.id)
        today = clock.today_local()
        known = register.villages(web.session, commune.id or 0)
        plan = register.preview(web.session, register.read(data, known, scope, today), today)
    except (Invalid, TooLarge):
        raise NotFound(PREVIEW_GONE) from None
    tr = translations(web.locale)

    def say(message: str, params: dict) -> str:
        text = tr.gettext(message)
        return text % params if params else text

    rows = [[e.line, say(rules.COLUMN_LABELS[e.column], {}) if e.column in rules.COLUMN_LABELS else "",
             say(e.message, e.message.params)] for e in plan.errors]
    header = [say(N_("Line"), {}), say(N_("Column"), {}), say(N_("Problem"), {})]
    return _download(register.to_csv(rows, header=header), CSV, "loi-so-ho.csv")


def _export(web: Web, ext: str) -> Response:
    commune = communes.current(web.request, web.session)
    scope, _role = _scope(web, commune)
    rows = list(register.export_rows(web.session, _village_names(web, commune, scope)))
    name = f"so-ho-{commune.code}-{clock.today_local().isoformat()}.{ext}"
    if ext == "xlsx":
        return _download(register.to_xlsx(rows), XLSX, name)
    return _download(register.to_csv(rows), CSV, name)


@router.get("/admin/register/export.xlsx", name="household_register_export_xlsx")
def export_xlsx(web: CurrentWeb):
    return _export(web, "xlsx")


@router.get("/admin/register/export.csv", name="household_register_export_csv")
def export_csv(web: CurrentWeb):
    return _export(web, "csv")
