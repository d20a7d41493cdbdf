"""Helpers for the "no 500 from anything a user types" tests: the demo commune loaded once and restored
cheaply, a crawler that collects the forms and links of every page a role can open, and the mutations
posted into them.

The demo takes seconds to build through the real services, so it is built once per test session and its
rows kept in memory; each test that needs it puts the rows back into the tables `clean_db` emptied.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from sqlalchemy import select, text

from civic.db import get_engine, metadata, unit_of_work
from civic.items.models import Item

# -- the demo commune ---------------------------------------------------------------------------------

DEMO_LOGINS = {
    "anonymous": None,
    "resident": ("0900000001", "demo-resident"),
    "village_head": ("0900000002", "demo-head"),
    "supervisor": ("0900000003", "demo-supervisor"),
    "admin": ("0900000004", "demo-admin"),
}

_demo_rows: dict[str, list[dict]] | None = None
_demo_files: dict[str, bytes] = {}


def load_demo() -> None:
    """The demo commune in the (emptied) test database: built once, then restored from memory.

    The demo has no files; a photo and a PDF are attached to the item in Dân bàn, so the pages show the
    links to files and the form that hides one."""
    global _demo_rows
    from civic.media import storage

    if _demo_rows is None:
        from civic.media.models import Attachment
        from civic.seed import demo
        from tests.builders import make_attachment, pdf_bytes, photo_bytes

        with unit_of_work(write=True) as db:
            demo.load(db)
            item = db.execute(select(Item).where(Item.title == demo.DISCUSS_DEMO)).scalar_one()
            make_attachment(db, item, photo_bytes((800, 600)), filename="duong-lien-xom.jpg")
            make_attachment(db, item, pdf_bytes(1), filename="Biên bản họp thôn.pdf", purpose="minutes")
            keys = {k for a in db.execute(select(Attachment)).scalars()
                    for k in (a.display_key, a.thumb_key, a.original_key) if k}
        _demo_files.update({key: storage.path(key).read_bytes() for key in keys})
        engine = get_engine()
        with engine.connect() as conn:
            _demo_rows = {t.name: [dict(r._mapping) for r in conn.execute(t.select())]
                          for t in metadata.sorted_tables}
        return
    for key, data in _demo_files.items():  # another test may have removed files nothing referred to
        if not storage.path(key).exists():
            storage.path(key).parent.mkdir(parents=True, exist_ok=True)
            storage.path(key).write_bytes(data)
    engine = get_engine()
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = _demo_rows[table.name]
            if not rows:
                continue
            # A row may point at a later row of its own table (a duplicate at its original): fill those
            # columns once every row is in.
            own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
            conn.execute(table.insert(), [{**r, **dict.fromkeys(own)} for r in rows])
            for name in own:
                for r in rows:
                    if r[name] is not None:
                        conn.execute(table.update().where(table.c.id == r["id"]).values({name: r[name]}))
        if engine.dialect.name == "postgresql":  # rows came with their ids: move the sequences past them
            for table in metadata.sorted_tables:
                if "id" in table.c and _demo_rows[table.name]:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                      f"(SELECT max(id) FROM \"{table.name}\"))"))


def log_in(client, role: str) -> str:
    """A fresh session for `role` (of DEMO_LOGINS); returns its CSRF token."""
    client.cookies.clear()
    creds = DEMO_LOGINS[role]
    page = client.get("/login")
    if creds is not None:
        answer = client.post("/login", data={"csrf_token": csrf_of(page.text), "phone": creds[0],
                                             "password": creds[1]}, follow_redirects=False)
        assert answer.status_code == 303, (role, answer.status_code)
        page = client.get("/submit")
    return csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else ""


# -- what a page offers ---------------------------------------------------------------------------------

@dataclass
class Field:
    name: str
    tag: str  # input, select, textarea
    type: str = "text"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class PageForm:
    page: str
    method: str
    action: str
    enctype: str
    fields: list[Field] = field(default_factory=list)

    @property
    def multipart(self) -> bool:
        return "multipart" in self.enctype


class PageParser(HTMLParser):
    """The forms (with their fields) and the same-site links of a page."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[PageForm] = []
        self.links: list[str] = []
        self._form: PageForm | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag in ("a", "link") and a.get("href"):
            href = a["href"]
            self.links.append(urlsplit(self.page).path + href if href.startswith("?") else href)
        elif tag == "form":
            self._form = PageForm(self.page, (a.get("method") or "get").lower(), a.get("action") or self.page,
                                  a.get("enctype") or "application/x-www-form-urlencoded")
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "button") and a.get("name"):
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            self._form.fields.append(Field(a["name"], tag, kind, a.get("value", ""), "checked" in a, attrs=a))
        elif tag == "select" and a.get("name"):
            self._select = Field(a["name"], "select", "select", attrs=a)
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = Field(a["name"], "textarea", "textarea", attrs=a)
            self._form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None and not self._select.value and self._select.options:
                self._select.value = next((o for o in self._select.options if o), "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None


SITE = "http://testserver"  # where the test client's requests go: absolute links there are same-site


def same_site_path(href: str) -> str | None:
    if href.startswith(SITE + "/"):
        href = href[len(SITE):]
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# Pages not worth crawling: files, feeds, the language switch (it only redirects), the API.
SKIP_CRAWL = re.compile(r"^/(static|media|open311|lang|docs|openapi)|\.(atom|ics|webmanifest|js|json)(\?|$)")


# An item's page on each desk shows different forms in each stage: open them all.
EVERY_ONE = re.compile(r"^/(items|inspect|do|deliberation|triage|review)/[A-Z]{2,3}-\d{4}-\d{3,5}$")


def crawl(client, seeds: Iterable[str], most: int = 400, per_template: int = 3) -> dict[str, str]:
    """GET the pages reachable from `seeds` (same site, breadth first): {path: html} of those answered 200.

    Every status page of an item is opened; of other pages at most `per_template` of one shape (ids and
    query values replaced), so an item's thirty pledges or forty `?next=` variants of the login page are
    sampled."""
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue = list(seeds)
    pages: dict[str, str] = {}
    while queue and len(seen) < most:
        path = queue.pop(0)
        if path in seen or SKIP_CRAWL.search(path):
            continue
        key = path if EVERY_ONE.match(path) else shape(path, codes=False)
        if shapes.get(key, 0) >= per_template:
            continue
        shapes[key] = shapes.get(key, 0) + 1
        seen.add(path)
        answer = client.get(path, follow_redirects=False)
        if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        parser = PageParser(path)
        parser.feed(answer.text)
        pages[path] = answer.text
        for href in parser.links + [searched(form) for form in parser.forms if form.method == "get"]:
            target = same_site_path(href)
            if target and target not in seen:
                queue.append(target)
    return pages


def searched(form: PageForm) -> str:
    """The address a GET form (a search, a filter) leads to when sent as it is filled in."""
    action = urlsplit(form.action).path if form.action.startswith("/") else urlsplit(form.page).path
    query = [(k, v) for k, v in baseline(form) if v]
    return f"{action}?{urlencode(query)}" if query else action


CODE = re.compile(r"\b[A-Z]{2,3}-\d{4}-\d{3,5}\b")


def shape(path: str, codes: bool = True) -> str:
    """A path with its numbers and query values (and item codes unless `codes=False`) replaced: pages of
    one kind share a shape."""
    parts = urlsplit(path)
    p = CODE.sub("{code}", parts.path) if codes else parts.path
    p = re.sub(r"/\d+(?=/|$)", "/{id}", p)
    p = re.sub(r"/m/[^/]+", "/m/{token}", p)
    query = "&".join(sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}))
    return p + (f"?{query}" if query else "")


