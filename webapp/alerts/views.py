"""The alert pages: subscribe (the form on /recherche and /agenda), confirm, unsubscribe
(also RFC 8058's one-click POST from mail clients), see and delete one's subscriptions,
ask for a new link. The subscriptions and the emails are in the `alerts` package.

A link from an email only shows a page with a button: mail scanners that open links do
not confirm or unsubscribe anything. The forms of the site are checked for their origin.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from alerts import links, messages, searches
from alerts.digest import signer_for, store_path
from alerts.mailer import Mailer, MailError, SmtpSettings
from alerts.store import DAILY, FREQUENCIES, AlertStore
from alerts.tokens import CONFIRM, MANAGE, UNSUBSCRIBE, TokenError
from indexer.keys import FILTER_KEYS
from kb.events import normalise_email

from ..core.catalogue import current_catalogue
from ..core.params import InvalidParameters, SearchParams, parse_search_args

log = logging.getLogger(__name__)

bp = Blueprint("alerts", __name__, url_prefix="/alertes")

# Subscription requests (and requests for a new link) allowed per address and per client.
PER_ADDRESS = (5, dt.timedelta(days=1))
PER_CLIENT = (20, dt.timedelta(hours=1))
FORM_FIELDS = ("courriel", "frequence", "cible")
MAX_SUBSCRIPTIONS_PER_ADDRESS = 50


def alerts_enabled() -> bool:
    return bool(str(current_app.config["KB_SETTINGS"]["courriel.hote"]).strip())


def alert_fields(params: SearchParams) -> list[tuple[str, str]]:
    """The hidden fields that carry a search into the subscription form."""
    kept = ("q", *FILTER_KEYS)
    return [(k, v) for k, v in params.query_items() if k in kept]


def _page(title: str, code: int = 200, **context) -> Response:
    html = render_template("alerts/page.html", title=title, **context)
    response = Response(html, status=code, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL holds a signed link
    return response


def _store() -> AlertStore:
    return AlertStore(store_path(current_app.config["KB_SETTINGS"]))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _same_origin() -> bool:
    """A form of this site: no Origin header (older browsers), or the site's own."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    site = urlsplit(current_catalogue().site_url)
    here = urlsplit(request.host_url)
    return urlsplit(origin)[:2] in (site[:2], here[:2])


def _refused_origin() -> Response:
    return _page(
        "Demande refusée",
        403,
        messages=["ce formulaire doit être envoyé depuis une page du site"],
    )


def _limited(store: AlertStore, signer, address: str, now: dt.datetime) -> bool:
    """Count this request; True when the address or the client asked too often."""
    client = request.remote_addr or "inconnu"
    keys = (
        (signer.key("adresse", address), PER_ADDRESS),
        (signer.key("client", client), PER_CLIENT),
    )
    for key, (limit, window) in keys:
        if store.attempts(key, now - window) >= limit:
            return True
    for key, _ in keys:
        store.record_attempt(key, now)
    return False


def _send(message) -> None:
    smtp = SmtpSettings.from_settings(current_app.config["KB_SETTINGS"])
    with Mailer(smtp) as mailer:
        mailer.send(message)


def _sender():
    return SmtpSettings.from_settings(current_app.config["KB_SETTINGS"]).sender


# --- subscribing -------------------------------------------------------------------------------


