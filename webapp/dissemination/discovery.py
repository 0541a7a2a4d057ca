"""What lets search engines and browsers find the site: `sitemap.xml` (every published
resource with its last change), `robots.txt`, and an OpenSearch description (a browser can
add the site as a search engine)."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for
from lxml import etree

from ..core.catalogue import current_catalogue
from ..core.errors import PageOutOfRange
from ..core.params import parse_page_args
from ..core.responses import cacheable
from .records import updated, xml_text

bp = Blueprint("discovery", __name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
MAX_URLS = 50_000  # per sitemap file (sitemaps.org); beyond, /sitemap.xml is an index
SECTIONS = (
    "/",
    "/a-propos",
    "/piliers",
    "/thematiques",
    "/dispositifs",
    "/territoires",
    "/centres",
)


def xml_response(root: etree._Element, mimetype: str) -> Response:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    response = Response(body, mimetype=mimetype)
    response.charset = "utf-8"
    return cacheable(response)


def sitemap_entries() -> list[tuple[str, str | None]]:
    """(absolute URL, last change) of the site's sections, centres and resources."""
    catalogue = current_catalogue()
    site = catalogue.site_url
    entries: list[tuple[str, str | None]] = [(site + path, None) for path in SECTIONS]
    entries += [
        (site + url_for("browse.centre", centre_id=centre_id), None)
        for centre_id in catalogue.centres()
    ]
    entries += [(site + meta["url"], updated(meta)) for meta in catalogue.all_metadata()]
    return entries


@bp.get("/sitemap.xml")
def sitemap():
    page = parse_page_args(request.args) if request.args else None
    entries = sitemap_entries()
    pages = max(1, -(-len(entries) // MAX_URLS))
    site = current_catalogue().site_url
    if page is None and pages > 1:
        root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
        for number in range(1, pages + 1):
            item = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
            etree.SubElement(
                item, f"{{{SITEMAP_NS}}}loc"
            ).text = f"{site}/sitemap.xml?page={number}"
        return xml_response(root, "application/xml")
    page = page or 1
    if page > pages:
        raise PageOutOfRange(page, pages, f"/sitemap.xml?page={pages}")
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS})
    for loc, lastmod in entries[(page - 1) * MAX_URLS : page * MAX_URLS]:
        item = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(item, f"{{{SITEMAP_NS}}}loc").text = xml_text(loc)
        if lastmod:
            etree.SubElement(item, f"{{{SITEMAP_NS}}}lastmod").text = lastmod
    return xml_response(root, "application/xml")


@bp.get("/robots.txt")
def robots():
    site = current_catalogue().site_url
    lines = [
        "# Les pages de recherche (combinaisons de filtres en nombre illimité) ne sont pas",
        "# à explorer : chaque ressource est dans le plan du site.",
        "User-agent: *",
        "Disallow: /recherche",
        "Disallow: /integrer",
        "Disallow: /api/",
        "Disallow: /oai",
        "Allow: /",
        "",
        f"Sitemap: {site}/sitemap.xml",
        "",
    ]
    response = Response("\n".join(lines), mimetype="text/plain")
    return cacheable(response, max_age=3600)


@bp.get("/opensearch.xml")
def opensearch():
    site = current_catalogue().site_url

    def add(parent, name: str, text: str | None = None, **attributes: str):
        element = etree.SubElement(parent, f"{{{OPENSEARCH_NS}}}{name}", attributes)
        element.text = text
        return element

    root = etree.Element(f"{{{OPENSEARCH_NS}}}OpenSearchDescription", nsmap={None: OPENSEARCH_NS})
    add(root, "ShortName", "Ressources PV")
    add(root, "LongName", "Base de connaissances des centres de ressources politique de la ville")
    add(
        root,
        "Description",
        "Rechercher dans les fiches pratiques, retours d'expérience, guides et études des "
        "centres de ressources politique de la ville.",
    )
    add(root, "Tags", "politique de la ville quartiers prioritaires CRPV")
    add(root, "InputEncoding", "UTF-8")
    add(root, "OutputEncoding", "UTF-8")
    add(root, "Language", "fr-fr")
    add(root, "Image", f"{site}/static/favicon.svg", type="image/svg+xml", width="64", height="64")
    add(root, "Url", type="text/html", method="get", template=f"{site}/recherche?q={{searchTerms}}")
    add(
        root,
        "Url",
        type="application/atom+xml",
        template=f"{site}/recherche.atom?q={{searchTerms}}&page={{startPage?}}",
        pageOffset="1",
    )
    add(
        root,
        "Url",
        type="application/json",
        template=f"{site}/api/v1/recherche?q={{searchTerms}}&page={{startPage?}}",
        pageOffset="1",
    )
    add(
        root,
        "Url",
        type="application/opensearchdescription+xml",
        rel="self",
        template=f"{site}/opensearch.xml",
    )
    return xml_response(root, "application/opensearchdescription+xml")
