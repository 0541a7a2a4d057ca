"""The territory pages and the department map in Chromium, on the demo content: axe finds
no WCAG violation, the map's departments and counts match the index, it works without
JavaScript and by keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Session

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    "territoires": "/territoires",
    "région": "/territoires/32",
    "département": "/territoires/departements/80",
    "intercommunalité": "/territoires/epci/200093201",
    "commune": "/territoires/communes/80021",
    "quartier prioritaire": "/territoires/qpv/QN08003M",
    "quartier de 2015": "/territoires/qpv/QP093028",
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    from webapp import create_app
    from webapp.serving import ServerThread

    index = tmp_path_factory.mktemp("demo") / "instance" / "index"
    app = create_app({"KB_CONTENT": str(ROOT / "content"), "KB_INDEX": str(index)})
    server = ServerThread(app)
    yield server.start(), app
    server.stop()


@pytest.fixture
def demo(browser, demo_server):
    base_url, _ = demo_server
    contexts = []

    def make(**options) -> Session:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "fr-FR")
        context = browser.new_context(**options)
        contexts.append(context)
        return Session(context, base_url)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.parametrize("viewport", [(1280, 900), (375, 812)], ids=["bureau", "mobile"])
@pytest.mark.parametrize("path", list(PAGES.values()), ids=list(PAGES))
def test_no_wcag_violation(demo, axe, path, viewport) -> None:
    session = demo(viewport={"width": viewport[0], "height": viewport[1]})
    response = session.goto(path)
    assert response.status == 200
    results = axe.run(session.page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, results.generate_report()
    assert session.violations() == [] and session.errors == []


def test_map_has_every_department_with_its_count(demo, demo_server) -> None:
    _, app = demo_server
    from webapp.core.catalogue import current_catalogue

    with app.app_context():
        counts = current_catalogue().overview().counts["departement"]
    session = demo()
    session.goto("/territoires")
    areas = session.page.eval_on_selector_all(
        "svg.dmap-svg a",
        "links => links.map(a => [a.getAttribute('href'), a.getAttribute('aria-label'),"
        " a.querySelector('path').getAttribute('class')])",
    )
    codes = [href.rsplit("/", 1)[1] for href, _, _ in areas]
    assert len(codes) == 101 and len(set(codes)) == 101
    assert {"971", "972", "973", "974", "976", "2A", "2B", "75"} <= set(codes)
    for href, label, classes in areas:
        code = href.rsplit("/", 1)[1]
        count = counts.get(code, 0)
        assert label.endswith(f"({code}) : {count} ressource" + ("s" if count > 1 else ""))
        assert ("dmap-0" in classes) == (count == 0), (code, classes)
    somme = next(label for href, label, _ in areas if href.endswith("/80"))
    assert somme.startswith("Somme (80)")
    # The data table says the same.
    rows = session.page.eval_on_selector_all(
        "table.dmap-table tbody tr",
        "rows => rows.map(r => [r.cells[1].textContent, Number(r.cells[2].textContent)])",
    )
    assert dict(rows) == {code: n for code, n in counts.items() if n}
    # The map is drawn: the mainland and the insets have a size on screen.
    box = session.page.locator("svg.dmap-svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 250
    reunion = session.page.locator('svg.dmap-svg a[href$="/974"] path').bounding_box()
    assert reunion and reunion["width"] > 10


def test_map_works_without_javascript(demo) -> None:
    session = demo(java_script_enabled=False)
    session.goto("/territoires")
    session.page.locator('svg.dmap-svg a[href$="/departements/80"] path').click()
    session.page.wait_for_url("**/territoires/departements/80")
    assert session.page.locator("h1").inner_text().startswith("Somme")
    crumbs = session.page.locator("nav.breadcrumbs li").all_inner_texts()
    assert crumbs == ["Accueil", "Territoires", "Hauts-de-France", "Somme"]


def test_map_keyboard_path(demo) -> None:
    session = demo()
    session.goto("/territoires")
    page = session.page
    # Tab reaches the skip link, which leads past the 101 departments to the table.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('dmap-skip')"):
            break
    else:
        pytest.fail("le lien « Passer la carte » n'est pas atteint au clavier")
    assert page.evaluate("document.activeElement.getBoundingClientRect().width") > 0
    # The next Tab enters the map: a department link, focused and outlined.
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.closest('svg') !== null,"
        " document.activeElement.getAttribute('aria-label')]"
    )
    assert focused[0] and focused[1].startswith("Ain (01)")
    page.keyboard.press("Enter")
    page.wait_for_url("**/territoires/departements/01")
    page.go_back()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('dmap-skip')"):
            break
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#carte-departements-tableau"
