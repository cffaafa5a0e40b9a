"""The ``httpx`` transports over real HTTP on loopback: what goes on the wire is what was signed,
and every way a call can end is sorted into one typed outcome (answer, not sent, no answer),
with one request per call and nothing secret in the logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Iterator

import httpx
import pytest
import structlog

from paycancel import NoAnswer, NotSent
from paycancel.testing import FakeClock
from paycancel_wire import (
    AsyncHttpTransport,
    HttpTransport,
    KeyRing,
    RequestSigner,
    RequestVerifier,
    ResponseSigner,
    ResponseVerifier,
    Result,
    SignatureHeader,
    WireAnswer,
    WireOutcome,
    check_base_url,
    encode_body,
)
from paycancel_wire.errors import InsecureTransportError, ParamIllegalError
from tests.adapters.keys import merchant, platform, stranger
from tests.adapters.wire._server import (
    Received,
    Reply,
    WireServer,
    free_port,
    signed_reply,
    unsigned_reply,
)

UTC8 = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC8)
CLIENT = "SANDBOX_5YBZ1234"
PATH = "/ams/api/v1/payments/cancel"
BODY = b'{\n   "paymentRequestId": "req-secret-body-7f3a"\n}'  # indented, as the SDKs send
TIMEOUT = 5.0
SHORT = 0.2

SUCCESS = {
    "result": {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "Success"},
    "paymentId": "answer-secret-body-91c2",
    "cancelTime": "2026-11-22T10:00:01+08:00",
}


def _fields(status: str, code: str) -> dict[str, object]:
    return {"result": {"resultStatus": status, "resultCode": code}}


@pytest.fixture
def server() -> Iterator[WireServer]:
    with WireServer() as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def _signer() -> RequestSigner:
    return RequestSigner(client_id=CLIENT, private_key=merchant().private)


def _verifier() -> ResponseVerifier:
    return ResponseVerifier(client_id=CLIENT, public_key=platform().public)


def _platform_signer() -> ResponseSigner:
    return ResponseSigner(private_key=platform().private)


def _post(base_url: str, clock: FakeClock, timeout: float = TIMEOUT) -> WireOutcome:
    with httpx.Client() as client:
        transport = HttpTransport(
            client=client, base_url=base_url, signer=_signer(), verifier=_verifier(), clock=clock
        )
        return transport.post(path=PATH, body=BODY, timeout=timeout, api="cancel")


async def _apost(base_url: str, clock: FakeClock, timeout: float = TIMEOUT) -> WireOutcome:
    async with httpx.AsyncClient() as client:
        transport = AsyncHttpTransport(
            client=client, base_url=base_url, signer=_signer(), verifier=_verifier(), clock=clock
        )
        return await transport.post(path=PATH, body=BODY, timeout=timeout, api="cancel")


def _settle(server: WireServer, count: int) -> list[Received]:
    """The requests the server got, after giving a (hidden) extra one time to arrive."""
    time.sleep(0.1)
    received = server.received
    assert len(received) == count
    return received


# --- what goes on the wire ---------------------------------------------------------------------


def test_the_body_on_the_wire_is_the_bytes_passed_and_is_what_was_signed(
    server: WireServer, clock: FakeClock
) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    _post(server.base_url, clock)

    (request,) = _settle(server, 1)
    assert request.method == "POST"
    assert request.target == PATH
    assert request.body == BODY
    assert request.header("Content-Type") == "application/json; charset=UTF-8"
    assert request.header("Client-Id") == CLIENT
    assert request.header("Request-Time") == "2026-11-22T10:00:00+08:00"
    verifier = RequestVerifier(key_ring=KeyRing([(CLIENT, "1", merchant().public)]))
    verified = verifier.verify(
        method=request.method,
        target=request.target,
        headers=list(request.headers),
        body=request.body,
        now=NOW,
    )
    assert (verified.client_id, verified.uri, verified.request_time) == (CLIENT, PATH, NOW)


def test_request_time_comes_from_the_clock(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)
    clock.advance(seconds=42)

    _post(server.base_url, clock)

    assert server.received[0].header("request-time") == "2026-11-22T10:00:42+08:00"


def test_a_query_string_is_sent_and_signed(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    with httpx.Client() as client:
        transport = HttpTransport(
            client=client,
            base_url=server.base_url,
            signer=_signer(),
            verifier=_verifier(),
            clock=clock,
        )
        outcome = transport.post(path=PATH + "?a=1", body=BODY, timeout=TIMEOUT)

    assert isinstance(outcome, WireAnswer)
    request = server.received[0]
    assert request.target == PATH + "?a=1"
    verifier = RequestVerifier(key_ring=KeyRing([(CLIENT, "1", merchant().public)]))
    verified = verifier.verify(
        method="POST", target=request.target, headers=request.headers, body=request.body, now=NOW
    )
    assert verified.uri == PATH + "?a=1"


# --- outcomes: answers -------------------------------------------------------------------------


def test_a_signed_answer_is_a_wire_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, WireAnswer)
    assert outcome.result == Result(status="S", code="SUCCESS", message="Success")
    assert outcome.body["paymentId"] == "answer-secret-body-91c2"
    assert outcome.body["cancelTime"] == "2026-11-22T10:00:01+08:00"
    assert outcome.signed is True
    assert outcome.http_status == 200
    assert dt.timedelta(0) <= outcome.elapsed < dt.timedelta(seconds=TIMEOUT)
    assert "answer-secret-body-91c2" not in repr(outcome)


@pytest.mark.parametrize("status", ["F", "U"])
def test_signed_f_and_u_are_answers(server: WireServer, clock: FakeClock, status: str) -> None:
    server.respond = signed_reply(_fields(status, "SOME_CODE"), signer=_platform_signer(), now=NOW)

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, WireAnswer)
    assert (outcome.result.status, outcome.result.code, outcome.signed) == (
        status,
        "SOME_CODE",
        True,
    )


def test_an_indented_answer_signed_as_sent_is_accepted(
    server: WireServer, clock: FakeClock
) -> None:
    indented = (
        b'{\n   "result": {\n      "resultStatus": "S",\n      "resultCode": "SUCCESS"\n   }\n}'
    )
    server.respond = signed_reply(indented, signer=_platform_signer(), now=NOW)

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, WireAnswer)
    assert outcome.result.code == "SUCCESS"


@pytest.mark.parametrize("status", ["F", "U"])
def test_unsigned_f_and_u_are_accepted_unsigned(
    server: WireServer, clock: FakeClock, status: str
) -> None:
    server.respond = unsigned_reply(encode_body(_fields(status, "ACCESS_DENIED")))

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, WireAnswer)
    assert outcome.signed is False
    assert outcome.result.status == status


def test_unsigned_s_is_no_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = unsigned_reply(encode_body(SUCCESS))

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, NoAnswer)


def test_a_wrong_signature_is_no_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(
        SUCCESS, signer=ResponseSigner(private_key=stranger().private), now=NOW
    )

    assert isinstance(_post(server.base_url, clock), NoAnswer)


def test_an_answer_for_another_client_is_no_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(
        SUCCESS, signer=_platform_signer(), now=NOW, client_id="SOMEONE_ELSE"
    )

    assert isinstance(_post(server.base_url, clock), NoAnswer)


def test_a_tampered_answer_is_no_answer(server: WireServer, clock: FakeClock) -> None:
    signed = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    def tampered(received: Received) -> Reply:
        reply = signed(received)
        return Reply(headers=reply.headers, body=reply.body.replace(b"91c2", b"91c3"))

    server.respond = tampered

    assert isinstance(_post(server.base_url, clock), NoAnswer)


@pytest.mark.parametrize("status", [500, 502, 404, 201])
def test_an_http_status_other_than_200_is_no_answer(
    server: WireServer, clock: FakeClock, status: int
) -> None:
    signed = signed_reply(_fields("F", "PROCESS_FAIL"), signer=_platform_signer(), now=NOW)
    server.respond = lambda received: Reply(
        status=status, headers=signed(received).headers, body=signed(received).body
    )

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, NoAnswer)
    assert str(status) in outcome.reason


@pytest.mark.parametrize(
    "body",
    [b"<html>Bad Gateway</html>", b"", b"\xff\xfe", b"[]", b'{"result":{"resultStatus":"X"}}'],
    ids=["html", "empty", "binary", "array", "bad-status"],
)
def test_a_garbage_body_is_no_answer(server: WireServer, clock: FakeClock, body: bytes) -> None:
    server.respond = unsigned_reply(body)

    assert isinstance(_post(server.base_url, clock), NoAnswer)


def test_bytes_that_are_not_http_are_no_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = lambda _received: Reply(raw=b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, NoAnswer)
    _settle(server, 1)


# --- outcomes: nothing came back ---------------------------------------------------------------


def test_a_read_timeout_is_no_answer_after_exactly_one_request(
    server: WireServer, clock: FakeClock
) -> None:
    signed = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)
    server.respond = lambda received: Reply(
        headers=signed(received).headers, body=signed(received).body, delay=3.0
    )

    started = time.perf_counter()
    outcome = _post(server.base_url, clock, timeout=SHORT)
    waited = time.perf_counter() - started

    assert isinstance(outcome, NoAnswer)
    assert "Timeout" in outcome.reason
    assert waited < 2.0
    _settle(server, 1)  # no hidden retry


def test_a_connection_closed_without_answer_is_no_answer_after_one_request(
    server: WireServer, clock: FakeClock
) -> None:
    server.respond = lambda _received: Reply(close=True)

    outcome = _post(server.base_url, clock)

    assert isinstance(outcome, NoAnswer)
    _settle(server, 1)


def test_nothing_listening_is_not_sent(clock: FakeClock) -> None:
    outcome = _post(f"http://127.0.0.1:{free_port()}", clock)

    assert isinstance(outcome, NotSent)
    assert outcome.reason


# --- the client's connection is reused ---------------------------------------------------------


def test_two_calls_on_one_client_share_one_connection(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    with httpx.Client() as client:
        transport = HttpTransport(
            client=client,
            base_url=server.base_url,
            signer=_signer(),
            verifier=_verifier(),
            clock=clock,
        )
        first = transport.post(path=PATH, body=BODY, timeout=TIMEOUT)
        second = transport.post(path=PATH, body=BODY, timeout=TIMEOUT)

    assert isinstance(first, WireAnswer)
    assert isinstance(second, WireAnswer)
    ports = [request.client_port for request in server.received]
    assert len(ports) == 2
    assert ports[0] == ports[1]


# --- base URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://example.com:443",
        "http://10.0.0.1",
        "http://0.0.0.0:8080",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
        "127.0.0.1:8080",
        "https://",
        "",
    ],
)
def test_check_base_url_refuses_plain_http_off_this_machine(url: str) -> None:
    with pytest.raises(InsecureTransportError) as caught:
        check_base_url(url)

    assert caught.value.url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1",
        "http://127.0.0.1",
        "http://127.8.9.10:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
        "https://example.com",
        "https://open-sea-global.alipay.com",
        "https://10.0.0.1:8443",
    ],
)
def test_check_base_url_accepts_https_anywhere_and_http_to_loopback(url: str) -> None:
    assert isinstance(check_base_url(url), httpx.URL)


def test_a_path_cannot_move_the_request_off_the_checked_base_url(clock: FakeClock) -> None:
    base = "https://open-sea-global.alipay.com"
    sent: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(500)

    with httpx.Client(transport=httpx.MockTransport(record)) as client:
        transport = HttpTransport(
            client=client, base_url=base, signer=_signer(), verifier=_verifier(), clock=clock
        )
        for bad in ("http://example.com" + PATH, "//example.com" + PATH, "ams/api"):
            with pytest.raises(ParamIllegalError):
                transport.post(path=bad, body=BODY, timeout=TIMEOUT)

    assert sent == []


def test_a_transport_refuses_an_insecure_base_url() -> None:
    with httpx.Client() as client, pytest.raises(InsecureTransportError):
        HttpTransport(
            client=client, base_url="http://example.com", signer=_signer(), verifier=_verifier()
        )


def test_transport_repr_shows_no_key_material() -> None:
    with httpx.Client() as client:
        transport = HttpTransport(
            client=client,
            base_url="https://example.com",
            signer=_signer(),
            verifier=_verifier(),
        )
        text = repr(transport)

    assert "https://example.com" in text
    assert "BEGIN" not in text


# --- logs --------------------------------------------------------------------------------------


def _secrets(request: Received) -> list[str]:
    signature = SignatureHeader.parse(request.header("signature")).value
    key_lines = [
        line
        for text in (merchant().pkcs1_pem, merchant().pkcs8_pem, platform().pkcs8_pem)
        for line in text.splitlines()
        if not line.startswith("-----")
    ]
    return [
        signature,
        signature[:24],
        "req-secret-body-7f3a",
        "answer-secret-body-91c2",
        merchant().pkcs8_base64[:32],
        merchant().public_base64[:32],
        *key_lines,
    ]


def test_logs_carry_no_key_signature_or_body(server: WireServer, clock: FakeClock) -> None:
    signed = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)
    wrong = signed_reply(SUCCESS, signer=ResponseSigner(private_key=stranger().private), now=NOW)
    plans = [
        signed,
        wrong,
        unsigned_reply(encode_body(SUCCESS)),
        lambda received: Reply(status=500, body=signed(received).body),
        lambda _received: Reply(close=True),
    ]

    with structlog.testing.capture_logs() as logs:
        for plan in plans:
            server.respond = plan
            _post(server.base_url, clock)
        _post(f"http://127.0.0.1:{free_port()}", clock)

    events = [entry["event"] for entry in logs]
    assert "wire.answer_received" in events
    assert "wire.answer_rejected" in events
    assert "wire.answer_missing" in events
    assert "wire.request_not_sent" in events
    shown = repr(logs)
    leaked = [s for s in _secrets(server.received[0]) if s and s in shown]
    assert leaked == []


def test_log_entries_name_the_api_and_outcome(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    with structlog.testing.capture_logs() as logs:
        _post(server.base_url, clock)

    (entry,) = [e for e in logs if e["event"] == "wire.answer_received"]
    assert entry["api"] == "cancel"
    assert entry["uri"] == PATH
    assert entry["result_status"] == "S"
    assert entry["result_code"] == "SUCCESS"
    assert entry["signed"] is True


# --- the asyncio transport ---------------------------------------------------------------------


def test_async_signed_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = signed_reply(SUCCESS, signer=_platform_signer(), now=NOW)

    outcome = asyncio.run(_apost(server.base_url, clock))

    assert isinstance(outcome, WireAnswer)
    assert outcome.result.code == "SUCCESS"
    assert outcome.signed is True
    (request,) = server.received
    assert request.body == BODY
    verifier = RequestVerifier(key_ring=KeyRing([(CLIENT, "1", merchant().public)]))
    verifier.verify(
        method="POST", target=request.target, headers=request.headers, body=request.body, now=NOW
    )


def test_async_unsigned_f_and_unsigned_s(server: WireServer, clock: FakeClock) -> None:
    server.respond = unsigned_reply(encode_body(_fields("F", "ACCESS_DENIED")))
    unsigned_f = asyncio.run(_apost(server.base_url, clock))
    server.respond = unsigned_reply(encode_body(SUCCESS))
    unsigned_s = asyncio.run(_apost(server.base_url, clock))

    assert isinstance(unsigned_f, WireAnswer)
    assert unsigned_f.signed is False
    assert isinstance(unsigned_s, NoAnswer)


def test_async_read_timeout_is_no_answer_after_one_request(
    server: WireServer, clock: FakeClock
) -> None:
    server.respond = lambda _received: Reply(body=b"{}", delay=3.0)

    outcome = asyncio.run(_apost(server.base_url, clock, timeout=SHORT))

    assert isinstance(outcome, NoAnswer)
    _settle(server, 1)


def test_async_connection_closed_is_no_answer(server: WireServer, clock: FakeClock) -> None:
    server.respond = lambda _received: Reply(close=True)

    assert isinstance(asyncio.run(_apost(server.base_url, clock)), NoAnswer)


def test_async_nothing_listening_is_not_sent(clock: FakeClock) -> None:
    outcome = asyncio.run(_apost(f"http://127.0.0.1:{free_port()}", clock))

    assert isinstance(outcome, NotSent)


def test_async_transport_refuses_an_insecure_base_url() -> None:
    async def build() -> None:
        async with httpx.AsyncClient() as client:
            AsyncHttpTransport(
                client=client,
                base_url="http://example.com",
                signer=_signer(),
                verifier=_verifier(),
            )

    with pytest.raises(InsecureTransportError):
        asyncio.run(build())
