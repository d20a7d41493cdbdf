"""Keyboard-only use: what a resident or village head without a mouse notices.

On a representative set of pages (home, list, a status page, the submit form, two desk forms), with a
desktop-sized window and the keyboard only:
- the first Tab stop is the skip link, it shows on screen, and activating it moves focus to `main`;
- each Tab moves forward through the page in DOM and visual order: no positive tabindex, every focusable
  element is reached once, and focus leaves the page at the end (no trap);
- every element focused by the keyboard shows a visible focus indicator that it does not have unfocused;
- the submit form can be filled and sent with Enter or Space, and the result is shown;
- a form sent back with errors announces them: a summary with role=alert, each invalid field aria-invalid
  and described by its message.
The stage strip and the progress bars have text equivalents: what a screen reader gets names the current
stage (or the outcome) and each bar's value.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.pages import ERRORS_ANNOUNCED_JS, _more_items, build, log_in

pytestmark = [pytest.mark.browser, pytest.mark.pages]

DESKTOP = {"viewport": {"width": 1280, "height": 800}}

# Marks every element the Tab key should stop at, in DOM order (a radio group is one stop), and remembers
# how each looks unfocused. Returns the number of stops and any element with a positive tabindex.
PREPARE_JS = """() => {
  const candidates = 'a[href], area[href], button, input, select, textarea, summary, iframe, [tabindex], ' +
                     '[contenteditable]';
  // What a closed <details> holds (but its own summary) is not rendered, so Tab passes it by.
  const folded = e => { const d = e.closest('details:not([open])');
    return !!d && !(e.tagName === 'SUMMARY' && e.parentElement === d); };
  const rendered = e => (e.offsetWidth || e.offsetHeight || e.getClientRects().length) &&
                        getComputedStyle(e).visibility !== 'hidden' && !folded(e);
  const look = e => { const s = getComputedStyle(e);
    return {outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow}; };
  window.__kbLook = new Map();
  const radioStop = new Map();
  let stops = 0;
  const positive = [];
  for (const e of document.querySelectorAll(candidates)) {
    if (e.disabled || (e.type === 'hidden' && e.tagName === 'INPUT') || e.tabIndex < 0 || !rendered(e))
      continue;
    if (e.tabIndex > 0) positive.push(e.outerHTML.slice(0, 120));
    window.__kbLook.set(e, look(e));
    if (e.type === 'radio' && e.name) {
      const key = (e.form ? [...document.forms].indexOf(e.form) : -1) + '|' + e.name;
      if (!radioStop.has(key)) radioStop.set(key, stops++);
      e.dataset.kb = radioStop.get(key);
    } else {
      e.dataset.kb = stops++;
    }
  }
  return {stops, positive};
}"""

# Where the focus is now, how it looks, and how the same element looked unfocused.
FOCUS_JS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const r = e.getBoundingClientRect(), s = getComputedStyle(e),
        before = (window.__kbLook || new Map()).get(e);
  return {kb: e.dataset.kb === undefined ? -1 : Number(e.dataset.kb), id: e.id, tag: e.tagName,
          html: e.outerHTML.slice(0, 120), x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
          inView: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth &&
                  r.bottom <= innerHeight,
          outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0,
          outlineColor: s.outlineColor,
          outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow,
          before: before || null, skip: e.matches('a.skip')};
}"""


def _focus(page) -> dict | None:
    return page.evaluate(FOCUS_JS)


def _transparent(color: str) -> bool:
    return color in ("transparent", "rgba(0, 0, 0, 0)") or color.endswith(", 0)")


def _indicator_problem(f: dict) -> str | None:
    """Why the focused element `f` shows no visible focus indicator (None when it does)."""
    if f["before"] is None:
        return "was not expected to take focus"
    outline = f["outlineStyle"] != "none" and f["outlineWidth"] >= 2 and not _transparent(f["outlineColor"])
    shadow = f["shadow"] != "none" and f["shadow"] != f["before"]["shadow"]
    changed = f["outline"] != f["before"]["outline"] or f["shadow"] != f["before"]["shadow"]
    if not (outline or shadow):
        return f"no focus outline or ring (outline {f['outline']}, box-shadow {f['shadow']})"
    if not changed:
        return "looks the same focused and unfocused"
    return None


