"""``kjob ui``'s web server: the standard library's threading HTTP server, bound to 127.0.0.1.

Routes (all ``GET``)::

    /                               the runs, newest first
    /runs/RUN                       a run's page (the DAG drawn in, states polled)
    /api/runs/RUN/state             the run's phase, progress and each box's state (JSON, with an ETag)
    /api/runs/RUN/dag.svg           the DAG drawing
    /api/runs/RUN/gantt.svg         the timeline of attempts
    /api/runs/RUN/node?id=NODE      a node's inputs, outputs, attempts and what is inside it (JSON)
    /api/runs/RUN/log?id=NODE&attempt=N   the tail of an attempt's log (text)
    /assets/page.js, /assets/page.css

A request whose ``Host`` is not this machine's loopback name and port is refused (403), so a web page
elsewhere cannot reach the server through DNS rebinding; every page is served with a Content Security
Policy that allows kjob's own script only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kjob.errors import KjobError
from kjob.ui import views
from kjob.ui.model import node_detail
from kjob.ui.page import ASSETS, asset, runs_page
from kjob.ui.source import Loaded, NoSuchRun, RunSource, as_json

HOST = "127.0.0.1"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
_RUN_ROUTE = re.compile(r"^/api/runs/([^/]+)/(state|dag\.svg|gantt\.svg|node|log)$")


class UiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, source: RunSource) -> None:
        self.source = source
        super().__init__((HOST, port), Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]"))


class Handler(BaseHTTPRequestHandler):
    server: UiServer
    server_version = "kjob-ui"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal running ``kjob ui`` is not a request log."""

    def do_GET(self) -> None:
        if self.headers.get("Host", "").lower() not in self.server.allowed_hosts():
            self._send(HTTPStatus.FORBIDDEN, b"kjob ui answers requests for 127.0.0.1 only\n", "text/plain")
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            self._route(url.path, query)
        except NoSuchRun as err:
            self._send(HTTPStatus.NOT_FOUND, f"{err.message}\n".encode(), "text/plain")
        except KjobError as err:
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"{err.render()}\n".encode(), "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        source = self.server.source
        if path == "/":
            self._html(runs_page(*source.summaries()))
            return
        if path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", None)
            return
        if path.startswith("/assets/") and path[len("/assets/") :] in ASSETS:
            name = path[len("/assets/") :]
            self._send(HTTPStatus.OK, asset(name), _TYPES[name.rsplit(".", 1)[1]], cache="max-age=60")
            return
        if path.startswith("/runs/") and "/" not in path[len("/runs/") :]:
            loaded = source.load(unquote(path[len("/runs/") :]))
            self._html(views.served_page(loaded, abandoned=source.abandoned(loaded)))
            return
        match = _RUN_ROUTE.match(path)
        if match is None:
            self._send(HTTPStatus.NOT_FOUND, b"no such page\n", "text/plain")
            return
        run_id, what = unquote(match.group(1)), match.group(2)
        loaded = source.load(run_id)
        handlers: dict[str, Callable[[], None]] = {
            "state": lambda: self._state(loaded),
            "dag.svg": lambda: self._send(HTTPStatus.OK, views.dag_of(loaded).encode(), "image/svg+xml"),
            "gantt.svg": lambda: self._send(HTTPStatus.OK, views.gantt_of(loaded).encode(), "image/svg+xml"),
            "node": lambda: self._node(loaded, _one(query, "id")),
            "log": lambda: self._log(run_id, _one(query, "id"), _one(query, "attempt")),
        }
        handlers[what]()

    def _state(self, loaded: Loaded) -> None:
        abandoned = self.server.source.abandoned(loaded)
        etag = loaded.etag[:-1] + '-abandoned"' if abandoned else loaded.etag
        self._json(views.state_of(loaded, abandoned=abandoned), etag=etag)

    def _node(self, loaded: Loaded, node_id: str) -> None:
        detail = node_detail(loaded.record, node_id)
        if detail is None:
            self._send(HTTPStatus.NOT_FOUND, b"no such node\n", "text/plain")
            return
        self._json(detail)

    def _log(self, run_id: str, node_id: str, attempt: str) -> None:
        if not attempt.isdigit():
            self._send(HTTPStatus.BAD_REQUEST, b"attempt must be a number\n", "text/plain")
            return
        found = self.server.source.logs(run_id, [(node_id, int(attempt))])
        text = found.get(f"{node_id}#{attempt}")
        if text is None:
            self._send(HTTPStatus.NOT_FOUND, b"no such attempt\n", "text/plain")
            return
        self._send(HTTPStatus.OK, text.encode("utf-8", "replace"), "text/plain; charset=utf-8")

    def _html(self, text: str) -> None:
        self._send(HTTPStatus.OK, text.encode("utf-8", "replace"), "text/html; charset=utf-8")

    def _json(self, data: Any, *, etag: str | None = None) -> None:
        if etag is not None and self.headers.get("If-None-Match") == etag:
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, etag=etag)
            return
        self._send(HTTPStatus.OK, as_json(data), "application/json", etag=etag)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str | None,
        *,
        etag: str | None = None,
        cache: str = "no-cache",
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if etag is not None:
            self.send_header("ETag", etag)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)


def _one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    return values[0] if values else ""
