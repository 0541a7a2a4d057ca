"""Hostile content rendered in the real browser: no dialog, no script, nothing blocked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HOSTILE_PAGES = [
    "/ressources/centre-beta/fiche-piegee",
    "/ressources/centre-beta/fiche-piegee/source.md",
    "/centres/centre-gamma",
    "/recherche?q=alerte",
    "/recherche?q=pi%C3%A9g%C3%A9",
    "/recherche?centre=centre-gamma",
    "/thematiques/prevention-delinquance",
    "/recherche?q=%3Cscript%3Ealert(%22q%22)%3C/script%3E",
    "/recherche?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    "/fichiers/centre-beta/page.html",
    "/fichiers/centre-beta/dessin.svg",
]


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_hostile_content_runs_nothing(session, path):
    page = session.page
    session.goto(path)
    # Give any event handler a chance to fire: hover and click what could carry one.
    for selector in ("a", "b", "img", "div"):
        for element in page.locator(f"main {selector}").all()[:20]:
            try:
                element.hover(timeout=500)
            except Exception:
                pass
    page.wait_for_timeout(200)
    assert session.dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert session.violations() == []
    assert session.errors == []


def test_hostile_javascript_links_do_not_exist(session):
    page = session.page
    session.goto("/ressources/centre-beta/fiche-piegee")
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert hrefs
    assert not [h for h in hrefs if not h.startswith(("http://", "https://", "mailto:"))]
    # The only script without a source is the page's JSON-LD description: data, never run.
    assert page.locator('script:not([src]):not([type="application/ld+json"])').count() == 0
    assert page.locator('script[type="application/ld+json"]').count() == 1
    assert page.locator("iframe, object, embed, svg, math, form[action^=http]").count() == 0
