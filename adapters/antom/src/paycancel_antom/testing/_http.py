"""The HTTP(S) side of the local gateway: a threading ``http.server`` that reads each request,
hands it to a :class:`Responder` and writes the reply exactly as given (lowercase header names).

Every request is answered by the responder, whatever its method or path; the server adds only
framing (``content-length``, ``connection: close`` when it closes). TLS handshakes run in the
connection's own thread, so a client that stalls or refuses the certificate holds up nobody.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import socketserver
import ssl
import sys
import threading
from typing import Any, List, Protocol, Tuple

import attrs
import structlog

from paycancel_wire.errors import ParamIllegalError

__all__ = ["MAX_BODY", "Reply", "Responder", "SimulatorServer"]

logger = structlog.get_logger(__name__)

#: Bodies above this size are refused (a cancel body is well under 1 KiB).
MAX_BODY = 1 << 20
_MAX_LINE = 65536
Headers = List[Tuple[str, str]]


@attrs.frozen
class Reply:
    """What to send back: ``headers`` and ``body`` with status 200 after ``delay`` seconds, or
    nothing at all (``drop``: the connection is closed)."""

    headers: Headers
    body: bytes
    drop: bool = False
    delay: float = 0.0


class Responder(Protocol):
    """Turns one received request into a :class:`Reply`."""

    def respond(
        self,
        *,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        body_error: ParamIllegalError | None,
    ) -> Reply: ...


class _BodyError(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    #: Idle keep-alive connections (and stalled handshakes) are closed after this many seconds.
    timeout = 30.0
    server: SimulatorServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def handle_one_request(self) -> None:
        # The stdlib version answers methods without a ``do_<METHOD>`` with 501; Antom answers
        # every request with its own envelope, so everything goes to _serve.
        try:
            self.raw_requestline = self.rfile.readline(_MAX_LINE + 1)
            if not self.raw_requestline or len(self.raw_requestline) > _MAX_LINE:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
            self.wfile.flush()
        except socket.timeout:
            self.close_connection = True

    def _serve(self) -> None:
        body_error: ParamIllegalError | None = None
        try:
            body = self._read_body()
        except _BodyError as exc:
            body = b""
            body_error = ParamIllegalError(message=str(exc), field="body", reason="invalid")
            self.close_connection = True  # the rest of the stream cannot be framed any more
        reply = self.server.responder.respond(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            body_error=body_error,
        )
        if reply.delay and self.server.stopping.wait(reply.delay):
            reply = attrs.evolve(reply, drop=True)  # stopping: give up on the slow answer
        if reply.drop:
            self.close_connection = True
            return
        lines = ["HTTP/1.1 200 OK", *(f"{name}: {value}" for name, value in reply.headers)]
        lines.append(f"content-length: {len(reply.body)}")
        if self.close_connection:
            lines.append("connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if self.command == "HEAD" else head + reply.body)

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None and "chunked" in encoding.lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw.strip())
        except ValueError:
            raise _BodyError(f"Content-Length is not a number: {raw[:20]!r}") from None
        if not 0 <= length <= MAX_BODY:
            raise _BodyError(f"Content-Length must be 0 to {MAX_BODY}, got {length}")
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionError("the client closed the connection inside the body")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError("malformed chunked body") from None
            total += size
            if size < 0 or total > MAX_BODY:
                raise _BodyError(f"the body is over {MAX_BODY} bytes")
            if size == 0:
                while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers, ignored
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE + 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the gateway logs each answer through structlog instead."""


class SimulatorServer(http.server.ThreadingHTTPServer):
    """``ThreadingHTTPServer`` tuned for many short keep-alive calls, optionally over TLS.

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        responder: answers the requests.
        tls: a server-side context; the listening socket is wrapped with it.
    """

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], responder: Responder, tls: ssl.SSLContext | None
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.responder = responder
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_changed = threading.Condition()
        super().__init__(address, _Handler, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
            if tls is not None:
                self.socket = tls.wrap_socket(
                    self.socket, server_side=True, do_handshake_on_connect=False
                )
        except BaseException:
            self.server_close()
            raise

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup ``HTTPServer`` does (slow on some hosts)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection (so :meth:`close_connections` can end it), then serve it."""
        with self._open_changed:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Close a connection and stop tracking it."""
        try:
            super().shutdown_request(request)
        finally:
            with self._open_changed:
                self._open.discard(request)
                self._open_changed.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection failed: log it and keep serving. Network trouble (a TLS handshake
        refused, a client gone) is routine; anything else is a bug, logged with its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, EOFError)):
            logger.debug(
                "antom_sim.connection_failed",
                client=str(client_address[0]),
                error=type(error).__name__,
            )
        else:
            logger.exception("antom_sim.handler_failed", client=str(client_address[0]))

    def close_connections(self, timeout: float = 5.0) -> None:
        """End every open connection and wait (up to ``timeout`` s) for their threads."""
        with self._open_changed:
            for conn in list(self._open):
                # The plain-socket shutdown, also for TLS: it wakes a thread blocked in a
                # read without tearing the TLS object out from under it.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(conn, socket.SHUT_RDWR)
            self._open_changed.wait_for(lambda: not self._open, timeout)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server_address[1])
