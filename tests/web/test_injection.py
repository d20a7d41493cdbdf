"""No stored HTML on any page: markup typed into any free-text field is shown as text everywhere.

The test is built from the forms themselves, not from a list of fields. For each role of the demo commune
it crawls what the role can open (tests/fuzz_support.py), finds which `Form` schema each `<form>` posts to
(one probing post, refused before anything is written), and takes as free text every field whose typed
parser (civic/core/inputs.py `Text`, a domain's own free-text field) keeps a `<` that was typed. Each such
field gets a payload of its own — a recognisable `<b data-x="F12">` tag, an attribute break-out with a
`<script>` and a `<meta http-equiv="refresh">` — posted in a form that is otherwise valid, so it is stored.

Then every page is crawled again for every role, anonymous pages twice so the second answers come from
the page cache, together with the Atom feeds, the iCalendar feeds, the Open311 JSON and XML, the printed
notices and the offline page. No raw payload tag may appear in any of them (each format by its own
escaping rules), and every stored payload must be shown somewhere, so the test cannot pass by storing
nothing. The supervisor's checklist entry, the case this test was written for, is also checked on its own.

No randomness (the crawl is breadth first, the forms are sorted): a failure reproduces. About a minute of
CPU on SQLite or PostgreSQL. Schemas with free text it does not post are named in NOT_REACHED, with why.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from civic import clock
from civic.clock import LOCAL_TZ
from civic.core.inputs import Form, _Field
from civic.errors import N_, Invalid
from tests import fuzz_support as fz

pytestmark = pytest.mark.pages  # markup only: run on SQLite (tests/conftest.py)

SEEDS = ["/", "/items", "/audit", "/track", "/submit", "/me/items", "/triage", "/triage/new", "/review",
         "/inspect", "/admin/categories", "/login", "/register", "/offline"]

# Fields whose value no page shows, by design: excluded from "shown somewhere", with the reason.
NEVER_SHOWN = {
    "password": "a password is never shown back, on any page",
    "password_again": "a password is never shown back, on any page",
    "current_password": "a password is never shown back, on any page",
    "new_password": "a password is never shown back, on any page",
    "new_password_again": "a password is never shown back, on any page",
    "parcel_ref": "a land pledge needs the signed form's scan (a file this crawler does not upload) or the "
                  "village head's confirmation in person; tests/implementation/test_pages.py pledges land "
                  "with markup in the parcel and reads the village head's pledge page",
    "matter_reason": "kept and shown only when the matter is below what the asks imply (the crawler's "
                     "matter is not): tests/deliberation/test_matters.py posts markup in it and reads the "
                     "status page",
}
# Schemas with free text that this test does not post, and why. The test fails when another one appears
# unreached, and when one of these is reached (then it is tested: take it off the list).
NOT_STEP = "no item of the demo commune is at the step where a page offers this form"
NOT_REACHED: dict[str, str] = {
    "ItemListQuery": "a query, stored nowhere: the GET forms are sent with markup and their answers checked",
    "LoginForm": "stores nothing: the wrong login is answered on the same page, which is checked",
    "MoneyDeliveryForm": "DeliveryForm with the same evidence field, for a pledge of money; the form the "
                         "probe finds first is for goods",
    "RecordMeetingForm": "the demo's meeting has not taken place yet: " + NOT_STEP,
    "DecideForm": NOT_STEP,
    "CommuneDecisionForm": "the demo has no matter of the whole commune; tests/deliberation/"
                           "test_commune_scope_pages.py closes one with markup in its reason and checks it",
    "PaperBallotForm": NOT_STEP,
    "CountForm": NOT_STEP + "; its only free text, a correction's reason, is kept in the audit chain's "
                 "payload and shown on no page (tests/deliberation/test_count.py)",
    "CountQuery": "a query, stored nowhere: tests/deliberation/test_count.py searches with markup and checks "
                  "it is escaped",
    "RollForm": "the demo's meeting has not taken place yet: " + NOT_STEP + "; its only free text, the "
                "reason for taking a household off, is kept in the audit chain only",
    "OpenInspectionForm": NOT_STEP + " (its entries are ChecklistEntryForm's, which is posted)",
    "RefuseReopenForm": NOT_STEP,
    "ReopenRequestForm": NOT_STEP,
    "WithdrawForm": NOT_STEP,
    "PushForm": "shown only when Web Push is configured; a subscription is JSON with an https endpoint, so "
                "markup is refused (tests/notify/test_pages.py posts a bad one)",
    "ClaimQuery": "read only when it has the shape of a claim code, else the form opens empty "
                  "(tests/households/test_pages.py sends markup)",
    "DecideJoinForm": "the demo has no join request waiting; tests/households/test_pages.py posts markup as "
                      "the reason of a refusal and reads the resident's page",
    "AcceptNewForm": "an invitation's link carries its one-time code, shown once to the admin who made it: "
                     "no page links to it (tests/accounts/test_people.py posts markup into it)",
    "SetupForm": "only an empty site has /setup; tests/areas/test_setup.py sets one up with markup in the "
                 "commune's name and checks the page that follows",
    "CommuneForm": "read by `civic commune create`, as part of SetupForm, and on the operator's "
                   "communes page, which the demo has no operator for (tests/web/test_commune_operator.py "
                   "posts markup)",
    "CommuneSearchQuery": "the commune picker is shown only with several communes (the demo has one); "
                          "tests/web/test_communes.py searches with markup and checks it is escaped",
    "InviteAdminForm": "only the deployment operator posts it, and the demo has none; "
                       "tests/web/test_commune_operator.py posts markup and reads the letter",
    "RecogniseForm": "the demo's inspection board is recognised already; tests/boards/test_pages.py records "
                     "a recognition whose decision number holds markup and reads the public page",
    "RollQuery": "a query, stored nowhere: tests/deliberation/test_meeting.py searches the roll with markup",
    "ClusterForm": "only a village of 200 or more households meets by cluster, the demo's are smaller "
                   "(tests/deliberation/test_meeting.py adds clusters)",
    "MoveMeetingForm": "moving or cancelling the demo's meeting would take it from the forms crawled after "
                       "it (tests/deliberation/test_meeting.py cancels one with markup in the reason)",
    "CancelMeetingForm": "as MoveMeetingForm",
    "BoardJoinForm": "a change of the demo's board would take a member, their role and their logins from the "
                     "forms crawled after it (not posted); tests/boards/test_pages.py replaces a member with "
                     "markup in the minutes and the decision number and reads both pages",
    "BoardReplaceForm": "as BoardJoinForm",
    "EndBoardForm": "as BoardJoinForm; tests/boards/test_pages.py ends a board with markup in the decision "
                    "number",
    "FrontAgreeForm": "the demo has no head of a Front work committee; tests/deliberation/test_front.py "
                      "posts markup in the minutes reference and reads the public status page",
    "FrontRefuseForm": "as FrontAgreeForm (test_markup_in_a_refusal_and_a_withdrawal_is_shown_as_text)",
    "FrontWithdrawForm": "as FrontRefuseForm",
}
# Forms not posted: posting them changes who is signed in, and what they take is not shown to others
# (the login form's fields are a phone and a password). Leaving a household or handing its role over takes
# no text and would take from the resident the pledge, dispute and verdict forms crawled after it;
# deactivating an account or ending a role on the people page would lock the other probing roles out, and
# so would a change of the demo's people's board.
NOT_POSTED = re.compile(r"^/(login|logout|household/\d+/(leave|handover))\b"
                        r"|^/admin/people/[0-9]+/(deactivate|roles/)"
                        r"|^/admin/boards/[0-9]+/(join|replace|leave|end)\b")

SCRIPT = '"><script>alert(1)</script>'
META = '<meta http-equiv="refresh" content="0;url=//evil.example">'
# A payload tag anywhere in a page, a feed's HTML content or an XML document means markup got through.
RAW = re.compile(r'<b data-x="F\d+"|<script>alert\(1\)|<meta http-equiv="refresh" content="0;url=//evil',
                 re.IGNORECASE)
ERROR_ID = re.compile(r'id="f-([\w-]+)-error"')
ERROR = re.compile(r'(?:<p class="error"[^>]*>|role="alert"[^>]*>)(.*?)</p>', re.S)
MARK = re.compile(r'data-x="(F\d+)"', re.IGNORECASE)


def payloads(tag: str) -> list[str]:
    """The payload for field `tag`, longest first: a field that takes fewer characters gets a shorter one."""
    mark = f'<b data-x="{tag}">'
    return [f"{mark}{SCRIPT}{META} Đường thôn", f"{mark}{SCRIPT} Đường thôn", f"{mark} Đường thôn", mark]


FILLER = " Nội dung đủ dài để một người đọc hiểu được việc cần làm ở thôn, đoạn đường và thời gian."


def free_text_value(meta: _Field, tag: str) -> str | None:
    """The payload as this field accepts it (shortened or padded), or None if it takes no free text."""
    for text in payloads(tag):
        for value in (text, text + FILLER, text + FILLER * 4):
            try:
                parsed = meta.parse(value)
            except Exception:  # refused: try another length
                continue
            kept = parsed if isinstance(parsed, list) else [parsed]
            if any(isinstance(v, str) and MARK.search(v) for v in kept):
                return value
    return None


def free_text_fields(schema: type[Form]) -> dict[str, str]:
    """{field name: payload tagged F999} for each field of `schema` that keeps typed markup."""
    out = {}
    for name, info in schema.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, _Field):
                value = free_text_value(meta, "F999")
                if value is not None:
                    out[name] = value
    return out


def free_text_schemas() -> set[str]:
    """The names of the Form schemas of civic (every route imported) with a free-text field to post."""
    import civic.main  # noqa: F401  (every route, so every schema)

    out: set[str] = set()
    stack = list(Form.__subclasses__())
    while stack:
        schema = stack.pop()
        stack.extend(schema.__subclasses__())
        if schema.__module__.startswith("civic.") and not schema.__name__.startswith("_") \
                and set(free_text_fields(schema)) - set(NEVER_SHOWN):
            out.add(schema.__name__)
    return out


class SchemaProbe:
    """Which Form schema a post parses: Form.parse records its class, and refuses the first parse of a probe
    (the page is drawn again with 422; nothing is written)."""

    def __init__(self) -> None:
        self.probing = False
        self.seen: list[type[Form]] = []

    def install(self, monkeypatch) -> None:
        original = Form.parse.__func__  # type: ignore[attr-defined]
        probe = self

        def parse(cls, data=None, **extra):
            # Every parse of the probing post is refused, not only the first: /register reads its form
            # once before post_form (to throttle), and a second read must not register anyone.
            if probe.probing:
                probe.seen.append(cls)
                raise Invalid(N_("Please check this field."))
            return original(cls, data, **extra)

        monkeypatch.setattr(Form, "parse", classmethod(parse))

    def schema_of(self, client, form: fz.PageForm, csrf: str) -> type[Form] | None:
        self.seen.clear()
        self.probing = True
        fz.post(client, form, fz.baseline(form), csrf)
        self.probing = False
        return self.seen[0] if self.seen else None


@dataclass
class Posted:
    tag: str
    schema: str
    field: str
    action: str
    role: str
    offered: bool = True  # the page's form has the field; else only a hand-made post sends it
    status: int = 0
    why: str = ""


@dataclass
class Findings:
    raw: list[str] = field(default_factory=list)
    shown: dict[str, set[str]] = field(default_factory=dict)  # tag -> where it was seen (escaped)
    documents: int = 0

    def html(self, where: str, text: str, stored: bool = True) -> None:
        """An HTML page: no raw payload tag; what it shows, once unescaped, counts as shown (not on a page
        that refused a form and shows what was typed again: that is not stored)."""
        self.documents += 1
        for m in RAW.finditer(text):
            self.raw.append(f"{where}: {text[max(0, m.start() - 80):m.end() + 40]!r}")
        if stored:
            self.saw(where, html.unescape(text))

    def saw(self, where: str, text: str) -> None:
        for tag in MARK.findall(text):
            self.shown.setdefault(tag.upper(), set()).add(where)

    def atom(self, where: str, body: bytes) -> None:
        """An Atom feed: well-formed XML with no raw tag; its type="html" content, once decoded, is HTML and
        holds no raw tag either (a feed reader would render it)."""
        self.documents += 1
        text = body.decode("utf-8")
        for m in RAW.finditer(text):
            self.raw.append(f"{where}: {text[max(0, m.start() - 80):m.end() + 40]!r}")
        root = ET.fromstring(body)
        for element in root.iter():
            value = element.text or ""
            if element.get("type") == "html":
                self.html(f"{where} <content type=html>", value)
            else:
                self.saw(where, value)

    def xml(self, where: str, body: bytes) -> None:
        """Open311 XML: well-formed, the payload is text of an element, never elements of its own."""
        self.documents += 1
        text = body.decode("utf-8")
        for m in RAW.finditer(text):
            self.raw.append(f"{where}: {text[max(0, m.start() - 80):m.end() + 40]!r}")
        root = ET.fromstring(body)
        stray = {e.tag for e in root.iter()} & {"b", "B", "script", "meta"}
        if stray:
            self.raw.append(f"{where}: elements {stray} from user text")
        for element in root.iter():
            self.saw(where, element.text or "")

    def json(self, where: str, answer) -> None:
        """Open311 JSON: the payload is a string value (JSON needs no HTML escaping), the answer is JSON
        that no browser sniffs as HTML."""
        self.documents += 1
        assert answer.headers["content-type"].startswith("application/json"), where
        assert answer.headers.get("x-content-type-options") == "nosniff", where
        self.saw(where, json.dumps(answer.json(), ensure_ascii=False).replace('\\"', '"'))

    def ics(self, where: str, body: bytes) -> None:
        """iCalendar (RFC 5545): text values escape ; , and \\ — the payload's `;url=` stays inside its
        property, and no line of the calendar is user text of its own."""
        self.documents += 1
        text = body.decode("utf-8").replace("\r\n ", "")
        for line in text.split("\r\n"):
            if not line:
                continue
            name = re.match(r"[A-Z-]+[:;]", line)
            if name is None:
                self.raw.append(f"{where}: a line that is no property: {line[:80]!r}")
            if "0;url=//evil" in line:
                self.raw.append(f"{where}: an unescaped ';' from user text: {line[:120]!r}")
        self.saw(where, text.replace("\\;", ";").replace("\\,", ",").replace("\\\\", "\\"))


def tagger():
    tags: dict[tuple[str, str], str] = {}

    def tag_of(action: str, name: str) -> str:
        return tags.setdefault((fz.shape(action), name), f"F{len(tags) + 1}")

    return tag_of


def candidates(pages: dict[str, str]) -> dict[tuple, list[fz.PageForm]]:
    """Every post form of the pages, grouped by shape (action and field names): the first one of a shape
    that stores its payload is enough, the others are spares for when a form's item has moved on."""
    out: dict[tuple, list[fz.PageForm]] = {}
    for path in sorted(pages):
        parser = fz.PageParser(path)
        parser.feed(pages[path])
        for form in parser.forms:
            if form.method != "post":
                continue
            action = fz.same_site_path(form.action) if form.action.startswith("/") else path
            if not action or NOT_POSTED.match(action):
                continue
            form.action = action
            key = (fz.shape(action), tuple(sorted({f.name for f in form.fields})))
            out.setdefault(key, []).append(form)
    return out


