"""A small content tree with one pair of near-duplicates and near-misses that must stay
apart (tests/test_duplicates.py, tests/test_webapp_network.py, the browser tests)."""

from __future__ import annotations

SUMMARY = (
    "Des habitants du quartier de l'Alma cultivent ensemble des parcelles au pied de leurs "
    "immeubles avec le bailleur social et un centre social : choix du terrain, convention "
    "d'occupation, animation des ateliers de jardinage, partage des récoltes et entretien "
    "par les familles tout au long de l'année."
)
# The same summary, rewritten lightly by the centre that relays it.
RELAYED = (
    "Les habitants du quartier de l'Alma cultivent ensemble des parcelles au pied des "
    "immeubles avec le bailleur social et le centre social : choix du terrain, convention "
    "d'occupation, animation d'ateliers de jardinage, partage des récoltes et entretien par "
    "les familles toute l'année."
)
OTHER_SUMMARY = (
    "Une association propose aux collégiens un atelier de jardinage pédagogique sur le toit "
    "de leur établissement : semis, compost, observation des insectes, puis vente des "
    "légumes au marché de la commune pour financer une sortie de fin d'année."
)
ROUBAIX = 'territoire:\n  departement: "59"\n  communes: ["59512"]\n'
MONTPELLIER = 'territoire:\n  departement: "34"\n  communes: ["34172"]\n'


def centre(name: str, region: str) -> str:
    return f'---\nnom: "{name}"\nregion: "{region}"\n---\nCentre de test.\n'


def sheet(title: str, summary: str, territory: str = "", date: str = "2021-03-04") -> str:
    return (
        f'---\ntitre: "{title}"\ntype: fiche-pratique\ndate: {date}\n'
        f'piliers: [cadre-de-vie]\nthematiques: [transition-ecologique]\nresume: "{summary}"\n'
        f"{territory}---\n\n## Contexte\n\nTexte de la fiche « {title} ».\n"
    )


TITLE = "Des jardins partagés au pied des immeubles"
TREE = {
    "alpha/_centre.md": centre("Centre Alpha", "32"),
    "beta/_centre.md": centre("Centre Bêta", "32"),
    "gamma/_centre.md": centre("Centre Gamma", "76"),
    "alpha/jardins-alma.md": sheet(TITLE, SUMMARY, ROUBAIX),
    # The same practice, relayed by another centre: a near-duplicate.
    "beta/jardins-partages-relais.md": sheet(
        "Jardins partagés au pied de l'immeuble", RELAYED, ROUBAIX, "2022-05-06"
    ),
    # Near-misses that must stay apart:
    "gamma/jardins-montpellier.md": sheet(TITLE, SUMMARY, MONTPELLIER),  # another town
    "beta/jardins-college.md": sheet(TITLE, OTHER_SUMMARY, ROUBAIX),  # another practice
    "gamma/compostage.md": sheet("Un composteur collectif en bas des tours", OTHER_SUMMARY),
}
PAIR = {"alpha/jardins-alma", "beta/jardins-partages-relais"}
