"""`/recherche`: results, facets, filters, sort, pagination, suggestions, and every way its
parameters can be wrong (a French message and a 4xx status, never a 500)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webapp_support import DIAGNOSTIC, HOSTILE, SERIES, elements, hrefs, text

from webapp.core.params import SearchParams


def search(client, query: str = "", status: int = 200) -> str:
    response = client.get("/recherche" + ("?" + query if query else ""))
    assert response.status_code == status, (query, response.status_code)
    return response.get_data(as_text=True)


def result_links(html: str) -> list[str]:
    """Result titles' links, in order."""
    links = []
    for part in html.split('class="result-title"')[1:]:
        links.append(re.search(r'href="([^"]+)"', part).group(1))
    return links


def facet_links(html: str, key: str) -> dict[str, dict]:
    """For one facet: label -> {url, selected, count} (as the page shows them)."""
    section = html.split(f'id="facette-{key}"', 1)[1].split("</section>", 1)[0]
    found = {}
    for match in re.finditer(
        r'<a class="facet-value( is-selected)?" href="([^"]+)">(.*?)</a>', section, re.S
    ):
        inner = match.group(3)
        label = text(
            re.search(
                r'class="facet-label">(.*?)</span>\s*<span class="facet-count"', inner, re.S
            ).group(1)
        )
        label = label.replace("Retirer le filtre : ", "")
        count = int(
            re.search(r'class="facet-count">([\d\u202f]+)', inner).group(1).replace("\u202f", "")
        )
        found[label] = {
            "url": match.group(2).replace("&amp;", "&"),
            "selected": bool(match.group(1)),
            "count": count,
        }
    return found


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


# --- results -----------------------------------------------------------------------------


def test_empty_query_lists_everything_newest_first_with_facets(web_client):
    html = search(web_client)
    assert f"{5 + SERIES}\u00a0ressources trouvées" in text(html)
    assert "Classées de la plus récente à la plus ancienne" in text(html)
    links = result_links(html)
    assert len(links) == 10
    assert links[0] == "/ressources/centre-gamma/serie-24"
    piliers = facet_links(html, "piliers")
    assert piliers["Développement de l'activité économique et de l'emploi"]["count"] == 25
    assert piliers["Cohésion sociale"]["count"] == 3
    for key in ("thematiques", "dispositifs", "publics", "type", "centre", "region", "annee"):
        assert facet_links(html, key), key
    assert "confidentiel" not in html


def test_query_is_kept_in_the_box_and_matches_are_highlighted(web_client):
    html = search(web_client, "q=diagnostic+marchant")
    assert elements(html, "input", id="q", name="q", value="diagnostic marchant")
    assert result_links(html)[0] == DIAGNOSTIC
    assert "<mark>diagnostic</mark>" in html
    assert "« diagnostic marchant »" in text(html)  # in the title
    assert elements(html, "label", for_="q")


def test_phrase_search(web_client):
    html = search(web_client, 'q="maison du projet"')
    assert result_links(html) == ["/ressources/centre-beta/maison-du-projet"]


def test_glossary_acronym_finds_the_full_name(web_client):
    html = search(web_client, "q=PRE")
    assert "/ressources/centre-alpha/fiche-rangee" in result_links(html)


def test_sort_by_date_and_relevance_links(web_client):
    html = search(web_client, "q=mobilit%C3%A9+emploi")
    assert elements(html, "span", class_="sort-current", aria_current="true")
    assert "/recherche?q=mobilit%C3%A9+emploi&tri=date" in hrefs(html)
    by_date = search(web_client, "q=mobilit%C3%A9+emploi&tri=date")
    assert result_links(by_date)[0] == "/ressources/centre-gamma/serie-24"
    assert "/recherche?q=mobilit%C3%A9+emploi" in hrefs(by_date)  # back to relevance


def test_pagination_links_and_last_page(web_client):
    html = search(web_client, "q=s%C3%A9rie")
    assert f"{SERIES}\u00a0ressources trouvées" in text(html)
    assert ", page 1 sur 3" in text(html)
    nav = html.split('aria-label="Pagination"', 1)[1].split("</nav>", 1)[0]
    assert "/recherche?q=s%C3%A9rie&amp;page=2" in nav
    assert 'aria-current="page"' in nav
    assert 'rel="next"' in nav and 'rel="prev"' not in nav
    last = search(web_client, "q=s%C3%A9rie&page=3")
    assert len(result_links(last)) == SERIES - 20
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert elements(last, "ol", class_="results", start="21")


