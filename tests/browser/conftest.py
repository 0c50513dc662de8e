"""Real-browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Why our own Playwright fixtures rather than pytest-playwright's ``page``: its ``playwright``
fixture is session-scoped, so the asyncio loop that Playwright's sync API runs in the test
thread would stay alive until the very end of the pytest session, under every Django test that
runs after this folder (tests/config, tests/recommender and tests/shop all sort after
tests/browser). ``chromium`` below is package-scoped: Playwright, its loop and the relaxed
async check (see ``_playwright``) end with the last browser test. Nothing here uses
pytest-playwright's fixtures, so its options (--headed, --browser...) do not apply.

Every page these tests open runs under the site's Content-Security-Policy, and a test fails
when the browser reports any violation of it (``csp_violations``): the features the tests drive
are then known to work under the policy that production sends.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
SUBSET_SIZE = 300  # the first rows of fashion-dev: imported, priced and indexed per test
DEFAULT_STOCK = 5
TIMEOUT_MS = 20_000  # a photo search encodes the photo on the live server (2 CPUs here)


@pytest.fixture(scope="package")
def _playwright():
    """Playwright's sync API, started once for the browser tests and stopped after them."""
    if not CHROMIUM.is_file():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an asyncio event loop in the test thread. Django then takes
    # every ORM call made from that thread (the tests' own queries, pytest-django's database
    # flush after each live-server test) for a call from async code and raises
    # SynchronousOnlyOperation. The ORM calls here are in fact synchronous and run one at a
    # time, so its check is switched off: the known pytest-django + Playwright workaround.
    # Set only while Playwright runs, so that later tests in the session keep the check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    manager = sync_playwright()
    playwright = manager.start()
    try:
        yield playwright
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def chromium(_playwright):
    """Debian's Chromium: Playwright's own browser download does not work on these machines."""
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# In every document where scripts run: each violation, with its directive and what it blocked.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__vitrineCspViolation?.(
    `${event.effectiveDirective} blocked ${event.blockedURI || "?"} in ${event.documentURI}` +
      (event.sample ? ` (${event.sample})` : "")
  );
}, true);
"""
CSP_VIOLATIONS = pytest.StashKey["CspViolations"]()


class CspViolations(list):
    """What the browser reported as Content-Security-Policy violations, one line each.

    Two sources, as neither sees everything: the ``securitypolicyviolation`` event (which
    directive, what was blocked) in documents that run scripts, and Chromium's console errors
    (every document, the sandboxed Insights report included, where no script runs). A violation
    in a scripted page is thus usually listed twice.
    """

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list = []

    def watch(self, context) -> None:
        self.contexts.append(context)
        context.expose_binding("__vitrineCspViolation", lambda source, text: self.append(text))
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            where = message.page.url if message.page else "a worker"
            self.append(f"console on {where}: {message.text}")

    def flush(self) -> None:
        """Take in the reports the browser sent before now (they arrive between commands)."""
        from playwright.sync_api import Error

        for context in self.contexts:
            for page in context.pages:
                with suppress(Error):  # a page being closed or navigated away has nothing to add
                    page.evaluate("0")


@pytest.fixture
def csp_violations(request) -> CspViolations:
    """The CSP violations in this test's pages; the test fails if any is left at its end (a
    test that provokes one on purpose checks it, then empties the list)."""
    violations = CspViolations()
    request.node.stash[CSP_VIOLATIONS] = violations
    return violations


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    violations = item.stash.get(CSP_VIOLATIONS, None)
    try:
        result = yield
    finally:
        if violations is not None:
            violations.flush()
            if violations:  # shown with the test's own failure too: it may be why it failed
                item.add_report_section("call", "CSP violations", "\n".join(violations))
    if violations:
        pytest.fail(
            "the browser reported Content-Security-Policy violations:\n" + "\n".join(violations),
            pytrace=False,
        )
    return result


@pytest.fixture
def new_shop_page(chromium, live_server, csp_violations) -> Iterator[Callable[..., object]]:
    """``new_shop_page(**context_options)``: a page in a fresh browser context (empty cache, no
    cookies) whose relative URLs go to the live server, its CSP violations recorded. Asking for
    ``live_server`` also gives the test ``transactional_db``: the server thread only sees
    committed data."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = chromium.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        csp_violations.watch(context)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shop_page(new_shop_page):
    """A desktop-sized page on the live server. (Not named ``page``: pytest-playwright would
    then parametrize the test over its --browser option, which these fixtures do not honour.)"""
    return new_shop_page()


@dataclass(frozen=True)
class Catalogue:
    folder: Path  # the subset: styles.csv and a link to fashion-dev's images
    rows: dict[str, dict[str, str]]  # fashion-dev id -> its styles.csv row, for the subset
    source: Path  # fashion-dev itself
    unimported: list[dict[str, str]]  # fashion-dev rows after the subset, in file order

    def photo(self, external_id: str) -> bytes:
        return (self.source / "images" / f"{external_id}.jpg").read_bytes()


@pytest.fixture
def catalogue(fashion_dev, tmp_path, transactional_db) -> Catalogue:
    """The first 300 fashion-dev products, in stock, priced and indexed with EfficientNet-Lite0.

    Function-scoped: live-server tests run in ``transactional_db``, which empties every table
    after each test, so each test imports again (about 1 s) and builds the index again (about
    5 s once the encoder is loaded).
    """
    from recommender.services import index_build
    from shop.services import catalogue_import, products_set_demo_prices

    folder = tmp_path / "catalogue"
    folder.mkdir()
    lines = (fashion_dev / "styles.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "styles.csv").write_text("".join(lines[: SUBSET_SIZE + 1]), encoding="utf-8")
    (folder / "images").symlink_to(fashion_dev / "images")

    report = catalogue_import(path=folder, default_stock=DEFAULT_STOCK)
    assert report.created == SUBSET_SIZE and not report.errors, str(report)
    products_set_demo_prices()
    index_build(encoder="efficientnet_lite0")

    with (fashion_dev / "styles.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Catalogue(
        folder=folder,
        rows={row["id"]: row for row in rows[:SUBSET_SIZE]},
        source=fashion_dev,
        unimported=rows[SUBSET_SIZE:],
    )
