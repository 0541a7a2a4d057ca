"""When a resource entered the base is recorded once and kept: a rebuild of the index
does not move it, and the resource page shows it beside the sheet's own date."""

from __future__ import annotations

import datetime as dt
import time

from webapp_support import text

from indexer.search import SearchIndex

CENTRE = '---\nnom: Centre Test\nregion: "32"\n---\nCentre.\n'
SHEET = """---
titre: Une action de 2019 publiée aujourd'hui
type: fiche-pratique
date: 2019-03-04
piliers: [cadre-de-vie]
resume: Une fiche antidatée, écrite longtemps après l'action qu'elle décrit.
---
## Contexte

Texte.
"""


def test_entry_date_survives_a_rebuild_and_is_shown(make_tree, tmp_path, run_kb):
    content = make_tree({"centre-test/_centre.md": CENTRE, "centre-test/action.md": SHEET})
    index_dir = tmp_path / "index"
    assert run_kb("index", "--content", content, "--index", index_dir).code == 0
    index = SearchIndex(index_dir)
    first = index.get("centre-test/action")
    index.close()
    entered = dt.datetime.fromisoformat(first["entree"])
    assert abs(entered - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)
    assert first["date"] == "2019-03-04"  # the sheet's own date is untouched

    time.sleep(1.1)  # the index records times to the second
    assert run_kb("index", "--rebuild", "--content", content, "--index", index_dir).code == 0
    index = SearchIndex(index_dir)
    again = index.get("centre-test/action")
    index.close()
    assert again["entree"] == first["entree"]

    from webapp import create_app

    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index_dir)})
    page = text(app.test_client().get("/ressources/centre-test/action").get_data(as_text=True))
    assert "Publication 4 mars 2019" in page.replace("\u00a0", " ")
    local = entered.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert f"Entrée dans la base {local.day}" in page.replace("\u00a0", " ")


OLDER = SHEET.replace("2019-03-04", "2024-05-06").replace(
    "Une action de 2019 publiée aujourd'hui", "Une action récente publiée en premier"
)


def test_a_backdated_sheet_added_last_is_the_news(make_tree, tmp_path, run_kb):
    """Feeds, the home page's latest publications, the embed and `tri=ajout` follow the
    entry into the base, not the date written in the sheet."""
    content = make_tree({"centre-test/_centre.md": CENTRE, "centre-test/recente.md": OLDER})
    index_dir = tmp_path / "index"
    assert run_kb("index", "--content", content, "--index", index_dir).code == 0
    time.sleep(1.1)  # entry times are recorded to the second
    (content / "centre-test" / "action.md").write_text(SHEET, encoding="utf-8")
    assert run_kb("index", "--content", content, "--index", index_dir).code == 0

    index = SearchIndex(index_dir)
    try:
        assert [hit.id for hit in index.latest(2)] == ["centre-test/action", "centre-test/recente"]
    finally:
        index.close()

    import feedparser

    from webapp import create_app

    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(index_dir)})
    client = app.test_client()
    feed = feedparser.parse(client.get("/flux.atom").data)
    assert [entry.title for entry in feed.entries] == [
        "Une action de 2019 publiée aujourd'hui",
        "Une action récente publiée en premier",
    ]
    assert feed.entries[0].published_parsed > feed.entries[1].published_parsed
    home = client.get("/").get_data(as_text=True)
    latest = home[home.index("Dernières publications") :]
    assert latest.index("Une action de 2019") < latest.index("Une action récente")
    by_entry = client.get("/recherche?tri=ajout").get_data(as_text=True)
    assert by_entry.index("Une action de 2019") < by_entry.index("Une action récente")
    by_date = client.get("/recherche?tri=date").get_data(as_text=True)
    assert by_date.index("Une action récente") < by_date.index("Une action de 2019")
    embed = client.get("/integrer?nombre=2").get_data(as_text=True)
    assert embed.index("Une action de 2019") < embed.index("Une action récente")