def test_page_beyond_the_last_is_not_found_with_a_link_back(web_client):
    html = search(web_client, "q=s%C3%A9rie&page=4", status=404)
    assert "La page 4 n'existe pas : cette liste compte 3 pages" in text(html)
    assert "/recherche?q=s%C3%A9rie&page=3" in hrefs(html)
    html = search(web_client, "q=s%C3%A9rie&page=999999", status=404)
    assert "3 pages" in text(html)


# --- facets and filters ------------------------------------------------------------------


def test_facet_values_toggle_and_are_removable_one_by_one(web_client):
    html = search(web_client, "q=mobilit%C3%A9")
    themes = facet_links(html, "thematiques")
    mobilite = themes["Mobilité"]
    assert not mobilite["selected"]
    assert query_of(mobilite["url"]) == [("q", "mobilité"), ("thematiques", "mobilite")]

    filtered = search(web_client, urlsplit(mobilite["url"]).query)
    themes = facet_links(filtered, "thematiques")
    assert themes["Mobilité"]["selected"]
    # Clicking a selected value removes it.
    assert query_of(themes["Mobilité"]["url"]) == [("q", "mobilité")]
    # The active filter is listed, removable.
    chips = elements(filtered, "a", class_="chip")
    assert [c["href"] for c in chips] == ["/recherche?q=mobilit%C3%A9"]
    assert "Thématique : Mobilité" in text(filtered)


def test_several_values_of_one_facet_are_combined_with_or(web_client):
    one = search(web_client, "centre=centre-alpha")
    two = search(web_client, "centre=centre-alpha&centre=centre-beta")
    assert "2\u00a0ressources trouvées" in text(one)
    assert "5\u00a0ressources trouvées" in text(two)
    assert search(web_client, "centre=centre-alpha,centre-beta").count("result-title") == 5
    centres = facet_links(two, "centre")
    assert centres["Centre Alpha des quartiers (test)"]["selected"]
    assert centres["Centre Bêta (test)"]["selected"]
    # Removing one keeps the other.
    assert query_of(centres["Centre Bêta (test)"]["url"]) == [("centre", "centre-alpha")]
    # Values of a filtered facet keep their own counts (multi-select).
    assert centres["Centre Gamma <script>alert('nom')</script> (test)"]["count"] == SERIES


def test_filters_of_different_facets_are_combined_with_and(web_client):
    html = search(web_client, "piliers=cadre-de-vie&region=11")
    assert result_links(html) == ["/ressources/centre-beta/maison-du-projet"]
    html = search(
        web_client,
        "piliers=cadre-de-vie&piliers=cohesion-sociale&thematiques=participation-citoyenne",
    )
    assert set(result_links(html)) == {DIAGNOSTIC, "/ressources/centre-beta/maison-du-projet"}
    html = search(web_client, "type=guide&dispositifs=npnru&publics=entreprises&departement=93")
    assert result_links(html) == ["/ressources/centre-beta/emploi-clauses-insertion"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("annee=2021", 2),  # the diagnostic and a series resource
        ("annee=2018-2020", 6),
        ("annee=-2002", 2),
        ("annee=2023-", 2),
        ("annee=2021&annee=2022", 4),
        ("annee=2020-2022&centre=centre-gamma", 3),
    ],
)
def test_year_filter_accepts_years_and_ranges(web_client, query, expected):
    html = search(web_client, query)
    assert len(result_links(html)) == expected
    assert elements(html, "a", class_="chip")


def test_year_range_is_labelled_in_french(web_client):
    html = search(web_client, "annee=2018-2020")
    assert "Année : de 2018 à 2020" in text(html)
    assert "Année : jusqu'à 2002" in text(search(web_client, "annee=-2002"))


def test_new_query_keeps_the_active_filters(web_client):
    html = search(web_client, "q=mobilit%C3%A9&thematiques=mobilite&tri=date&page=2")
    hidden = {(i["name"], i["value"]) for i in elements(html, "input", type="hidden")}
    assert hidden == {("thematiques", "mobilite"), ("tri", "date")}


def test_clear_all_filters(web_client):
    html = search(web_client, "q=fiche&piliers=cohesion-sociale&region=84")
    assert "/recherche?q=fiche" in hrefs(html)
    assert "Effacer tous les filtres" in text(html)


def test_facet_lists_are_lists_with_counts_for_screen_readers(web_client):
    html = search(web_client, "thematiques=mobilite")
    section = html.split('id="facette-thematiques"', 1)[1].split("</section>", 1)[0]
    assert '<ul class="facet-values">' in section
    assert "ressources, filtre actif</span>" in section
    assert '<span class="visually-hidden">Retirer le filtre : </span>' in section


