"""Hostile parameter values on every route of the app: a 4xx answer, never a 500.

The routes are read from the app's URL map, so a page added later is covered without
touching this file (give its path arguments an example value in webapp_support.PATH_VALUES).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from webapp_support import route_paths

from indexer.documents import FILTER_KEYS
from webapp import create_app
from webapp.dissemination.oai import VERBS

# Written as they travel in a URL: percent-escapes may be invalid UTF-8 on purpose.
HOSTILE = {
    "huge-number": "9" * 5000,
    "zeros": "0" * 4400 + "1",  # Python refuses to convert more than 4,300 digits
    "negative": "-1",
    "float": "1e999",
    "nul": "%00",
    "nul-inside": "a%00b",
    "escape": "%1B%5B31m",
    "invalid-utf8": "%FF%FE%FD",
    "overlong-utf8": "%C0%AF",
    "surrogate": "%ED%A0%80",
    "bidi": "%E2%80%AE",
    "10-kb": "A" * 10240,
    "10-kb-accents": "%C3%A9" * 1707,  # 10 KB as sent
    "json": quote('{"a": [1, [2]]}'),
    "traversal": "..%2F..%2F..%2Fetc%2Fpasswd",
    "deep-token": base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("="),
}
# Every parameter a page reads: search, API, embed, OAI-PMH; and one nobody reads.
NAMES = (
    "q",
    "tri",
    "page",
    *FILTER_KEYS,
    "par_page",
    "nombre",
    "verb",
    "metadataPrefix",
    "identifier",
    "from",
    "until",
    "set",
    "resumptionToken",
    "inconnu",
)


def query_strings(value: str) -> dict[str, str]:
    """The value given to every parameter at once: as a scalar, as an array (repeated)
    and PHP-style (`name[]`). Long values only as scalars (the test client is slow to
    build half-megabyte URLs, and the shapes are covered by the short ones)."""
    if len(value) >= 1000:  # filters are read alike, OAI-PMH has its own test below
        names = ("q", "tri", "page", FILTER_KEYS[0], "par_page", "nombre", "inconnu")
        return {"scalar": "&".join(f"{name}={value}" for name in names)}
    return {
        "scalar": "&".join(f"{name}={value}" for name in NAMES),
        "array": "&".join(f"{name}={value}&{name}=1" for name in NAMES),
        "brackets": "&".join(f"{name}%5B%5D={value}" for name in NAMES),
    }


@pytest.fixture(scope="module")
def client(webapp_site):
    # Not TESTING: an exception becomes the 500 a visitor would get.
    app = create_app(webapp_site.config(TESTING=False))
    return app.test_client()


@pytest.fixture(scope="module")
def routes(client):
    return route_paths(client.application)


def answer(client, method: str, path: str, query: str = "", **kwargs) -> int:
    environ = {"PATH_INFO": path, "QUERY_STRING": query}
    return client.open("/", method=method, environ_overrides=environ, **kwargs).status_code


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_query_values_on_every_route(client, routes, value):
    failures = []
    for endpoint, (path, _, methods) in routes.items():
        for method in sorted(methods & {"GET", "POST"}):
            for shape, query in query_strings(value).items():
                status = answer(client, method, path, query)
                if status >= 500:
                    failures.append((endpoint, method, shape, status))
            if method == "POST":
                form = {name: value for name in NAMES}
                if client.post(path, data=form).status_code >= 500:
                    failures.append((endpoint, method, "form", 500))
    assert not failures


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_path_values_on_every_route(client, routes, value):
    failures = []
    for endpoint, (path, values, methods) in routes.items():
        for name, example in values.items():
            hostile = path.replace(example, value, 1)
            for method in sorted(methods & {"GET", "POST"}):
                status = answer(client, method, hostile)
                if status >= 500:
                    failures.append((endpoint, name, method, status))
    assert not failures


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_oai_arguments_for_every_verb(client, value):
    # The OAI-PMH endpoint stops at the first bad argument: each verb gets its own.
    failures = []
    for verb, (required, optional, exclusive) in VERBS.items():
        arguments = [(name, value) for name in (*required, *optional)]
        if "metadataPrefix" in required:
            arguments = [("metadataPrefix", "oai_dc")] + arguments[1:]
        queries = [arguments]
        if exclusive:
            queries.append([(exclusive, value)])
        for query in queries:
            raw = "&".join([f"verb={verb}", *(f"{name}={v}" for name, v in query)])
            for method in ("GET", "POST"):
                kwargs = {}
                if method == "POST":
                    kwargs = {
                        "data": raw,
                        "content_type": "application/x-www-form-urlencoded",
                    }
                    status = answer(client, "POST", "/oai", **kwargs)
                else:
                    status = answer(client, "GET", "/oai", raw)
                if status >= 500:
                    failures.append((verb, method, [name for name, _ in query], status))
    assert not failures


def test_raw_bytes_in_the_query_string(client, routes):
    # Bytes a browser would never send unescaped, as a badly written client does.
    failures = []
    for endpoint, (path, _, methods) in routes.items():
        if "GET" not in methods:
            continue
        for raw in (b"q=\xff\xfe", b"page=\x00", b"\xc3\x28=1", b"utm_source=\xe9t\xe9"):
            environ = {"PATH_INFO": path, "QUERY_STRING": raw.decode("latin-1")}
            status = client.get("/", environ_overrides=environ).status_code
            if status >= 500:
                failures.append((endpoint, raw, status))
    assert not failures


PAGINATED = [
    "/recherche?q=emploi",
    "/recherche.atom",
    "/flux.atom",
    "/api/v1/recherche",
    "/centres/centre-gamma",
    "/thematiques/mobilite",
    "/sitemap.xml",
]


@pytest.mark.parametrize("url", PAGINATED)
def test_a_page_number_of_thousands_of_digits_is_a_french_400(client, url):
    separator = "&" if "?" in url else "?"
    for page in ("9" * 4400, "1" + "0" * 5000):
        response = client.get(f"{url}{separator}page={page}")
        assert response.status_code == 400
        assert "Le numéro de page doit être un nombre entier entre 1 et 999\u202f999" in (
            response.get_data(as_text=True)
        )
    # Zeros in front change nothing, however many: page 1.
    assert client.get(f"{url}{separator}page={'0' * 4400}1").status_code == 200


@pytest.mark.parametrize(
    ("name", "url", "maximum"),
    [("par_page", "/api/v1/recherche", 100), ("nombre", "/integrer", 20)],
)
def test_a_count_of_thousands_of_digits_is_a_french_400(client, name, url, maximum):
    response = client.get(f"{url}?{name}=1{'0' * 5000}")
    assert response.status_code == 400
    assert f"paramètre « {name} » doit être un nombre entier entre 1 et {maximum}" in (
        response.get_data(as_text=True)
    )
    assert client.get(f"{url}?{name}={'0' * 4400}1").status_code == 200
