"""A threaded werkzeug server for `kb serve`, the browser tests and the screenshots."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def bind_problem(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on (werkzeug would exit with an English message)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"adresse inconnue ({exc.strerror})"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


class QuietRequestHandler(WSGIRequestHandler):
    """No line per request (tests and screenshots); errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def is_wildcard(host: str) -> bool:
    """An address that listens on every interface (0.0.0.0, ::)."""
    return host in WILDCARD_HOSTS


def served_url(host: str, port: int) -> str:
    """The address of a server listening on host:port, for absolute links: the machine's
    name when it listens on every interface."""
    name = socket.gethostname() if is_wildcard(host) else host
    if ":" in name:  # IPv6
        name = f"[{name}]"
    return f"http://{name}:{port}"


def build_server(
    app: Flask | None, host: str = "127.0.0.1", port: int = 5000, quiet: bool = False
) -> BaseWSGIServer:
    """A threaded server bound to host:port (port 0: any free port). `app` may be None
    and set later (`server.app = ...`), before serving: `kb serve` makes the app once it
    knows the port."""
    handler = QuietRequestHandler if quiet else None
    return make_server(host, port, app, threaded=True, request_handler=handler)  # type: ignore[arg-type]


class ServerThread:
    """Serve an app from a background thread: `with ServerThread(app) as url: ...`."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = build_server(app, host, port, quiet=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.server_port}"

    def start(self) -> str:
        self.thread.start()
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
