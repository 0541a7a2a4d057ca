"""The loader and validator: typed resources from good files, precise French problems from
bad ones, and one bad file never hiding the others."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.loader import MAX_FILE_SIZE, Loader, LoadResult, load_tree
from kb.model import Periode, Territoire
from kb.problems import Problem
from kb.source import SourceEntry

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"
DEMO = Path(__file__).parent.parent / "content"

E, W = "erreur", "avertissement"

CENTRE = '---\nnom: Centre A\nregion: "32"\n---\n\nPrésentation.\n'
RESOURCE = """---
titre: Titre
type: fiche-pratique
date: 2024-01-15
piliers: [cohesion-sociale]
resume: Un résumé.
{extra}---

## Contexte

{body}"""


def resource(extra: str = "", body: str = "Texte.\n") -> str:
    return RESOURCE.format(extra=extra, body=body)


def found(result: LoadResult, path: str) -> list[tuple[int | None, str, str, str | None]]:
    """The problems of one file as (line, severity, message, suggestion)."""
    return [
        (p.line, p.severity.value, p.message, p.suggestion)
        for p in result.problems
        if p.path == path
    ]


def line_of(file: Path, needle: str) -> int:
    """1-based number of the first line of `file` that contains `needle`."""
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {file}")


def loaded_paths(result: LoadResult) -> set[str]:
    return {r.path for r in result.resources.values()}


# --- the valid tree ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid() -> LoadResult:
    return load_tree(VALID)


def test_valid_tree_loads_without_any_problem(valid: LoadResult) -> None:
    assert valid.problems == []
    assert set(valid.centres) == {"centre-alpha", "centre-beta"}
    assert set(valid.resources) == {
        "centre-alpha/jardins-partages",
        "centre-alpha/aide-aux-devoirs",
        "centre-alpha/sante-brouillon",
        "centre-beta/mobilite-solidaire",
        "centre-beta/clauses-insertion",
    }
    assert {r.id for r in valid.published} == set(valid.resources) - {
        "centre-alpha/sante-brouillon"
    }


def test_files_starting_with_underscore_and_root_files_are_not_resources(
    valid: LoadResult,
) -> None:
    # centre-alpha/_notes.md holds broken YAML and README.md sits at the root: both ignored.
    assert (VALID / "centre-alpha" / "_notes.md").is_file()
    assert (VALID / "README.md").is_file()
    assert not any("_notes" in p or p == "README.md" for p in loaded_paths(valid))


def test_resource_in_a_sub_folder_keeps_a_flat_id(valid: LoadResult) -> None:
    resource = valid.resources["centre-alpha/aide-aux-devoirs"]
    assert resource.path == "centre-alpha/education/aide-aux-devoirs.md"
    assert (resource.centre, resource.slug) == ("centre-alpha", "aide-aux-devoirs")
    assert resource.url == "/ressources/centre-alpha/aide-aux-devoirs"
    assert resource.titre == "Accompagnement à la scolarité : l'exemple d'un CLAS"
    assert resource.piliers == ("cohesion-sociale",)
    assert resource.dispositifs == ("clas", "pre")
    assert resource.periode == Periode(2017, dt.date(2019, 6, 30))


def test_every_field_is_typed(valid: LoadResult) -> None:
    resource = valid.resources["centre-beta/mobilite-solidaire"]
    assert resource.type == "etude"
    assert resource.date == dt.date(2021, 11, 30)
    assert resource.piliers == ("developpement-economique",)
    assert resource.resume.startswith("Étude fictive sur les déplacements")
    assert "\n" not in resource.resume  # folded scalar `>-`
    assert resource.thematiques == ("mobilite", "emploi-insertion")
    assert resource.publics == ("demandeurs-emploi", "jeunes")
    assert resource.territoire == Territoire("04", "974", ("97411",), ("QN97401M", "QP974001"))
    assert resource.porteur == "Association fictive Bouger Ensemble"
    assert resource.partenaires == ("Bailleur fictif", "Mission locale fictive")
    assert resource.auteurs == ("Équipe du Centre Bêta",)
    assert resource.mots_cles == ("covoiturage", "permis de conduire")
    assert resource.periode == Periode(dt.date(2020, 1, 1), dt.date(2021, 6, 30))
    assert resource.mise_a_jour == dt.date(2022, 2, 1)
    assert resource.updated == dt.date(2022, 2, 1)
    assert resource.statut == "publie" and resource.is_published
    assert resource.licence == "CC BY-SA 4.0"
    assert resource.body.startswith("## Contexte")
    assert resource.body_line == line_of(VALID / resource.path, "## Contexte")
    assert len(resource.content_hash) == 64


def test_department_gives_its_region(valid: LoadResult) -> None:
    resource = valid.resources["centre-alpha/jardins-partages"]
    assert resource.territoire == Territoire("32", "59")


def test_resources_are_immutable(valid: LoadResult) -> None:
    resource = valid.resources["centre-beta/mobilite-solidaire"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        resource.titre = "autre"  # type: ignore[misc]


def test_centre_card(valid: LoadResult) -> None:
    alpha = valid.centres["centre-alpha"]
    assert alpha.nom == "Centre Alpha (démonstration)"
    assert (alpha.region, alpha.site) == ("32", "https://alpha.example.org")
    assert alpha.contact == "contact@alpha.example.org"
    assert alpha.body.strip() == "Centre de ressources fictif, utilisé par les tests."
    assert valid.centres["centre-beta"].site is None


def test_attachments_linked_from_the_body(valid: LoadResult) -> None:
    resource = valid.resources["centre-alpha/jardins-partages"]
    found_attachments = {(a.path, a.size, a.mime_type) for a in resource.attachments}
    assert found_attachments == {
        (
            "centre-alpha/bilan-jardins.csv",
            (VALID / "centre-alpha/bilan-jardins.csv").stat().st_size,
            "text/csv",
        ),
        (
            "centre-alpha/plan-jardin.png",
            (VALID / "centre-alpha/plan-jardin.png").stat().st_size,
            "image/png",
        ),
    }
    # A link to another resource (`../jardins-partages.md`) is fine and is no attachment.
    assert valid.resources["centre-alpha/aide-aux-devoirs"].attachments == ()


def test_aliases_become_full_ids(valid: LoadResult) -> None:
    assert valid.resources["centre-alpha/jardins-partages"].alias_ids == (
        "centre-alpha/jardins-collectifs",
    )
    assert valid.resources["centre-beta/clauses-insertion"].alias_ids == (
        "centre-beta/ancienne-fiche-clauses",
    )


def test_draft_is_loaded_but_not_published_and_may_hold_placeholders(valid: LoadResult) -> None:
    draft = valid.resources["centre-alpha/sante-brouillon"]
    assert draft.statut == "brouillon" and not draft.is_published
    assert draft not in valid.published
    assert "À compléter" in draft.body and draft.resume == "À compléter"
    assert found(valid, draft.path) == []


# --- the broken tree: one file per bad-input case ----------------------------------------------

# file -> expected problems: (line, severity, message, suggestion). A line given as text is
# the line of the fixture file that contains that text.
BROKEN_CASES: dict[str, list[tuple[int | str | None, str, str, str | None]]] = {
    "centre-test/ok.md": [],
    "centre-test/sous-dossier/ok-aussi.md": [],
    "centre-test/yaml-invalide.md": [
        (
            "titre:",
            E,
            "YAML invalide : deux-points inattendus (mettez la valeur entre guillemets si elle "
            "contient « : »)",
            None,
        )
    ],
    "centre-test/en-tete-liste.md": [
        (2, E, "l'en-tête doit être une suite de lignes « clé: valeur »", None)
    ],
    "centre-test/en-tete-non-ferme.md": [
        (
            1,
            E,
            "l'en-tête YAML n'est pas fermé : ajoutez une ligne « --- » après les métadonnées",
            None,
        )
    ],
    "centre-test/date-invalide.md": [
        (
            "date: 2024-13-45",
            E,
            "« date » : date invalide « 2024-13-45 » (format attendu AAAA-MM-JJ, date existante)",
            None,
        )
    ],
    "centre-test/titre-booleen.md": [
        (
            "titre: NO",
            E,
            "« titre » : un texte est attendu, mais YAML lit « NO » comme un booléen (oui/non) : "
            'mettez la valeur entre guillemets : "NO"',
            None,
        )
    ],
    "centre-test/departement-nombre.md": [
        (
            "departement: 010",
            E,
            "« departement » : code « 010 » lu comme un nombre (un code INSEE s'écrit entre "
            'guillemets, ex. "05")',
            None,
        )
    ],
    "centre-test/ancre-yaml.md": [
        ("&themes", E, "les ancres YAML (&themes) ne sont pas acceptées : recopiez la valeur", None)
    ],
    "centre-test/alias-yaml.md": [
        ("*themes", E, "les alias YAML (*nom) ne sont pas acceptés : recopiez la valeur", None)
    ],
    "centre-test/imbrication-profonde.md": [
        ("territoire:", E, "imbrication trop profonde (plus de 8 niveaux)", None)
    ],
    "centre-test/cle-inconnue.md": [
        ("thematique:", W, "clé inconnue « thematique » (ignorée)", "thematiques")
    ],
    "centre-test/cle-en-double.md": [
        ("titre: Un autre titre", E, "clé « titre » en double (déjà ligne 2)", None)
    ],
    "centre-test/champs-manquants.md": [
        (1, E, "champ obligatoire manquant : « date »", None),
        (1, E, "champ obligatoire manquant : « piliers »", None),
        (1, E, "champ obligatoire manquant : « resume »", None),
    ],
    "centre-test/vocabulaire-faute.md": [
        (
            "piliers:",
            E,
            "« cohesion-social » n'est pas une valeur connue de « piliers » (vocabulaire piliers)",
            "cohesion-sociale",
        )
    ],
    "centre-test/vocabulaire-libelle.md": [
        (
            "piliers:",
            E,
            "« Cohésion sociale » n'est pas une valeur connue de « piliers » (vocabulaire piliers)",
            "cohesion-sociale",
        ),
        (
            "- Égalité femmes-hommes",
            E,
            "« Égalité femmes-hommes » n'est pas une valeur connue de « thematiques » "
            "(vocabulaire thematiques)",
            "egalite-femmes-hommes",
        ),
    ],
    "centre-test/territoire-region-inconnue.md": [
        ('region: "99"', E, "code de région INSEE inconnu « 99 »", None)
    ],
    "centre-test/territoire-departement-hors-region.md": [
        (
            'departement: "59"',
            E,
            "le département 59 (Nord) n'est pas dans la région 11 (Île-de-France)",
            None,
        )
    ],
    "centre-test/territoire-commune-invalide.md": [
        (
            '- "5935"',
            E,
            "code commune INSEE invalide « 5935 » (5 caractères, ex. 59350 ou 2A004)",
            None,
        )
    ],
    # 2024 codes (QN + department on 3 characters + 2 digits + N/M/I, Corsica and overseas
    # included) and 2015 codes (QP + department on 3 characters + 3 digits).
    "centre-test/territoire-qpv-valides.md": [],
    "centre-test/territoire-qpv-invalides.md": [
        (
            "- QN0591M",
            E,
            "code QPV invalide « QN0591M » (ex. QN05912M depuis 2024, QP093028 avant)",
            None,
        ),
        (
            "- QX059123",
            E,
            "code QPV invalide « QX059123 » (ex. QN05912M depuis 2024, QP093028 avant)",
            None,
        ),
        ("- QN99912M", E, "code QPV « QN99912M » : département « 999 » inconnu", None),
        (
            "- qn05912m",
            E,
            "code QPV invalide « qn05912m » (ex. QN05912M depuis 2024, QP093028 avant)",
            None,
        ),
    ],
    "centre-test/periode-annees-inversees.md": [
        ("fin: 2020", E, "« periode » : la fin précède le début", None)
    ],
    "centre-test/periode-dates-inversees.md": [
        ("fin: 2022-04-30", E, "« periode » : la fin précède le début", None)
    ],
    "centre-test/periode-annee-et-date.md": [],
    "centre-test/alias-collision.md": [
        (None, E, "l'alias « centre-test/ok » est l'identifiant d'une ressource existante", None)
    ],
    "centre-test/brouillon.md": [],  # placeholders are fine in a draft
    "centre-test/a-completer.md": [
        ("porteur: À compléter", W, "« porteur » contient encore « À compléter »", None),
        ("À compléter.", W, "« texte » contient encore « À compléter »", None),
    ],
    "centre-test/lien-manquant.md": [
        (
            "[compte rendu]",
            W,
            "lien « compte-rendu.pdf » : fichier introuvable (centre-test/compte-rendu.pdf)",
            None,
        ),
        (
            # the second line of a two-line paragraph
            "![carte]",
            W,
            "image « images/carte.png » : fichier introuvable (centre-test/images/carte.png)",
            None,
        ),
    ],
    "centre-test/a/doublon.md": [
        (
            None,
            E,
            "identifiant « centre-test/doublon » en double (aussi : centre-test/b/doublon.md) : "
            "deux fichiers d'un même centre ne peuvent avoir le même nom",
            None,
        )
    ],
    "centre-test/b/doublon.md": [
        (
            None,
            E,
            "identifiant « centre-test/doublon » en double (aussi : centre-test/a/doublon.md) : "
            "deux fichiers d'un même centre ne peuvent avoir le même nom",
            None,
        )
    ],
    "centre-test/Fiche_Mal_Nommee.md": [
        (
            None,
            E,
            "nom de fichier invalide « Fiche_Mal_Nommee.md » : minuscules sans accents, chiffres "
            "et tirets seulement",
            "fiche-mal-nommee.md",
        )
    ],
    "Centre_Mal_Nomme/fiche.md": [],  # reported once, on the folder (below)
    "centre-sans-fiche/orpheline.md": [
        (
            None,
            E,
            "la fiche du centre « centre-sans-fiche/_centre.md » est absente : la ressource ne "
            "peut être publiée",
            None,
        )
    ],
}


@pytest.fixture(scope="module")
def broken() -> LoadResult:
    return load_tree(BROKEN)


def _expected(path: str) -> list[tuple[int | None, str, str, str | None]]:
    result = []
    for line, severity, message, suggestion in BROKEN_CASES[path]:
        if isinstance(line, str):
            line = line_of(BROKEN / path, line)
        result.append((line, severity, message, suggestion))
    return result


def _by_line(problems):
    return sorted(problems, key=lambda p: (p[0] or 0, p[2]))


@pytest.mark.parametrize("path", sorted(BROKEN_CASES))
def test_broken_file(broken: LoadResult, path: str) -> None:
    assert _by_line(found(broken, path)) == _by_line(_expected(path))


def test_every_file_of_the_broken_tree_has_its_case() -> None:
    files = {
        p.relative_to(BROKEN).as_posix()
        for p in BROKEN.rglob("*.md")
        if p.name != "_centre.md" and p.parent != BROKEN
    }
    assert files == set(BROKEN_CASES)


def test_invalid_centre_folder_is_reported_with_a_suggestion(broken: LoadResult) -> None:
    assert found(broken, "Centre_Mal_Nomme/") == [
        (
            None,
            E,
            "nom de dossier de centre invalide « Centre_Mal_Nomme » : minuscules, chiffres et "
            "tirets seulement",
            "centre-mal-nomme",
        )
    ]
    assert "Centre_Mal_Nomme" not in broken.centres
    assert not any(r.centre == "Centre_Mal_Nomme" for r in broken.resources.values())


def test_one_bad_file_never_hides_the_others(broken: LoadResult) -> None:
    """A resource is loaded exactly when neither it nor its centre folder has an error."""
    errors = [p for p in broken.problems if p.is_error]

    def has_error(path: str) -> bool:
        return any(
            p.path == path or (p.path.endswith("/") and path.startswith(p.path)) for p in errors
        )

    loaded = loaded_paths(broken)
    for path in BROKEN_CASES:
        assert (path in loaded) == (not has_error(path)), path
    assert loaded == {
        "centre-test/ok.md",
        "centre-test/sous-dossier/ok-aussi.md",
        "centre-test/cle-inconnue.md",
        "centre-test/territoire-qpv-valides.md",
        "centre-test/periode-annee-et-date.md",
        "centre-test/brouillon.md",
        "centre-test/a-completer.md",
        "centre-test/lien-manquant.md",
    }
    # and every file with an expected problem got it
    assert {p.path for p in broken.problems} >= {
        path for path, expected in BROKEN_CASES.items() if expected
    }


def test_warnings_do_not_prevent_publication(broken: LoadResult) -> None:
    for resource_id in ("cle-inconnue", "a-completer", "lien-manquant"):
        assert broken.resources[f"centre-test/{resource_id}"].is_published


def test_draft_in_broken_tree_is_loaded_not_published(broken: LoadResult) -> None:
    draft = broken.resources["centre-test/brouillon"]
    assert draft.statut == "brouillon"
    assert draft.porteur == "À compléter"
    assert draft not in broken.published


def test_existing_attachment_in_a_sub_folder_is_recorded(broken: LoadResult) -> None:
    resource = broken.resources["centre-test/lien-manquant"]
    assert [a.path for a in resource.attachments] == ["centre-test/pieces/tableau.csv"]


def test_qpv_codes_are_kept(broken: LoadResult) -> None:
    resource = broken.resources["centre-test/territoire-qpv-valides"]
    assert resource.territoire.qpv == ("QN05912M", "QP093028", "QN97101I", "QN02A01N")


# --- bad bytes, sizes and links: generated in tmp_path -----------------------------------------


def test_utf8_bom_is_accepted(make_tree) -> None:
    root = make_tree(
        {
            "ca/_centre.md": b"\xef\xbb\xbf" + CENTRE.encode(),
            "ca/fiche.md": b"\xef\xbb\xbf" + resource().encode(),
        }
    )
    result = load_tree(root)
    assert result.problems == []
    assert result.resources["ca/fiche"].titre == "Titre"
    assert result.centres["ca"].nom == "Centre A"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (resource(body="Caf@ au lait.\n"), 11),
        (resource().replace("titre: Titre", "titre: Caf@"), 2),
    ],
    ids=["corps", "en-tete"],
)
def test_non_utf8_bytes_give_an_error_with_the_line(make_tree, text: str, line: int) -> None:
    data = text.encode("utf-8").replace(b"@", b"\xe9")  # "é" in Latin-1
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": data})
    result = load_tree(root)
    assert found(result, "ca/fiche.md") == [
        (
            line,
            E,
            "le fichier n'est pas encodé en UTF-8 (caractère illisible) : réenregistrez-le en "
            "UTF-8 depuis votre éditeur",
            None,
        )
    ]
    assert result.resources == {}


def test_windows_line_endings_keep_line_numbers(make_tree) -> None:
    text = resource().replace("2024-01-15", "2024-13-45").replace("\n", "\r\n")
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": text})
    assert [(p[0], p[1]) for p in found(load_tree(root), "ca/fiche.md")] == [(4, E)]


@pytest.mark.parametrize("content", ["", "\n \n\t\n"], ids=["vide", "blancs"])
def test_empty_file(make_tree, content: str) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/vide.md": content})
    assert found(load_tree(root), "ca/vide.md") == [(None, E, "le fichier est vide", None)]


def test_empty_front_matter(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": "---\n---\n\nTexte.\n"})
    assert found(load_tree(root), "ca/fiche.md") == [(1, E, "l'en-tête YAML est vide", None)]


def test_file_without_front_matter(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": "# Titre\n\nTexte.\n"})
    assert found(load_tree(root), "ca/fiche.md") == [
        (
            1,
            E,
            "le fichier doit commencer par un en-tête YAML encadré par deux lignes « --- »",
            None,
        )
    ]


def test_nul_bytes(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource() + "\x00\x00"})
    assert found(load_tree(root), "ca/fiche.md") == [
        (None, E, "le fichier contient des octets nuls : ce n'est pas un texte", None)
    ]


def _sized(size: int) -> str:
    text = resource(body="")
    return text + "x" * (size - len(text.encode("utf-8")))


def test_file_over_one_mebibyte_is_refused(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/gros.md": _sized(MAX_FILE_SIZE + 1)})
    result = load_tree(root)
    assert found(result, "ca/gros.md") == [
        (
            None,
            E,
            "fichier trop volumineux (1.0 Mio ; 1 Mio au plus) : placez les documents lourds en "
            "pièces jointes",
            None,
        )
    ]
    assert result.resources == {}


def test_file_of_exactly_one_mebibyte_is_read(make_tree) -> None:
    """Read, then refused by the limit on the text (kb.limits), not by the size of the file."""
    root = make_tree({"ca/_centre.md": CENTRE, "ca/limite.md": _sized(MAX_FILE_SIZE)})
    assert (root / "ca/limite.md").stat().st_size == MAX_FILE_SIZE
    result = load_tree(root)
    [problem] = result.problems
    assert problem.message.startswith("texte de plus de 200\u202f000 caractères (1\u202f048")


def test_symlinks_outside_the_root_are_refused_inside_ignored(make_tree, tmp_path: Path) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource(), "ca/sous/autre.md": resource()}
    )
    outside = make_tree({"secret.md": resource(), "dossier/fiche.md": resource()}, root="dehors")
    os.symlink(outside / "secret.md", root / "ca/dehors.md")
    os.symlink(outside / "dossier", root / "ca/dossier-dehors")
    os.symlink("/etc/passwd", root / "ca/passwd.md")
    os.symlink(root / "ca/fiche.md", root / "ca/dedans.md")
    os.symlink("sous", root / "ca/sous-lien")  # relative, to a folder inside
    result = load_tree(root)
    refused = "lien symbolique vers l'extérieur du dossier de contenu : refusé"
    ignored = "lien symbolique ignoré : copiez le fichier au lieu de le lier"
    assert found(result, "ca/dehors.md") == [(None, E, refused, None)]
    assert found(result, "ca/dossier-dehors") == [(None, E, refused, None)]
    assert found(result, "ca/passwd.md") == [(None, E, refused, None)]
    assert found(result, "ca/dedans.md") == [(None, W, ignored, None)]
    assert found(result, "ca/sous-lien") == [(None, W, ignored, None)]
    # nothing is read through a link
    assert set(result.resources) == {"ca/fiche", "ca/autre"}


def test_symlinked_centre_card_outside_is_refused(make_tree) -> None:
    root = make_tree({"ca/fiche.md": resource()})
    outside = make_tree({"_centre.md": CENTRE}, root="dehors")
    os.symlink(outside / "_centre.md", root / "ca/_centre.md")
    result = load_tree(root)
    assert [p[1] for p in found(result, "ca/_centre.md")] == [E]
    assert result.centres == {} and result.resources == {}


def test_deep_nesting_is_rejected_without_crashing(make_tree) -> None:
    deep = "territoire: " + "[" * 20_000 + "]" * 20_000 + "\n"
    block = (
        "territoire:\n"
        + "".join("  " * i + f"n{i}:\n" for i in range(1, 30))
        + "  " * 30
        + "x: 1\n"
    )
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/plat.md": resource(deep), "ca/bloc.md": resource(block)}
    )
    result = load_tree(root)
    assert [(p[1], p[2]) for p in found(result, "ca/plat.md")] == [
        (E, "imbrication trop profonde (plus de 8 niveaux)")
    ]
    assert [(p[1], p[2]) for p in found(result, "ca/bloc.md")] == [
        (E, "imbrication trop profonde (plus de 8 niveaux)")
    ]


def test_alias_bomb_is_refused_at_the_first_anchor(make_tree) -> None:
    bomb = (
        "mots_cles: &a [x, x, x, x, x, x, x, x, x]\n"
        "partenaires: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "auteurs: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    )
    root = make_tree({"ca/_centre.md": CENTRE, "ca/bombe.md": resource(bomb)})
    assert found(load_tree(root), "ca/bombe.md") == [
        (7, E, "les ancres YAML (&a) ne sont pas acceptées : recopiez la valeur", None)
    ]


def test_python_tags_are_not_executed(make_tree, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    extra = f'porteur: !!python/object/apply:os.system ["touch {marker}"]\n'
    nested = "mots_cles:\n  - a\n  - !!python/name:os.system\n"
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra), "ca/liste.md": resource(nested)}
    )
    result = load_tree(root)
    advice = "écrivez la valeur sans étiquette « !… » (texte, nombre, date ou liste)"
    assert found(result, "ca/fiche.md") == [
        (7, E, f"étiquette YAML « !!python/object/apply:os.system » refusée : {advice}", None)
    ]
    assert found(result, "ca/liste.md") == [
        (9, E, f"étiquette YAML « !!python/name:os.system » refusée : {advice}", None)
    ]
    assert not marker.exists()


def test_huge_numbers_get_a_french_message_at_their_line(make_tree) -> None:
    digits = "9" * 5_000
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/valeur.md": resource(f"porteur: {digits}\n"),
            "ca/liste.md": resource(f"mots_cles:\n  - a\n  - {digits}\n"),
        }
    )
    result = load_tree(root)
    message = (
        "nombre trop long (5\u202f000 chiffres) : s'il s'agit d'un texte, mettez-le entre "
        "guillemets"
    )
    assert found(result, "ca/valeur.md") == [(7, E, f"« porteur » : {message}", None)]
    assert found(result, "ca/liste.md") == [(9, E, f"« mots_cles » : {message}", None)]
    assert not any("Node" in p.message or "limit" in p.message for p in result.problems)


TAB = "tabulation interdite dans l'en-tête YAML : indentez avec des espaces"


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        ('territoire:\n\tregion: "32"\n', 8),
        ("mots_cles:\n  - a\n\t- b\n", 9),
        ("partenaires:\n\t- a\n", 8),
    ],
)
def test_tab_in_yaml_indentation_is_named(make_tree, extra: str, line: int) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra)})
    assert found(load_tree(root), "ca/fiche.md") == [(line, E, TAB, None)]


@pytest.mark.parametrize(
    ("extra", "line", "character"),
    [
        ('porteur: "a\\0b"\n', 7, "U+0000, caractère nul"),
        ('porteur: "a\\eb"\n', 7, "U+001B, échappement"),
        ('mots_cles: ["a", "b\\x07"]\n', 7, "U+0007, caractère de contrôle"),
        ("porteur: a\x1bb\n", 7, "U+001B, échappement"),
        ("licence: CC\x7f\n", 7, "U+007F, suppression"),
    ],
)
def test_control_characters_in_the_header_are_refused(make_tree, extra, line, character) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra)})
    result = load_tree(root)
    assert found(result, "ca/fiche.md") == [
        (
            line,
            E,
            f"caractère invisible interdit ({character}), souvent venu d'un copier-coller : "
            "supprimez-le",
            None,
        )
    ]
    assert result.resources == {}


def test_control_characters_in_the_text_are_refused_at_their_line(make_tree) -> None:
    body = "Texte.\n\nPage 1\x0cPage 2\n\nLigne\x0bsuite\n"
    root = make_tree(
        {
            "ca/_centre.md": CENTRE.replace("Présentation.", "Présentation\x1b."),
            "ca/fiche.md": resource(body=body),
        }
    )
    result = load_tree(root)
    advice = "souvent venu d'un copier-coller : supprimez-le"
    assert found(result, "ca/fiche.md") == [
        (13, E, f"caractère invisible interdit (U+000C, saut de page), {advice}", None),
        (15, E, f"caractère invisible interdit (U+000B, tabulation verticale), {advice}", None),
    ]
    assert found(result, "ca/_centre.md") == [
        (6, E, f"caractère invisible interdit (U+001B, échappement), {advice}", None)
    ]


@pytest.mark.parametrize("written", ["12/03/2025", "12-03-2025", "12.03.2025", "2025/03/12"])
def test_dates_in_french_order_get_the_iso_form_suggested(make_tree, written: str) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource().replace("2024-01-15", written)}
    )
    assert found(load_tree(root), "ca/fiche.md") == [
        (4, E, f"« date » : date invalide « {written} » (format AAAA-MM-JJ)", "2025-03-12")
    ]
    problem = load_tree(root).problems[0]
    assert problem.format() == (
        f"ca/fiche.md:4: erreur : « date » : date invalide « {written} » (format AAAA-MM-JJ) "
        "(vouliez-vous dire « 2025-03-12 » ?)"
    )


def test_impossible_french_date_gets_no_suggestion(make_tree) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource().replace("2024-01-15", "31/02/2025")}
    )
    assert found(load_tree(root), "ca/fiche.md") == [
        (4, E, "« date » : date invalide « 31/02/2025 » (format AAAA-MM-JJ)", None)
    ]


@pytest.mark.parametrize(
    ("extra", "suggestion"),
    [
        ("thematiques: [emploi]\n", "emploi-insertion"),
        ("thematiques: [logement]\n", "habitat-logement"),
        ("thematiques: [Insertion]\n", "emploi-insertion"),
        ("dispositifs: [emploi]\n", "emplois-francs"),
        ("dispositifs: [ville]\n", None),  # three dispositifs say « ville »: no guess
    ],
)
def test_a_word_of_a_vocabulary_value_suggests_it(make_tree, extra: str, suggestion) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra)})
    [problem] = load_tree(root).problems
    assert (problem.line, problem.severity.value, problem.suggestion) == (7, E, suggestion)
    if suggestion == "emploi-insertion" and "emploi]" in extra:
        assert problem.format() == (
            "ca/fiche.md:7: erreur : « emploi » n'est pas une valeur connue de « thematiques » "
            "(vocabulaire thematiques) (vouliez-vous dire « emploi-insertion » ?)"
        )


def test_repeated_problems_are_condensed(make_tree) -> None:
    same_line = "[b](bilan.pdf) " * 600 + "\n"
    many_lines = "\n\n".join(["[annexe](annexe.pdf)"] * 8) + "\n"
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/ligne.md": resource(body=same_line),
            "ca/lignes.md": resource(body=many_lines),
        }
    )
    result = load_tree(root)
    missing = "lien « bilan.pdf » : fichier introuvable (ca/bilan.pdf)"
    assert found(result, "ca/ligne.md") == [
        (11, W, missing, None),
        (11, W, "… et 599 autres avertissements identiques", None),
    ]
    annexe = "lien « annexe.pdf » : fichier introuvable (ca/annexe.pdf)"
    assert found(result, "ca/lignes.md") == [
        (11, W, annexe, None),
        (13, W, annexe, None),
        (15, W, annexe, None),
        (17, W, annexe, None),
        (19, W, annexe, None),
        (19, W, "… et 3 autres avertissements identiques", None),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "titre: yes",
            "« titre » : un texte est attendu, mais YAML lit « yes » comme un booléen (oui/non) : "
            'mettez la valeur entre guillemets : "yes"',
        ),
        (
            "titre: 1.10",
            "« titre » : un texte est attendu, mais YAML lit « 1.10 » comme un nombre : "
            'mettez la valeur entre guillemets : "1.10"',
        ),
        (
            "titre: 2024-01-01",
            "« titre » : un texte est attendu, mais YAML lit « 2024-01-01 » comme une date : "
            'mettez la valeur entre guillemets : "2024-01-01"',
        ),
    ],
)
def test_yaml_11_surprises_in_text_fields(make_tree, line: str, message: str) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource().replace("titre: Titre", line)}
    )
    assert found(load_tree(root), "ca/fiche.md") == [(2, E, message, None)]


def test_region_written_as_a_number(make_tree) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource("territoire:\n  region: 11\n")}
    )
    assert found(load_tree(root), "ca/fiche.md") == [
        (
            8,
            E,
            "« region » : code « 11 » lu comme un nombre (un code INSEE s'écrit entre guillemets, "
            'ex. "05")',
            None,
        )
    ]


def test_quoted_codes_corsica_and_overseas_are_valid(make_tree) -> None:
    extra = 'territoire:\n  departement: "2A"\n  communes: ["2A004"]\n'
    extra_dom = 'territoire:\n  region: "06"\n  departement: "976"\n'
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/corse.md": resource(extra),
            "ca/mayotte.md": resource(extra_dom),
        }
    )
    result = load_tree(root)
    assert result.problems == []
    assert result.resources["ca/corse"].territoire == Territoire("94", "2A", ("2A004",))
    assert result.resources["ca/mayotte"].territoire == Territoire("06", "976")


def test_unknown_key_in_territoire_suggests_the_right_one(make_tree) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource('territoire:\n  regions: "11"\n')}
    )
    assert found(load_tree(root), "ca/fiche.md") == [
        (8, W, "clé inconnue « regions » dans « territoire »", "region")
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"2024-02-30"', "« date » : date invalide « 2024-02-30 » (format AAAA-MM-JJ)"),
        ("2024-01-15 10:30:00", "« date » : une date sans heure est attendue (AAAA-MM-JJ)"),
    ],
)
def test_other_bad_dates(make_tree, value: str, message: str) -> None:
    root = make_tree(
        {"ca/_centre.md": CENTRE, "ca/fiche.md": resource().replace("2024-01-15", value)}
    )
    assert found(load_tree(root), "ca/fiche.md") == [(4, E, message, None)]


def test_periode_bounds(make_tree) -> None:
    extra = "periode:\n  debut: 1850\n  fin: bientot\n  milieu: 2020\n"
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra)})
    assert found(load_tree(root), "ca/fiche.md") == [
        (8, E, "« periode.debut » : année invalide « 1850 »", None),
        (9, E, "« periode » : date invalide « bientot » (format AAAA-MM-JJ)", None),
        (10, W, "clé inconnue « milieu » dans « periode » (debut ou fin)", None),
    ]


def test_periode_with_a_quoted_year(make_tree) -> None:
    extra = 'periode:\n  debut: "2019"\n'
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra)})
    result = load_tree(root)
    assert result.problems == []
    assert result.resources["ca/fiche"].periode == Periode(2019, None)


def test_file_name_with_accents_gets_a_suggestion(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/Réunion publique.md": resource()})
    result = load_tree(root)
    assert found(result, "ca/Réunion publique.md") == [
        (
            None,
            E,
            "nom de fichier invalide « Réunion publique.md » : minuscules sans accents, chiffres et "
            "tirets seulement",
            "reunion-publique.md",
        )
    ]
    assert result.resources == {}


def test_same_alias_in_two_resources(make_tree) -> None:
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/a.md": resource("alias: [ancienne-fiche]\n"),
            "ca/b.md": resource("alias: [ca/ancienne-fiche]\n"),
        }
    )
    result = load_tree(root)
    assert found(result, "ca/a.md") == []
    assert found(result, "ca/b.md") == [
        (None, E, "l'alias « ca/ancienne-fiche » est déjà utilisé par ca/a.md", None)
    ]
    assert set(result.resources) == {"ca/a"}


def test_alias_must_look_like_an_id(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/a.md": resource("alias: [Ancienne Fiche]\n")})
    assert found(load_tree(root), "ca/a.md") == [
        (
            7,
            E,
            "alias invalide « Ancienne Fiche » : un ancien identifiant (ancien-slug ou "
            "centre/ancien-slug)",
            None,
        )
    ]


def test_alias_colliding_with_an_id_of_another_centre(make_tree) -> None:
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "cb/_centre.md": CENTRE,
            "ca/fiche.md": resource(),
            "cb/fiche.md": resource("alias: [ca/fiche]\n"),
        }
    )
    result = load_tree(root)
    assert found(result, "cb/fiche.md") == [
        (None, E, "l'alias « ca/fiche » est l'identifiant d'une ressource existante", None)
    ]
    assert set(result.resources) == {"ca/fiche"}


def test_centre_card_problems(make_tree) -> None:
    card = '---\nregion: "99"\nsite: www.exemple.fr\nadresse: 1 rue X\n---\n'
    root = make_tree({"ca/_centre.md": card, "ca/fiche.md": resource()})
    result = load_tree(root)
    assert found(result, "ca/_centre.md") == [
        (1, E, "champ obligatoire manquant : « nom »", None),
        (2, E, "« 99 » n'est pas une valeur connue de « region » (vocabulaire regions)", None),
        (3, E, "« site » : adresse web invalide « www.exemple.fr » (https://...)", None),
        (4, W, "clé inconnue « adresse » (ignorée)", None),
    ]
    assert found(result, "ca/fiche.md") == [
        (
            None,
            E,
            "la fiche du centre « ca/_centre.md » est invalide : la ressource ne peut être publiée",
            None,
        )
    ]
    assert result.centres == {} and result.resources == {}


def test_relative_links(make_tree) -> None:
    body = (
        "[ok](../pieces/bilan.pdf)\n\n"
        "[dehors](../../../secret.pdf)\n\n"
        "[ancre](#contexte) [web](https://example.org/x.pdf) [courriel](mailto:a@example.org)\n\n"
        "[absent](rapport%20final.pdf#page=2)\n"
    )
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/pieces/bilan.pdf": b"%PDF-1.4\n",
            "ca/sous/fiche.md": resource(body=body),
        }
    )
    result = load_tree(root)
    assert found(result, "ca/sous/fiche.md") == [
        (13, W, "lien « ../../../secret.pdf » : sort du dossier de contenu", None),
        (
            17,
            W,
            "lien « rapport%20final.pdf#page=2 » : fichier introuvable (ca/sous/rapport final.pdf)",
            None,
        ),
    ]
    assert [a.path for a in result.resources["ca/fiche"].attachments] == ["ca/pieces/bilan.pdf"]


def test_unsupported_file_types_are_reported(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/notes.txt": "x", "ca/bilan.PDF": b"%PDF"})
    result = load_tree(root)
    assert found(result, "ca/notes.txt") == [
        (
            None,
            W,
            "type de fichier non pris en charge, ignoré (pièces jointes acceptées : csv, docx, "
            "jpg, odt, pdf, png, webp, xlsx)",
            None,
        )
    ]
    assert found(result, "ca/bilan.PDF") == []


def test_draft_placeholders_are_not_warned_but_errors_still_are(make_tree) -> None:
    extra = "statut: brouillon\nporteur: À compléter\nthematiques: [sant]\n"
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra, "À compléter.\n")})
    assert found(load_tree(root), "ca/fiche.md") == [
        (
            9,
            E,
            "« sant » n'est pas une valeur connue de « thematiques » (vocabulaire thematiques)",
            "sante",
        )
    ]


def test_unknown_statut(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource("statut: publié\n")})
    assert found(load_tree(root), "ca/fiche.md") == [
        (
            7,
            E,
            "« publié » n'est pas une valeur connue de « statut » (vocabulaire statuts)",
            "publie",
        )
    ]


def test_list_written_as_a_single_value_is_accepted_with_a_warning(make_tree) -> None:
    text = resource().replace("piliers: [cohesion-sociale]", "piliers: cadre-de-vie")
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": text})
    result = load_tree(root)
    assert found(result, "ca/fiche.md") == [
        (
            5,
            W,
            "« piliers » est une liste : écrivez chaque valeur sur une ligne commençant par « - »",
            None,
        )
    ]
    assert result.resources["ca/fiche"].piliers == ("cadre-de-vie",)


def test_too_long_title(make_tree) -> None:
    text = resource().replace("titre: Titre", "titre: " + "a" * 201)
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": text})
    assert found(load_tree(root), "ca/fiche.md") == [
        (2, E, "« titre » est trop long (201 caractères, maximum 200)", None)
    ]


# --- whatever the bytes, the loader answers with problems, never an exception ---------------


class MemorySource:
    """A content source held in memory (the loader only needs the ContentSource protocol)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def entries(self) -> Iterator[SourceEntry]:
        return iter(SourceEntry(p, len(d)) for p, d in sorted(self.files.items()))

    def read(self, path: str) -> bytes:
        return self.files[path]

    def exists(self, path: str) -> bool:
        return path in self.files