def test_long_facets_fold_the_rest(web_client):
    html = search(web_client)
    section = html.split('id="facette-annee"', 1)[1].split("</section>", 1)[0]
    assert '<details class="facet-more">' in section
    assert len(facet_links(html, "annee")) == SERIES  # 2001..2024


# --- suggestions and empty states --------------------------------------------------------


def test_did_you_mean_when_results_exist(web_client):
    # "emploie" is found (same stem as "emploi"): the results stay, with a suggestion.
    html = search(web_client, "q=mobilit%C3%A9+emploie&thematiques=mobilite")
    assert result_links(html)
    assert "Vouliez-vous dire « mobilité emploi » ?" in text(html)
    # The suggestion keeps the filters.
    assert "/recherche?q=mobilit%C3%A9+emploi&thematiques=mobilite" in hrefs(html)


def test_a_word_found_nowhere_is_corrected_within_the_query(web_client):
    html = search(web_client, "q=mobilt%C3%A9+emploi&thematiques=mobilite")
    assert "Voici les résultats pour « mobilité emploi »" in text(html)
    assert result_links(html)


def test_misspelling_without_results_shows_corrected_results(web_client):
    html = search(web_client, "q=diagnostik")
    page = text(html)
    assert "Aucun résultat pour « diagnostik »" in page
    assert "Voici les résultats pour « diagnostic »" in page
    assert DIAGNOSTIC in result_links(html)


def test_empty_state_helps(web_client):
    html = search(web_client, "q=mobilit%C3%A9&piliers=cadre-de-vie&region=11")
    page = text(html)
    assert "Aucune ressource trouvée" in page
    assert "Aucune ressource ne correspond à « mobilité » avec ces filtres" in page
    assert "/recherche?q=mobilit%C3%A9&region=11" in hrefs(html)  # remove one filter
    assert "/recherche?q=mobilit%C3%A9&piliers=cadre-de-vie" in hrefs(html)
    assert "/recherche?q=mobilit%C3%A9" in hrefs(html)  # remove all
    for browse in ("/piliers", "/thematiques", "/dispositifs", "/territoires", "/centres"):
        assert browse in hrefs(html)
    assert elements(html, "input", id="q", value="mobilité")


def test_nothing_matches_nonsense(web_client):
    html = search(web_client, "q=zzzqqqxxx")
    assert "Aucune ressource ne correspond à « zzzqqqxxx »" in text(html)


# --- parameter validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=abc", "le numéro de page doit être un nombre entier"),
        ("page=-1", "le numéro de page doit être un nombre entier"),
        ("page=0", "le numéro de page doit être au moins 1"),
        ("page=1.5", "le numéro de page doit être un nombre entier"),
        ("page=" + "9" * 5000, "le numéro de page doit être un nombre entier"),
        ("page=%EF%BC%91", "le numéro de page doit être un nombre entier"),  # fullwidth 1
        ("page=1&page=2", "le paramètre « page » est donné plusieurs fois"),
        ("q=" + "a" * 301, "la recherche est trop longue (301 caractères ; 300 au plus)"),
        ("q=a&q=b", "le paramètre « q » est donné plusieurs fois"),
        ("tri=titre", "tri inconnu « titre »"),
        ("tri=date&tri=pertinence", "le paramètre « tri » est donné plusieurs fois"),
        ("piliers=inconnu", "valeur inconnue « inconnu » pour le filtre « piliers »"),
        (
            "thematiques=Mobilit%C3%A9",
            "valeur inconnue « Mobilité » pour le filtre « thematiques »",
        ),
        ("centre=centre-orphelin", "valeur inconnue « centre-orphelin » pour le filtre « centre »"),
        ("region=69", "valeur inconnue « 69 » pour le filtre « region »"),
        ("departement=999", "valeur inconnue « 999 »"),
        ("type=brouillon", "valeur inconnue « brouillon »"),
        ("annee=20x0", "année invalide « 20x0 »"),
        ("annee=-", "année invalide « - »"),
        ("annee=2022-2018", "période invalide « 2022-2018 »"),
        ("annee=12345", "année invalide"),
        ("filtre=x", "paramètre inconnu « filtre »"),
        ("pilier=cadre-de-vie", "paramètre inconnu « pilier »"),
        ("piliers[]=cadre-de-vie", "paramètre inconnu « piliers[] »"),
        (
            "piliers=" + ",".join(["cadre-de-vie"] * 3 + [f"x{i}" for i in range(25)]),
            "trop de valeurs",
        ),
    ],
)
def test_bad_parameters_get_a_french_message_and_400(web_client, query, message):
    html = search(web_client, query, status=400)
    page = text(html)
    assert "Requête invalide" in page
    assert message[:1].upper() + message[1:] in page
    assert "Relancer la recherche sans les paramètres invalides" in page


