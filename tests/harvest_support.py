"""A hand-written OAI-PMH server for the harvesting tests: real HTTP on 127.0.0.1 (port 0),
one thread per connection, answers chosen per test (well-formed, broken or hostile)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    "<responseDate>{date}</responseDate><request>http://127.0.0.1/oai</request>"
)
OAI_TAIL = "</OAI-PMH>"


def oai(body: str, date: str = "2026-12-01T10:00:00Z") -> bytes:
    return (OAI_HEAD.format(date=date) + body + OAI_TAIL).encode("utf-8")


def identify(granularity: str = "YYYY-MM-DDThh:mm:ssZ", name: str = "Catalogue de test") -> bytes:
    return oai(
        "<Identify><repositoryName>"
        + name
        + "</repositoryName><baseURL>http://127.0.0.1/oai</baseURL>"
        "<protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail>"
        "<earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp>"
        "<deletedRecord>persistent</deletedRecord><granularity>"
        + granularity
        + "</granularity></Identify>"
    )


FORMATS_DC = oai(
    "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
    "<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
    "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
    "</metadataFormat></ListMetadataFormats>"
)
FORMATS_KB = oai(
    "<ListMetadataFormats><metadataFormat><metadataPrefix>kb</metadataPrefix>"
    "<schema>http://127.0.0.1/static/oai/kb.xsd</schema>"
    "<metadataNamespace>urn:crpv-kb:oai:ressource:1</metadataNamespace>"
    "</metadataFormat></ListMetadataFormats>"
)


def dc_record(
    identifier: str,
    title: str,
    datestamp: str = "2026-11-30T09:00:00Z",
    extra: str = "",
    deleted: bool = False,
) -> str:
    status = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status}><identifier>{identifier}</identifier>"
        f"<datestamp>{datestamp}</datestamp></header>"
    )
    if deleted:
        return f"<record>{header}</record>"
    return (
        f"<record>{header}<metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title>{extra}</oai_dc:dc></metadata></record>"
    )


def list_records(records: str, token: str | None = None) -> bytes:
    resumption = f"<resumptionToken>{token}</resumptionToken>" if token is not None else ""
    return oai(f"<ListRecords>{records}{resumption}</ListRecords>")


@dataclass(frozen=True)
class Raw:
    """An answer that writes to the connection itself (slow, hanging...)."""

    write: Callable[[BaseHTTPRequestHandler], None]


# An answer: a 200 XML body, (status, headers, body), or Raw.
Answer = bytes | tuple[int, dict[str, str], bytes] | Raw


@dataclass
class Scenario:
    """verb -> answer, or a function of the request's arguments."""

    answers: dict[str, Answer | Callable[[dict[str, str]], Answer]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)


class OAIServer:
    """`with OAIServer() as server: server.scenarios["x"] = Scenario(...); url = server.url("x")`"""

    def __init__(self) -> None:
        self.scenarios: dict[str, Scenario] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - quiet tests
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                name = parts.path.strip("/").split("/")[0]
                args = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                scenario = server.scenarios.get(name)
                if scenario is None:
                    self._send(404, {}, b"inconnu")
                    return
                scenario.calls.append(args)
                answer = scenario.answers.get(args.get("verb", ""), b"")
                if callable(answer):
                    answer = answer(args)
                if isinstance(answer, Raw):
                    answer.write(self)
                    return
                if isinstance(answer, tuple):
                    self._send(*answer)
                else:
                    self._send(200, {"Content-Type": "text/xml"}, answer)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{scenario}/oai"

    def __enter__(self) -> OAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def trickle(body: bytes, pause: float) -> Raw:
    """An answer sent one byte at a time."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the client gave up: that is the point

    return Raw(send)


def hang(seconds: float) -> Raw:
    """Accept the request and say nothing for `seconds`."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        handler.close_connection = True

    return Raw(send)