_FRAGMENTS = st.sampled_from(
    [
        "---\n",
        "titre: ",
        "date: 2024-13-45\n",
        "piliers: [cohesion-sociale]\n",
        "&a ",
        "*a",
        "[",
        "]",
        "{",
        ": ",
        "\n  - ",
        "\t",
        '"',
        "\ufeff",
        "\x00",
        "é",
        "![x](y.png)",
        "[l](../../z.pdf)",
        "!!python/object:os.system ",
        "010",
        "NO",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=40).map(
            lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_any_bytes_give_problems_not_exceptions(data: bytes) -> None:
    source = MemorySource({"ca/_centre.md": CENTRE.encode(), "ca/fiche.md": data})
    result = Loader(source).load()
    assert all(isinstance(p, Problem) and p.message for p in result.problems)
    assert "ca" in result.centres
    if any(p.is_error for p in result.problems):
        assert "ca/fiche" not in result.resources


# --- the demo content ---------------------------------------------------------------------------


@pytest.mark.skipif(not DEMO.is_dir(), reason="pas de contenu de démonstration")
def test_demo_content_loads_without_errors_and_meets_the_minimums() -> None:
    result = load_tree(DEMO)
    assert [p.format() for p in result.errors] == []
    published = result.published
    drafts = [r for r in result.resources.values() if not r.is_published]
    assert len(published) >= 40
    assert len(drafts) >= 2
    assert len(result.centres) >= 5
    assert {p for r in published for p in r.piliers} == {
        "cohesion-sociale",
        "cadre-de-vie",
        "developpement-economique",
    }
    assert len({t for r in published for t in r.thematiques}) >= 18
    assert len({d for r in published for d in r.dispositifs}) >= 8
    regions = {r.territoire.region for r in published} - {None}
    assert len(regions) >= 6
    assert regions & {"01", "02", "03", "04", "06"}, "aucune région d'outre-mer"
    years = {r.date.year for r in result.resources.values()}
    assert min(years) == 2015 and max(years) == 2026
    assert len({a.path for r in published for a in r.attachments}) >= 3
    assert sum(len(r.alias) for r in published) >= 2
    for centre in result.centres.values():
        assert "démonstration" in (centre.nom + centre.body).lower(), centre.path


# --- limits on what one sheet may contain (kb/limits.py) ----------------------------------------


def _table(rows: int, columns: int = 3, cell: str = "x") -> str:
    head = "|" + "|".join(["titre"] * columns) + "|\n|" + "|".join(["---"] * columns) + "|\n"
    return head + ("|" + "|".join([cell] * columns) + "|\n") * rows


def _nested(levels: int) -> str:
    return "".join("  " * level + "- point\n" for level in range(levels))


# (name, body at the limit, body just over it, line of the error, message)
LIMIT_CASES = [
    (  # the body also holds the template's "## Contexte\n\n": 13 characters, 2 lines
        "caractères",
        ("b" * 9_998 + "\n\n") * 19 + "a" * 9_987,
        ("b" * 9_998 + "\n\n") * 19 + "a" * 9_988,
        49,
        "texte de plus de 200\u202f000 caractères (200\u202f001) : placez le document complet "
        "en pièce jointe (PDF) et gardez-en un résumé",
    ),
    (
        "lignes",
        "- ligne\n" * 4_997,
        "- ligne\n" * 4_998,
        5_009,
        "texte de plus de 5\u202f000 lignes (5\u202f001) : placez le document complet en pièce "
        "jointe (PDF) et gardez-en un résumé",
    ),
    (
        "paragraphe",
        "Intro.\n\n" + "mot " * 2_500,
        "Intro.\n\n" + "mot " * 2_500 + "x",
        13,
        "paragraphe de plus de 10\u202f000 caractères (10\u202f001) : coupez-le en plusieurs "
        "paragraphes séparés par une ligne vide",
    ),
    (
        "tableau",
        "Données :\n\n" + _table(2_000),
        "Données :\n\n" + _table(2_001),
        13,
        "tableau de plus de 2\u202f000 lignes (2\u202f001) : découpez-le ou joignez-le en CSV",
    ),
    (
        "cellules",
        _table(999, 5) + "\n" + _table(999, 5),
        _table(999, 5) + "\n" + _table(1_000, 5),
        2_014,
        "tableaux de plus de 10\u202f000 cellules au total : joignez les données en CSV et "
        "gardez-en un extrait",
    ),
    (
        "imbrication",
        _nested(8),
        _nested(9),
        19,
        "listes ou citations imbriquées sur plus de 8 niveaux : simplifiez la structure de la "
        "liste ou de la citation",
    ),
    (
        "citations",
        "> " * 8 + "citation\n",
        "> " * 9 + "citation\n",
        11,
        "listes ou citations imbriquées sur plus de 8 niveaux : simplifiez la structure de la "
        "liste ou de la citation",
    ),
    (
        "liens",
        "\n\n".join(["[site](https://example.org) " * 100] * 20),
        "\n\n".join(["[site](https://example.org) " * 100] * 20)
        + "\n\n[un de trop](https://x.org)",
        51,
        "plus de 2\u202f000 liens et images (2\u202f001) : regroupez-les dans une pièce jointe "
        "(CSV ou PDF)",
    ),
    (
        "signes",
        "\n\n".join(["*a*" * 2_500] * 2),
        "\n\n".join(["*a*" * 2_500] * 2) + "\n\n*a",
        15,
        "plus de 10\u202f000 signes de ponctuation et de mise en forme (* _ ` [ ] < & …) : ce "
        "texte ressemble à des données : joignez-le en pièce jointe, ou placez-le dans un bloc "
        "de code",
    ),
]


@pytest.mark.parametrize(
    ("accepted", "refused", "line", "message"),
    [case[1:] for case in LIMIT_CASES],
    ids=[case[0] for case in LIMIT_CASES],
)
def test_limits_accept_up_to_the_maximum_and_refuse_beyond(
    make_tree, accepted: str, refused: str, line: int, message: str
) -> None:
    root = make_tree(
        {
            "ca/_centre.md": CENTRE,
            "ca/limite.md": resource(body=accepted),
            "ca/trop.md": resource(body=refused),
        }
    )
    result = load_tree(root)
    assert found(result, "ca/limite.md") == []
    assert "ca/limite" in result.resources
    assert found(result, "ca/trop.md") == [(line, E, message, None)]
    assert "ca/trop" not in result.resources


def test_limits_apply_to_the_centre_card(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE + _table(2_001), "ca/fiche.md": resource()})
    result = load_tree(root)
    assert found(result, "ca/_centre.md") == [
        (
            7,
            E,
            "tableau de plus de 2\u202f000 lignes (2\u202f001) : découpez-le ou joignez-le en CSV",
            None,
        )
    ]
    assert result.centres == {}
