"""Every page of the core loop, in Vietnamese and in English, on a 360 px phone: zero axe violations
(WCAG 2.1 A/AA and axe's best practices), one column that never scrolls sideways, and touch targets of at
least 44 px. PAGES holds the status page in every stage and outcome and every form of the app,
clean and sent back with errors; a form with errors must announce them (a summary with role=alert, each
message tied to its field)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.pages import ERRORS_ANNOUNCED_JS, PAGES, build, log_in

pytestmark = [pytest.mark.browser, pytest.mark.pages]

_axe = Axe()

# What a thumb taps. Links inside sentences are left out; a standalone link in its own paragraph is not
# checked either (see the report of this test's author).
TARGETS = ("button, .button, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, "
           "textarea, label.choice, header a, .card-title, .counts a, .pager a, .foot a")
SMALL_TARGETS_JS = """sel => [...document.querySelectorAll(sel)]
  .map(e => [e.outerHTML.slice(0, 100), e.getBoundingClientRect()])
  .filter(([_, r]) => r.width > 0 && r.height < 43.5)
  .map(([html, r]) => `${Math.round(r.width)}x${Math.round(r.height)} px: ${html}`)"""


def violations_report(results: dict) -> str:
    lines = []
    for v in results["violations"]:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = node.get("failureSummary", "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_pages_are_accessible_on_a_phone(new_page, subtests, locale):
    """One world, one browser context per signed-in role; each page is its own subtest."""
    w = build()
    by_role: dict[str | None, list[str]] = {}
    for name, (who, _target) in PAGES.items():
        by_role.setdefault(who, []).append(name)
    for who, names in by_role.items():
        page = new_page(js=True)  # axe needs JavaScript; the pages themselves carry none
        if locale == "en":
            page.goto("/lang/en?next=/")
        if who:
            log_in(page, w["phones"][who])
        for name in names:
            with subtests.test(msg=f"{name} ({locale})"):
                target = PAGES[name][1]
                if callable(target):
                    target(page, w)
                else:
                    page.goto(target.format(**w))
                assert page.locator("html").get_attribute("lang") == locale, f"{name}: wrong language"
                results = _axe.run(page).response
                assert not results["violations"], \
                    f"axe on {name} ({locale}, {page.url}):\n{violations_report(results)}"
            with subtests.test(msg=f"{name} ({locale}): errors announced"):
                problems = page.evaluate(ERRORS_ANNOUNCED_JS)
                assert not problems, f"{name} ({locale}, {page.url}) does not announce its errors:\n" + \
                    "\n".join(problems)
            with subtests.test(msg=f"{name} ({locale}): layout at 360 px"):
                # clientWidth, not innerWidth: a phone zooms out to fit a page wider than itself, and
                # innerWidth grows with it.
                scroll, inner = page.evaluate("[document.documentElement.scrollWidth, "
                                              "document.documentElement.clientWidth]")
                assert scroll <= inner, f"{name} ({locale}) is {scroll} px wide on a {inner} px screen"
                small = page.evaluate(SMALL_TARGETS_JS, TARGETS)
                assert not small, f"touch targets under 44 px on {name} ({locale}):\n" + "\n".join(small)
