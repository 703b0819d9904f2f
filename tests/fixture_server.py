"""A real HTTP server on 127.0.0.1 whose answers tests set, and which records what it receives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the server answers for one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class Received:
    """One request the server got."""

    method: str
    path: str
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes


class FixtureServer:
    """Serves `routes` (path -> Route); unknown paths are 404. Records every request.

    A route with an ETag header answers 304 to a request whose If-None-Match matches it.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.received: list[Received] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, body: bytes | str = b"", *, status: int = 200,
            content_type: str = "text/html; charset=utf-8", delay: float = 0.0,
            headers: dict[str, str] | None = None) -> None:
        """Make `path` answer with this body from now on."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        self.routes[path] = Route(raw, status, all_headers, delay)

    def requests_to(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (timeouts under test) are expected, not errors."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(Received(self.command, self.path, self.headers, body))
            route = server.routes.get(self.path.split("?")[0]) or server.routes.get(self.path)
            if route is None:
                route = Route(b"not found", 404, {"Content-Type": "text/plain"})
            time.sleep(route.delay)
            etag = route.headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:
                route = Route(b"", 304, {"ETag": etag})
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if self.command != "HEAD" and route.status != 304:
                self.wfile.write(route.body)

        do_GET = do_POST = do_HEAD = do_PUT = _answer

    return Handler
