"""docs/format.md documents every field and every vocabulary entry, and its examples are valid."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kb.loader import load_tree, resolve_relative, split_front_matter
from kb.render import body_links, is_relative_url
from kb.schema import CENTRE_FIELDS, HARVEST_FIELDS, RECOMMENDED_SECTIONS, RESOURCE_FIELDS
from kb.vocabulary import VOCABULARY_NAMES, load_vocabularies

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "format.md"
TEXT = DOC.read_text(encoding="utf-8")

SECTIONS = list(RECOMMENDED_SECTIONS)
MINIMAL_HEADER = (
    "---\ntitre: Titre\ntype: guide\ndate: 2024-01-15\npiliers: [cadre-de-vie]\nresume: Résumé.\n"
)


def _squash(text: str) -> str:
    return " ".join(str(text).split())


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row of `text` (separator rows left out)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|") and not re.fullmatch(r"[|\-: ]+", line):
            rows.append([_squash(cell) for cell in re.split(r"(?<!\\)\|", line[1:-1])])
    return rows


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


ROWS = table_rows(TEXT)


@pytest.mark.parametrize(
    "field",
    [*RESOURCE_FIELDS, *HARVEST_FIELDS, *CENTRE_FIELDS],
    ids=[f"ressource-{f.name}" for f in (*RESOURCE_FIELDS, *HARVEST_FIELDS)]
    + [f"centre-{f.name}" for f in CENTRE_FIELDS],
)
def test_every_field_is_documented_with_its_requirement(field) -> None:
    expected = "oui" if field.required else "non"
    assert [f"`{field.name}`", expected] in [row[:2] for row in ROWS], field.name


def _term_key(vocabulary: str, term_id: str) -> str:
    return f'`"{term_id}"`' if vocabulary in ("regions", "departements") else f"`{term_id}`"


@pytest.mark.parametrize("vocabulary", VOCABULARY_NAMES)
def test_every_vocabulary_entry_is_documented_with_its_label(vocabulary: str) -> None:
    missing = []
    for term in load_vocabularies()[vocabulary]:
        key, label = _term_key(vocabulary, term.id), _squash(term.libelle)
        # region and department codes overlap ("01"): any row with both code and label
        if not any(row[0] == key and label in row[1:] for row in ROWS):
            missing.append(term.id)
    assert missing == []


def test_dispositifs_are_documented_with_acronym_and_definition() -> None:
    by_key = {row[0]: row for row in ROWS if len(row) == 4}
    for term in load_vocabularies().dispositifs:
        row = by_key[f"`{term.id}`"]
        assert _squash(term.get("definition")) in row, term.id
        if term.get("sigle"):
            assert row[1].startswith(term.get("sigle")), term.id


def test_departements_show_their_region() -> None:
    by_key = {row[0]: row for row in ROWS if len(row) == 3}
    vocabularies = load_vocabularies()
    for term in vocabularies.departements:
        region = term.get("region")
        assert by_key[f'`"{term.id}"`'][2] == f"{vocabularies.regions.label(region)} ({region})"


def test_generated_part_is_up_to_date() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_format_doc.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_recommended_sections_are_documented() -> None:
    blocks = [block.splitlines() for block in fenced_blocks(TEXT, "markdown")]
    assert [f"## {s}" for s in SECTIONS] in blocks


def _example(kind: str) -> str:
    """The complete file of the doc (a ```markdown block starting with `---`) of that kind."""
    blocks = [
        b for b in fenced_blocks(TEXT, "markdown") if b.startswith("---\n") and f"\n{kind}:" in b
    ]
    assert len(blocks) == 1, f"un seul exemple complet attendu avec « {kind} »"
    return blocks[0]


def test_complete_example_passes_the_loader(make_tree) -> None:
    centre, resource = _example("nom"), _example("titre")
    root = make_tree(
        {"crpv-exemple/_centre.md": centre, "crpv-exemple/jardins-partages.md": resource}
    )
    # The attachments the example links to sit beside it.
    body = split_front_matter(resource).body
    for link in body_links(body):
        if is_relative_url(link.url):
            target = root / resolve_relative("crpv-exemple", link.url)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"annee,valeur\n2023,1\n")
    result = load_tree(root)
    assert [p.format() for p in result.problems] == []
    loaded = result.resources["crpv-exemple/jardins-partages"]
    assert loaded.is_published and loaded.attachments
    assert "démonstration" in result.centres["crpv-exemple"].nom


def test_complete_example_uses_every_field_and_the_recommended_sections() -> None:
    resource = _example("titre")
    header = resource.split("---\n")[1]
    keys = re.findall(r"^([a-z_]+):", header, flags=re.MULTILINE)
    assert sorted(keys) == sorted(f.name for f in RESOURCE_FIELDS)
    assert re.findall(r"^## (.+)$", resource, flags=re.MULTILINE) == SECTIONS


YAML_SNIPPETS = fenced_blocks(TEXT, "yaml")


@pytest.mark.parametrize(
    "snippet", YAML_SNIPPETS, ids=[f"bloc-yaml-{n}" for n in range(1, len(YAML_SNIPPETS) + 1)]
)
def test_yaml_snippets_are_valid(make_tree, snippet: str) -> None:
    if snippet.startswith("---\n"):  # a whole header
        text = snippet + "\nTexte.\n"
    else:
        text = MINIMAL_HEADER + snippet + "---\n\nTexte.\n"
    root = make_tree({"ca/_centre.md": "---\nnom: Centre\n---\n", "ca/fiche.md": text})
    result = load_tree(root)
    assert [p.format() for p in result.problems] == []
    assert "ca/fiche" in result.resources
