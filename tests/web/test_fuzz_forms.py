"""A mutation fuzz over every form of the demo commune, for each role: nothing a user can type gives a 500.

For each role (anonymous and the four demo accounts) the test opens every page that role can reach from the
home page and the desks, collects each `<form method=post>`, fills it in as a careful person would, then
posts it again and again with one field wrong at a time: empty, missing, 100 KB, with a NUL, Unicode
digits, negative, 20, 30 and 5,000 digits, far dates, an unknown choice, sent twice. The links and searches
it found are opened with each query value and each id in their path mutated the same way, and every page
with its pagers (?page=, ?comments=) set to such values. Every answer >= 500 (or showing a stack trace) is
collected and all of them are listed at the end, as "status METHOD path field/query mutation -> exception".

Mutations are drawn with a fixed seed, so a failure reproduces; the whole run takes about a minute on SQLite.
"""

from __future__ import annotations

import logging
import os
import random
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests import fuzz_support as fz

SEEDS = ["/", "/items", "/audit", "/track", "/submit", "/me/items", "/triage", "/triage/new", "/review",
         "/inspect", "/admin/categories", "/login", "/register", "/offline"]
# Posting these changes who is signed in: sign in again afterwards.
SESSION_CHANGERS = re.compile(r"^/(login|logout|register)\b")
# Mutations drawn per field on top of fuzz_support.ALWAYS; CIVIC_FUZZ_FULL=1 posts every one (minutes).
SAMPLED = len(fz.SAMPLED) if os.environ.get("CIVIC_FUZZ_FULL") else 3
# Query values and path segments: 100 KB is past any URL length a client sends.
QUERY_ALWAYS = ["superscript one", "30 digits", "5000 digits"]
QUERY_SAMPLED = [label for label in fz.VALUES if label not in QUERY_ALWAYS and label != "100 KB"]
# A few forms each role must find, so a crawler that stopped reaching the desks fails instead of fuzzing
# nothing.
MUST_FIND = {
    "anonymous": {"/submit", "/login", "/register", "/items/{code}/author/withdraw"},
    "resident": {"/items/{code}/comment", "/items/{code}/pledge"},
    "village_head": {"/triage/{code}/accept", "/deliberation/{code}/disclosure", "/do/{code}/budget",
                  "/do/{code}/pledge/{id}/deliver", "/media/{id}/hide"},
    "supervisor": {"/review/{code}/uphold", "/inspect/{code}/mark"},
    "admin": {"/admin/categories/{id}"},
}
ACTION_VALUES = ["superscript one", "20 digits"]  # put in place of each id or code of a form's action
PAGERS = ["page", "comments"]  # the query names of the pagers (?page=2, ?comments=2)
PATH_VALUES = ["superscript one", "Arabic-Indic three", "full-width 12", "20 digits", "5000 digits",
               "negative"]


