"""The local Antom gateway: a real HTTP(S) server on loopback that speaks Antom's cancel API."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from types import TracebackType
from typing import Mapping

import attrs
import structlog

from paycancel import SystemClock, WindowPolicy
from paycancel.errors import ValidationError
from paycancel.typing import Clock
from paycancel_antom import CANCEL_PATH, SANDBOX_CANCEL_PATH
from paycancel_wire import (
    DEFAULT_SKEW,
    KeyRing,
    PrivateKey,
    RequestVerifier,
    Result,
    header_map,
    request_uri,
)
from paycancel_wire.errors import ParamIllegalError, WireError

from ._cancel import CancelQuery, decide, failure, parse_cancel_body, unknown
from ._faults import DropAnswer, Fault, FaultScript, Throttle, UnknownStreak, UnsignedFailure
from ._http import Headers, Reply, SimulatorServer
from ._payments import AntomPayment
from ._reply import AnswerWriter

__all__ = ["CANCEL_PATHS", "LocalAntomGateway", "ReceivedRequest"]

logger = structlog.get_logger(__name__)

#: The paths answered (live and sandbox); any other gets ``F`` ``NO_INTERFACE_DEF``.
CANCEL_PATHS = (CANCEL_PATH, SANDBOX_CANCEL_PATH)


@attrs.frozen
class ReceivedRequest:
    """One request the gateway received, and what it did about it.

    Attributes:
        method: the HTTP method.
        target: the request target as sent (origin-form or absolute-form).
        uri: the path and query signed (:func:`paycancel_wire.request_uri`).
        headers: the request headers, lowercase names.
        body: the raw body.
        client_id: the ``Client-Id`` header, if any.
        at: the gateway clock when it arrived.
        result: what was answered; ``None`` if the answer was dropped.
        fault: the scripted fault that took it (its class name), if any.
    """

    method: str
    target: str
    uri: str
    headers: Mapping[str, str] = attrs.field(repr=False, hash=False)
    body: bytes = attrs.field(repr=False)
    client_id: str | None
    at: dt.datetime
    result: Result | None
    fault: str | None


class LocalAntomGateway:
    """Antom's cancel API on a loopback port, for tests and demos (S2, S4).

    Answers ``POST /ams/api/v1/payments/cancel`` and the sandbox path with Antom's envelope:
    requests verified against ``merchant_keys``, answers signed with ``antom_private_key`` and
    headers in lowercase, HTTP 200 for every answer. The official Antom Python SDK works against
    it unmodified (over TLS on port 443, trusting the certificate via ``SSL_CERT_FILE``).

    Example::

        with LocalAntomGateway(antom_private_key=antom, merchant_keys=ring) as gateway:
            gateway.add_payment(AntomPayment("P1", "R1", PaymentState.PAID, initiated_at))
            gateway.script(UnknownStreak(count=2))  # the next two cancels answer U
            ...  # point the code under test at gateway.url

    Args:
        antom_private_key: signs the answers (the merchant verifies with its public half).
        merchant_keys: the merchants' public keys, by client id and key version.
        window: the contract's cancel window; ``None`` never refuses for lateness.
        clock: the gateway's "now" (request-time checks, ``cancelTime``, the window); the
            system clock by default.
        host: the address to listen on.
        port: the port; 0 picks a free one (see :attr:`port`).
        tls: a server-side context (:func:`tls_context`): HTTPS; ``None``: plain HTTP.
        skew: how far a ``Request-Time`` may be from the gateway's now.
        key_version: the ``keyVersion`` named in the answers' signatures.
    """

    def __init__(
        self,
        *,
        antom_private_key: PrivateKey,
        merchant_keys: KeyRing,
        window: WindowPolicy | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        skew: dt.timedelta = DEFAULT_SKEW,
        key_version: str = "1",
    ) -> None:
        self._verifier = RequestVerifier(key_ring=merchant_keys, skew=skew)
        self._writer = AnswerWriter(private_key=antom_private_key, key_version=key_version)
        self._window = window
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._host = host
        self._requested_port = port
        self._tls = tls
        self._lock = threading.Lock()
        self._by_payment_id: dict[str, AntomPayment] = {}
        self._by_request_id: dict[str, str] = {}
        self._faults = FaultScript()
        self._received: list[ReceivedRequest] = []
        self._server: SimulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalAntomGateway:
        """Bind and serve in a daemon thread; returns ``self``.

        Raises:
            RuntimeError: already running.
            OSError: the port cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the local Antom gateway is already running")
        server = SimulatorServer((self._host, self._requested_port), self, self._tls)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"antom-local-gateway:{server.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        logger.info("antom_sim.started", url=self.url, tls=self._tls is not None)
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and close the socket (idempotent). Payments,
        scripted faults and the received log are kept: :meth:`start` serves them again."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.stopping.set()
        server.shutdown()
        thread.join()
        server.close_connections()
        server.server_close()
        self._server = self._thread = None
        logger.info("antom_sim.stopped", port=server.port)

    def __enter__(self) -> LocalAntomGateway:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served on.

        Raises:
            RuntimeError: not started.
        """
        if self._server is None:
            raise RuntimeError("the local Antom gateway is not running: call start() first")
        return self._server.port

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT`` (``http://`` without TLS); append the cancel path."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self._tls is not None else 'http'}://{host}:{self.port}"

    # -- state -----------------------------------------------------------------------------

    def add_payment(self, payment: AntomPayment) -> None:
        """Register ``payment``, replacing one with the same two ids.

        Raises:
            ValidationError: one of its ids belongs to another payment.
        """
        if not isinstance(payment, AntomPayment):
            raise ValidationError(message="add_payment needs an AntomPayment", field="payment")
        with self._lock:
            owner = self._by_request_id.get(payment.payment_request_id)
            if owner is not None and owner != payment.payment_id:
                raise ValidationError(
                    message=f"paymentRequestId {payment.payment_request_id!r} belongs to "
                    f"payment {owner!r}",
                    field="payment_request_id",
                )
            known = self._by_payment_id.get(payment.payment_id)
            if known is not None and known.payment_request_id != payment.payment_request_id:
                raise ValidationError(
                    message=f"paymentId {payment.payment_id!r} belongs to the payment request "
                    f"{known.payment_request_id!r}",
                    field="payment_id",
                )
            self._by_payment_id[payment.payment_id] = payment
            self._by_request_id[payment.payment_request_id] = payment.payment_id

    def payment(
        self, *, payment_id: str | None = None, payment_request_id: str | None = None
    ) -> AntomPayment | None:
        """The payment as it stands now; ``payment_id`` wins if both are given (as in the API).

        Raises:
            ValidationError: neither id given.
        """
        if payment_id is None and payment_request_id is None:
            raise ValidationError(
                message="give payment_id or payment_request_id", field="payment_id"
            )
        with self._lock:
            return self._find(payment_id, payment_request_id)

    def script(
        self,
        *faults: Fault,
        payment_id: str | None = None,
        payment_request_id: str | None = None,
    ) -> None:
        """Queue faults, consumed in order by the well-formed cancel requests they match.

        A request matches when it is about the payment named (by either of its ids: the ids of
        the payment it resolves to, or those in its body when the payment is unknown); with no
        id, any request matches. Requests refused for their signature or body take no fault.

        Raises:
            ValidationError: an argument that is not a fault.
        """
        with self._lock:
            self._faults.add(faults, payment_id=payment_id, payment_request_id=payment_request_id)

    def pending_faults(self) -> list[Fault]:
        """The faults not yet used up, in order."""
        with self._lock:
            return self._faults.pending()

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def clear_received(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._received.clear()

    # -- answering (called by the server's threads) ---------------------------------------

    def _find(self, payment_id: str | None, payment_request_id: str | None) -> AntomPayment | None:
        if payment_id is not None:
            return self._by_payment_id.get(payment_id)
        if payment_request_id is None:
            return None
        owner = self._by_request_id.get(payment_request_id)
        return None if owner is None else self._by_payment_id.get(owner)

    def _cancel(
        self, query: CancelQuery, client_id: str, now: dt.datetime
    ) -> tuple[Fault | None, Result, dict[str, str | None]]:
        with self._lock:
            payment = self._find(query.payment_id, query.payment_request_id)
            if payment is not None and payment.client_id not in (None, client_id):
                payment = None  # another merchant's payment: as good as unknown to this one
            if payment is None:
                ids = (query.payment_id, query.payment_request_id)
            else:
                ids = (payment.payment_id, payment.payment_request_id)
            fault = self._faults.take(payment_id=ids[0], payment_request_id=ids[1])
            if isinstance(fault, UnknownStreak):
                return fault, unknown(fault.code), {}
            if isinstance(fault, Throttle):
                return fault, unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"), {}
            if isinstance(fault, UnsignedFailure):
                return fault, failure(fault.code), {}
            decision = decide(payment, now=now, window=self._window)
            applies = not (isinstance(fault, DropAnswer) and not fault.apply)
            if decision.changed and applies and decision.payment is not None:
                self._by_payment_id[decision.payment.payment_id] = decision.payment
            return fault, decision.result, decision.fields

    def respond(
        self,
        *,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        body_error: ParamIllegalError | None,
    ) -> Reply:
        """Answer one request: what the server calls for each one it reads (also usable
        directly, without HTTP). Every answer is recorded in :attr:`received` and logged as
        ``antom_sim.request_answered`` (or ``antom_sim.answer_dropped``)."""
        started = time.perf_counter()
        now = self._clock.now()
        names = header_map(headers)
        client_id = names.get("client-id") or None
        try:
            uri = request_uri(target)
        except ValueError:
            uri = target
        fault: Fault | None = None
        fields: dict[str, str | None] = {}
        result: Result
        if method != "POST" or uri.split("?", 1)[0] not in CANCEL_PATHS:
            result = failure("NO_INTERFACE_DEF")
        elif body_error is not None:
            result = failure("PARAM_ILLEGAL", body_error.message)
        else:
            try:
                verified = self._verifier.verify(
                    method=method, target=target, headers=headers, body=body, now=now
                )
                query = parse_cancel_body(body)
            except WireError as exc:
                result = failure(exc.result_code, exc.message)
            else:
                fault, result, fields = self._cancel(query, verified.client_id, now)
        reply = self._writer.reply(
            method=method,
            uri=uri,
            client_id=client_id,
            now=now,
            fault=fault,
            result=result,
            fields=fields,
        )
        answered = None if reply.drop else result
        fault_name = None if fault is None else type(fault).__name__
        record = ReceivedRequest(
            method=method,
            target=target,
            uri=uri,
            headers=names,
            body=body,
            client_id=client_id,
            at=now,
            result=answered,
            fault=fault_name,
        )
        with self._lock:
            self._received.append(record)
        logger.info(
            "antom_sim.answer_dropped" if reply.drop else "antom_sim.request_answered",
            method=method,
            uri=uri,
            client_id=client_id,
            result_status=result.status,
            result_code=result.code,
            fault=fault_name,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return reply

    def __repr__(self) -> str:
        where = "stopped" if self._server is None else self.url
        return f"LocalAntomGateway({where}, payments={len(self._by_payment_id)})"