def stored(answer) -> bool:
    return answer.status_code == 303 and not answer.headers.get("location", "").startswith("/login")


def day(offset: int) -> date:
    return clock.now().astimezone(LOCAL_TZ).date() + timedelta(days=offset)


# Dates a form may want: in the future (a meeting, a deadline), today, in the past (a delivery).
DATES = (20, 0, -3)


def filled(form: fz.PageForm, payload: dict[str, str], dates: int, choice: dict[str, int],
           fix: dict[str, str]) -> list[tuple[str, str]]:
    """The form as a careful person fills it in, with the payloads in their fields."""
    out = []
    for name, value in fz.baseline(form):
        f = next(f for f in form.fields if f.name == name)
        if name in payload:
            value = payload[name]
        elif name in fix:
            value = fix[name]
        elif not f.value and value == "2026-12-01":
            value = day(DATES[dates]).isoformat()
        elif not f.value and value == "2026-12-01T09:00":
            value = f"{day(DATES[dates]).isoformat()}T09:00"
        elif name in choice and f.tag == "select" and f.options:
            options = [o for o in f.options if o]
            value = options[choice[name] % len(options)] if options else value
        out.append((name, value))
    sent = dict(out)
    return out + [(name, value) for name, value in {**fix, **payload}.items() if name not in sent]


