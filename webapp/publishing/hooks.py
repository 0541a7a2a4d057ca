"""`POST /hooks/git`: the webhook of a forge (GitHub, Gitea/Forgejo, GitLab) after a push.

`POST /hooks/git/<nom>`: the same for the `[[sources]]` repository `nom`, verified with that
source's own `secret_webhook`. `/hooks/git` also takes a source's delivery: the source is
the one whose secret verifies the signature (the main repository's first).

Disabled (404) unless `publication.secret_webhook` (or a source's secret) is set. The request is authenticated
(HMAC-SHA256 of the raw body, or GitLab's token, compared in constant time); only the
event type, the branch and the delivery id are read from the payload, never content.
A push to the published branch is written to the publication queue on disk
(publishing/queue.py) and a worker process is started, outside the web workers (fetch
`publication.depot`, validate, index; see publishing/publisher.py); the answer, 202, is
immediate. A delivery is recognised by the commit it brings (covered by the signature),
not by its delivery id (which is not): a commit already online or already waiting is not
published twice, and a redelivery after a failure is worked again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from kb.config import ConfigError
from kb.publication import PublicationSettings
from publishing.publisher import online_commit
from publishing.queue import PublicationQueue, start_worker
from publishing.sources import Source, live_info, load_sources, online_sources

from ..core.jsondata import TooDeep, parse_json

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__)

MAX_BODY = 5 * 1024 * 1024  # forges send at most a few hundred KiB for a push
EVENT_HEADERS = ("X-GitHub-Event", "X-Gitea-Event", "X-Forgejo-Event", "X-Gitlab-Event")
PUSH_EVENTS = ("push", "Push Hook")


class Webhook:
    """Per app: the publication settings and the queue."""

    def __init__(self, app: Flask) -> None:
        settings = app.config["KB_SETTINGS"]
        try:
            self.publication: PublicationSettings | None = PublicationSettings.from_settings(
                settings
            )
        except ConfigError as exc:
            log.error("Webhook désactivé : %s", exc)
            self.publication = None
        self.settings = settings
        self.sources = {s.nom: s for s in load_sources(settings) if s.secret}
        self.queue = PublicationQueue(settings.index)

    @property
    def main_enabled(self) -> bool:
        return bool(self.publication and self.publication.webhook_secret)

    @property
    def enabled(self) -> bool:
        return self.main_enabled or bool(self.sources)

    def start_worker(self) -> None:
        start_worker(self.settings.config_file, self.settings.index, self.settings.content)


def current_webhook() -> Webhook:
    webhook = current_app.extensions.get("kb_webhook")
    if webhook is None:
        webhook = current_app.extensions["kb_webhook"] = Webhook(current_app)
    return webhook


def answer(status: int, **fields: str) -> Response:
    response = jsonify(fields)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def signature_problem(secret: str, body: bytes) -> tuple[int, str] | None:
    """None when the request is authentic (signed with `secret`); else (HTTP status,
    reason)."""
    key = secret.encode("utf-8")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    hub = request.headers.get("X-Hub-Signature-256")
    gitea = request.headers.get("X-Gitea-Signature") or request.headers.get("X-Forgejo-Signature")
    token = request.headers.get("X-Gitlab-Token")
    if hub is not None:
        valid = hmac.compare_digest(hub.strip().encode(), f"sha256={expected}".encode())
    elif gitea is not None:
        valid = hmac.compare_digest(gitea.strip().encode(), expected.encode())
    elif token is not None:
        valid = hmac.compare_digest(token.encode("utf-8"), key)
    else:
        return 401, "signature absente (X-Hub-Signature-256 ou X-Gitlab-Token)"
    return None if valid else (403, "signature invalide")


def _read_body() -> bytes | Response:
    try:
        request.max_content_length = MAX_BODY  # Flask >= 3.1: this view's own limit
    except AttributeError:
        pass  # older Flask: the app-wide limit applies
    if (request.content_length or 0) > MAX_BODY:
        return answer(413, statut="refuse", raison="requête trop volumineuse")
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return answer(413, statut="refuse", raison="requête trop volumineuse")
    return body


@bp.post("/hooks/git")
def git_push() -> Response:
    webhook = current_webhook()
    if not webhook.enabled:
        abort(404)
    body = _read_body()
    if isinstance(body, Response):
        return body
    candidates: list[tuple[str, Source | None]] = []
    if webhook.main_enabled:
        assert webhook.publication is not None
        candidates.append((webhook.publication.webhook_secret, None))
    candidates += [(source.secret, source) for source in webhook.sources.values()]
    problem: tuple[int, str] | None = None
    for secret, source in candidates:  # the main repository's secret first
        problem = signature_problem(secret, body)
        if problem is None:
            if source is None and webhook.publication and not webhook.publication.remote:
                return answer(
                    503, statut="erreur", raison="aucun dépôt configuré (publication.depot)"
                )
            return _queue_push(webhook, body, source)
        if problem[0] == 401:
            break  # not signed at all
    assert problem is not None
    log.warning("Webhook refusé : %s", problem[1])
    return answer(problem[0], statut="refuse", raison=problem[1])


@bp.post("/hooks/git/<source>")
def source_push(source: str) -> Response:
    webhook = current_webhook()
    found = webhook.sources.get(source)
    if found is None:
        abort(404)  # no such source, or no secret: no webhook
    body = _read_body()
    if isinstance(body, Response):
        return body
    problem = signature_problem(found.secret, body)
    if problem is not None:
        log.warning("Webhook de la source %s refusé : %s", found.nom, problem[1])
        return answer(problem[0], statut="refuse", raison=problem[1])
    return _queue_push(webhook, body, found)


def _queue_push(webhook: Webhook, body: bytes, source: Source | None) -> Response:
    """An authentic delivery for the main repository (`source` None) or a source."""
    event = next((request.headers[h] for h in EVENT_HEADERS if h in request.headers), "")
    if event not in PUSH_EVENTS:
        return answer(202, statut="ignore", raison=f"événement « {event[:40]} » non traité")
    try:
        payload = parse_json(body)
    except TooDeep as exc:
        return answer(400, statut="refuse", raison=str(exc))
    except ValueError:
        return answer(400, statut="refuse", raison="contenu JSON invalide")
    if source is None:
        assert webhook.publication is not None
        remote, branch = webhook.publication.remote, webhook.publication.branch
    else:
        remote, branch = source.depot, source.branche
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if ref != f"refs/heads/{branch}":
        return answer(202, statut="ignore", raison=f"seule la branche « {branch} » est publiée")
    after = payload.get("after") if isinstance(payload, dict) else None
    commit = after if isinstance(after, str) and _is_commit(after) else None
    if commit is not None and set(commit) == {"0"}:
        return answer(202, statut="ignore", raison="suppression de branche : rien à publier")
    if source is None:
        online = online_commit(webhook.settings.index)
    else:
        online = online_sources(live_info(webhook.settings.index)).get(source.nom, {}).get("commit")
    if commit is not None and commit == online:
        return answer(200, statut="ignore", raison=f"version {commit[:10]} déjà en ligne")
    queued = webhook.queue.add("webhook", remote, branch, commit, True, target=source)
    webhook.start_worker()
    fields = {"statut": "accepte", "raison": "publication en file", "demande": str(queued.id)}
    if source is not None:
        fields["source"] = source.nom
    return answer(202, **fields)


def _is_commit(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)
