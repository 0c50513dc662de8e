"""axe-core in the browser tests: what a page breaks of WCAG, at the impacts that block shoppers.

axe-core comes bundled in ``axe-playwright-python`` (PyPI), so nothing is fetched at run time.
Playwright's ``evaluate`` runs outside the page's Content-Security-Policy, so injecting it
does not weaken the policy the pages are tested under.
"""

from __future__ import annotations

from functools import cache

BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@cache
def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def accessibility_violations(page, *, impacts=BLOCKING_IMPACTS) -> list[str]:
    """Each axe-core violation of the given impacts on the page as it is now, one line per
    element: rule, impact, where (CSS selector) and axe's summary of what to fix."""
    results = _axe().run(page)
    lines = []
    for violation in results.response["violations"]:
        if violation["impact"] not in impacts:
            continue
        for node in violation["nodes"]:
            where = " ".join(str(part) for part in node["target"])
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"{violation['id']} ({violation['impact']}) at {where}: {summary}")
    return lines


def assert_accessible(page, *, impacts=BLOCKING_IMPACTS) -> None:
    violations = accessibility_violations(page, impacts=impacts)
    assert not violations, f"axe-core on {page.url}:\n" + "\n".join(violations)