_phones = iter(range(10**6))


def alternatives(form: fz.PageForm, name: str) -> Iterator[str]:
    """What a careful person tries next when a field they filled in is refused: another phone (this one has
    an account), a household code of the register, a smaller amount, a later date, no item code."""
    f = next(f for f in form.fields if f.name == name)
    if "phone" in name or f.type == "tel":
        yield from (f"0987{next(_phones):06d}" for _ in range(3))
    elif name == "household":
        yield from household_codes(form.action)
    elif f.type == "number" or any(w in name for w in ("amount", "quantity", "money")):
        yield from ("1", "100")
    elif f.type == "date" and "end" in name:  # a period's end refused as too early: a later one
        yield from (day(400).isoformat(), day(1900).isoformat())
    elif name.endswith("item") and f.tag == "input":  # an item code refused (optional): none
        yield ""


def household_codes(action: str) -> list[str]:
    from sqlalchemy import select

    from civic.areas.models import Household
    from civic.db import unit_of_work
    from civic.items.models import Item

    code = fz.CODE.search(action)
    if code is None:
        return []
    with unit_of_work() as db:
        item = db.execute(select(Item).where(Item.code == code.group(0))).scalar_one()
        rows = db.execute(select(Household.code).where(Household.village_id == item.village_id)
                          .order_by(Household.id).limit(5))
        return [row[0] for row in rows]