class LastError(logging.Handler):
    """The exception the app logged for the last 500, to name it in the report."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.last = f"{type(exc).__name__}: {str(exc)[:120]}"


@pytest.fixture
def errors():
    handler = LastError()
    logger = logging.getLogger("civic")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _failure(failures: list[str], errors: LastError, answer, method: str, path: str, what: str) -> None:
    if answer.status_code >= 500 or "Traceback (most recent call last)" in answer.text:
        failures.append(f"{answer.status_code} {method} {path[:120]} {what} -> {errors.last}")
    errors.last = ""


@pytest.fixture
def quick_unknown_phone(monkeypatch):
    """An unknown phone is checked against a dummy hash made before the tests chose cheap argon2
    parameters; make it with the same cheap ones (the code path is the same)."""
    from civic.accounts import service

    monkeypatch.setattr(service, "_DUMMY_HASH", service._hasher.hash("not-a-real-password"))


def _submitted(client, csrf: str) -> list[str]:
    """An item submitted without an account, as a person would: its receipt links to the private manage
    page, whose author forms are fuzzed with the others."""
    form = next(f for f in fz.forms_of({"/submit": client.get("/submit").text}) if f.action == "/submit")
    answer = fz.post(client, form, fz.baseline(form), csrf)
    # If the form asks for more than fuzz_support.plausible() fills in, the manage page is left out rather
    # than the fuzz failing for something that is not a 500.
    return [answer.headers["location"]] if answer.status_code == 303 else []


@pytest.mark.parametrize("role", list(fz.DEMO_LOGINS))
def test_no_form_of_the_demo_answers_500(client, errors, quick_unknown_phone, role):
    fz.load_demo()
    csrf = fz.log_in(client, role)
    pages = fz.crawl(client, SEEDS + (_submitted(client, csrf) if role == "anonymous" else []))
    assert len(pages) > 20, f"{role} reached only {sorted(pages)}"
    forms = fz.forms_of(pages)
    if role != "anonymous":  # the same forms as for anonymous, and each post would sign the role out
        forms = [f for f in forms if not SESSION_CHANGERS.match(f.action) or f.action == "/logout"]
    found = {fz.shape(f.action) for f in forms}
    assert MUST_FIND[role] <= found, f"{role} did not find {MUST_FIND[role] - found}; found {sorted(found)}"
    rng = random.Random(f"civic-fuzz-{role}")
    failures: list[str] = []
    posts = 0
    for form in forms:
        base = fz.baseline(form)
        for name, mutation in fz.mutations_for(form, rng, SAMPLED):
            values = fz.MUTATIONS[mutation](base, name)
            answer = fz.post(client, form, values, csrf)
            posts += 1
            what = f"field={name or '-'} mutation={mutation}"
            _failure(failures, errors, answer, "POST", form.action, what)
            if SESSION_CHANGERS.match(form.action) or answer.headers.get("location", "").startswith("/login"):
                csrf = fz.log_in(client, role)
        for label, action in fz.odd_paths(form.action, ACTION_VALUES):
            elsewhere = fz.PageForm(form.page, "post", action, form.enctype, form.fields)
            answer = fz.post(client, elsewhere, base, csrf)
            posts += 1
            _failure(failures, errors, answer, "POST", action, f"path {label}")
        for label, (ctype, body) in fz.broken_bodies(form, base, csrf).items():
            answer = client.post(form.action, content=body, headers={"content-type": ctype},
                                 follow_redirects=False)
            _failure(failures, errors, answer, "POST", form.action, f"body={label}")
            if SESSION_CHANGERS.match(form.action):
                csrf = fz.log_in(client, role)
    assert not failures, (f"{len(failures)} of {posts} posts into {len(forms)} forms answered >= 500 "
                          f"for {role}:\n" + "\n".join(failures))


@pytest.mark.parametrize("role", ["anonymous", "resident", "village_head", "supervisor"])
def test_no_link_of_the_demo_answers_500_with_odd_values(client, errors, role):
    """Each query value of the links and searches found, and each id or code in their paths, mutated."""
    fz.load_demo()
    fz.log_in(client, role)
    pages = fz.crawl(client, SEEDS)
    rng = random.Random(f"civic-links-{role}")
    seen: set[str] = set()
    failures: list[str] = []

    def probe(path: str, what: str) -> None:
        answer = client.get(path, follow_redirects=False)
        _failure(failures, errors, answer, "GET", path, what)

    for path in sorted(pages):
        parser = fz.PageParser(path)
        parser.feed(pages[path])
        targets = parser.links + [fz.searched(f) for f in parser.forms if f.method == "get"]
        for target in filter(None, map(fz.same_site_path, targets)):
            if fz.shape(target) in seen or target.startswith(("/lang", "/static")):
                continue
            seen.add(fz.shape(target))
            parts = urlsplit(target)
            for name in dict.fromkeys(k for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
                for label in [*QUERY_ALWAYS, *rng.sample(QUERY_SAMPLED, 3)]:
                    probe(fz.with_query(target, name, fz.VALUES[label]), f"query {name}={label}")
            for label, odd in fz.odd_paths(parts.path, PATH_VALUES):
                probe(odd, f"path {label}")
    # The pagers show only past the first page: ask every page for a page of each kind anyway.
    paged: set[str] = set()
    for path in sorted({urlsplit(p).path for p in pages}):
        if fz.shape(path) in paged:
            continue
        paged.add(fz.shape(path))
        for name in PAGERS:
            for label in ("superscript one", "5000 digits"):
                probe(fz.with_query(path, name, fz.VALUES[label]), f"query {name}={label}")
    assert not failures, f"{len(failures)} answers >= 500 for {role}:\n" + "\n".join(failures)