@bp.post("/abonnement")
def subscribe():
    if not _same_origin():
        return _refused_origin()
    if not alerts_enabled():
        return _page(
            "Alertes indisponibles",
            404,  # not offered by this site (no mail server set): nothing failed
            messages=["l'envoi de courriels n'est pas configuré sur ce site"],
        )
    catalogue = current_catalogue()
    form = request.form
    problems: list[str] = []
    address = normalise_email(form.get("courriel", "")[:254])
    if address is None:
        problems.append("adresse électronique invalide : vérifiez-la (ex. prenom.nom@example.org)")
    frequency = form.get("frequence", DAILY)
    if frequency not in FREQUENCIES:
        problems.append("fréquence inconnue : choisissez « quotidienne » ou « hebdomadaire »")
    target = form.get("cible", searches.SEARCH)
    if target not in searches.TARGETS:
        problems.append("cible inconnue : « recherche » ou « agenda »")
    search_fields = MultiDict([(k, v) for k, v in form.items(multi=True) if k not in FORM_FIELDS])
    try:
        params = parse_search_args(search_fields, catalogue.known_values)
    except InvalidParameters as error:
        problems += error.messages
        params = error.usable
    back = url_for("agenda.index") if target == searches.AGENDA else url_for("search.results")
    back = params.url(back)
    if problems:
        return _page("Abonnement impossible", 400, messages=problems, back_url=back)
    search = searches.make_search(target, params.q, dict(params.filters))
    settings = current_app.config["KB_SETTINGS"]
    signer = signer_for(settings)
    now = _now()
    with _store() as store:
        if _limited(store, signer, address, now):
            return _page(
                "Trop de demandes",
                429,
                messages=["trop de demandes d'abonnement récentes : réessayez plus tard"],
                back_url=back,
            )
        if len(store.of_address(address)) >= MAX_SUBSCRIPTIONS_PER_ADDRESS:
            return _page(
                "Trop d'alertes",
                400,
                messages=[
                    f"une adresse peut suivre {MAX_SUBSCRIPTIONS_PER_ADDRESS} recherches au plus"
                ],
                back_url=back,
            )
        subscription = store.subscribe(address, search, frequency, now)
    description = searches.describe(search, catalogue.label)
    if not subscription.is_confirmed:
        token = signer.make(CONFIRM, address, subscription.id)
        try:
            _send(
                messages.confirmation(
                    _sender(),
                    address,
                    description,
                    frequency,
                    links.confirm_url(catalogue.site_url, token),
                    catalogue.site_url,
                )
            )
        except MailError as exc:
            log.error("courriel de confirmation non envoyé : %s", exc)
            return _page(
                "Envoi impossible",
                503,
                messages=[
                    "le courriel de confirmation n'a pas pu être envoyé : réessayez plus tard"
                ],
                back_url=back,
            )
    return _page(
        "Vérifiez votre messagerie",
        202,
        lead="Un courriel de confirmation vient d'être envoyé à l'adresse indiquée, s'il "
        "n'y avait pas déjà une alerte confirmée identique. Ouvrez le lien qu'il contient "
        "pour activer l'alerte : rien ne vous sera envoyé d'ici là.",
        details=[f"Alerte demandée : {description} ({frequency})."],
        back_url=back,
    )


# --- links from the emails ---------------------------------------------------------------------


def _bad_token(error: TokenError, purpose: str) -> Response:
    if error.expired:
        title = "Lien expiré"
        text = {
            CONFIRM: "ce lien de confirmation a expiré (il vaut 7 jours) : abonnez-vous à "
            "nouveau depuis la page de la recherche ou de l'agenda",
            UNSUBSCRIBE: "ce lien de désabonnement a expiré : demandez ci-dessous un lien pour "
            "gérer vos alertes",
            MANAGE: "ce lien a expiré (il vaut 30 jours) : demandez-en un nouveau ci-dessous",
        }[purpose]
    else:
        title = "Lien invalide"
        text = (
            "ce lien n'est pas valide (il a peut-être été coupé ou modifié) : copiez-le en "
            "entier depuis le courriel, ou demandez ci-dessous un lien pour gérer vos alertes"
        )
    return _page(title, 400 if not error.expired else 410, messages=[text], ask_link=True)


def _read(purpose: str, token: str):
    signer = signer_for(current_app.config["KB_SETTINGS"])
    return signer.read(purpose, token)


@bp.route("/confirmer/<token>", methods=["GET", "POST"])
def confirm(token: str):
    try:
        data = _read(CONFIRM, token)
    except TokenError as error:
        return _bad_token(error, CONFIRM)
    with _store() as store:
        subscription = store.get(data.subscription) if data.subscription else None
        if subscription is None or subscription.courriel != data.courriel:
            return _page(
                "Demande introuvable",
                410,
                messages=[
                    "cette demande d'abonnement n'existe plus (expirée ou supprimée) : abonnez-vous à nouveau"
                ],
            )
        description = searches.describe(subscription.recherche, current_catalogue().label)
        if request.method == "GET" and not subscription.is_confirmed:
            return _page(
                "Confirmer votre alerte",
                details=[f"Alerte : {description} ({subscription.frequence})."],
                button=("Confirmer mon alerte", request.path),
            )
        if not subscription.is_confirmed:
            if not _same_origin():
                return _refused_origin()
            store.confirm(subscription.id, _now())
    manage = _manage_path(data.courriel)
    return _page(
        "Alerte confirmée",
        lead="Vous recevrez les nouveautés par courriel. Chaque message contient un lien pour "
        "vous désabonner.",
        details=[f"Alerte : {description} ({subscription.frequence})."],
        manage_url=manage,
    )