def word_choices(form: fz.PageForm) -> list[dict[str, int]]:
    """One starting choice per option of the form's select of words (a pledge's kind: land, money, labour,
    materials), so that the fields one kind shows (a unit for materials) are stored too."""
    selects = [f for f in form.fields if f.tag == "select"]
    start = dict.fromkeys([f.name for f in selects], 0)
    words = next((f for f in selects if 1 < len(f.options) <= 6
                  and not any(o.isdigit() for o in f.options)), None)
    if words is None:
        return [start]
    return [{**start, words.name: i} for i in range(len([o for o in words.options if o]))]


@dataclass
class Job:
    """A form shape with free-text fields: the forms of that shape found (spares), the payloads."""

    role: str
    forms: list[fz.PageForm]
    entries: dict[str, Posted]
    payload: dict[str, str]


def searches(client, role: str, pages: dict[str, str], findings: Findings) -> None:
    """Each GET form (a search, a filter) sent with a payload in its text fields: shown again, as text."""
    done: set[str] = set()
    for path in sorted(pages):
        parser = fz.PageParser(path)
        parser.feed(pages[path])
        for form in parser.forms:
            if form.method != "get":
                continue
            texts = [f.name for f in form.fields if f.tag == "textarea" or f.type in ("text", "search")]
            target = fz.searched(form).split("?")[0]
            if not texts or fz.shape(target) in done:
                continue
            done.add(fz.shape(target))
            query = [(k, v) for k, v in fz.baseline(form) if k not in texts]
            query += [(name, payloads("F0")[0]) for name in texts]
            answer = client.get(f"{target}?{urlencode(query)}")
            findings.html(f"{role} GET {target} with markup in {texts} -> {answer.status_code}", answer.text,
                          stored=False)


