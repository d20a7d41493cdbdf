"""Nothing a user can type gives a 500: one regression test for each input that once did.

Each input is sent to the demo commune by the role that can reach it. The answer is below 500 and is the calm
error page or the form shown again (never a stack trace), and a POST changed nothing: the audit head shown on
/audit and the number of rows of every table are the same afterwards.

The families: a Unicode digit that `str.isdigit()` accepts and `int()` refuses ('¹'); an id past 64 bits
(the database refuses it); a number past Python's 4,300-digit `int()` limit; a quantity past Decimal's 28
digits (InvalidOperation); a path segment longer than a file name may be (/static/). Then a body past the
1 MB cap sent without a length, and last the error page itself, which renders when the database, the
session, the templates or the catalogs are the thing that is broken.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from civic.db import metadata, unit_of_work
from civic.items.models import Item
from civic.seed import demo
from tests import fuzz_support as fz
from tests.builders import pledge_data

# Items of the demo in the stage each desk needs, named by their titles (see DEMO_ITEMS) and put into the
# paths below as {discuss}, {do}, ... once the demo is loaded.
DISCUSS = "{discuss}"  # in Dân bàn with comments and a decision record (deliberation desk)
DO = "{do}"  # in Dân làm with pledges, budget and deliveries (implementation desk)
PLEDGE = "{pledge}"  # in Dân làm; the demo resident's household may pledge
INSPECT = "{inspect}"  # in Dân kiểm tra with a checklist (inspection desk)
TRIAGE = "{triage}"  # submitted to the demo village head's village (triage desk)
REVIEW = "{review}"  # refused, and its author asked the supervisors to review it (review desk)
DEMO_ITEMS = {
    "discuss": demo.DISCUSS_DEMO,
    "do": demo.DITCH_DEMO,
    "pledge": "Thắp sáng đường quê: 20 cột đèn năng lượng mặt trời",
    "inspect": demo.INSPECT_DEMO,
    "triage": "Đèn đường ngõ 3 không sáng",
    "review": "Xây sân bóng mini có cỏ nhân tạo",
}
PAST_64_BITS = "9" * 20
PAST_INT_LIMIT = "9" * 5000
PAST_DECIMAL = "9" * 30
SUPERSCRIPT_ONE = "¹"  # "¹".isdigit() is True; int("¹") raises


@dataclass
class Case:
    """One input. For a POST either `data` is the whole body, or `path` is a regular expression for the
    action of a form on `page` (after following the first link there matching `follow`, if given): that
    form is filled in as a careful person would and `change` applied to it (keys are regular expressions
    for field names)."""

    name: str
    method: str
    path: str
    role: str = "anonymous"
    data: dict | None = None
    page: str = ""
    follow: str = ""
    change: dict[str, str] = field(default_factory=dict)


def _q(value: str) -> str:
    return quote(value, safe="")


CASES = [
    # -- GET: query values and path segments -----------------------------------------------------------
    Case("comment-page-superscript-on-status-page", "GET",
         f"/items/{DISCUSS}?comments={_q(SUPERSCRIPT_ONE)}"),
    Case("comment-page-superscript-on-desk", "GET", f"/deliberation/{DISCUSS}?comments={_q(SUPERSCRIPT_ONE)}",
         role="village_head"),
    Case("comment-page-superscript-on-notice", "GET",
         f"/items/{DISCUSS}/notice?comments={_q(SUPERSCRIPT_ONE)}"),
    Case("comment-page-superscript-on-triage", "GET", f"/triage/{TRIAGE}?comments={_q(SUPERSCRIPT_ONE)}",
         role="village_head"),
    Case("comment-page-superscript-on-review", "GET", f"/review/{REVIEW}?comments={_q(SUPERSCRIPT_ONE)}",
         role="supervisor"),
    Case("village-feed-superscript", "GET", f"/villages/{_q(SUPERSCRIPT_ONE)}/feed.atom"),
    Case("village-calendar-superscript", "GET", f"/villages/{_q(SUPERSCRIPT_ONE)}/meetings.ics"),
    Case("media-id-past-64-bits", "GET", f"/media/{PAST_64_BITS}/display-x.webp"),
    Case("decision-record-superscript", "GET", f"/items/{DISCUSS}/decisions/{_q(SUPERSCRIPT_ONE)}/record"),
    Case("pledgers-page-superscript", "GET", f"/items/{DO}/pledgers?page={_q(SUPERSCRIPT_ONE)}"),
    Case("do-desk-page-superscript", "GET", f"/do/{DO}?page={_q(SUPERSCRIPT_ONE)}", role="village_head"),
    Case("do-pledge-id-past-64-bits", "GET", f"/do/{DO}/pledge/{PAST_64_BITS}", role="village_head"),
    Case("static-name-past-name-max", "GET", "/static/" + "a" * 5000),
    Case("static-path-past-path-max", "GET", "/static/" + "a/" * 2500 + "civic.css"),
    # -- POST: ids in the path ------------------------------------------------------------------------
    Case("deliver-pledge-id-past-64-bits", "POST", f"/do/{DO}/pledge/{PAST_64_BITS}/deliver",
         role="village_head", data={"amount": "1"}),
    Case("withdraw-pledge-id-past-64-bits", "POST", f"/items/{DO}/pledge/{PAST_64_BITS}/withdraw",
         role="resident", data={}),
    Case("dispute-delivery-id-past-64-bits", "POST", f"/items/{DO}/delivery/{PAST_64_BITS}/dispute",
         role="resident", data={"reason": "Hộ tôi chưa nhận được biên nhận giao vật liệu."}),
    Case("hide-media-id-past-64-bits", "POST", f"/media/{PAST_64_BITS}/hide", role="village_head",
         data={"reason": "Ảnh có thông tin cá nhân của người dân."}),
    Case("category-id-superscript", "POST", f"/admin/categories/{_q(SUPERSCRIPT_ONE)}", role="admin",
         data={"days": "3"}),
    # -- POST: fields of the forms --------------------------------------------------------------------
    Case("category-days-superscript", "POST", r"/admin/categories/\d+", role="admin",
         page="/admin/categories", change={"days": SUPERSCRIPT_ONE}),
    Case("category-days-past-int-limit", "POST", r"/admin/categories/\d+", role="admin",
         page="/admin/categories", change={"days": PAST_INT_LIMIT}),
    Case("hide-comment-superscript", "POST", f"/deliberation/{DISCUSS}/hide_comment",
         role="village_head",
         page=f"/deliberation/{DISCUSS}", change={"comment_id": SUPERSCRIPT_ONE}),
    Case("hide-comment-id-past-64-bits", "POST", f"/deliberation/{DISCUSS}/hide_comment",
         role="village_head",
         page=f"/deliberation/{DISCUSS}", change={"comment_id": PAST_64_BITS}),
    Case("hide-comment-id-past-int-limit", "POST", f"/deliberation/{DISCUSS}/hide_comment",
         role="village_head",
         page=f"/deliberation/{DISCUSS}", change={"comment_id": PAST_INT_LIMIT}),
    *[Case(f"inspect-{action.replace('_', '-')}-target-past-64-bits", "POST", f"/inspect/{INSPECT}/{action}",
           role=role, page=f"/inspect/{INSPECT}", change={"target_id": PAST_64_BITS})
      for action, role in (("mark", "supervisor"), ("resolve", "supervisor"), ("remove_entry", "supervisor"),
                           ("answer", "village_head"))],
    Case("budget-amount-past-int-limit", "POST", f"/do/{DO}/budget", role="village_head", page=f"/do/{DO}",
         change={"amount": PAST_INT_LIMIT}),
    Case("spend-amount-past-int-limit", "POST", f"/do/{DO}/spend", role="village_head", page=f"/do/{DO}",
         change={"amount": PAST_INT_LIMIT}),
    *[Case(f"{name.replace('_', '-')}-past-int-limit", "POST", f"/do/{DO}/settings", role="village_head",
           page=f"/do/{DO}", change={name: PAST_INT_LIMIT})
      for name in ("needed_money", "needed_land_m2", "needed_labour_days")],
    Case("pledge-land-past-decimal", "POST", f"/items/{PLEDGE}/pledge", role="resident",
         data=pledge_data("land", PAST_DECIMAL)),
    Case("pledge-labour-past-decimal", "POST", f"/items/{PLEDGE}/pledge", role="resident",
         data=pledge_data("labour", PAST_DECIMAL)),
    Case("pledge-amount-past-int-limit", "POST", f"/items/{PLEDGE}/pledge", role="resident",
         data=pledge_data("land", PAST_INT_LIMIT)),
    Case("deliver-amount-past-int-limit", "POST", rf"/do/{DO}/pledge/\d+/deliver", role="village_head",
         page=f"/do/{DO}", follow=rf"^/do/{DO}/pledge/\d+$", change={"amount": PAST_INT_LIMIT}),
]


def _audit_head(client) -> str:
    page = client.get("/audit")
    assert page.status_code == 200
    found = re.search(r'<code class="hash">([0-9a-f]+)</code>', page.text)
    assert found, "the audit page shows the head hash"
    return found.group(1)


def _rows() -> dict[str, int]:
    with unit_of_work() as db:
        return {t.name: db.execute(select(func.count()).select_from(t)).scalar_one()
                for t in metadata.sorted_tables}


def _form_body(client, case: Case, csrf: str) -> tuple[str, list[tuple[str, str]]]:
    page = case.page
    if case.follow:
        html = client.get(page).text
        parser = fz.PageParser(page)
        parser.feed(html)
        page = next(p for p in map(fz.same_site_path, parser.links) if p and re.match(case.follow, p))
    answer = client.get(page)
    assert answer.status_code == 200, (page, answer.status_code)
    forms = [f for f in fz.forms_of({page: answer.text}) if re.fullmatch(case.path, f.action)]
    assert forms, f"no form posting to {case.path} on {page}"
    values = fz.baseline(forms[0])
    for pattern, value in case.change.items():
        assert any(re.fullmatch(pattern, k) for k, _ in values), f"no field {pattern} in {forms[0].action}"
        values = [(k, value if re.fullmatch(pattern, k) else v) for k, v in values]
    return forms[0].action, [("csrf_token", csrf)] + [(k, v) for k, v in values if k != "csrf_token"]


def assert_calm(answer) -> None:
    """Below 500, and the calm error page or the form again: HTML in the user's language, no stack trace."""
    assert answer.status_code < 500, answer.status_code
    text = answer.text
    assert "Traceback" not in text and "Internal Server Error" not in text
    if answer.status_code >= 400:
        assert re.search(r'<html lang="(vi|en)">', text), text[:300]
        assert 'role="alert"' in text or "<form" in text, text[:300]


