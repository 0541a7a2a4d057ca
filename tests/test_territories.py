"""The territorial reference, the QPV lists and their import, and the checks of `territoire`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb import territories
from kb.loader import LoadResult, load_tree
from kb.qpvimport import QpvImportError, parse_qpv_files
from kb.territories import current, qpv_file, reference

ROOT = Path(__file__).parent.parent
DEMO_QPV = ROOT / "content" / "_territoires" / "qpv.csv"
DATA = ROOT / "kb" / "data" / "territoires"
HEADER = "code_qp;lib_qp;insee_reg;insee_dep;insee_com;siren_epci;lib_epci"
CENTRE = '---\nnom: Centre A\nregion: "32"\n---\n\nPrésentation.\n'
RESOURCE = (
    "---\ntitre: Titre\ntype: fiche-pratique\ndate: 2024-01-15\npiliers: [cohesion-sociale]\n"
    "resume: Un résumé.\nterritoire:\n{territoire}---\n\n## Contexte\n\nTexte.\n"
)


def resource(territoire: str) -> str:
    return RESOURCE.format(territoire=territoire)


def problems(result: LoadResult, path: str = "ca/fiche.md") -> list[tuple[int | None, str, str]]:
    return [(p.line, p.severity.value, p.message) for p in result.problems if p.path == path]


def qpv_csv(*rows: str, bom: bool = True) -> bytes:
    text = "\r\n".join((HEADER, *rows)) + "\r\n"
    return ("\ufeff" + text if bom else text).encode("utf-8")


# --- the shipped reference ---------------------------------------------------------------------


def test_reference_has_communes_epci_and_former_codes() -> None:
    ref = reference()
    amiens = ref.communes["80021"]
    assert (amiens.nom, amiens.departement) == ("Amiens", "80")
    assert ref.epci[amiens.epci].nom == "CA Amiens Métropole"
    assert "80021" in ref.epci[amiens.epci].communes
    assert ref.epci[ref.communes["59512"].epci].nom == "Métropole Européenne de Lille"
    assert ref.departements["974"].region == "04"
    assert ref.regions["32"].nom == "Hauts-de-France"
    # Béon merged into Culoz-Béon (01138): the former code leads to the current commune.
    assert ref.anciennes["01039"].actuelle == "01138"
    assert ref.communes["01138"].nom == "Culoz-Béon"
    # Municipal arrondissements belong to their commune.
    assert ref.communes["13203"].parent == "13055"
    assert ref.postal["80000"] == ("80021",)
    assert 34_000 < sum(1 for c in ref.communes.values() if not c.parent) < 36_000
    assert ref.source["cog"] == 2026 and ref.source["version"] == "6.0.0"


def test_the_light_file_holds_the_reference_regions_and_departments() -> None:
    """administratif.json is written with cog.json.gz: the same regions and departments,
    read without the communes."""
    import subprocess
    import sys

    from kb.territories import administrative

    regions, departements = administrative()
    ref = reference()
    assert regions == ref.regions and departements == ref.departements
    # A process that only needs them does not read the communes.
    probe = (
        "from kb import territories as t;"
        "t.Territories(t.EMPTY_QPV).departements['59'];"
        "print(t.reference.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_reference_file_is_small_and_documented() -> None:
    assert (DATA / "cog.json.gz").stat().st_size < 3 * 1024 * 1024
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for needle in ("@etalab/decoupage-administratif", "6.0.0", "2026", "Licence Ouverte"):
        assert needle in readme
    assert "convertir_cog.py" in readme
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "data/territoires/*" in pyproject


# --- checking `territoire` ---------------------------------------------------------------------


def load(make_tree, territoire: str) -> LoadResult:
    root = make_tree({"ca/_centre.md": CENTRE, "ca/fiche.md": resource(territoire)})
    return load_tree(root)


def test_known_commune_is_accepted_and_gives_its_department(make_tree) -> None:
    result = load(make_tree, '  communes: ["80021"]\n')
    assert problems(result) == []
    territoire = result.resources["ca/fiche"].territoire
    assert (territoire.region, territoire.departement, territoire.communes) == (
        "32",
        "80",
        ("80021",),
    )


def test_postal_code_is_recognised_and_named(make_tree) -> None:
    result = load(make_tree, '  departement: "80"\n  communes: ["80000"]\n')
    [(line, severity, message)] = problems(result)
    assert (line, severity) == (9, "erreur")
    assert "« 80000 » est un code postal, pas un code commune INSEE" in message
    assert "Amiens (80021)" in message
    [problem] = [p for p in result.problems if p.path == "ca/fiche.md"]
    assert problem.suggestion == "80021"
    assert "ca/fiche" not in result.resources


def test_unknown_commune_is_an_error_with_a_suggestion(make_tree) -> None:
    result = load(make_tree, '  departement: "80"\n  communes: ["80999"]\n')
    [problem] = [p for p in result.problems if p.path == "ca/fiche.md"]
    assert problem.is_error and problem.line == 9
    assert "code commune INSEE inconnu « 80999 »" in problem.message
    assert problem.suggestion is not None and problem.suggestion.startswith("80")
    assert reference().communes[problem.suggestion].departement == "80"


def test_commune_outside_the_stated_department_is_an_error(make_tree) -> None:
    result = load(make_tree, '  departement: "59"\n  communes: ["59512", "80021"]\n')
    assert problems(result) == [
        (
            9,
            "erreur",
            "la commune 80021 (Amiens) est dans le département 80 (Somme), pas dans le "
            "département indiqué 59 (Nord)",
        )
    ]


def test_commune_outside_the_stated_region_is_an_error(make_tree) -> None:
    result = load(make_tree, '  region: "11"\n  communes: ["80021"]\n')
    [(_, severity, message)] = problems(result)
    assert severity == "erreur" and "pas dans la région indiquée 11 (Île-de-France)" in message


def test_former_commune_code_becomes_the_current_one(make_tree) -> None:
    result = load(make_tree, '  communes: ["01039"]\n')
    [(line, severity, message)] = problems(result)
    assert (line, severity) == (8, "avertissement")
    assert "(Béon)" in message and "Culoz-Béon" in message and "01138" in message
    assert result.resources["ca/fiche"].territoire.communes == ("01138",)


def test_epci_by_siren_and_a_name_instead_of_a_siren(make_tree) -> None:
    result = load(make_tree, '  epci: ["200093201"]\n')
    assert problems(result) == []
    assert result.resources["ca/fiche"].territoire.epci == ("200093201",)
    result = load(make_tree, "  epci: [métropole européenne de lille]\n")
    [problem] = [p for p in result.problems if p.path == "ca/fiche.md"]
    assert problem.is_error and problem.suggestion == "200093201"
    assert "SIREN" in problem.message


def test_qpv_missing_from_the_imported_list_is_a_warning(make_tree, tmp_path) -> None:
    territoire = '  communes: ["80021"]\n  qpv: [QN08003M, QN08099M, QP080001]\n'
    # No list imported: codes are only checked for their shape.
    assert problems(load(make_tree, territoire)) == []
    territories.configure(tmp_path / "instance" / "index", tmp_path / "content")
    make_tree({"_territoires/qpv.csv": DEMO_QPV.read_bytes()})
    result = load(make_tree, territoire)
    [(line, severity, message)] = problems(result)
    assert (line, severity) == (9, "avertissement")
    assert "« QN08099M » absent de la liste des quartiers prioritaires importée" in message
    # The 2015 geography (QP…) is history the 2024 list cannot know: no warning.
    assert result.resources["ca/fiche"].territoire.qpv == ("QN08003M", "QN08099M", "QP080001")


# --- the QPV lists -------------------------------------------------------------------------------


def test_demo_list_is_in_the_official_format() -> None:
    data = DEMO_QPV.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines()[0] == HEADER
    parsed = parse_qpv_files([DEMO_QPV])
    qpv = parsed.qpv_list.qpv
    assert qpv["QN08003M"].communes == ("80021",)
    assert qpv["QN00201I"].communes == ("02691",)  # written 2691 in the file
    assert qpv["QN06909M"].communes == ("69256", "69266")  # "69256; 69266"
    assert qpv["QN05912M"].epci_nom == "Métropole Européenne de Lille"
    # Every QN code of the demo content has its name.
    demo = load_tree(ROOT / "content")
    codes = {q for r in demo.resources.values() for q in r.territoire.qpv if q.startswith("QN")}
    assert codes and codes <= set(qpv)


def test_import_writes_the_list_into_the_instance(run_kb, tmp_path) -> None:
    index = tmp_path / "instance" / "index"
    metro = tmp_path / "listeqp2024-cog2024.csv"
    metro.write_bytes(
        qpv_csv(
            "QN08003M;Quartier Nord;32;80;80021;248000531;CA Amiens Métropole",
            'QN05912M;Quartier Est;32;59;"59512; 59599";200093201;Métropole Européenne de Lille',
        )
    )
    outremer = tmp_path / "listeqp2024-outremer.csv"
    outremer.write_bytes(qpv_csv("QN97408M;Quartier Sud;04;974;97411;249740119;CINOR"))
    run = run_kb("territoires", "importer", metro, outremer, "--index", index)
    assert run.code == 0, run.err
    assert "3 quartiers importés" in run.out
    stored = json.loads(qpv_file(index).read_text(encoding="utf-8"))
    assert [row[0] for row in stored["qpv"]] == ["QN05912M", "QN08003M", "QN97408M"]
    territories.configure(index, None)
    assert current().qpv["QN05912M"].communes == ("59512", "59599")
    assert current().label("qpv", "QN97408M") == "Quartier Sud"
    status = run_kb("territoires", "--index", index)
    assert "Quartiers prioritaires : 3" in status.out
    # Adding a list keeps the others; importing without --ajouter replaces.
    run = run_kb("territoires", "importer", "--ajouter", "--index", index, DEMO_QPV)
    assert run.code == 0
    assert len(current().qpv) == 3 + 27 - 2  # two demo codes replace two imported ones
    run = run_kb("territoires", "importer", "--index", index, outremer)
    assert set(current().qpv) == {"QN97408M"}


HOSTILE = {
    "latin-1": (
        (HEADER + "\nQN08003M;Quartier Étouvie;32;80;80021;;\n").encode("latin-1"),
        ":2: erreur : le fichier n'est pas encodé en UTF-8",
    ),
    "colonnes manquantes": (
        b"code_qp;nom;insee_dep\nQN08003M;Nord;80\n",
        ":1: erreur : colonnes manquantes : lib_qp, insee_com",
    ),
    "virgules": (
        HEADER.replace(";", ",").encode() + b"\nQN08003M,Nord,32,80,80021,,\n",
        "le séparateur attendu est le point-virgule",
    ),
    "ligne énorme": (
        qpv_csv("QN08003M;" + "x" * 100_000 + ";32;80;80021;;"),
        ":2: erreur : ligne trop longue (100023 caractères",
    ),
    "formule": (
        qpv_csv('QN08003M;=HYPERLINK("http://example.org");32;80;80021;;'),
        ":2: erreur : colonne lib_qp : valeur refusée",
    ),
    "formule dans une autre colonne": (
        qpv_csv("QN08003M;Nord;32;80;80021;;@SUM(A1)"),
        ":2: erreur : colonne lib_epci : valeur refusée",
    ),
    "code invalide": (
        qpv_csv("QN080M;Nord;32;80;80021;;", "QN08004M;Sud;32;80;80021;;"),
        ":2: erreur : code_qp invalide « QN080M »",
    ),
    "doublon": (
        qpv_csv("QN08003M;Nord;32;80;80021;;", "QN08003M;Nord bis;32;80;80021;;"),
        ":3: erreur : QN08003M en double",
    ),
    "colonnes en moins": (
        qpv_csv("QN08003M;Nord;32"),
        ":2: erreur : 3 colonnes au lieu de 7",
    ),
    "département inconnu": (
        qpv_csv("QN08003M;Nord;32;00;80021;;"),
        ":2: erreur : insee_dep inconnu « 00 »",
    ),
    "commune illisible": (
        qpv_csv("QN08003M;Nord;32;80;Amiens;;"),
        ":2: erreur : insee_com invalide « Amiens »",
    ),
    "vide": (b"", ":1: erreur : le fichier est vide"),
    "en-tête seul": (qpv_csv(), ":2: erreur : aucun quartier dans le fichier"),
    "octets nuls": (b"\x00\x01\x02" * 100, "erreur : octet nul"),
    "guillemet ouvert": (
        qpv_csv('QN08003M;"Nord;32;80;80021;;', "QN08004M;Sud;32;80;80021;;"),
        "erreur",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_are_refused_whole_with_a_line(run_kb, tmp_path, name) -> None:
    index = tmp_path / "instance" / "index"
    assert run_kb("territoires", "importer", "--index", index, DEMO_QPV).code == 0
    before = qpv_file(index).read_bytes()
    data, expected = HOSTILE[name]
    bad = tmp_path / "liste.csv"
    bad.write_bytes(data)
    with pytest.raises(QpvImportError) as raised:
        parse_qpv_files([bad])
    assert any(expected in error for error in raised.value.errors), raised.value.errors
    assert all(error.startswith(str(bad)) for error in raised.value.errors)
    run = run_kb("territoires", "importer", "--index", index, bad)
    assert run.code == 1
    assert expected in run.err
    assert "Rien n'a été importé" in run.err
    assert qpv_file(index).read_bytes() == before
    assert [p.name for p in qpv_file(index).parent.iterdir()] == ["qpv.json"]


def test_one_bad_file_among_several_imports_nothing(run_kb, tmp_path) -> None:
    index = tmp_path / "index"
    good = tmp_path / "bon.csv"
    good.write_bytes(qpv_csv("QN08003M;Nord;32;80;80021;;"))
    bad = tmp_path / "mauvais.csv"
    bad.write_bytes(qpv_csv("QN08004M;=1+1;32;80;80021;;"))
    assert run_kb("territoires", "importer", "--index", index, good, bad).code == 1
    assert not qpv_file(index).exists()


def test_leading_zeros_and_former_codes_in_the_list(tmp_path) -> None:
    path = tmp_path / "liste.csv"
    path.write_bytes(qpv_csv('QN00101M;Quartier;84;1;"1039; 1053";;', bom=False))
    qpv = parse_qpv_files([path]).qpv_list.qpv["QN00101M"]
    assert qpv.departement == "01"
    assert qpv.communes == ("01138", "01053")  # Béon's former code leads to Culoz-Béon
