"""In a real browser: the embeddable list works inside another site's frame (and no other
page does), and the pages added for dissemination run nothing the policy forbids."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

import pytest
from webapp_support import DIAGNOSTIC, RETIRED

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def partner():
    """Another site (another port: another origin), whose page frames the path it is given."""
    from werkzeug.wrappers import Request, Response

    from webapp.serving import ServerThread

    @Request.application
    def site(request):
        html = (
            '<!doctype html><html lang="fr"><title>Partenaire</title>'
            f'<iframe src="{escape(request.args["src"])}" title="liste"></iframe></html>'
        )
        return Response(html, mimetype="text/html")

    with ServerThread(site) as url:
        yield url


def partner_page(session, partner: str, path: str):
    page = session.page
    page.goto(f"{partner}/?{urlencode({'src': session.base_url + path})}", wait_until="load")
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 1
    return frames[0]


def test_a_partner_site_can_frame_the_embeddable_list(session, partner):
    frame = partner_page(session, partner, "/integrer?thematiques=mobilite&nombre=3")
    links = frame.locator(".embed-list a")
    assert links.count() == 3
    assert links.first.get_attribute("target") == "_blank"
    assert "Mobilité" in frame.locator("h1").inner_text()
    assert session.errors == []


@pytest.mark.parametrize("path", ["/recherche?thematiques=mobilite", DIAGNOSTIC])
def test_other_pages_refuse_to_be_framed(session, partner, path):
    frame = partner_page(session, partner, path)
    assert frame.locator(".result, .resource").count() == 0  # blocked by frame-ancestors


@pytest.mark.parametrize(
    "path", [RETIRED, "/integrer?thematiques=mobilite", "/a-propos", DIAGNOSTIC]
)
def test_new_pages_break_no_policy(session, path):
    session.goto(path)
    assert session.errors == []
    assert session.violations() == []  # the JSON-LD data block is not a script to run