def _walk(page) -> tuple[dict, list[dict], bool]:
    """Tab from the top of the page to its end. Returns what was prepared, the stops in the order the
    focus reached them (one entry per element: a date field takes several presses), and whether the focus
    left the page at the end."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    prepared = page.evaluate(PREPARE_JS)
    stops: list[dict] = []
    for _ in range(3 * prepared["stops"] + 10):
        page.keyboard.press("Tab")
        f = _focus(page)
        if f is None:
            return prepared, stops, True
        if stops and f["kb"] == stops[-1]["kb"] and f["kb"] != -1:
            continue  # one field, several stops inside it (day, month, year)
        if stops and f["kb"] == 0:
            return prepared, stops, True  # the browser went round to the first stop again
        stops.append(f)
    return prepared, stops, False


def _tab_to(page, selector: str, most: int = 80) -> None:
    """Press Tab (forward only) until the focus is on `selector`, as a keyboard user would."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{most} presses of Tab did not reach {selector} on {page.url}")


@pytest.fixture
def kb(new_page):
    """The world, and a desktop browser per role (the keyboard user), opened on demand."""
    w = build()
    pages: dict[str | None, object] = {}

    def page_for(who: str | None):
        if who not in pages:
            page = new_page(js=True, **DESKTOP)
            if who:
                log_in(page, w["phones"][who])
            pages[who] = page
        return pages[who]

    return w, page_for


# name -> (who is signed in, path template filled from pages._more_items)
KEYBOARD_PAGES = {
    "home": (None, "/"),
    "item list": (None, "/items"),
    "status page (Dân làm, with bars)": (None, "/items/{do}"),
    "status page (Dân bàn, a household)": ("resident", "/items/{talk}"),
    "submit form": (None, "/submit"),
    "triage desk": ("village_head", "/triage/{submitted}"),
    "work desk": ("village_head", "/do/{do}"),
}


def test_the_first_tab_stop_is_a_visible_skip_link_to_main(kb, subtests):
    w, page_for = kb
    x = _more_items(w)
    for name, (who, path) in KEYBOARD_PAGES.items():
        with subtests.test(msg=name):
            page = page_for(who)
            page.goto(path.format(**x))
            page.keyboard.press("Tab")
            first = _focus(page)
            assert first and first["skip"], f"{name}: the first Tab stop is {first and first['html']}"
            assert first["inView"], f"{name}: the focused skip link is not on screen ({first})"
            assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#main"
            page.keyboard.press("Enter")
            assert page.evaluate("() => document.activeElement.id") == "main",\
                f"{name}: the skip link did not move the focus to main"
            page.keyboard.press("Tab")
            after = _focus(page)
            skipped = page.evaluate("""() => {
                const m = document.getElementById('main'), a = document.activeElement;
                return m.contains(a) ||
                  !!(m.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING); }""")
            assert after and skipped, (
                f"{name}: after the skip link the next Tab went back to {after and after['html']}, "
                "not past the menu")