def jobs_of(client, role: str, probe: SchemaProbe, tag_of, posted: dict[str, Posted],
            findings: Findings) -> list[Job]:
    """The forms `role` can reach that take free text, with a payload for each free-text field; the GET
    forms are sent with markup at once."""
    csrf = fz.log_in(client, role)
    seeds = SEEDS + (_submitted(client, csrf) if role == "anonymous" else [])
    pages = fz.crawl(client, seeds, most=600)
    searches(client, role, pages, findings)
    if role == "anonymous":  # a wrong login shows the phone typed again
        login = next(f for f in fz.forms_of(pages) if f.action == "/login")
        values = [(k, payloads("F0")[0] if k == "phone" else v) for k, v in fz.baseline(login)]
        answer = fz.post(client, login, values, csrf)
        findings.html(f"POST /login with markup -> {answer.status_code}", answer.text, stored=False)
    jobs = []
    for _key, forms in sorted(candidates(pages).items()):
        schema = probe.schema_of(client, forms[0], csrf)
        if schema is None:
            continue
        # Every free-text field of the schema: also one the page's form does not offer (a withdrawal's
        # reason), which a hand-made post can send all the same.
        fields = {name: value for name, value in free_text_fields(schema).items() if name not in NEVER_SHOWN}
        if not fields:
            continue
        entries = {}
        for name in fields:
            tag = tag_of(forms[0].action, name)
            offered = any(f.name == name for f in forms[0].fields)
            entries[name] = posted.setdefault(tag, Posted(tag, schema.__name__, name, forms[0].action, role,
                                                          offered))
        payload = {name: value.replace('"F999"', f'"{entries[name].tag}"') for name, value in fields.items()}
        jobs.append(Job(role, forms, entries, payload))
    return jobs


