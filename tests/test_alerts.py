"""Email alerts end to end, against a real SMTP server started by the test (aiosmtpd):
subscribe from the results page, confirm, publish, send, unsubscribe from the header's
link; expired and forged links; rate limits; header injection; and a sender killed or
refused midway that, run again, sends only what is missing."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import pytest
from alerts_support import SITE, build_alert_site, page_resource, start_smtp

from alerts.digest import send_digests
from alerts.messages import Item, digest
from alerts.store import AlertStore
from alerts.tokens import CONFIRM, MANAGE, UNSUBSCRIBE, Signer, load_secret
from kb.config import load_settings

ADDRESS = "camille.martin@example.org"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp():
    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture
def site(tmp_path, smtp):
    return build_alert_site(tmp_path / "site", smtp.port)


@pytest.fixture
def client(site):
    from webapp import create_app

    return create_app(site.app_config()).test_client()


def settings_of(site):
    return load_settings(config_file=site.config)


def subscribe(client, address=ADDRESS, **fields) -> object:
    data = {"courriel": address, "frequence": "quotidienne", "cible": "recherche", **fields}
    return client.post("/alertes/abonnement", data=data)


def link_in(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(re.escape(SITE + path) + r"[A-Za-z0-9_.\-]+", text)
    assert match, text
    return match.group(0)


def confirm(client, smtp, address=ADDRESS) -> None:
    (message,) = [m for m in smtp.recorder.to(address) if "Confirmez" in m["Subject"]]
    url = link_in(message, "/alertes/confirmer/")
    page = client.get(url.removeprefix(SITE))
    assert page.status_code == 200 and "Confirmer mon alerte" in page.get_data(as_text=True)
    done = client.post(url.removeprefix(SITE))
    assert done.status_code == 200 and "Alerte confirmée" in done.get_data(as_text=True)


def digests(smtp, address=ADDRESS):
    return [m for m in smtp.recorder.to(address) if m["List-Unsubscribe"]]


def run_send(site, run_kb=None):
    if run_kb is not None:
        return run_kb("alertes", "envoyer", "--config", site.config)
    return send_digests(settings_of(site))


def test_the_whole_path(site, client, smtp, run_kb) -> None:
    # The form is on the results page and carries the search.
    html = client.get("/recherche?q=jardins&piliers=cadre-de-vie").get_data(as_text=True)
    form = re.search(r'<form class="alert-form".*?</form>', html, re.S).group(0)
    assert '<input type="email"' in form
    assert 'name="q" value="jardins"' in form and 'name="piliers" value="cadre-de-vie"' in form
    agenda = client.get("/agenda").get_data(as_text=True)
    assert 'name="cible" value="agenda"' in agenda and '<input type="email"' in agenda

    response = subscribe(client, q="jardins", piliers="cadre-de-vie")
    assert response.status_code == 202
    assert "Vérifiez votre messagerie" in response.get_data(as_text=True)
    (request,) = smtp.recorder.to(ADDRESS)
    assert request["From"] == "Ressources politique de la ville <alertes@example.org>"
    assert "« jardins »" in request.get_body(("plain",)).get_content()

    # Double opt-in: nothing is sent before the confirmation.
    site.publish("ca/jardins-avant.md", page_resource("Des jardins partagés, avant"))
    assert run_send(site, run_kb).code == 0
    assert digests(smtp) == []
    time.sleep(1.1)  # first publication times are kept to the second
    confirm(client, smtp)

    time.sleep(1.1)  # first publication times are kept to the second
    site.publish(
        "ca/jardins-partages.md", page_resource("Des jardins partagés au pied des immeubles")
    )
    site.publish("ca/mobilite.md", page_resource("Une auto-école sociale"))  # not found
    run = run_send(site, run_kb)
    assert run.code == 0, run.err
    (message,) = digests(smtp)
    assert message["Subject"].startswith("1 nouveauté : la recherche « jardins »")
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    assert "Des jardins partagés au pied des immeubles" in text
    assert SITE + "/ressources/ca/jardins-partages" in text
    assert f'href="{SITE}/ressources/ca/jardins-partages"' in html_part
    assert "auto-école" not in text and "avant" not in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@ressources.example.org>")

    # Again: nothing new, today or in two days.
    assert run_send(site, run_kb).code == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert send_digests(settings_of(site), now=later).sent == 0
    assert len(digests(smtp)) == 1

    # One click from the mail client (RFC 8058), on the header's address.
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(SITE + "/alertes/desabonner/")
    page = client.get(unsubscribe.removeprefix(SITE))
    assert page.status_code == 200 and "Me désabonner" in page.get_data(as_text=True)
    done = client.post(
        unsubscribe.removeprefix(SITE),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert done.status_code == 200
    with AlertStore(site.database) as store:
        counts = store.count_rows()
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert {k: v for k, v in counts.items() if k != "tentatives"} == {
        "abonnements": 0,
        "envois": 0,
        "en_cours": 0,
    }
    for path in site.database.parent.iterdir():  # the address is nowhere on disk
        assert ADDRESS.encode() not in path.read_bytes(), path
    site.publish("ca/jardins-encore.md", page_resource("Encore des jardins"))
    time.sleep(0.1)
    assert run_send(site, run_kb).code == 0
    assert len(digests(smtp)) == 1


def test_agenda_subscription_sends_new_upcoming_events(site, client, smtp) -> None:
    assert subscribe(client, cible="agenda", mode="distanciel").status_code == 202
    confirm(client, smtp)
    time.sleep(1.1)
    future = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    event = (
        '---\ntitre: "Webinaire sur les jardins"\ntype: evenement\ndate: 2026-11-01\n'
        "piliers: [cadre-de-vie]\nresume: Un webinaire.\nmode: distanciel\n"
        f"sessions:\n  - debut: {future} 14:00\n    fin: {future} 15:00\n---\n\nTexte.\n"
    )
    site.publish("ca/webinaire-jardins.md", event)
    site.publish("ca/fiche-jardins.md", page_resource("Une fiche, pas un événement"))
    report = send_digests(settings_of(site))
    assert report.sent == 1
    (message,) = digests(smtp)
    text = message.get_body(("plain",)).get_content()
    assert "Webinaire sur les jardins" in text and "Une fiche" not in text
    assert "14 h 00" in text
    assert "/agenda?mode=distanciel" in text


def test_manage_page_lists_and_deletes(site, client, smtp) -> None:
    subscribe(client, q="jardins")
    subscribe(client, q="mobilité", frequence="hebdomadaire")
    signer = Signer(load_secret("", site.database.parent))
    url = "/alertes/gerer/" + signer.make(MANAGE, ADDRESS)
    html = unescape(client.get(url).get_data(as_text=True))
    assert "la recherche « jardins »" in html and "la recherche « mobilité »" in html
    with AlertStore(site.database) as store:
        first = store.of_address(ADDRESS)[0].id
    html = client.post(url, data={"abonnement": str(first)}).get_data(as_text=True)
    assert "jardins" not in unescape(html) and "mobilité" in unescape(html)
    client.post(url, data={"tout": "1"})
    with AlertStore(site.database) as store:
        assert store.of_address(ADDRESS) == []


def test_expired_and_forged_links_are_refused(site, client, smtp) -> None:
    subscribe(client, q="jardins")
    secret = load_secret("", site.database.parent)
    with AlertStore(site.database) as store:
        subscription = store.of_address(ADDRESS)[0]
    old = Signer(secret, clock=lambda: time.time() - 8 * 24 * 3600)
    expired = old.make(CONFIRM, ADDRESS, subscription.id)
    response = client.get(f"/alertes/confirmer/{expired}")
    assert response.status_code == 410
    assert "Lien expiré" in response.get_data(as_text=True)
    assert client.post(f"/alertes/confirmer/{expired}").status_code == 410
    good = Signer(secret).make(CONFIRM, ADDRESS, subscription.id)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    response = client.post(f"/alertes/confirmer/{forged}")
    assert response.status_code == 400 and "Lien invalide" in response.get_data(as_text=True)
    other_key = Signer("une autre clé").make(UNSUBSCRIBE, ADDRESS, subscription.id)
    assert client.post(f"/alertes/desabonner/{other_key}").status_code == 400
    # a link made for one purpose does not serve another
    assert client.post(f"/alertes/desabonner/{good}").status_code == 400
    assert client.get("/alertes/gerer/n-importe-quoi").status_code == 400
    with AlertStore(site.database) as store:
        assert store.get(subscription.id).confirme is None  # nothing was confirmed


def test_rate_limits_per_address_and_per_client(site, client, smtp) -> None:
    for number in range(5):
        assert subscribe(client, q=f"mot{number}").status_code == 202
    assert subscribe(client, q="encore").status_code == 429
    others = [f"personne{n}@example.org" for n in range(15)]
    for address in others:
        assert subscribe(client, address=address, q="x").status_code == 202
    # 20 requests from this client in the hour: the next one is refused, whatever the address
    assert subscribe(client, address="nouvelle@example.org", q="x").status_code == 429
    other_client = client.post(
        "/alertes/abonnement",
        data={"courriel": "nouvelle@example.org", "q": "x"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert other_client.status_code == 202


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"courriel": "pas-une-adresse"}, "adresse électronique invalide"),
        ({"courriel": ADDRESS, "frequence": "horaire"}, "fréquence inconnue"),
        ({"courriel": ADDRESS, "thematiques": "inconnue"}, "valeur inconnue"),
    ],
)
def test_bad_subscriptions_get_a_french_400(client, smtp, fields, message) -> None:
    response = client.post("/alertes/abonnement", data=fields)
    assert response.status_code == 400
    assert message in unescape(response.get_data(as_text=True)).lower()
    assert smtp.recorder.messages == []


def test_a_form_from_another_site_is_refused(client, smtp) -> None:
    response = client.post(
        "/alertes/abonnement",
        data={"courriel": ADDRESS, "q": "x"},
        headers={"Origin": "https://ailleurs.example.net"},
    )
    assert response.status_code == 403
    assert smtp.recorder.messages == []


def test_no_header_can_be_injected() -> None:
    from alerts.mailer import sender_address

    message = digest(
        sender_address("Alertes <alertes@example.org>"),
        ADDRESS,
        [Item("Titre\r\nBcc: pirate@example.net", SITE + "/r", "Fiche", "Centre", "1er mars", "R")],
        "la recherche « x\r\nBcc: pirate@example.net\u2028X-Autre: 1 »",
        SITE + "/recherche?q=x",
        SITE + "/alertes/desabonner/t",
        SITE + "/alertes/gerer/t",
        SITE,
        "<id@example.org>",
        dt.datetime.now(dt.UTC),
    )
    raw = message.as_bytes()
    parsed = __import__("email").message_from_bytes(raw)
    assert parsed["Bcc"] is None and parsed["X-Autre"] is None
    assert "\n" not in parsed["Subject"].replace("\r\n ", " ").replace("\n ", " ")
    assert [k for k in parsed.keys()].count("To") == 1


def _subscribed_site(site, client, smtp, count: int) -> list[str]:
    addresses = [f"abonne{n}@example.org" for n in range(count)]
    for address in addresses:
        assert subscribe(client, address=address, q="jardins").status_code == 202
        confirm(client, smtp, address)
    time.sleep(1.1)
    site.publish("ca/jardins-nouveaux.md", page_resource("Nouveaux jardins"))
    smtp.recorder.clear()
    return addresses


def test_a_refusing_server_midway_then_a_rerun_sends_only_what_is_missing(site, client, smtp):
    addresses = _subscribed_site(site, client, smtp, 3)
    smtp.recorder.mode, smtp.recorder.fail_after = "refuse", 1
    report = send_digests(settings_of(site))
    assert report.sent == 1 and report.stopped
    smtp.recorder.mode = "accept"
    report = send_digests(settings_of(site))
    assert report.sent == 2 and report.ok
    assert [len(digests(smtp, a)) for a in addresses] == [1, 1, 1]
    assert send_digests(settings_of(site)).sent == 0


def test_a_sender_killed_midway_then_a_rerun_sends_only_what_is_missing(site, client, smtp):
    addresses = _subscribed_site(site, client, smtp, 3)
    smtp.recorder.mode, smtp.recorder.fail_after = "hang", 1
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "alertes", "envoyer", "--config", str(site.config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert smtp.recorder.hanging.wait(60), "the sender never reached the second message"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    smtp.recorder.mode = "accept"
    smtp.recorder.release.set()
    assert [len(digests(smtp, a)) for a in addresses] == [1, 0, 0]
    with AlertStore(site.database) as store:
        assert store.count_rows()["en_cours"] == 1  # the digest that was being sent
    report = send_digests(settings_of(site))
    assert report.sent == 2 and report.ok
    assert [len(digests(smtp, a)) for a in addresses] == [1, 1, 1]


def test_the_sending_rate_is_respected(site, client, smtp) -> None:
    _subscribed_site(site, client, smtp, 3)
    waits: list[float] = []
    settings = load_settings(config_file=site.config)
    values = dict(settings.values)
    values["alertes.envois_par_minute"] = 30.0  # one every two seconds
    slow = type(settings)(values, settings.config_file, settings.warnings)
    report = send_digests(slow, sleep=waits.append)
    assert report.sent == 3
    assert len(waits) == 2 and all(1.5 < w <= 2.0 for w in waits)


def test_an_alert_names_its_places_and_links_to_the_newest_entries():
    from alerts.searches import SEARCH, describe, make_search, page_url

    search = make_search(SEARCH, "", {"commune": ("80021",), "qpv": ("QN08003M",)})
    names = {"80021": "Amiens (80)", "QN08003M": "Quartier Nord"}
    text = describe(search, lambda key, value: names[value])
    assert "Commune : Amiens (80)" in text and "Quartier prioritaire : Quartier Nord" in text
    # Without words, the page the email links to lists what entered the base last.
    assert page_url(search) == "/recherche?commune=80021&qpv=QN08003M&tri=ajout"
