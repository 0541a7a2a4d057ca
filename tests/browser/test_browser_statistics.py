"""Statistics and annual reviews in Chromium: charts drawn without script, every chart
with its table, and the printed review holding only the figures and the list."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_statistics_page_draws_its_charts_without_script(make_session):
    session = make_session(java_script_enabled=False)
    response = session.goto("/statistiques?annees=entree")
    assert response.status == 200
    page = session.page
    charts = page.locator("svg.chart-svg")
    assert charts.count() >= 5
    for index in range(charts.count()):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 20
        assert chart.get_attribute("role") == "img"
        assert chart.locator("title").count() == 1
    # Every section's chart comes with its table.
    assert page.locator("section.stats-section table").count() >= charts.count()
    # Bars are drawn (not empty rectangles) in the pillars' chart.
    widths = page.locator("section[aria-labelledby=par-piliers] rect.chart-bar").evaluate_all(
        "bars => bars.map(b => b.getBBox().width)"
    )
    assert widths and all(w > 0 for w in widths)
    assert session.violations() == []


def test_printed_review_keeps_figures_and_list(session):
    session.goto("/centres/centre-gamma/bilan/2010")
    page = session.page
    assert page.locator(".review-links").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".review-links").is_visible()
    assert not page.locator(".site-nav").is_visible()
    assert page.locator("table.stats-table").first.is_visible()
    assert page.locator(".review-list li").count() == 1
    assert page.locator(".review-list").is_visible()
    assert session.errors == [] and session.violations() == []


def test_centre_page_links_to_its_reviews(session):
    session.goto("/centres/centre-gamma")
    link = session.page.get_by_role("link", name="Bilan 2010")
    link.click()
    session.page.wait_for_load_state()
    assert session.page.url.endswith("/centres/centre-gamma/bilan/2010")
    assert "Bilan 2010" in session.page.locator("h1").inner_text()