def send(client, job: Job, csrf: str, findings: Findings) -> tuple[list[str], str]:
    """Post the job's payloads in the first of its forms that stores them; refused values are dropped (the
    page that refused them was checked). The pages the posts went to, and the CSRF token to go on with."""
    went: list[str] = []
    payload = dict(job.payload)
    for form in job.forms:
        for start in word_choices(form):
            dates, choice, fix = 0, dict(start), {}
            others: dict[str, Iterator[str]] = {}
            for _ in range(10):
                sent = filled(form, payload, dates, choice, fix)
                answer = fz.post(client, form, sent, csrf)
                where = f"{job.role} POST {form.action} -> {answer.status_code}"
                findings.html(where, answer.text, stored=False)
                if stored(answer):  # the page it goes to, with its flash message
                    after = client.get(answer.headers["location"])
                    findings.html(f"{where} {answer.headers['location']}", after.text)
                if form.action.startswith("/register"):
                    if answer.status_code == 303:  # the new account is not logged in: its owner logs in
                        typed = dict(sent)
                        login_page = client.get(answer.headers["location"])
                        welcome = client.post("/login", data={"csrf_token": fz.csrf_of(login_page.text),
                                                              "phone": typed["phone"],
                                                              "password": typed["password"]},
                                              follow_redirects=False)
                        if welcome.status_code == 303:
                            findings.html(f"{where} login", client.get(welcome.headers["location"]).text)
                    csrf = fz.log_in(client, job.role)
                for name in payload:
                    job.entries[name].status = answer.status_code
                if stored(answer) or answer.status_code != 422:
                    break
                wrong = {m.group(1) for m in ERROR_ID.finditer(answer.text)}
                why = "; ".join(html.unescape(m) for m in ERROR.findall(answer.text))[:300]
                refused = [n for n in payload if any(w.endswith(n) for w in wrong)]
                for name in refused:
                    job.entries[name].why = "refused: " + why
                    payload.pop(name)
                changed = False
                for name in {f.name for f in form.fields} - set(payload):
                    if any(w.endswith(name) for w in wrong):
                        if name in choice:
                            choice[name] += 1
                            changed = True
                        elif (value := next(others.setdefault(name, alternatives(form, name)), None)) \
                                is not None:
                            fix[name] = value
                            changed = True
                if not changed:  # "tick to confirm that it is right": a careful person checks and ticks
                    for f in form.fields:
                        if f.type == "checkbox" and f.name.startswith("confirm") and f.name not in fix:
                            fix[f.name] = f.value or "1"
                            changed = True
                if not refused and not changed:
                    if dates + 1 >= len(DATES):
                        for name in payload:
                            job.entries[name].why = why
                        break
                    dates += 1
            if stored(answer):
                for name in payload:
                    job.entries[name].why = "stored"
                went += [answer.headers["location"], form.page]
            elif answer.status_code != 422:
                break
        if went:
            break
    return went, csrf


