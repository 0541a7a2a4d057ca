"""An OAI-PMH 2.0 client that survives hostile or broken repositories.

Everything a repository sends is untrusted:
- XML is parsed by defusedxml with DTDs forbidden: no entity expansion (billion laughs),
  no external entity or DTD is ever fetched;
- a response is read as it arrives and abandoned past `max_response_bytes`, or when it
  takes longer than `response_seconds` however slowly it trickles; connecting and each
  read have their own timeouts, and the whole harvest its deadline;
- a resumption token already seen (a loop), or more than `max_pages` pages, or more than
  `max_records` records, stop the harvest;
- 503 (with or without Retry-After), other 5xx and network errors are retried with an
  exponential backoff, within the deadline.
Any of these ends the harvest with a `HarvestError` (a French message) before anything is
written: the caller writes only after the whole list was read.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeET
import requests
import urllib3

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
USER_AGENT = "crpv-kb-moissonneur/1 (kb moissonner)"
MIB = 1024 * 1024
_DATESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}Z)?$")


class HarvestError(Exception):
    """A harvest that cannot go on (French message); nothing is written."""


@dataclass(frozen=True)
class HarvestLimits:
    connect_timeout: float = 10.0  # seconds to connect
    read_timeout: float = 60.0  # seconds without a byte
    response_seconds: float = 300.0  # one response, however slowly it arrives
    deadline_seconds: float = 4 * 3600.0  # the whole harvest
    max_response_bytes: int = 32 * MIB
    max_record_bytes: int = 1 * MIB  # one record's metadata, serialised
    max_pages: int = 20_000
    max_records: int = 200_000
    retries: int = 5
    backoff: float = 2.0  # first wait, then doubled
    max_wait: float = 600.0  # longest Retry-After honoured


@dataclass(frozen=True)
class Identity:
    name: str
    granularity: str  # YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ
    earliest: str


@dataclass
class Record:
    identifier: str
    datestamp: str
    deleted: bool
    sets: list[str] = field(default_factory=list)
    metadata: Element | None = None  # the element inside <metadata>


def q(name: str) -> str:
    return f"{{{OAI_NS}}}{name}"


def day_of(datestamp: str) -> dt.date | None:
    """The day of a well-formed OAI datestamp (None: malformed or impossible)."""
    match = _DATESTAMP.match(datestamp.strip())
    if not match:
        return None
    try:
        day = dt.date.fromisoformat(match.group(1))
        if match.group(2):
            dt.datetime.strptime(datestamp.strip(), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return day


class OAIClient:
    def __init__(
        self,
        base_url: str,
        limits: HarvestLimits | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not re.match(r"^https?://[^\s/]+", base_url):
            raise HarvestError(f"adresse d'entrepôt invalide « {base_url} » (http:// ou https://)")
        self.base_url = base_url
        self.limits = limits or HarvestLimits()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.requests = 0
        self.first_response_date: str | None = None

    # --- one request

    def _left(self) -> float:
        return self.limits.deadline_seconds - (self.clock() - self.started)

    def _check_deadline(self) -> None:
        if self._left() <= 0:
            raise HarvestError(
                f"moisson interrompue : plus de {self.limits.deadline_seconds:.0f} s au total"
            )

    def get(self, **params: str) -> Element:
        """One OAI-PMH request, retried; the root element, protocol errors raised (but
        noRecordsMatch, returned as an empty answer)."""
        wait = self.limits.backoff
        attempt = 0
        while True:
            self._check_deadline()
            attempt += 1
            try:
                status, retry_after, body = self._fetch(params)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                problem = f"erreur réseau ({_reason(exc)})"
                retry_after = None
            else:
                if status == 200:
                    return self._parse(body)
                if status != 503 and status < 500:
                    raise HarvestError(f"l'entrepôt répond « HTTP {status} » à {_verb(params)}")
                problem = f"HTTP {status}"
            if attempt > self.limits.retries:
                raise HarvestError(
                    f"l'entrepôt ne répond pas correctement à {_verb(params)} après "
                    f"{attempt} essais ({problem})"
                )
            pause = wait
            if retry_after is not None:
                pause = retry_after
                if pause > self.limits.max_wait:
                    raise HarvestError(
                        f"l'entrepôt demande d'attendre {pause:.0f} s (Retry-After) : plus que "
                        f"les {self.limits.max_wait:.0f} s acceptées ; réessayez plus tard"
                    )
            if pause >= self._left():
                raise HarvestError(
                    f"moisson interrompue : {problem}, et l'attente avant un nouvel essai "
                    "dépasserait la durée maximale de la moisson"
                )
            self.sleep(pause)
            wait *= 2

    def _fetch(self, params: dict[str, str]) -> tuple[int, float | None, bytes]:
        limits = self.limits
        started = self.clock()
        self.requests += 1
        with self.session.get(
            self.base_url,
            params=params,
            timeout=(limits.connect_timeout, limits.read_timeout),
            stream=True,
            headers={"Accept": "text/xml, application/xml"},
        ) as response:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if response.status_code != 200:
                return response.status_code, retry_after, b""
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_response_bytes:
                raise HarvestError(self._too_big(params))
            chunks: list[bytes] = []
            size = 0
            raw = response.raw
            while True:
                # read1: at most one read from the socket, so that a response trickling
                # one byte at a time is still stopped at its time limit.
                chunk = raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limits.max_response_bytes:
                    raise HarvestError(self._too_big(params))
                chunks.append(chunk)
                if self.clock() - started > limits.response_seconds:
                    raise HarvestError(
                        f"réponse trop lente à {_verb(params)} : plus de "
                        f"{limits.response_seconds:.0f} s pour une seule page"
                    )
                self._check_deadline()
            return 200, retry_after, b"".join(chunks)

    def _too_big(self, params: dict[str, str]) -> str:
        return (
            f"réponse trop volumineuse à {_verb(params)} : plus de "
            f"{self.limits.max_response_bytes // MIB} Mio pour une seule page"
        )

    def _parse(self, body: bytes) -> Element:
        try:
            root = SafeET.fromstring(body, forbid_dtd=True)
        except defusedxml.DTDForbidden:
            raise HarvestError(
                "réponse refusée : elle déclare une DTD (<!DOCTYPE>), ce que le protocole "
                "n'utilise pas et qui sert aux attaques par entités (« bombe XML »)"
            ) from None
        except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
            raise HarvestError("réponse refusée : entités XML interdites") from None
        except ET.ParseError as exc:
            raise HarvestError(f"réponse illisible : XML invalide ({exc})") from None
        if root.tag != q("OAI-PMH"):
            raise HarvestError("réponse illisible : ce n'est pas une réponse OAI-PMH 2.0")
        if self.first_response_date is None:
            stamp = (root.findtext(q("responseDate")) or "").strip()
            if day_of(stamp) is not None and "T" in stamp:
                self.first_response_date = stamp
        for error in root.findall(q("error")):
            code = error.get("code") or "?"
            if code == "noRecordsMatch":
                continue
            message = " ".join((error.text or "").split())[:300]
            raise HarvestError(f"l'entrepôt répond par l'erreur OAI-PMH « {code} » : {message}")
        return root

    # --- verbs

    def identify(self) -> Identity:
        root = self.get(verb="Identify")
        element = root.find(q("Identify"))
        if element is None:
            raise HarvestError("réponse à Identify sans élément <Identify>")
        granularity = (element.findtext(q("granularity")) or "YYYY-MM-DD").strip()
        if granularity not in ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ"):
            granularity = "YYYY-MM-DD"
        name = " ".join((element.findtext(q("repositoryName")) or "").split())[:200]
        return Identity(name, granularity, (element.findtext(q("earliestDatestamp")) or ""))

    def formats(self) -> dict[str, str]:
        """metadataPrefix -> namespace."""
        root = self.get(verb="ListMetadataFormats")
        found = {}
        for item in root.iter(q("metadataFormat")):
            prefix = (item.findtext(q("metadataPrefix")) or "").strip()
            if prefix:
                found[prefix] = (item.findtext(q("metadataNamespace")) or "").strip()
        return found

    def records(
        self, prefix: str, since: str | None = None, set_spec: str | None = None
    ) -> Iterator[Record]:
        """Every record of ListRecords, following resumption tokens."""
        params = {"verb": "ListRecords", "metadataPrefix": prefix}
        if since:
            params["from"] = since
        if set_spec:
            params["set"] = set_spec
        seen_tokens: set[str] = set()
        pages = count = 0
        while True:
            pages += 1
            if pages > self.limits.max_pages:
                raise HarvestError(
                    f"plus de {self.limits.max_pages} pages de résultats : moisson arrêtée "
                    "(jetons de reprise sans fin ?)"
                )
            root = self.get(**params)
            listing = root.find(q("ListRecords"))
            if listing is None:
                return  # noRecordsMatch
            for element in listing.findall(q("record")):
                count += 1
                if count > self.limits.max_records:
                    raise HarvestError(
                        f"plus de {self.limits.max_records} enregistrements : moisson arrêtée"
                    )
                yield self._record(element)
            token_element = listing.find(q("resumptionToken"))
            token = (token_element.text or "").strip() if token_element is not None else ""
            if not token:
                return
            if token in seen_tokens:
                raise HarvestError(
                    f"l'entrepôt renvoie un jeton de reprise déjà reçu (« {token[:60]} ») : "
                    "la liste tourne en boucle, moisson arrêtée"
                )
            if len(token) > 2000:
                raise HarvestError("jeton de reprise anormalement long : moisson arrêtée")
            seen_tokens.add(token)
            params = {"verb": "ListRecords", "resumptionToken": token}

    def _record(self, element: Element) -> Record:
        header = element.find(q("header"))
        if header is None:
            return Record("", "", False)
        metadata = element.find(q("metadata"))
        content = None
        if metadata is not None:
            children = list(metadata)
            content = children[0] if children else None
        if content is not None and len(ET.tostring(content)) > self.limits.max_record_bytes:
            content = _TOO_BIG
        return Record(
            identifier=(header.findtext(q("identifier")) or "").strip(),
            datestamp=(header.findtext(q("datestamp")) or "").strip(),
            deleted=header.get("status") == "deleted",
            sets=[(s.text or "").strip() for s in header.findall(q("setSpec"))],
            metadata=content,
        )


# A record whose metadata passes max_record_bytes: refused by the conversion.
_TOO_BIG = Element("trop-volumineux")


def is_too_big(element: Element | None) -> bool:
    return element is _TOO_BIG


def _verb(params: dict[str, str]) -> str:
    return params.get("verb", "?")


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return "délai dépassé"
    if isinstance(exc, requests.ConnectionError):
        return "connexion impossible ou interrompue"
    return type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())
