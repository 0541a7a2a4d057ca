"""Browser tests: the app served by a real server thread, driven in Debian's Chromium.

They run wherever Chromium is installed; in CI (CI set) a missing Chromium fails loudly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from webapp_support import require

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records Content-Security-Policy violations: there must be none (nothing blocked, because
# nothing forbidden was ever sent).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="session")
def live_server(web_app):
    from webapp.serving import ServerThread

    server = ServerThread(web_app)
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).is_file(), f"Chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


class Session:
    """A page of a fresh browser context, with what the tests watch: dialogs and errors."""

    def __init__(self, context, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.add_init_script(RECORD_VIOLATIONS)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path, wait_until="load")
        return response

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations || []")


@pytest.fixture
def make_session(browser, live_server):
    contexts = []

    def make(**options) -> Session:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "fr-FR")
        context = browser.new_context(**options)
        contexts.append(context)
        return Session(context, live_server)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def session(make_session) -> Session:
    return make_session()