def _submitted(client, csrf: str) -> list[str]:
    """An item sent without an account: its receipt links to the private manage page and its forms."""
    form = next(f for f in fz.forms_of({"/submit": client.get("/submit").text}) if f.action == "/submit")
    answer = fz.post(client, form, fz.baseline(form), csrf)
    return [answer.headers["location"]] if answer.status_code == 303 else []


def documents(pages: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(kind, path) of what the crawl does not open, the same for every visitor: the Atom feeds, the
    iCalendar feeds, the Open311 answers in JSON and XML (with the public timeline), the printed notices."""
    codes = sorted({m.group(1) for p in pages for m in [re.match(r"/items/([A-Z0-9-]+)$", p)] if m})
    villages = sorted({v for p in pages for v in re.findall(r"[?&]village=(\d+)", p)}
                      | {v for text in pages.values() for v in re.findall(r"/villages/(\d+)/", text)})
    assert codes and villages
    for code in codes:
        yield "atom", f"/items/{code}/feed.atom"
        yield "html", f"/items/{code}/notice"
    for village in villages:
        yield "atom", f"/villages/{village}/feed.atom"
        yield "ics", f"/villages/{village}/meetings.ics"
    for fmt in ("json", "xml"):
        yield fmt, f"/open311/v2/requests.{fmt}?extensions=true&status=open,closed"
        yield fmt, f"/open311/v2/servicerequestupdates.{fmt}"
        yield fmt, f"/open311/v2/services.{fmt}"


def newest(client, pages: dict[str, str], went: list[str], per_shape: int = 10) -> dict[str, str]:
    """The pages of the newest rows linked from the pages the posts went to (a pledge just recorded), which
    the crawl, opening a few pages of each shape, may have left out."""
    links: dict[str, list[tuple[int, str]]] = {}
    for path in went:
        if path not in pages:
            continue
        parser = fz.PageParser(path)
        parser.feed(pages[path])
        for target in filter(None, map(fz.same_site_path, parser.links)):
            ids = [int(i) for i in re.findall(r"/(\d+)(?=/|$)", target.split("?")[0])]
            if ids and not fz.SKIP_CRAWL.search(target):
                links.setdefault(fz.shape(target), []).append((ids[-1], target))
    out = {}
    for found in links.values():
        for _, target in sorted(set(found), reverse=True)[:per_shape]:
            if target not in pages:
                answer = client.get(target, follow_redirects=False)
                if answer.status_code == 200 and "text/html" in answer.headers.get("content-type", ""):
                    out[target] = answer.text
    return out


def check_everything(client, findings: Findings, went: list[str], most: int) -> None:
    """Every page of every role (anonymous twice: the second time from the page cache), the pages the posts
    went to first, then the feeds and documents."""
    pages: dict[str, str] = {}
    public: dict[str, str] = {}
    went = went + [f"/items/{code}" for code in sorted({c for path in went for c in fz.CODE.findall(path)})]
    for role in fz.DEMO_LOGINS:
        fz.log_in(client, role)
        for n in range(2 if role == "anonymous" else 1):
            pages = fz.crawl(client, went + SEEDS, most=most)
            assert len(pages) > 20, f"{role} reached only {sorted(pages)}"
            pages.update(newest(client, pages, went))
            for path, text in pages.items():
                findings.html(f"{role} {path}" + (" (from the page cache)" if n else ""), text)
        if role == "anonymous":
            public = pages
    for kind, path in documents(public):
        answer = client.get(path)
        assert answer.status_code == 200, path
        if kind == "json":
            findings.json(path, answer)
        elif kind == "html":
            findings.html(path, answer.text)
        else:
            getattr(findings, kind)(path, answer.content)


@pytest.fixture
def probe(monkeypatch):
    p = SchemaProbe()
    p.install(monkeypatch)
    return p


def empty_and_load_demo() -> None:
    """The demo commune as it was before any post (the same ids: the forms found still fit)."""
    from civic.db import get_engine, metadata
    from civic.web.pagecache import cache

    with get_engine().begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    cache.clear()
    fz.load_demo()


def test_markup_typed_into_any_field_is_never_markup_on_any_page(client, probe):
    from civic.web.pagecache import cache

    assert cache.enabled
    fz.load_demo()
    tag_of = tagger()
    posted: dict[str, Posted] = {}
    findings = Findings()
    jobs = [job for role in fz.DEMO_LOGINS for job in jobs_of(client, role, probe, tag_of, posted, findings)]
    # Up to three rounds: a form whose item another post moved on (the review upheld after it was sent
    # back; a triage form whose items were recategorized or redirected first) gets a fresh demo commune in
    # the next round, with only the forms still waiting.
    for n in range(3):
        went: list[str] = []
        later: list[Job] = []
        role = ""
        for job in jobs:
            if job.role != role:
                role = job.role
                csrf = fz.log_in(client, role)
            to, csrf = send(client, job, csrf, findings)
            went += to
            if not to and any(e.why == "" and e.status == 409 for e in job.entries.values()):
                later.append(job)
        check_everything(client, findings, list(dict.fromkeys(went)), most=800 if n == 0 else 60)
        if not later:
            break
        jobs = later
        empty_and_load_demo()

    reached = {p.schema for p in posted.values()}
    unreached = free_text_schemas() - reached
    assert unreached == set(NOT_REACHED), (
        "forms with free text the demo commune does not reach (make the demo reach them, or say why in "
        f"NOT_REACHED): {sorted(unreached - set(NOT_REACHED))}; listed in NOT_REACHED but now reached: "
        f"{sorted(set(NOT_REACHED) - unreached)}")

    kept = [p for p in posted.values() if not p.why.startswith("refused")]
    assert len(kept) > 40, f"only {len(kept)} free-text fields stored: {sorted(posted)}"
    assert not findings.raw, (f"{len(findings.raw)} raw payload tags in {findings.documents} documents:\n"
                              + "\n".join(findings.raw[:40]))
    # A field the page's form does not offer may be ignored by the service: it must not be markup anywhere,
    # but need not be shown.
    missing = [p for p in kept if p.tag not in findings.shown and p.offered]
    assert not missing, ("payloads posted but shown nowhere (not stored? shown on a page not crawled?):\n"
                         + "\n".join(f"  {p.tag} {p.schema}.{p.field} by {p.role} at {p.action} -> "
                                      f"{p.status} {p.why}" for p in missing))


def test_a_checklist_entry_a_supervisor_typed_is_text_on_the_public_pages(client):
    """The case this file was written for: a supervisor's checklist entry was passed through _() (so the
    default entries are translated) and rendered as markup on the public status page and its timeline, and
    the page cache served it to every visitor."""
    fz.load_demo()
    csrf = fz.log_in(client, "supervisor")
    pages = fz.crawl(client, ["/inspect"], most=40)
    add = next(f for f in fz.forms_of(pages) if f.action.endswith("/add_entry"))
    code = fz.CODE.search(add.action).group(0)
    label = f'Rãnh thoát nước {META}<a href="//evil.example">xem</a>'
    answer = fz.post(client, add, [("label", label)], csrf)
    assert answer.status_code == 303, answer.text
    inspect = client.get(f"/inspect/{code}").text
    parser = fz.PageParser(f"/inspect/{code}")
    parser.feed(inspect)
    mark = [f for f in parser.forms if f.action.endswith("/mark")][-1]  # the entry just added is the last
    entry = next(f.value for f in mark.fields if f.name == "target_id")
    answer = fz.post(client, mark, [("target_id", entry), ("mark", "ok"), ("note", "")], csrf)
    assert answer.status_code == 303, answer.text

    fz.log_in(client, "anonymous")
    escaped = str(escape(label))
    for n in range(2):  # the second answer comes from the page cache
        page = client.get(f"/items/{code}")
        assert page.status_code == 200
        assert "<meta http-equiv=\"refresh\"" not in page.text and 'href="//evil.example"' not in page.text, n
        assert page.text.count(escaped) >= 2, "the entry is shown, as text, in the checklist and the timeline"
    feed = ET.fromstring(client.get(f"/items/{code}/feed.atom").content)
    contents = [e.text or "" for e in feed.iter() if e.get("type") == "html"]
    assert any(escaped in c for c in contents)
    assert not any("<meta" in c or "<a href" in c for c in contents)