def _manage_path(address: str) -> str:
    signer = signer_for(current_app.config["KB_SETTINGS"])
    return links.MANAGE_PATH + signer.make(MANAGE, address)


@bp.route("/desabonner/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    try:
        data = _read(UNSUBSCRIBE, token)
    except TokenError as error:
        return _bad_token(error, UNSUBSCRIBE)
    if request.method == "GET":
        return _page(
            "Se désabonner",
            lead="Cette alerte et, si c'était la dernière, votre adresse seront effacées.",
            button=("Me désabonner", request.path),
        )
    # RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to this very address,
    # with no cookie nor origin: the signed link is the proof.
    with _store() as store:
        subscription = store.get(data.subscription) if data.subscription else None
        if subscription is not None and subscription.courriel == data.courriel:
            store.delete(subscription.id)
    return _page(
        "Désabonnement effectué",
        lead="Vous ne recevrez plus cette alerte. Les données de cet abonnement sont effacées.",
    )


@bp.route("/gerer/<token>", methods=["GET", "POST"])
def manage(token: str):
    try:
        data = _read(MANAGE, token)
    except TokenError as error:
        return _bad_token(error, MANAGE)
    catalogue = current_catalogue()
    with _store() as store:
        if request.method == "POST":
            if not _same_origin():
                return _refused_origin()
            if request.form.get("tout"):
                store.delete_address(data.courriel)
            else:
                try:
                    chosen = int(request.form.get("abonnement", ""))
                except ValueError:
                    chosen = None
                subscription = store.get(chosen) if chosen is not None else None
                if subscription is not None and subscription.courriel == data.courriel:
                    store.delete(subscription.id)
        subscriptions = store.of_address(data.courriel)
    rows = [
        {
            "id": s.id,
            "description": searches.describe(s.recherche, catalogue.label),
            "url": searches.page_url(s.recherche),
            "frequence": s.frequence,
            "confirme": s.is_confirmed,
            "cree": s.cree.date(),
        }
        for s in subscriptions
    ]
    html = render_template(
        "alerts/manage.html", address=data.courriel, rows=rows, action=request.path
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/lien", methods=["GET", "POST"])
def ask_link():
    """Receive by email a link to one's subscriptions (the same answer for every address)."""
    if request.method == "GET":
        return _page("Gérer vos alertes", ask_link=True)
    if not _same_origin():
        return _refused_origin()
    if not alerts_enabled():
        return _page(
            "Alertes indisponibles",
            404,  # not offered by this site (no mail server set): nothing failed
            messages=["l'envoi de courriels n'est pas configuré sur ce site"],
        )
    address = normalise_email(request.form.get("courriel", "")[:254])
    if address is None:
        return _page(
            "Adresse invalide", 400, messages=["adresse électronique invalide"], ask_link=True
        )
    settings = current_app.config["KB_SETTINGS"]
    signer = signer_for(settings)
    with _store() as store:
        if _limited(store, signer, address, _now()):
            return _page(
                "Trop de demandes",
                429,
                messages=["trop de demandes récentes : réessayez plus tard"],
            )
        known = bool(store.of_address(address))
    if known:
        site = current_catalogue().site_url
        try:
            _send(
                messages.manage_link(
                    _sender(), address, links.manage_url(site, signer.make(MANAGE, address)), site
                )
            )
        except MailError as exc:
            log.error("lien de gestion non envoyé : %s", exc)
            return _page(
                "Envoi impossible",
                503,
                messages=["le courriel n'a pas pu être envoyé : réessayez plus tard"],
            )
    return _page(
        "Vérifiez votre messagerie",
        lead="Si cette adresse suit des alertes, un courriel avec un lien pour les gérer vient de lui être envoyé.",
    )