def test_tab_order_moves_forward_through_every_element_with_a_visible_focus(kb, subtests):
    w, page_for = kb
    x = _more_items(w)
    for name, (who, path) in KEYBOARD_PAGES.items():
        page = page_for(who)
        page.goto(path.format(**x))
        prepared, stops, ended = _walk(page)
        with subtests.test(msg=f"{name}: order"):
            assert not prepared["positive"], f"{name}: positive tabindex on {prepared['positive']}"
            assert ended, f"{name}: the focus never left the page: a trap near {stops[-1]['html']}"
            reached = [s["kb"] for s in stops]
            assert reached == list(range(prepared["stops"])),\
                f"{name}: Tab reached the stops {reached}, "\
                f"expected 0..{prepared['stops'] - 1} in DOM order:\n" +\
                "\n".join(f"  {s['kb']}: {s['html']}" for s in stops)
            for a, b in zip(stops, stops[1:], strict=False):
                same_line = b["y"] < a["y"] + a["h"] and a["y"] < b["y"] + b["h"]
                forward = b["x"] >= a["x"] - 1 if same_line else b["y"] >= a["y"]
                assert forward, f"{name}: Tab went back on screen from {a['html']} to {b['html']}"
        with subtests.test(msg=f"{name}: focus visible"):
            hidden = [f"{s['html']}: {p}" for s in stops if (p := _indicator_problem(s))]
            assert not hidden, f"{name}: no visible focus on\n" + "\n".join(hidden)


def _fill_submit_form_by_keyboard(page) -> None:
    page.goto("/submit")
    _tab_to(page, "input[name=kind]")
    page.keyboard.press("Space")
    assert page.locator("input[name=kind]:checked").count() == 1, "Space did not choose the kind"
    for select in ("#f-village_id", "#f-category_id"):
        _tab_to(page, select)
        page.keyboard.press("ArrowDown")
        assert page.locator(select).input_value(), f"the arrow key did not choose in {select}"
    _tab_to(page, "#f-title")
    page.keyboard.type("Rãnh nước bị tắc ở xóm Dưới")
    _tab_to(page, "#f-description")
    page.keyboard.type("Nước tràn ra đường mỗi khi mưa.")
    _tab_to(page, "#f-contact_phone")
    page.keyboard.type("0912345679")


def test_a_keyboard_user_sends_the_submit_form(kb):
    _w, page_for = kb
    page = page_for(None)
    # Enter in a text field sends the form.
    _fill_submit_form_by_keyboard(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/submitted/"))
    assert re.search(r"NS-\d{4}-\d{4}", page.locator("main").inner_text()), "no item code after sending"
    # Space on the send button sends it too.
    _fill_submit_form_by_keyboard(page)
    _tab_to(page, "form[action='/submit'] button[type=submit]")
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"/submitted/"))
    assert re.search(r"NS-\d{4}-\d{4}", page.locator("main").inner_text()), "no item code after sending"


def _assert_errors_announced(page, fields: tuple[str, ...], where: str) -> None:
    summary = page.locator("main [role=alert]")
    assert summary.count() >= 1 and summary.first.inner_text().strip(),\
        f"{where}: no error summary (role=alert)"
    for fid in fields:
        field = page.locator(f"#{fid}")
        assert field.get_attribute("aria-invalid") == "true", f"{where}: #{fid} is not aria-invalid"
        described = (field.get_attribute("aria-describedby") or "").split()
        messages = [page.locator(f"#{ref}").inner_text().strip() for ref in described
                    if page.locator(f"#{ref}").count() == 1]
        assert any(page.locator(f"#{ref}.error").count() for ref in described) and all(messages),\
            f"{where}: #{fid} is not described by its error message ({described})"
    assert page.evaluate(ERRORS_ANNOUNCED_JS) == [], f"{where}: {page.evaluate(ERRORS_ANNOUNCED_JS)}"