def forms_of(pages: dict[str, str], method: str = "post") -> list[PageForm]:
    """The forms of the pages, one of each shape (action and field names), in a stable order."""
    found: dict[tuple, PageForm] = {}
    for path in sorted(pages):
        parser = PageParser(path)
        parser.feed(pages[path])
        for form in parser.forms:
            if form.method != method:
                continue
            action = same_site_path(form.action) if form.action.startswith("/") else path
            if not action:
                continue
            form.action = action
            key = (shape(action), tuple(sorted({f.name for f in form.fields})))
            found.setdefault(key, form)
    return list(found.values())


# -- what a person might type ---------------------------------------------------------------------------

def plausible(f: Field) -> str:
    """A value a careful person would enter in an empty field, so that one wrong field is the only fault."""
    name = f.name.lower()
    if f.type in ("hidden", "submit", "checkbox", "radio", "select") or f.tag == "select":
        return f.value
    if f.value:
        return f.value
    if f.type == "date" or "date" in name or name.endswith("_on") or "day" in name:
        return "2026-12-01"
    if f.type == "datetime-local" or name.endswith("_at") or "time" in name:
        return "2026-12-01T09:00"
    if name in ("lat", "latitude"):
        return "21.3021"
    if name in ("lng", "long", "longitude"):
        return "105.2104"
    if f.type == "tel" or "phone" in name:
        return "0912345678"
    if f.type == "number" or any(w in name for w in ("amount", "quantity", "count", "total", "people",
                                                     "cost", "budget", "area", "number", "days")):
        return "10"
    if "password" in name:
        return "mat-khau-that-dai-1"
    if "code" in name:
        return "NS-2026-0001"
    if f.tag == "textarea":
        return "Nội dung đủ dài để một người đọc hiểu được việc cần làm ở thôn."
    return "Nguyễn Văn Hải"


def baseline(form: PageForm) -> list[tuple[str, str]]:
    """The form as a browser would send it after a careful person filled it in."""
    out: list[tuple[str, str]] = []
    radios: set[str] = set()
    for f in form.fields:
        if f.type == "file" or (f.type == "submit" and f.tag == "button"):
            continue
        if f.type == "checkbox":
            if f.checked:
                out.append((f.name, f.value or "on"))
            continue
        if f.type == "radio":
            if f.name in radios:
                continue
            chosen = next((g for g in form.fields if g.name == f.name and g.type == "radio" and g.checked), f)
            radios.add(f.name)
            out.append((f.name, chosen.value or "on"))
            continue
        if f.type == "submit":
            continue
        out.append((f.name, plausible(f)))
    return out


