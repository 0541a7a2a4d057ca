"""The renderer: Markdown -> sanitised HTML. Hostile vectors written for this project, checked
by parsing the output (tests/htmlcheck.py, shared with scripts/check_xss_corpus.py)."""

from __future__ import annotations

import pytest
from htmlcheck import dangers, parse_elements
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.render_limits import measure, worst_cases
from kb.limits import check_body, check_links
from kb.render import (
    ALIGN_CLASSES,
    ALLOWED_TAGS,
    HEADING_ID_PREFIX,
    body_links,
    is_relative_url,
    plain_text,
    render_markdown,
    sanitize_html,
)

# Attributes the allowlist may leave on each element.
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"class"},
    "td": {"class"},
    **{f"h{n}": {"id"} for n in range(2, 7)},
}

# (name, Markdown or HTML source). Each goes through render_markdown (with and without a
# link resolver) and through sanitize_html.
VECTORS: list[tuple[str, str]] = [
    # script elements
    ("script", "<script>alert(1)</script>"),
    ("script-src", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>"),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-nested", "<<script>script>alert(1)//<</script>/script>"),
    ("script-in-paragraph", "Texte <script>alert(1)</script> suite."),
    ("script-in-code-span", "`<script>alert(1)</script>`"),
    ("script-in-fence", "```html\n<script>alert(1)</script>\n```"),
    ("script-in-heading", "# Titre <script>alert(1)</script>"),
    ("script-in-table", "| <script>alert(1)</script> | b |\n|---|---|\n| c | d |"),
    # event handlers
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-unclosed", "<img src=x onerror=alert(1)//"),
    ("body-onload", "<body onload=alert(1)>"),
    ("details-ontoggle", "<details open ontoggle=alert(1)>"),
    ("div-onmouseover", '<div onmouseover="alert(1)">survol</div>'),
    ("a-onclick", '<a href="https://ok.example" onclick="alert(1)">x</a>'),
    ("heading-onclick", '<h2 id="sec-a" onclick="alert(1)">t</h2>'),
    ("md-image-attr-injection", '![img](x" onerror="alert(1))'),
    ("md-link-attr-injection", '[clic](https://example.org" onclick="alert(1))'),
    ("md-title-injection", '[clic](https://example.org "t\\" onmouseover=\\"alert(1)")'),
    # dangerous URL schemes in Markdown links and images
    ("md-javascript", "[clic](javascript:alert(1))"),
    ("md-javascript-mixed-case", "[clic](JaVaScRiPt:alert(1))"),
    ("md-javascript-entity-hex", "[clic](jav&#x61;script:alert(1))"),
    ("md-javascript-entity-dec", "[clic](&#106;avascript:alert(1))"),
    ("md-javascript-entities-no-semicolon", "[clic](&#x6A&#x61&#x76&#x61script:alert(1))"),
    ("md-javascript-nul", "[clic](java\x00script:alert(1))"),
    ("md-javascript-control", "[clic](\x01javascript:alert(1))"),
    ("md-javascript-leading-space", "[clic]( javascript:alert(1))"),
    ("md-javascript-pointy", "[clic](<javascript:alert(1)>)"),
    ("md-javascript-newline-entity", "[clic](java&#10;script:alert(1))"),
    ("md-javascript-tab-entity", "[clic](java&Tab;script:alert(1))"),
    ("md-javascript-percent", "[clic](%6Aavascript:alert(1))"),
    ("md-vbscript", "[clic](vbscript:msgbox(1))"),
    ("md-data-html", "[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-image-javascript", "![img](javascript:alert(1))"),
    ("md-image-data-svg", "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("md-image-vbscript", "![img](VBScript:msgbox(1))"),
    ("md-reference-javascript", "[clic][ref]\n\n[ref]: javascript:alert(1)"),
    ("md-reference-pointy", '[clic][ref]\n\n[ref]: <javascript:alert(1)> "titre"'),
    ("md-reference-image-data", "![img][r]\n\n[r]: data:image/png;base64,AAAA"),
    ("md-link-in-table", "| [x](javascript:alert(1)) | b |\n|---|---|\n| c | d |"),
    ("md-link-in-list", "- [x](javascript:alert(1))\n- ![y](data:,x)"),
    ("md-link-in-quote", "> [x](JAVASCRIPT:alert(1))"),
    # autolinks
    ("autolink-javascript", "<javascript:alert(1)>"),
    ("autolink-javascript-mixed", "<JavaScript:alert(1)>"),
    ("autolink-vbscript", "<vbscript:msgbox(1)>"),
    ("autolink-data", "<data:text/html,<script>alert(1)</script>>"),
    # dangerous schemes in raw HTML
    ("a-javascript", '<a href="javascript:alert(1)">x</a>'),
    ("a-javascript-entity", '<a href="jav&#x61;script:alert(1)">x</a>'),
    ("a-javascript-tab-entity", '<a href="javas&#x09;cript:alert(1)">x</a>'),
    ("a-javascript-space-entity", '<a href="&#x20;javascript:alert(1)">x</a>'),
    ("a-javascript-colon-entity", '<a href="javascript&colon;alert(1)">x</a>'),
    ("a-javascript-upper", '<a href="JAVASCRIPT:alert(1)">x</a>'),
    ("a-javascript-controls", '<a href="\x01\x02java\nscript:alert(1)">x</a>'),
    ("a-javascript-c0-entities", "<a href=java&#1&#2&#3&#4&#8&#11&#12script:alert(1)>x</a>"),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    ("img-data", '<img src="data:image/png;base64,AAAA">'),
    ("table-background", '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>'),
    # active or foreign content
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-xlink", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>'),
    ("math-xlink", '<math><mi xlink:href="javascript:alert(1)">x</mi></math>'),
    ("math-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    ("iframe", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("object", '<object data="javascript:alert(1)"></object>'),
    ("embed", '<embed src="data:text/html,<script>alert(1)</script>">'),
    ("form", '<form action="javascript:alert(1)"><input type=submit></form>'),
    ("button-formaction", "<button formaction=javascript:alert(1)>x</button>"),
    ("style-element", "<style>*{background:url(javascript:alert(1))}</style>"),
    ("style-attribute", '<p style="background:url(javascript:alert(1))">x</p>'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("base-href", '<base href="javascript:/">'),
    ("link-stylesheet", "<link rel=stylesheet href=javascript:alert(1)>"),
    # nested, broken and commented markup
    ("noscript-breakout", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("comment-breakout", "<!--><img src=x onerror=alert(1)>-->"),
    ("cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    ("unclosed-attribute", '<a href="https://ok.example title=x onmouseover=alert(1)>x'),
    ("dom-clobbering", '<h2 id="location">x</h2><img name="cookie" src="x.png">'),
    ("template", "<template><script>alert(1)</script></template>"),
    ("mixed-markdown-html", "**gras <img src=x onerror=alert(1)>** [ok](https://example.org)"),
]


def _check(html: str) -> None:
    """No danger, and nothing outside the allowlist."""
    assert dangers(html) == []
    for tag, attrs in parse_elements(html):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name)
            if name == "id":
                assert value.startswith(HEADING_ID_PREFIX)
            if name == "class":
                assert value in ALIGN_CLASSES


def _resolver(url: str) -> str:
    return "/fichiers/demo/" + url


@pytest.mark.parametrize("source", [v[1] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_hostile_input_is_neutralised(source: str) -> None:
    _check(render_markdown(source).html)
    _check(render_markdown(source, _resolver).html)
    _check(sanitize_html(source))


def test_there_are_enough_vectors() -> None:
    assert len(VECTORS) >= 40
    assert len({name for name, _ in VECTORS}) == len(VECTORS)


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown("<b>gras</b> <script>alert(1)</script>").html
    assert html == "<p>&lt;b&gt;gras&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"


def test_javascript_link_is_left_as_text() -> None:
    assert render_markdown("[clic](javascript:alert(1))").html == (
        "<p>[clic](javascript:alert(1))</p>\n"
    )


def test_sanitizer_drops_dangerous_href_but_keeps_the_text() -> None:
    assert sanitize_html('<a href="jav&#x61;script:alert(1)">lien</a>') == "<a>lien</a>"
    assert sanitize_html('<img src="x" onerror="alert(1)">') == '<img src="x">'
    assert sanitize_html('<h2 id="location">t</h2>') == "<h2>t</h2>"
    assert sanitize_html('<td class="evil">x</td>') == "x"
    assert sanitize_html('<a href="/x" rel="opener">y</a>') == '<a href="/x">y</a>'


def test_sanitizer_keeps_what_the_renderer_produces() -> None:
    html = (
        '<h2 id="sec-a">A</h2><p><a href="https://example.org" rel="noopener nofollow">e</a> '
        '<a href="mailto:a@example.org">m</a> <img src="/f/i.png" alt="i"></p>'
        '<ol start="3"><li>x</li></ol>'
    )
    assert sanitize_html(html) == html


# --- the checker itself must catch what it looks for -------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>x</script>",
        "<SVG><circle/></SVG>",
        "<math></math>",
        "<iframe></iframe>",
        "<form></form>",
        "<object></object>",
        "<embed>",
        "<style>p{}</style>",
        "<img src=x onerror=alert(1)>",
        '<p ONCLICK="x">',
        '<p style="color:red">',
        '<a href="javascript:alert(1)">',
        '<a href="jav&#x61;script:alert(1)">',
        '<a href=" \tJaVa&#x0A;ScRiPt:alert(1)">',
        '<a href="&#x01;javascript:alert(1)">',
        '<a href="vbscript:x">',
        '<img src="DATA:image/png;base64,AA">',
        '<iframe srcdoc="x">',
        '<![><img src="]><img src=x onerror=alert(1)>',  # html.parser gives up: flagged too
    ],
)
def test_checker_flags_dangers(html: str) -> None:
    assert dangers(html) != []


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://example.org/javascript:x">',
        '<a href="/ressources/data:x">',
        '<a href="mailto:a@example.org">',
        "<p>javascript:alert(1)</p>",
        '<a title="javascript:x" href="#sec-a">',
        '<a href="&amp;#106;avascript:alert(1)">',  # a literal "&#106;...": relative, harmless
    ],
)
def test_checker_accepts_safe_html(html: str) -> None:
    assert dangers(html) == []


# --- what the renderer does to good content ------------------------------------------------------


def test_external_links_get_rel() -> None:
    html = render_markdown("[a](https://example.org) [b](http://example.org) <https://x.org>").html
    links = [dict(attrs) for tag, attrs in parse_elements(html) if tag == "a"]
    assert links == [
        {"href": "https://example.org", "rel": "noopener nofollow"},
        {"href": "http://example.org", "rel": "noopener nofollow"},
        {"href": "https://x.org", "rel": "noopener nofollow"},
    ]


def test_protocol_relative_links_are_external() -> None:
    html = render_markdown("[a](//evil.example/x)").html
    assert html == '<p><a href="//evil.example/x" rel="noopener nofollow">a</a></p>\n'


def test_internal_and_mailto_links_have_no_rel() -> None:
    html = render_markdown("[a](/ressources/c/x) [b](#sec-a) [c](mailto:a@example.org)").html
    assert "rel=" not in html
    assert '<a href="/ressources/c/x">a</a>' in html
    assert '<a href="mailto:a@example.org">c</a>' in html


def test_relative_links_and_images_go_through_the_resolver() -> None:
    calls: list[str] = []

    def resolve(url: str) -> str | None:
        calls.append(url)
        return None if url == "garder.pdf" else "/fichiers/c/" + url

    source = (
        "[bilan](bilan.csv) ![plan](images/plan.png) [garder](garder.pdf) "
        "[web](https://example.org/a.pdf) [racine](/ressources/c/x) [ancre](#sec-a)"
    )
    html = render_markdown(source, resolve).html
    assert calls == ["bilan.csv", "images/plan.png", "garder.pdf"]
    assert '<a href="/fichiers/c/bilan.csv">bilan</a>' in html
    assert '<img src="/fichiers/c/images/plan.png" alt="plan">' in html
    assert '<a href="garder.pdf">garder</a>' in html  # None: left as written


def test_relative_links_without_resolver_are_kept() -> None:
    assert render_markdown("[b](bilan.csv)").html == '<p><a href="bilan.csv">b</a></p>\n'


def test_remote_images_become_links() -> None:
    html = render_markdown("![Carte des quartiers](https://example.org/carte.png)").html
    assert html == (
        '<p><a href="https://example.org/carte.png" rel="noopener nofollow">'
        "Image : Carte des quartiers</a></p>\n"
    )
    assert "<img" not in render_markdown("![](http://example.org/x.png)").html


def test_headings_are_demoted_and_prefixed() -> None:
    rendered = render_markdown("# Contexte\n\n## Mise en œuvre\n\n###### Six\n\n# Contexte")
    assert rendered.html == (
        '<h2 id="sec-contexte">Contexte</h2>\n'
        '<h3 id="sec-mise-en-uvre">Mise en œuvre</h3>\n'
        '<h6 id="sec-six">Six</h6>\n'
        '<h2 id="sec-contexte-2">Contexte</h2>\n'
    )
    assert rendered.headings == (
        ("sec-contexte", "Contexte"),
        ("sec-mise-en-uvre", "Mise en œuvre"),
        ("sec-six", "Six"),
        ("sec-contexte-2", "Contexte"),
    )


def test_heading_ids_cannot_clobber_globals() -> None:
    rendered = render_markdown("# location\n\n# !!!")
    assert [h[0] for h in rendered.headings] == ["sec-location", "sec-section"]
    assert 'id="location"' not in rendered.html


def test_table_alignment_becomes_a_class() -> None:
    html = render_markdown("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |").html
    cells = [(tag, dict(attrs)) for tag, attrs in parse_elements(html) if tag in ("th", "td")]
    assert cells == [
        ("th", {"class": "align-left"}),
        ("th", {"class": "align-center"}),
        ("th", {"class": "align-right"}),
        ("th", {}),
        ("td", {"class": "align-left"}),
        ("td", {"class": "align-center"}),
        ("td", {"class": "align-right"}),
        ("td", {}),
    ]
    assert "style" not in html


def test_ordered_list_start_is_kept() -> None:
    assert render_markdown("3. trois\n4. quatre").html.startswith('<ol start="3">')


def test_plain_text() -> None:
    source = "# Titre\n\n**Gras** et [lien](x.pdf), `code`.\n\n![Légende](i.png)\n\n<b>brut</b>"
    assert plain_text(source) == "Titre\nGras et lien, code.\nLégende\n<b>brut</b>"
    assert render_markdown(source).text == plain_text(source)


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        ("bilan.pdf", True),
        ("../pieces/bilan.pdf", True),
        ("sous/dossier/a.csv", True),
        ("https://example.org/a.pdf", False),
        ("//example.org/a.pdf", False),
        ("/ressources/a/b", False),
        ("#sec-a", False),
        ("mailto:a@example.org", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_is_relative_url(url: str, relative: bool) -> None:
    assert is_relative_url(url) is relative


# --- properties ------------------------------------------------------------------------------------

_HOSTILE_PARTS = st.sampled_from(
    [
        "<",
        ">",
        "</",
        "/>",
        '"',
        "'",
        "`",
        "=",
        " ",
        "\n",
        "\t",
        "\x00",
        "&#x61;",
        "&#106",
        "&colon;",
        "&Tab;",
        "script",
        "svg",
        "math",
        "iframe",
        "style",
        "img",
        "a",
        "href=",
        "src=",
        "onerror=",
        "onload=",
        "javascript:",
        "JaVaScRiPt:",
        "vbscript:",
        "data:",
        "alert(1)",
        "[x](",
        "![y](",
        ")",
        "[r]: ",
        "<http",
        "# ",
        "| a |\n|:-|\n",
        "```",
        "<!--",
        "-->",
        "<![CDATA[",
    ]
)
_HOSTILE = st.lists(st.one_of(_HOSTILE_PARTS, st.text(max_size=4)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _HOSTILE))
def test_render_never_raises_nor_lets_danger_through(source: str) -> None:
    rendered = render_markdown(source, _resolver)
    _check(rendered.html)
    assert isinstance(rendered.text, str)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _HOSTILE))
def test_sanitizer_never_lets_danger_through(source: str) -> None:
    _check(sanitize_html(source))


# --- concurrency -----------------------------------------------------------------------------------


def _body(number: int) -> str:
    """A distinct, varied body: headings, lists, a table, links, an image, code."""
    rows = "\n".join(
        f"| {number}-{row} | [lien {row}](https://example.org/{number}/{row}) |"
        for row in range(30)
    )
    return (
        f"# Fiche {number}\n\nParagraphe **{number}** avec *emphase* et `code {number}`.\n\n"
        f"- point {number}.1\n- point {number}.2\n  1. sous-point\n\n"
        f"> citation {number}\n\n| colonne | lien |\n|:--|--:|\n{rows}\n\n"
        f"![plan {number}](plan-{number}.png) ![carte](https://example.org/{number}.png)\n\n"
        f"```\nbloc {number}\n```\n\n## Résultats {number}\n\nFin {number}."
    )


def test_concurrent_renders_equal_sequential_renders() -> None:
    """8 threads rendering different bodies at once get exactly what one thread gets (the
    shared bleach cleaner of old mixed bodies between threads and raised IndexError)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    bodies = [_body(n) for n in range(48)]
    expected = [render_markdown(body, _resolver) for body in bodies]
    start = threading.Barrier(8)

    def work(worker: int) -> list[int]:
        start.wait()
        wrong = []
        for round_ in range(6):
            for index in range(worker + round_, len(bodies), 8):
                if render_markdown(bodies[index], _resolver) != expected[index]:
                    wrong.append(index)
        return wrong

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[]] * 8


# --- cost: whatever the validator accepts renders quickly ------------------------------------------

# Generous: the worst accepted cases take about a third of this on a loaded 2-core machine
# (docs/performance.md, « Rendu d'une fiche »); a quadratic blow-up takes ten times more.
RENDER_BOUND_SECONDS = 2.0


@pytest.mark.parametrize("name", list(worst_cases()))
def test_worst_accepted_bodies_render_within_the_bound(name: str) -> None:
    body = worst_cases()[name]
    problems: list = []
    assert check_body("x.md", body, 1, problems), problems
    assert check_links("x.md", body_links(body), 1, problems), problems
    assert measure(body) < RENDER_BOUND_SECONDS


def test_control_characters_never_reach_the_html() -> None:
    rendered = render_markdown("# Titre\x1b\n\nTexte\x00 et\x0c page\x7f [lien\x08](a\x01.pdf)")
    assert rendered.html == (
        '<h2 id="sec-titre">Titre</h2>\n<p>Texte et page <a href="a.pdf">lien</a></p>\n'
    )
    assert rendered.text == "Titre\nTexte et page lien"
