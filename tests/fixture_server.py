"""A real HTTP server on 127.0.0.1 whose answers tests set, and which records what it receives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
    at: float = 0.0  # time.monotonic() when it arrived


class FixtureServer:
    """Serves `routes` (path -> Route); unknown paths are 404. Records every request.

    A route with an ETag header answers 304 to a request whose If-None-Match matches it.
    A handler (`answer`) decides the Route of each request to its path, e.g. 429 then 200.
    `in_flight` counts requests being answered; `max_in_flight` is the most seen at once.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.handlers: dict[str, Callable[[Received], Route]] = {}
        self.received: list[Received] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = _QuietServer((host, 0), _handler_for(self))
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

    def answer(self, path: str, handler: Callable[[Received], Route]) -> None:
        """Let `handler` decide what `path` answers, request by request."""
        self.handlers[path] = handler

    def route_for(self, request: Received) -> Route:
        path = request.path.split("?")[0]
        handler = self.handlers.get(path)
        if handler is not None:
            return handler(request)
        route = self.routes.get(path) or self.routes.get(request.path)
        return route or Route(b"not found", 404, {"Content-Type": "text/plain"})

    def entered(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def left(self) -> None:
        with self._lock:
            self.in_flight -= 1

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
            server.entered()
            try:  # in flight until the answer starts: the client cannot be ahead of the count
                route = self._route()
            finally:
                server.left()
            self._send(route)

        def _route(self) -> Route:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Received(self.command, self.path, self.headers, body, time.monotonic())
            server.received.append(request)
            route = server.route_for(request)
            time.sleep(route.delay)
            return route

        def _send(self, route: Route) -> None:
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