def _replace(values: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in values if k != name]
    return out + [(name, value)]


def _setting(value: str) -> Callable[[list, str], list]:
    return lambda values, name: _replace(values, name, value)


# What people (and their phones' keyboards) put into fields: each stands for a family of inputs.
VALUES = {
    "empty": "",
    "100 KB": "x" * 100_000,
    "NUL": "1\x00",
    "superscript one": "¹",
    "Arabic-Indic three": "٣",
    "full-width 12": "１２",
    "negative": "-1",
    "20 digits": "9" * 20,  # past a 64-bit id
    "30 digits": "9" * 30,  # past 64 bits and past Decimal's 28 digits
    "5000 digits": "9" * 5000,  # past Python's 4,300-digit int() limit
    "decimal garbage": "1e999",
    "NaN": "NaN",
    "31/12/9999": "31/12/9999",
    "0001-01-01": "0001-01-01",
    "unknown choice": "zz-not-an-option",
}

MUTATIONS: dict[str, Callable[[list[tuple[str, str]], str], list[tuple[str, str]]]] = {
    **{label: _setting(value) for label, value in VALUES.items()},
    "missing": lambda values, name: [(k, v) for k, v in values if k != name],
    "duplicated": lambda values, name: values + [(name, "2")],
    "as sent": lambda values, name: values,
}

# Mutations that stand for whole families; every field gets these, the rest are sampled.
ALWAYS = ("empty", "missing", "superscript one", "30 digits", "5000 digits")
SAMPLED = [m for m in MUTATIONS if m not in ALWAYS and m != "as sent"]


def mutations_for(form: PageForm, rng: random.Random, sampled: int) -> list[tuple[str, str]]:
    """(field, mutation) pairs for a form: the ALWAYS ones on every field, and `sampled` more per field taken
    in turn from the other mutations shuffled with `rng`, so a form of six fields gets every one."""
    names = [n for n in dict.fromkeys(f.name for f in form.fields if f.type not in ("submit", "file"))
             if n != "csrf_token"]
    if not names:  # a button alone (accept, support): as sent, and with a field nobody asked for
        return [("", "as sent"), ("unexpected", "5000 digits")]
    others = rng.sample(SAMPLED, len(SAMPLED))
    turn = iter(others * (len(names) * sampled // len(others) + 1))
    pairs = []
    for name in names:
        pairs.extend((name, m) for m in ALWAYS)
        pairs.extend((name, next(turn)) for _ in range(min(sampled, len(others))))
    return pairs


def post(client, form: PageForm, values: list[tuple[str, str]], csrf: str):
    body = [(k, v) for k, v in values if k != "csrf_token"]
    if any(k == "csrf_token" for k, _ in values) or any(f.name == "csrf_token" for f in form.fields):
        body = [("csrf_token", csrf)] + body
    if form.multipart:
        files = [(f.name, ("", b"", "application/octet-stream")) for f in form.fields if f.type == "file"]
        files = files or [("_", ("", b"", "application/octet-stream"))]
        return client.post(form.action, data=as_form(body), files=files, follow_redirects=False)
    return client.post(form.action, content=urlencode(body).encode(),
                       headers={"content-type": "application/x-www-form-urlencoded"}, follow_redirects=False)


def broken_bodies(form: PageForm, values: list[tuple[str, str]], csrf: str) -> dict[str, tuple[str, bytes]]:
    """The form's body as no browser sends it but a broken client or a proxy might: bad percent-encoding,
    bytes that are not UTF-8, a multipart body without its boundary, JSON."""
    fields = [("csrf_token", csrf)] + [(k, v) for k, v in values if k != "csrf_token"]
    plain = urlencode(fields).encode()
    return {
        "bad percent-encoding": ("application/x-www-form-urlencoded", plain + b"&title=%ff%fe%&%=%%"),
        "not UTF-8": ("application/x-www-form-urlencoded", plain + b"&description=\xff\xfe\x00\xc0\xaf"),
        "multipart without boundary": ("multipart/form-data", plain),
        "multipart cut short": ("multipart/form-data; boundary=xyz",
                                b"--xyz\r\nContent-Disposition: form-data; "
                                b'name="csrf_token"\r\n\r\n' + csrf.encode()),
        "JSON": ("application/json", json.dumps(dict(fields)).encode()),
    }


def as_form(body: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Pairs as the test client's `data=`: a name sent twice becomes a list."""
    out: dict[str, str | list[str]] = {}
    for k, v in body:
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


def odd_paths(path: str, labels: Iterable[str]) -> list[tuple[str, str]]:
    """(label, path) with each id or item code of `path` replaced by each of the VALUES named."""
    segments = path.split("/")
    return [(f"segment {i}={label}",
             "/".join(segments[:i] + [quote(VALUES[label], safe="")] + segments[i + 1:]))
            for i, segment in enumerate(segments) if segment.isdigit() or CODE.fullmatch(segment)
            for label in labels]


def with_query(path: str, name: str, value: str) -> str:
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name] + [(name, value)]
    return f"{parts.path}?{urlencode(query)}"