def _demo_codes() -> dict[str, str]:
    with unit_of_work() as db:
        return {key: db.execute(select(Item.code).where(Item.title == title)).scalar_one()
                for key, title in DEMO_ITEMS.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_500(client, case):
    fz.load_demo()
    codes = _demo_codes()
    case = Case(case.name, case.method, case.path.format(**codes), case.role, case.data,
                case.page.format(**codes), case.follow.format(**codes), case.change)
    csrf = fz.log_in(client, case.role)
    head, rows = _audit_head(client), _rows()
    if case.method == "GET":
        answer = client.get(case.path, follow_redirects=False)
    else:
        if case.data is not None:
            action, body = case.path, [("csrf_token", csrf), *case.data.items()]
        else:
            action, body = _form_body(client, case, csrf)
        before = _rows()  # reading the pages may have written (a first view), posting must not
        answer = client.post(action, data=fz.as_form(body), follow_redirects=False)
        assert _rows() == before, f"{case.name} changed rows"
    assert_calm(answer)
    assert _audit_head(client) == head, f"{case.name} changed the audit chain"
    if case.method == "GET":
        assert _rows() == rows


@pytest.mark.parametrize("path", ["/login", "/submit", "/triage/new"])
def test_a_body_over_the_cap_without_a_length_is_refused(client, path):
    """Sent in chunks (no Content-Length), a body past 1 MB is cut off and answered 413, as one that says its
    length is, even by a route that reads the form and would call any failure a form it could not read."""
    fz.load_demo()
    csrf = fz.log_in(client, "village_head")
    rows = _rows()

    def chunks():
        yield f"csrf_token={csrf}&title=".encode()
        for _ in range(12):
            yield b"x" * 100_000

    form = {"content-type": "application/x-www-form-urlencoded"}
    answer = client.post(path, content=chunks(), headers=form)
    assert answer.status_code == 413
    assert _rows() == rows


ODD_STATIC = {
    "name-past-255-bytes": "/static/" + "a" * 256,
    "name-past-255-bytes-in-utf8": "/static/" + "é" * 128,
    "name-of-5000-chars": "/static/" + "a" * 5000 + ".css",
    "nul": "/static/%00",
    "nul-before-extension": "/static/civic.css%00.png",
    "hidden-file": "/static/.hidden",
    "encoded-parent-directory": "/static/..%2fcivic%2fconfig.py",
    "empty-segment": "/static/a//civic.css",
    "below-a-file": "/static/civic.css/" + "x" * 300,
    "path-past-1024-bytes": "/static/" + "a/" * 600,
    "invalid-utf8": "/static/%ff%fe",
    "superscript-one": "/static/%C2%B9",
    "version-of-5000-digits": "/static/nothing.css?v=" + "9" * 5000,
}


@pytest.mark.parametrize("path", list(ODD_STATIC.values()), ids=list(ODD_STATIC))
def test_odd_static_paths_are_not_found(client, path):
    for method in ("GET", "HEAD"):
        answer = client.request(method, path, follow_redirects=False)
        assert answer.status_code == 404, (method, path[:60], answer.status_code)
    assert_calm(client.get(path, follow_redirects=False))


def test_static_files_are_still_served(client):
    from civic.web.assets import asset_url

    versioned = client.get(asset_url("civic.css"))
    assert versioned.status_code == 200 and "immutable" in versioned.headers["cache-control"]
    plain = client.get("/static/civic.css")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"


# -- the last-resort error page ---------------------------------------------------------------------------

class Boom(RuntimeError):
    pass


def _client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _broken_route():
    raise Boom("the route exploded")


@pytest.fixture
def broken_app(app):
    app.add_api_route("/boom", _broken_route, methods=["GET", "HEAD"])
    return app


def _assert_error_page(answer, caplog) -> None:
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    text = answer.text
    assert re.search(r'<html lang="vi">', text), text[:300]
    assert "exploded" not in text and "Traceback" not in text
    logged = re.search(r"unexpected error ([0-9a-f]{12}) on GET /boom", caplog.text)
    assert logged, "the error is logged with a request id"
    assert logged.group(1) in text, "the page shows the same id"
    assert answer.headers["x-request-id"] == logged.group(1)
    assert "Hệ thống đang gặp sự cố" in text, "the title says what happened, in Vietnamese"
    assert f"Mã tham chiếu: {logged.group(1)}" in text


def test_the_error_page_renders_when_the_database_is_down(broken_app, monkeypatch, caplog):
    from civic.web import errors

    def no_database(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("unable to open database file"))

    monkeypatch.setattr(errors, "unit_of_work", no_database)
    with caplog.at_level(logging.ERROR, logger="civic"), _client(broken_app) as c:
        answer = c.get("/boom")
    _assert_error_page(answer, caplog)
    assert "<h1>" in answer.text and 'href="/"' in answer.text


def test_the_error_page_renders_when_the_templates_fail_too(broken_app, monkeypatch, caplog):
    from civic.web import errors

    def broken_render(*_args, **_kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(errors.Web, "render", broken_render)
    with caplog.at_level(logging.ERROR, logger="civic"), _client(broken_app) as c:
        answer = c.get("/boom")
    _assert_error_page(answer, caplog)


def test_the_error_page_renders_without_templates_or_catalogs(broken_app, monkeypatch, caplog):
    from civic.web import errors

    def broken(*_args, **_kwargs):
        raise RuntimeError("everything exploded")

    monkeypatch.setattr(errors.Web, "render", broken)
    monkeypatch.setattr(errors, "translations", broken)
    with caplog.at_level(logging.ERROR, logger="civic"), _client(broken_app) as c:
        answer = c.get("/boom")
    assert answer.status_code == 500
    logged = re.search(r"unexpected error ([0-9a-f]{12}) on GET /boom", caplog.text)
    assert logged
    assert '<html lang="en">' in answer.text and "exploded" not in answer.text
    assert "Something went wrong on our side" in answer.text
    assert f"Reference: {logged.group(1)}" in answer.text


def test_the_error_page_renders_without_the_session(caplog):
    """An app without the session middleware (or an error raised before it ran) still gets the page."""
    from civic.main import create_app

    full = create_app()
    app = FastAPI()
    for exc, handler in full.exception_handlers.items():
        app.add_exception_handler(exc, handler)
    app.add_api_route("/boom", _broken_route)
    with caplog.at_level(logging.ERROR, logger="civic"), _client(app) as c:
        answer = c.get("/boom")
    assert answer.status_code == 500
    assert re.search(r'<html lang="vi">', answer.text)
    logged = re.search(r"unexpected error ([0-9a-f]{12}) on GET /boom", caplog.text)
    assert logged and logged.group(1) in answer.text


def test_a_head_request_that_fails_gets_the_error_status_and_reference(broken_app, caplog):
    with caplog.at_level(logging.ERROR, logger="civic"), _client(broken_app) as c:
        answer = c.head("/boom")
        page = c.get("/boom")
    assert answer.status_code == 500
    assert re.fullmatch(r"[0-9a-f]{12}", answer.headers["x-request-id"])
    assert "without the database" not in caplog.text and "without templates" not in caplog.text
    _assert_error_page(page, caplog)


def test_a_not_found_page_renders_when_the_database_is_down(client, monkeypatch):
    from civic.web import errors

    def no_database(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("unable to open database file"))

    monkeypatch.setattr(errors, "unit_of_work", no_database)
    answer = client.get("/static/" + "a" * 5000)
    assert answer.status_code == 404
    assert_calm(answer)
