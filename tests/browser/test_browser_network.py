"""axe-core finds no WCAG violation on the network's pages: the directory of the centres
(with its thematics × pillars tables), a search that shows a group of near-duplicates once,
and a resource page that links to its near-duplicates."""

from __future__ import annotations

import pytest
from conftest import Session
from duplicates_support import PAIR, TREE

from indexer.build import Indexer

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def network_server(tmp_path_factory):
    from webapp import create_app
    from webapp.serving import ServerThread

    base = tmp_path_factory.mktemp("reseau-navigateur")
    content = base / "content"
    for relative, data in TREE.items():
        (content / relative).parent.mkdir(parents=True, exist_ok=True)
        (content / relative).write_text(data, encoding="utf-8")
    assert Indexer(content, base / "index").rebuild().ok
    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(base / "index")})
    server = ServerThread(app)
    yield server.start()
    server.stop()


@pytest.mark.parametrize("viewport", [(1280, 900), (375, 812)], ids=["bureau", "mobile"])
@pytest.mark.parametrize(
    "path",
    ["/centres", "/recherche?q=jardins", "/ressources/" + sorted(PAIR)[0]],
    ids=["annuaire des centres", "recherche avec un groupe", "ressource d'un groupe"],
)
def test_no_wcag_violation(browser, network_server, path, viewport):
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale="fr-FR"
    )
    try:
        session = Session(context, network_server)
        assert session.goto(path).status == 200
        results = Axe().run(session.page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        assert results.violations_count == 0, results.generate_report()
        assert session.violations() == [] and session.errors == []
        if path.startswith("/recherche"):
            assert session.page.locator(".result-also a").count() == 1
    finally:
        context.close()
