"""The addresses of the alert pages (served by webapp/alerts/), absolute."""

from __future__ import annotations

CONFIRM_PATH = "/alertes/confirmer/"
UNSUBSCRIBE_PATH = "/alertes/desabonner/"
MANAGE_PATH = "/alertes/gerer/"


def confirm_url(site_url: str, token: str) -> str:
    return site_url + CONFIRM_PATH + token


def unsubscribe_url(site_url: str, token: str) -> str:
    return site_url + UNSUBSCRIBE_PATH + token


def manage_url(site_url: str, token: str) -> str:
    return site_url + MANAGE_PATH + token
