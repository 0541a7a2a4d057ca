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


def test_file_of_exactly_one_mebibyte_is_accepted(make_tree) -> None:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/limite.md": _sized(MAX_FILE_SIZE)})
    assert (root / "ca/limite.md").stat().st_size == MAX_FILE_SIZE
    result = load_tree(root)
    assert result.problems == [] and "ca/limite" in result.resources


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
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(extra)})
    problems = found(load_tree(root), "ca/fiche.md")
    assert [(p[0], p[1]) for p in problems] == [(7, E)]
    assert problems[0][2].startswith("« porteur » : valeur YAML invalide")
    assert not marker.exists()


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
        ("15/01/2024", "« date » : date invalide « 15/01/2024 » (format AAAA-MM-JJ)"),
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