def test_bad_parameter_page_offers_the_usable_search(web_client):
    html = search(
        web_client, "q=mobilit%C3%A9&piliers=inconnu&thematiques=mobilite&page=x", status=400
    )
    assert "/recherche?q=mobilit%C3%A9&thematiques=mobilite" in hrefs(html)
    assert elements(html, "input", id="recherche-erreur", value="mobilité")


def test_long_query_is_cut_for_the_retry_link(web_client):
    html = search(web_client, "q=" + "mot+" * 100, status=400)
    retry = [h for h in hrefs(html) if h.startswith("/recherche?q=")][0]
    assert len(dict(query_of(retry))["q"]) <= 300


def test_tracking_parameters_and_empty_values_are_accepted(web_client):
    html = search(web_client, "q=&piliers=&tri=&page=&utm_source=lettre&utm_medium=email&xtor=1")
    assert f"{5 + SERIES}\u00a0ressources trouvées" in text(html)


def test_control_characters_are_dropped(web_client):
    html = search(web_client, "q=diagnostic%00%1b%E2%80%8Emarchant")
    assert "\x00" not in html and "\x1b" not in html
    assert elements(html, "input", id="q", value="diagnostic marchant")


def test_post_is_not_allowed(web_client):
    response = web_client.post("/recherche")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Méthode non autorisée" in text(response.get_data(as_text=True))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["q", "page", "tri", "annee", "piliers", "centre", "region", "x", "q[]"]
            ),
            st.text(max_size=40),
        ),
        max_size=5,
    )
)
def test_random_query_strings_never_fail_the_server(web_client, pairs):
    from urllib.parse import urlencode

    response = web_client.get("/recherche?" + urlencode(pairs))
    assert response.status_code in (200, 400, 404), response.status_code
    body = response.get_data(as_text=True)
    assert '<html lang="fr">' in body
    assert "\x00" not in body


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=60))
def test_raw_query_bytes_never_fail_the_server(web_client, raw):
    from urllib.parse import quote_from_bytes

    response = web_client.get("/recherche?q=" + quote_from_bytes(raw) + "&" + quote_from_bytes(raw))
    assert response.status_code in (200, 400, 404)


# --- the URL builder ---------------------------------------------------------------------


def test_search_params_urls_are_stable_and_leave_defaults_out():
    params = SearchParams(
        q="été", filters={"region": ("84",), "piliers": ("a", "b")}, sort="date", page=3
    )
    assert (
        params.url() == "/recherche?q=%C3%A9t%C3%A9&piliers=a&piliers=b&region=84&tri=date&page=3"
    )
    assert (
        params.toggled("piliers", "a").url()
        == "/recherche?q=%C3%A9t%C3%A9&piliers=b&region=84&tri=date"
    )
    assert params.toggled("publics", "x").filters["publics"] == ("x",)
    assert (
        params.without("region").url() == "/recherche?q=%C3%A9t%C3%A9&piliers=a&piliers=b&tri=date"
    )
    assert params.with_sort("pertinence").url().endswith("region=84")
    assert SearchParams().url() == "/recherche"


def test_hostile_text_is_searchable_and_escaped_in_results(web_client):
    html = search(web_client, "q=pi%C3%A9g%C3%A9")
    assert HOSTILE in result_links(html)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;titre&#39;)&lt;/script&gt;" in html


def test_no_full_match_says_so_and_shows_approximate_results_apart(web_client):
    html = search(web_client, "q=diagnostic+t%C3%A9l%C3%A9ph%C3%A9rique")
    assert "Aucune ressource ne correspond à tous ces mots" in html
    assert result_links(html.split('id="approchants"')[0]) == []  # no main results
    approximate = html.split('id="approchants"')[1]
    assert "Résultats approchants" in html
    assert result_links(approximate)[0] == "/ressources/centre-alpha/diagnostic-en-marchant"
    assert "Ne contient pas : « téléphérique »" in approximate
    # Suggestions: fewer words, and the pillars to browse.
    assert "/recherche?q=diagnostic" in hrefs(html)
    assert "/piliers/cadre-de-vie" in hrefs(html)


def test_full_matches_have_no_approximate_section(web_client):
    html = search(web_client, "q=mobilit%C3%A9+emploi+jeunes")
    assert len(result_links(html)) == 10
    assert 'id="approchants"' not in html
    assert "Ne contient pas" not in html
