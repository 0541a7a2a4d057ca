"""Settings, declared once with their French help text.

Precedence: command-line option > environment variable > configuration file (TOML) > default.
Relative paths in the file are relative to the file's folder; others to the working folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_FILE = "kb.toml"
CONFIG_ENV = "KB_CONFIG"


@dataclass(frozen=True)
class Setting:
    key: str  # TOML key; dotted for a table (`publication.branche`)
    default: Any
    help: str
    env: str | None = None
    option: str | None = None  # the `kb` option, when there is one
    kind: type = str
    is_path: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "contenu",
        "content",
        "Dossier du contenu (un sous-dossier par centre).",
        env="KB_CONTENT",
        option="--content",
        is_path=True,
    ),
    Setting(
        "index",
        "instance/index",
        "Dossier de l'index de recherche.",
        env="KB_INDEX",
        option="--index",
        is_path=True,
    ),
    Setting(
        "attente_verrou",
        30.0,
        "Secondes d'attente quand un autre processus met déjà l'index à jour.",
        env="KB_LOCK_TIMEOUT",
        kind=float,
    ),
    Setting(
        "url_site",
        "http://127.0.0.1:5000",
        "Adresse publique du site, utilisée dans les liens permanents, flux et moissonnage "
        "(jamais l'en-tête Host des requêtes). À régler en production ; sans réglage, "
        "« kb serve » utilise l'adresse où il écoute.",
        env="KB_SITE_URL",
    ),
    Setting(
        "url_sources",
        "",
        "Adresse de consultation des fichiers sources (ex. la forge) ; {chemin} est remplacé "
        "par le chemin du fichier. Vide : lien vers le fichier brut servi par le site.",
        env="KB_SOURCE_URL",
    ),
    Setting(
        "courriel_admin",
        "",
        "Adresse électronique de l'administrateur du site, annoncée aux moissonneurs OAI-PMH "
        "(Identify). Vide : postmaster@ suivi du nom de domaine du site.",
        env="KB_ADMIN_EMAIL",
    ),
    # Publishing by git push (docs/publier.md). The accounts are read from the server's
    # file only: no environment variable may grant rights.
    Setting(
        "publication.branche",
        "main",
        "Branche publiée : les poussées sur cette branche sont vérifiées puis mises en ligne ; "
        "les autres branches sont acceptées sans être publiées.",
    ),
    Setting(
        "publication.comptes",
        {},
        "Comptes autorisés à publier : compte -> liste des centres (dossiers) qu'il peut "
        'modifier, ou ["*"] pour tout modifier (administration). Un compte absent ne peut '
        "pas publier.",
        kind=dict,
    ),
    Setting(
        "publication.taille_max_mio",
        10.0,
        "Taille maximale d'un fichier poussé, en Mio (les fiches .md restent limitées à 1 Mio).",
        kind=float,
    ),
    Setting(
        "publication.fichiers_annexes",
        (".gitignore", ".gitattributes"),
        "Fichiers acceptés en plus des fiches (.md) et des pièces jointes : noms ou motifs "
        "de chemins (ex. « LICENCE », « .forgejo/* »).",
        kind=list,
    ),
    Setting(
        "publication.journal",
        "",
        "Journal des poussées et des publications (vide : publication.log dans le dossier "
        "de l'index).",
        is_path=True,
    ),
    Setting(
        "publication.depot",
        "",
        "Adresse du dépôt de contenu que récupèrent « kb sync » et le webhook (https://…, "
        "ssh://… ou chemin local).",
        env="KB_PUBLICATION_REMOTE",
    ),
    Setting(
        "publication.secret_webhook",
        "",
        "Secret partagé du webhook POST /hooks/git (vide : webhook désactivé).",
        env="KB_WEBHOOK_SECRET",
    ),
)

# Email alerts (docs/deploiement.md). The `courriel` names are fixed by the operators'
# checks; the SMTP password is read from the environment only (KB_SMTP_MOT_DE_PASSE), never
# from the file.
SETTINGS += (
    Setting("courriel.hote", "", "Serveur SMTP qui envoie les alertes (vide : pas d'envoi)."),
    Setting("courriel.port", 587, "Port du serveur SMTP.", kind=int),
    Setting(
        "courriel.securite",
        "starttls",
        "Chiffrement de la connexion SMTP : « aucune », « starttls » ou « tls ».",
    ),
    Setting(
        "courriel.utilisateur",
        "",
        "Compte SMTP (facultatif) ; son mot de passe est lu dans la variable "
        "d'environnement KB_SMTP_MOT_DE_PASSE.",
    ),
    Setting(
        "courriel.expediteur",
        "",
        "Adresse d'expédition des alertes, ex. « Ressources politique de la ville "
        "<alertes@example.org> ».",
    ),
    Setting(
        "alertes.base",
        "instance/alertes.sqlite",
        "Base SQLite des abonnements aux alertes (adresse, recherche, dates).",
        env="KB_ALERTES_BASE",
        is_path=True,
    ),
    Setting(
        "alertes.secret",
        "",
        "Clé qui signe les liens des courriels (confirmation, désabonnement). Vide : une clé "
        "aléatoire est créée à côté de la base des abonnements.",
        env="KB_ALERTES_SECRET",
    ),
    Setting(
        "alertes.envois_par_minute",
        30.0,
        "Nombre maximal de courriels envoyés par minute par « kb alertes envoyer ».",
        kind=float,
    ),
)

SETTINGS += (
    # Harvesting OAI-PMH catalogues (`kb moissonner`, docs/deploiement.md).
    Setting(
        "moissons",
        [],
        "Catalogues OAI-PMH moissonnés : tables [[moissons]] avec nom, url, et au besoin "
        "centre, ensemble, correspondances (table des sujets) et format.",
        kind=list,
    ),
)

BY_KEY = {s.key: s for s in SETTINGS}

# `[[sources]]` (docs/deploiement.md): the repositories a regional or national instance
# gathers, each with the centre folders it provides. An array of tables, not a setting:
# read and checked here, turned into `publishing.sources.Source` by the publishing layer.
SOURCE_KEYS = {
    "nom": "nom de la source, utilisé dans les adresses (/hooks/git/NOM), les journaux et "
    "« kb sync --source NOM »",
    "depot": "adresse git du dépôt (https://…, ssh://… ou chemin local)",
    "branche": "branche publiée (défaut : publication.branche)",
    "centres": "dossiers de centre que fournit ce dépôt (à sa racine)",
    "secret_webhook": "secret du webhook POST /hooks/git/NOM de cette source",
    "horaire": "minutes entre deux récupérations par « kb sync --toutes-echeances »",
}
SOURCE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CENTRE_FOLDER = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # as a resource id's centre part


class ConfigError(Exception):
    """A configuration file that cannot be used (French message)."""


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, Any]
    config_file: Path | None = None
    warnings: tuple[str, ...] = field(default=())
    explicit: frozenset[str] = frozenset()  # keys given a value, not left to their default
    # `[[sources]]`, checked: each a dict with the keys of SOURCE_KEYS (branche filled in).
    sources: tuple[Mapping[str, Any], ...] = ()

    def is_set(self, key: str) -> bool:
        """True when the option, the environment or the file gave `key` a value."""
        return key in self.explicit

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def content(self) -> Path:
        return self.values["contenu"]

    @property
    def index(self) -> Path:
        return self.values["index"]

    @property
    def site_url(self) -> str:
        return str(self.values["url_site"]).rstrip("/")


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in BY_KEY:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _branch_problem(branch: object) -> bool:
    return (
        not isinstance(branch, str)
        or not branch.strip()
        or branch.startswith(("refs/", "-"))
        or any(c.isspace() for c in branch)
    )


def read_sources(
    raw: object, path: Path | None, default_branch: str, main_secret: str = ""
) -> tuple[dict, ...]:
    """`[[sources]]` of a configuration file, checked: every problem is a French
    `ConfigError` naming the source, so that a typo stops every command and the web app
    at start instead of publishing the wrong folders."""
    where = f"{path} : " if path else ""
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ConfigError(
            f"{where}« sources » doit être une liste de tables [[sources]] (voir "
            "docs/deploiement.md)"
        )
    sources: list[dict] = []
    names: dict[str, int] = {}
    owners: dict[str, str] = {}
    secrets = {main_secret: "publication.secret_webhook"} if main_secret else {}
    for number, table in enumerate(raw, 1):
        label = f"{where}[[sources]] n° {number}"
        unknown = sorted(set(table) - set(SOURCE_KEYS))
        if unknown:
            raise ConfigError(
                f"{label} : clé inconnue « {unknown[0]} » (clés possibles : "
                f"{', '.join(SOURCE_KEYS)})"
            )
        name = table.get("nom")
        if not isinstance(name, str) or not name:
            raise ConfigError(f'{label} : « nom » est obligatoire (ex. nom = "nord")')
        if not SOURCE_NAME.match(name):
            raise ConfigError(
                f"{label} : nom « {name} » invalide : lettres minuscules sans accent, chiffres "
                "et tirets, 64 caractères au plus (il sert dans l'adresse /hooks/git/NOM)"
            )
        label = f"{where}source « {name} »"
        if name in names:
            raise ConfigError(
                f"{label} : ce nom est déjà celui de la source n° {names[name]} : chaque "
                "source a un nom unique"
            )
        names[name] = number
        remote = table.get("depot")
        if not isinstance(remote, str) or not remote.strip():
            raise ConfigError(
                f"{label} : « depot » est obligatoire (adresse git ou chemin local du dépôt)"
            )
        branch = table.get("branche", default_branch)
        if _branch_problem(branch):
            raise ConfigError(f"{label} : nom de branche invalide « {branch} » (ex. « main »)")
        centres = table.get("centres")
        if (
            not isinstance(centres, list)
            or not centres
            or not all(isinstance(c, str) for c in centres)
        ):
            raise ConfigError(
                f"{label} : « centres » doit être une liste non vide de dossiers de centre, "
                'ex. centres = ["crpv-demo-nord"]'
            )
        for centre in centres:
            if not CENTRE_FOLDER.match(centre):
                raise ConfigError(
                    f"{label} : dossier de centre invalide « {centre} » (lettres minuscules, "
                    "chiffres et tirets, comme le dossier du centre)"
                )
            if centre in owners:
                other = owners[centre]
                raise ConfigError(
                    f"{label} : le centre « {centre} » est déjà fourni par la source "
                    f"« {other} » : un centre ne peut venir que d'une seule source"
                    if other != name
                    else f"{label} : le centre « {centre} » est cité deux fois"
                )
            owners[centre] = name
        secret = table.get("secret_webhook", "")
        if not isinstance(secret, str):
            raise ConfigError(f"{label} : « secret_webhook » doit être une chaîne")
        if secret and secret in secrets:
            # /hooks/git tells the sources apart by the secret that verifies a delivery.
            raise ConfigError(
                f"{label} : « secret_webhook » est aussi celui de {secrets[secret]} : "
                "chaque source a son propre secret"
            )
        if secret:
            secrets[secret] = f"la source « {name} »"
        schedule = table.get("horaire")
        if schedule is not None and (
            isinstance(schedule, bool) or not isinstance(schedule, int) or schedule <= 0
        ):
            raise ConfigError(
                f"{label} : « horaire » doit être un nombre entier de minutes (ex. horaire = 60)"
            )
        sources.append(
            {
                "nom": name,
                "depot": remote.strip(),
                "branche": branch.strip(),
                "centres": tuple(centres),
                "secret_webhook": secret,
                "horaire": schedule,
            }
        )
    return tuple(sources)


def read_config_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} : fichier de configuration introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} : configuration TOML invalide ({exc})") from None
    values, warnings = {}, []
    if "sources" in data:
        values["sources"] = data.pop("sources")  # checked once the settings are resolved
    for key, value in _flatten(data).items():
        setting = BY_KEY.get(key)
        if setting is None:
            warnings.append(f"{path} : clé de configuration inconnue « {key} » (ignorée)")
            continue
        if setting.is_path and value != "":
            value = path.parent / str(value)
        values[key] = value
    return values, warnings


def load_settings(
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Resolve settings; `options` maps setting keys to command-line values (None = unset)."""
    environ = os.environ if environ is None else environ
    options = options or {}
    path: Path | None = None
    if config_file:
        path = Path(config_file)
    elif environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    from_file, warnings = read_config_file(path) if path else ({}, [])
    values: dict[str, Any] = {}
    explicit: set[str] = set()
    for setting in SETTINGS:
        value, given = setting.default, True
        if options.get(setting.key) is not None:
            value = options[setting.key]
        elif setting.env and environ.get(setting.env):
            value = environ[setting.env]
        elif setting.key in from_file:
            value = from_file[setting.key]
        else:
            given = False
        if given and value != "":
            explicit.add(setting.key)
        if setting.is_path:
            value = Path(value) if value != "" else None  # an optional path left empty
        elif setting.kind in (list, dict):
            if not isinstance(value, list | tuple | dict) or isinstance(value, dict) != (
                setting.kind is dict
            ):
                expected = "une table" if setting.kind is dict else "une liste"
                raise ConfigError(f"réglage « {setting.key} » : {expected} est attendue")
            value = setting.kind(value)
        elif setting.kind is not str:
            try:
                value = setting.kind(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"réglage « {setting.key} » : valeur invalide « {value} »"
                ) from None
        values[setting.key] = value
    sources = ()
    if "sources" in from_file:
        sources = read_sources(
            from_file["sources"],
            path,
            str(values["publication.branche"]),
            str(values["publication.secret_webhook"] or ""),
        )
    return Settings(values, path, tuple(warnings), frozenset(explicit), sources)
