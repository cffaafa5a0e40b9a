"""Shared pieces of the local Antom gateway tests: keys, a clock, and signed calls over httpx."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import httpx

from paycancel import UTC8, WindowPolicy
from paycancel.testing import FakeClock
from paycancel_antom import CANCEL_PATH
from paycancel_antom.testing import AntomPayment, LocalAntomGateway, PaymentState
from paycancel_wire import (
    KeyRing,
    RequestSigner,
    ResponseVerifier,
    VerifiedResponse,
    encode_body,
)
from tests.adapters.keys import merchant, platform

CLIENT = "MERCHANT_CLIENT_1"
START = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC8)
#: Until 00:15 UTC+8 on T+1, like Alipay+'s ACQP window.
WINDOW = WindowPolicy(cutoff=dt.time(0, 15), day_offset=1, name="contract")
SIGNER = RequestSigner(client_id=CLIENT, private_key=merchant().private)


def key_ring() -> KeyRing:
    ring = KeyRing()
    ring.add(CLIENT, merchant().public)
    return ring


def make_gateway(clock: FakeClock, **options: Any) -> LocalAntomGateway:
    settings: dict[str, Any] = {"window": WINDOW, "clock": clock}
    settings.update(options)
    return LocalAntomGateway(
        antom_private_key=platform().private, merchant_keys=key_ring(), **settings
    )


def payment(
    name: str,
    state: PaymentState = PaymentState.PAID,
    *,
    initiated_at: dt.datetime = START,
    **extra: Any,
) -> AntomPayment:
    return AntomPayment(
        payment_id=f"pay-{name}",
        payment_request_id=f"req-{name}",
        state=state,
        initiated_at=initiated_at,
        **extra,
    )


def post(
    http: httpx.Client,
    gateway: LocalAntomGateway,
    clock: FakeClock,
    fields: Mapping[str, object] | None = None,
    *,
    body: bytes | None = None,
    path: str = CANCEL_PATH,
    signer: RequestSigner = SIGNER,
    sent_at: dt.datetime | None = None,
    method: str = "POST",
    timeout: float = 5.0,
) -> httpx.Response:
    """A signed request, as a merchant sends it."""
    raw = body if body is not None else encode_body(fields or {})
    headers = signer.headers(
        method=method, uri=path, body=raw, now=sent_at if sent_at is not None else clock.now()
    )
    return http.request(method, gateway.url + path, content=raw, headers=headers, timeout=timeout)


def verified(
    response: httpx.Response,
    *,
    uri: str = CANCEL_PATH,
    client_id: str = CLIENT,
    method: str = "POST",
) -> VerifiedResponse:
    """The answer, checked as a merchant checks it (Antom's public key); always HTTP 200."""
    assert response.status_code == 200
    verifier = ResponseVerifier(client_id=client_id, public_key=platform().public)
    return verifier.verify(
        method=method, uri=uri, headers=response.headers.multi_items(), body=response.content
    )


def code(response: httpx.Response, **options: Any) -> tuple[str, str]:
    result = verified(response, **options).result
    return result.status, result.code
