"""A content tree with events around a fixed "now", its index and its app (agenda, calendar
and alert tests). Times are in Europe/Paris unless an event says otherwise."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from webapp_support import SITE_URL, Site

from indexer.build import Indexer

# Sunday 1 March 2026, 9:00 in Paris.
NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)

CENTRE = '---\nnom: Centre Agenda (test)\nregion: "32"\nsite: https://centre.example.org\n---\n'
OTHER_CENTRE = '---\nnom: Centre Voisin (test)\nregion: "11"\n---\n'
ALERT_SECRET = "clé de test des alertes"
HOSTILE_TITLE = 'Rencontre <script>alert(1)</script> "guillemets" ; virgule, deux-points: fin'


def event(
    titre: str,
    sessions: str,
    extra: str = "",
    type_: str = "evenement",
    date: str = "2026-01-05",
    body: str = "Programme de la rencontre.",
) -> str:
    quoted = json.dumps(titre, ensure_ascii=False)  # a JSON string is a valid YAML string
    summary = json.dumps(f"Résumé de « {titre} ».", ensure_ascii=False)
    return (
        f"---\ntitre: {quoted}\ntype: {type_}\ndate: {date}\npiliers: [cohesion-sociale]\n"
        f"resume: {summary}\nsessions:\n{sessions}{extra}---\n\n{body}\n"
    )


def resource(titre: str, extra: str = "", type_: str = "compte-rendu", date="2026-02-01") -> str:
    return (
        f'---\ntitre: "{titre}"\ntype: {type_}\ndate: {date}\npiliers: [cohesion-sociale]\n'
        f"resume: Résumé de {titre}.\n{extra}---\n\nTexte.\n"
    )


FILES = {
    "ca/_centre.md": CENTRE,
    "cb/_centre.md": OTHER_CENTRE,
    "ca/agenda/passe.md": event(
        "Rencontre passée",
        "  - debut: 2026-02-10 09:00\n    fin: 2026-02-10 12:00\n",
        "mode: presentiel\nlieu:\n  nom: Salle A\n  adresse: 1 rue A, 59000 Lille\n"
        "productions: [ca/compte-rendu-rencontre]\n",
    ),
    "ca/compte-rendu-rencontre.md": resource(
        "Compte rendu de la rencontre passée", "issu_de: ca/passe\n"
    ),
    "ca/agenda/webinaire.md": event(
        "Webinaire sur la médiation",
        "  - debut: 2026-03-03 14:00\n    fin: 2026-03-03 15:30\n",
        "format: webinaire\nmode: distanciel\nlieu:\n  en_ligne: https://visio.example.org/w\n"
        "inscription:\n  url: https://example.org/inscription\n  cloture: 2026-03-02\n"
        "cout: gratuit\n",
    ),
    "ca/agenda/cycle.md": event(
        "Cycle de qualification laïcité",
        "  - debut: 2026-02-05\n    intitule: Le cadre\n"
        "  - debut: 2026-04-09\n    intitule: Les situations\n"
        "  - debut: 2026-05-07 09:30\n    fin: 2026-05-07 12:30\n    intitule: Le retour\n",
        'format: cycle-qualification\nmode: hybride\nlieu:\n  nom: Centre\n  commune: "59350"\n'
        "inscription:\n  courriel: inscription@example.org\n  places: 20\ncout: 120 €\n",
        type_="formation",
    ),
    "ca/agenda/annulee.md": event(
        "Journée d'étude annulée",
        "  - debut: 2026-03-19 09:00\n    fin: 2026-03-19 17:00\n",
        "format: journee-etude\nmode: presentiel\nlieu:\n  nom: Salle B\netat: annule\n",
    ),
    "ca/agenda/hostile.md": event(
        HOSTILE_TITLE,
        "  - debut: 2026-06-11 10:00\n    fin: 2026-06-11 11:00\n",
        "mode: distanciel\n",
    ),
    "cb/reunion.md": event(
        "Atelier à La Réunion",
        "  - debut: 2026-03-01 12:30\n    fin: 2026-03-01 15:00\n",
        "fuseau: Indian/Reunion\nmode: presentiel\nlieu:\n  nom: Jardin\n"
        "inscription:\n  url: https://example.org/r\n  complet: oui\n",
    ),
    "cb/groupe-reporte.md": event(
        "Groupe de travail reporté",
        "  - debut: 2026-04-02 14:00\n    fin: 2026-04-02 17:00\n",
        "format: groupe-travail\nmode: presentiel\nlieu:\n  nom: Salle C\n"
        "etat: reporte\ndate_initiale: 2026-03-05\n",
    ),
    "cb/guide.md": resource("Un guide qui n'est pas un événement", type_="guide"),
}


def write_tree(root: Path) -> Path:
    for relative, text in FILES.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def build_agenda_site(base: Path) -> Site:
    content = write_tree(base / "content")
    outside = base / "ailleurs"
    outside.mkdir()
    index = base / "index"
    report = Indexer(content, index).update()
    assert report.ok, [p.format() for p in report.problems]
    # Alerts switched on (the subscription form shows), with a server that is never called.
    (base / "kb.toml").write_text(
        '[courriel]\nhote = "127.0.0.1"\nport = 9\nsecurite = "aucune"\n'
        'expediteur = "Alertes <alertes@example.org>"\n',
        encoding="utf-8",
    )
    return Site(content, index, outside)


def agenda_config(site: Site, **overrides) -> dict:
    base = site.content.parent
    return site.config(
        KB_NOW=NOW,
        KB_SITE_URL=SITE_URL,
        KB_CONFIG=str(base / "kb.toml"),
        KB_ALERTES_BASE=str(base / "instance" / "alertes.sqlite"),
        KB_ALERTES_SECRET=ALERT_SECRET,
        **overrides,
    )
