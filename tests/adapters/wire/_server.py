"""A real HTTP server on loopback for the transport tests, told per test how to answer.

Each test sets :attr:`WireServer.respond` to a function from the :class:`Received` request to a
:class:`Reply`: a body with headers (signed with :class:`~paycancel_wire.ResponseSigner` or not),
an HTTP status, a delay before answering, a connection closed without any answer, or raw bytes
that are not HTTP at all. Every request is recorded as it arrived (target, headers, body bytes,
the client's port), so tests can verify what went over the wire.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import socket
import threading
from typing import Callable, Mapping

import attrs

from paycancel_wire import ResponseSigner, encode_body

__all__ = ["Received", "Reply", "WireServer", "free_port", "signed_reply", "unsigned_reply"]


@attrs.frozen
class Received:
    """One request as the server read it off the socket."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_port: int

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (case-insensitive)."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@attrs.frozen
class Reply:
    """What to do with one request.

    Attributes:
        status: the HTTP status to answer with.
        headers: the answer's headers (``Content-Length`` is added).
        body: the answer's body.
        delay: seconds to wait before answering (cut short when the server stops).
        close: close the connection without writing anything.
        raw: write these bytes (not HTTP) and close, instead of an HTTP answer.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0
    close: bool = False
    raw: bytes | None = None


Responder = Callable[[Received], Reply]


def unsigned_reply(body: bytes, *, status: int = 200) -> Responder:
    """Answer every request with ``body`` and no signature headers."""
    headers = (("content-type", "application/json; charset=UTF-8"),)
    return lambda _received: Reply(status=status, headers=headers, body=body)


def signed_reply(
    fields: Mapping[str, object] | bytes,
    *,
    signer: ResponseSigner,
    now: dt.datetime,
    client_id: str | None = None,
) -> Responder:
    """Answer every request with ``fields`` signed by ``signer`` for the request's URI and
    ``Client-Id`` (or ``client_id`` when given, to answer as someone else)."""
    body = fields if isinstance(fields, bytes) else encode_body(fields)

    def respond(received: Received) -> Reply:
        headers = signer.headers(
            method=received.method,
            uri=received.target,
            client_id=client_id or received.header("client-id") or "",
            body=body,
            now=now,
        )
        return Reply(headers=tuple(headers), body=body)

    return respond


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log line on stderr."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        received = Received(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            client_port=self.client_address[1],
        )
        owner = self.server.owner
        owner.record(received)
        reply = owner.respond(received)
        if reply.delay and owner.stopping.wait(reply.delay):
            self.close_connection = True
            return
        try:
            self._send(reply)
        except OSError:  # the client gave up (timeout) and closed its end
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        if reply.close:
            self.close_connection = True
            return
        if reply.raw is not None:
            self.wfile.write(reply.raw)
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: WireServer) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def wake_all(self) -> None:
        """Unblock handler threads still waiting for a next request on a kept-alive socket."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)


def _default(_received: Received) -> Reply:
    return Reply(status=500, body=b"no responder configured")


class WireServer:
    """A threaded HTTP server on ``127.0.0.1`` and a free port; use as a context manager."""

    def __init__(self) -> None:
        self.respond: Responder = _default
        self.stopping = threading.Event()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        """The requests so far, oldest first."""
        with self._lock:
            return list(self._received)

    def record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.wake_all()
        self._server.server_close()
        self._thread.join(timeout=5)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