def test_forms_sent_back_with_errors_announce_them(kb):
    w, page_for = kb
    page = page_for(None)
    page.goto("/submit")
    _tab_to(page, "form[action='/submit'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _assert_errors_announced(page, ("f-village_id", "f-category_id", "f-title", "f-description",
                                    "f-contact_phone"), "submit form")
    assert page.locator("fieldset[aria-describedby='f-kind-error']").count() == 1,\
        "the kind radios are not described by their error"
    # The summary's first link takes the keyboard user to the first field in error.
    _tab_to(page, "#form-errors a")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.name") == "kind",\
        "the summary link did not reach its field"

    # A desk form: the village head rejects with a reason too short to publish.
    page = page_for("village_head")
    page.goto(f"/triage/{w['submitted']}")
    # The actions are one group of radio buttons (static/triage.js): Space chooses "Reject", whose form opens
    # with the focus in its first field.
    _tab_to(page, "input[name=triage-choice]")
    page.keyboard.press("Space")
    if not page.evaluate("() => document.activeElement.matches(\"form[action$='/reject'] textarea\")"):
        _tab_to(page, "form[action$='/reject'] textarea")
    page.keyboard.type("x")
    _tab_to(page, "form[action$='/reject'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    reason = page.locator("form[action$='/reject'] textarea").get_attribute("id")
    _assert_errors_announced(page, (reason,), "triage reject")


def _read_out(snapshot: str) -> str:
    """The words of an aria snapshot, without its roles: what a screen reader says, in one line."""
    words = []
    for line in snapshot.splitlines():
        text = re.sub(r'^\s*- [a-z]+(?: "[^"]*")?:?\s*', "", line).strip().strip('"')
        if text:
            words.append(text)
    return " ".join(words)


STATES_EN = {"done": "completed", "current": "current stage", "stopped": "stopped here",
             "todo": "not reached"}


def test_stage_strip_and_bars_have_text_equivalents(kb, subtests):
    w, page_for = kb
    x = _more_items(w)
    page = page_for(None)
    page.goto("/lang/en?next=/")
    cases = {  # item -> (the current stage's motto, or the closing text the strip must carry)
        "submitted": (None, "Awaiting triage"),
        "know": ("Dân biết", None),
        "talk": ("Dân bàn", None),
        "do": ("Dân làm", None),
        "inspect": ("Dân kiểm tra", None),
        "done": (None, "Closed: Done"),
        "not_approved": (None, "Closed: Not approved by the households"),
        "rejected": (None, "Closed: Not taken up"),
    }
    mottos = ["Dân biết", "Dân bàn", "Dân làm", "Dân kiểm tra"]
    for key, (current, closing) in cases.items():
        with subtests.test(msg=f"stage strip: {key}"):
            page.goto(f"/items/{x[key]}")
            spoken = page.locator(".strip-wrap").aria_snapshot()
            steps = re.findall(r"- listitem: (.*)", spoken)
            assert len(steps) == 4, f"{key}: the strip does not read as four steps:\n{spoken}"
            for motto, step in zip(mottos, steps, strict=True):
                assert step.startswith(motto), f"{key}: step {step!r} does not name {motto}"
                state = step.rsplit(" — ", 1)[-1] if " — " in step else ""
                assert state in STATES_EN.values(), f"{key}: step {step!r} does not say its state in text"
            if key == "not_approved":  # it ended in Dân bàn, where the households voted it down
                assert [st.rsplit(" — ", 1)[-1] for st in steps] ==\
                    ["completed", "stopped here", "not reached", "not reached"], spoken
            now = [s for s in steps if s.endswith(STATES_EN["current"])]
            if current:
                assert len(now) == 1 and now[0].startswith(current),\
                    f"{key}: current stage not named:\n{spoken}"
                assert current in page.locator(".stage-now").inner_text()
            else:
                assert not now, f"{key}: a closed or waiting item has a current stage:\n{spoken}"
                assert closing in _read_out(spoken), f"{key}: {closing!r} not read:\n{spoken}"
    with subtests.test(msg="progress bars"):
        page.goto(f"/items/{x['do']}")
        bars = page.locator("main progress")
        assert bars.count() >= 2, "the Dân làm page shows no bars"
        for i in range(bars.count()):
            bar = bars.nth(i)
            value = bar.get_attribute("value")
            spoken = bar.aria_snapshot()
            name = re.search(r'progressbar "([^"]*)"', spoken)
            assert name and re.search(rf"\b{value} %", name.group(1)),\
                f"bar {i} ({value} %) is read as {spoken!r}: its value is not in its text"
