"""In a real browser: searching, facets, a resource page, keyboard use, JavaScript off."""

from __future__ import annotations

import re

import pytest
from webapp_support import DIAGNOSTIC

pytestmark = pytest.mark.browser


def active(page) -> dict:
    """What has the focus: tag, id, class, text, and whether its outline is visible."""
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          const style = getComputedStyle(e);
          return {tag: e.tagName.toLowerCase(), id: e.id, cls: e.className,
                  text: (e.textContent || "").trim(),
                  outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
                  top: e.getBoundingClientRect().top};
        }"""
    )


def test_type_a_query_and_submit(session):
    page = session.page
    session.goto("/")
    page.fill("#q", "diagnostic marchant")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/recherche\?q=diagnostic\+marchant$"))
    assert page.input_value("#q") == "diagnostic marchant"
    first = page.locator(".result-title a").first
    assert first.get_attribute("href") == DIAGNOSTIC
    assert page.locator("mark", has_text="diagnostic").count() > 0
    assert page.title().startswith("« diagnostic marchant »")
    assert session.errors == [] and session.violations() == []


def test_toggle_facets_and_remove_filters(session):
    page = session.page
    session.goto("/recherche?q=mobilit%C3%A9")
    total = page.locator("#resultats").inner_text()
    page.locator("#facette-thematiques ~ ul a", has_text="Mobilité").click()
    page.wait_for_url(re.compile(r"thematiques=mobilite"))
    chip = page.locator(".active-filters a.chip")
    assert chip.count() == 1
    assert "Thématique : Mobilité" in chip.inner_text()
    selected = page.locator("#facette-thematiques ~ ul a.is-selected")
    assert selected.count() == 1
    # A second value of another facet narrows further (AND across facets).
    page.locator("#facette-annee ~ ul a", has_text="2024").click()
    page.wait_for_url(re.compile(r"annee=2024"))
    assert page.locator(".active-filters a.chip").count() == 2
    assert page.locator(".result").count() == 1
    # Remove one filter, then the other, from the chips.
    page.locator(".active-filters a.chip", has_text="Année").click()
    page.wait_for_url(re.compile(r"^(?!.*annee).*thematiques=mobilite"))
    page.locator(".active-filters a.chip").click()
    page.wait_for_url(re.compile(r"/recherche\?q=mobilit%C3%A9$"))
    assert page.locator("#resultats").inner_text() == total


def test_pagination_and_sort(session):
    page = session.page
    session.goto("/recherche?q=s%C3%A9rie")
    page.locator("nav.pagination a", has_text="Page suivante").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("nav.pagination a[aria-current=page]").inner_text().endswith("2")
    page.locator(".sort a", has_text="date").click()
    page.wait_for_url(re.compile(r"tri=date$"))
    assert page.locator(".result-title a").first.get_attribute("href").endswith("serie-24")


def test_open_a_resource_from_the_results(session):
    page = session.page
    session.goto("/recherche?q=diagnostic")
    page.locator(".result-title a", has_text="Conduire un diagnostic").click()
    page.wait_for_url(re.compile(DIAGNOSTIC + "$"))
    assert (
        page.locator("h1").inner_text() == "Conduire un diagnostic en marchant avec les habitants"
    )
    # The image of the body is served and allowed by the policy.
    width = page.locator(".prose img").evaluate("img => img.complete && img.naturalWidth")
    assert width == 64
    assert (
        "Gestion urbaine et sociale de proximité (GUSP)" in page.locator(".metadata").inner_text()
    )
    # Related resources lead to other resource pages.
    page.locator(".related .result-title a").first.click()
    page.wait_for_url(re.compile(r"/ressources/"))
    assert page.url != session.base_url + DIAGNOSTIC
    assert session.violations() == [] and session.errors == []


@pytest.mark.parametrize("path", ["/", "/recherche"])
def test_keyboard_skip_link_then_search_field(session, path):
    page = session.page
    session.goto(path)
    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["cls"] == "skip-link" and focused["text"] == "Aller au contenu"
    assert focused["outline"] and focused["top"] >= 0  # visible once focused
    page.keyboard.press("Enter")
    assert active(page)["id"] == "contenu"
    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["id"] == "q" and focused["outline"]
    page.keyboard.type("clauses insertion")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/recherche\?q=clauses\+insertion"))
    assert "/ressources/centre-beta/emploi-clauses-insertion" in [
        a.get_attribute("href") for a in page.locator(".result-title a").all()
    ]


def test_keyboard_reaches_facets_and_activates_them(session):
    page = session.page
    session.goto("/recherche?q=mobilit%C3%A9")
    page.focus("#q")
    for _ in range(40):
        page.keyboard.press("Tab")
        if "facet-value" in active(page)["cls"]:
            break
    focused = active(page)
    assert "facet-value" in focused["cls"] and focused["outline"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"piliers=|thematiques=|dispositifs=|publics=|type=|centre="))
    assert page.locator(".active-filters a.chip").count() == 1


def test_everything_works_without_javascript(make_session):
    session = make_session(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = session.page
    session.goto("/")
    page.fill("#q", "mobilité")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/recherche\?q="))
    # Without the script the filter panel stays open on small screens.
    assert page.locator("details.filters").get_attribute("open") is not None
    page.locator("#facette-annee ~ ul a").first.click()
    page.wait_for_url(re.compile(r"annee="))
    assert page.locator(".active-filters a.chip").count() == 1
    page.locator(".result-title a").first.click()
    page.wait_for_url(re.compile(r"/ressources/"))
    assert page.locator("h1").count() == 1


def test_small_screens_fold_the_filters_with_javascript(make_session):
    session = make_session(viewport={"width": 375, "height": 800})
    page = session.page
    session.goto("/recherche?q=mobilit%C3%A9&thematiques=mobilite")
    filters = page.locator("details.filters")
    assert filters.get_attribute("open") is None
    page.locator("summary.filters-summary").click()
    assert filters.get_attribute("open") is not None
    assert page.locator("#facette-thematiques").is_visible()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/recherche?q=diagnostic&piliers=cadre-de-vie",
        DIAGNOSTIC,
        "/ressources/centre-alpha/fiche-rangee",
        "/ressources/centre-beta/fiche-piegee",
        "/centres/centre-alpha",
        "/dispositifs",
        "/territoires/11",
        "/a-propos",
        "/nulle-part",
    ],
)
def test_no_horizontal_scrolling_at_360_pixels(make_session, path):
    session = make_session(viewport={"width": 360, "height": 740})
    session.goto(path)
    width = session.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} : {width} px"


def test_print_stylesheet_keeps_the_sheet_only(session):
    page = session.page
    session.goto(DIAGNOSTIC)
    page.emulate_media(media="print")
    assert not page.locator(".site-nav").is_visible()
    assert not page.locator(".header-search").is_visible()
    assert not page.locator(".related").is_visible()
    assert page.locator(".resource-aside").is_visible()
    assert page.locator(".prose").is_visible()
    assert page.locator(".permalink-url").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_copy_link_button_is_added_by_the_script(make_session):
    session = make_session(permissions=["clipboard-read", "clipboard-write"])
    page = session.page
    session.goto(DIAGNOSTIC)
    page.locator("button.copy-button").click()
    page.wait_for_function("document.querySelector('.copy-status').textContent !== ''")
    assert page.locator(".copy-status").inner_text() in (
        "Lien copié",
        "Copie impossible : sélectionnez le lien",
    )
