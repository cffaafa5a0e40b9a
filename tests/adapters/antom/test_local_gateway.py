"""The local Antom gateway over real loopback HTTP: states (S4), ids (S2), the envelope checks,
the wire format the official SDK needs (absolute-form targets, lowercase headers)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import time
from typing import Any, Callable, Iterator

import httpx
import pytest

from paycancel import UTC8
from paycancel.errors import ValidationError
from paycancel.testing import FakeClock
from paycancel_antom import CANCEL_PATH, SANDBOX_CANCEL_PATH
from paycancel_antom.testing import AntomPayment, LocalAntomGateway, PaymentState
from paycancel_wire import RequestSigner, encode_body
from tests.adapters.antom.local_support import (
    CLIENT,
    SIGNER,
    START,
    code,
    make_gateway,
    payment,
    post,
    verified,
)
from tests.adapters.keys import merchant, stranger


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def gateway(clock: FakeClock) -> Iterator[LocalAntomGateway]:
    with make_gateway(clock) as server:
        yield server


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


# -- states ------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [PaymentState.UNPAID, PaymentState.PAID])
def test_an_unpaid_or_paid_payment_is_cancelled(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock, state: PaymentState
) -> None:
    gateway.add_payment(payment("a", state))
    clock.advance(seconds=90.25)
    answer = verified(post(http_client, gateway, clock, {"paymentId": "pay-a"}))
    assert (answer.result.status, answer.result.code, answer.result.message) == (
        "S",
        "SUCCESS",
        "Success",
    )
    assert answer.signed
    assert dict(answer.body) == {
        "result": {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "Success"},
        "paymentId": "pay-a",
        "paymentRequestId": "req-a",
        "cancelTime": "2026-11-22T10:01:30+08:00",
    }
    stored = gateway.payment(payment_id="pay-a")
    assert stored is not None
    assert stored.state is PaymentState.CANCELLED
    assert stored.cancel_time == dt.datetime(2026, 11, 22, 10, 1, 30, tzinfo=UTC8)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (PaymentState.REFUNDED, "PROCESS_FAIL"),
        (PaymentState.CAPTURED, "ORDER_STATUS_INVALID"),
    ],
)
def test_refunded_and_captured_payments_are_refused(
    gateway: LocalAntomGateway,
    http_client: httpx.Client,
    clock: FakeClock,
    state: PaymentState,
    expected: str,
) -> None:
    gateway.add_payment(payment("a", state))
    answer = verified(post(http_client, gateway, clock, {"paymentRequestId": "req-a"}))
    assert (answer.result.status, answer.result.code) == ("F", expected)
    assert set(answer.body) == {"result"}
    assert gateway.payment(payment_request_id="req-a") == payment("a", state)


def test_a_cancelled_payment_gets_the_same_answer_byte_for_byte(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.add_payment(payment("a"))
    first = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    clock.advance(seconds=45)
    again = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    by_request_id = post(http_client, gateway, clock, {"paymentRequestId": "req-a"})
    assert code(first) == code(again) == code(by_request_id) == ("S", "SUCCESS")
    assert first.content == again.content == by_request_id.content
    assert first.headers["response-time"] != again.headers["response-time"]


def test_a_payment_registered_as_cancelled_replays_its_cancel_time(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    cancelled_at = dt.datetime(2026, 11, 22, 1, 2, 3, tzinfo=dt.timezone.utc)
    gateway.add_payment(payment("a", PaymentState.CANCELLED, cancel_time=cancelled_at))
    answer = verified(post(http_client, gateway, clock, {"paymentId": "pay-a"}))
    assert answer.body["cancelTime"] == "2026-11-22T09:02:03+08:00"


def test_payment_id_wins_over_payment_request_id(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.add_payment(payment("a"))
    gateway.add_payment(payment("b"))
    answer = verified(
        post(http_client, gateway, clock, {"paymentId": "pay-a", "paymentRequestId": "req-b"})
    )
    assert answer.body["paymentRequestId"] == "req-a"
    assert gateway.payment(payment_id="pay-b") == payment("b")
    unknown_id = post(
        http_client, gateway, clock, {"paymentId": "pay-zzz", "paymentRequestId": "req-b"}
    )
    assert code(unknown_id) == ("F", "ORDER_NOT_EXIST")
    assert gateway.payment(payment_id="pay-b") == payment("b")


def test_an_unknown_payment_does_not_exist(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    answer = verified(post(http_client, gateway, clock, {"paymentRequestId": "req-nope"}))
    assert (answer.result.status, answer.result.code) == ("F", "ORDER_NOT_EXIST")
    assert answer.result.message == "The order does not exist."


def test_another_clients_payment_does_not_exist_for_this_one(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.add_payment(payment("theirs", client_id="OTHER_CLIENT"))
    gateway.add_payment(payment("ours", client_id=CLIENT))
    theirs = post(http_client, gateway, clock, {"paymentId": "pay-theirs"})
    assert code(theirs) == ("F", "ORDER_NOT_EXIST")
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-ours"})) == ("S", "SUCCESS")


def test_window_closed_refuses_but_an_earlier_cancel_still_replays(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.add_payment(payment("late"))
    gateway.add_payment(payment("done"))
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-done"})) == ("S", "SUCCESS")
    clock.set(dt.datetime(2026, 11, 23, 0, 15, tzinfo=UTC8))  # the exclusive end of the window
    late = post(http_client, gateway, clock, {"paymentId": "pay-late"})
    assert code(late) == ("F", "CANCEL_WINDOW_EXCEED")
    assert gateway.payment(payment_id="pay-late") == payment("late")
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-done"})) == ("S", "SUCCESS")


def test_no_window_never_refuses_for_lateness(http_client: httpx.Client) -> None:
    clock = FakeClock(START + dt.timedelta(days=400))
    with make_gateway(clock, window=None) as gateway:
        gateway.add_payment(payment("old"))
        assert code(post(http_client, gateway, clock, {"paymentId": "pay-old"})) == ("S", "SUCCESS")


# -- the envelope and the body -----------------------------------------------------------------


def test_the_sandbox_path_is_served(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.add_payment(payment("a"))
    response = post(http_client, gateway, clock, {"paymentId": "pay-a"}, path=SANDBOX_CANCEL_PATH)
    assert code(response, uri=SANDBOX_CANCEL_PATH) == ("S", "SUCCESS")


OTHER_CLIENT = "SOMEONE_ELSE"
STALE = dt.timedelta(minutes=6)
#: case -> (changes to the signed call, the code answered)
BAD_REQUESTS: dict[str, tuple[Callable[[FakeClock], dict[str, Any]], str]] = {
    "wrong-client-id": (
        lambda _: {"signer": RequestSigner(client_id=OTHER_CLIENT, private_key=merchant().private)},
        "INVALID_CLIENT",
    ),
    "unknown-key-version": (
        lambda _: {
            "signer": RequestSigner(
                client_id=CLIENT, private_key=merchant().private, key_version="2"
            )
        },
        "KEY_NOT_FOUND",
    ),
    "signed-by-a-stranger": (
        lambda _: {"signer": RequestSigner(client_id=CLIENT, private_key=stranger().private)},
        "INVALID_SIGNATURE",
    ),
    "stale-request-time": (lambda clock: {"sent_at": clock.now() - STALE}, "INVALID_SIGNATURE"),
    "future-request-time": (lambda clock: {"sent_at": clock.now() + STALE}, "INVALID_SIGNATURE"),
    "not-json": (lambda _: {"body": b'{"paymentId": '}, "PARAM_ILLEGAL"),
    "not-an-object": (lambda _: {"body": b'["pay-a"]'}, "PARAM_ILLEGAL"),
    "both-ids-null": (
        lambda _: {"body": b'{"paymentId": null, "paymentRequestId": null}'},
        "PARAM_ILLEGAL",
    ),
    "id-of-65-chars": (lambda _: {"fields": {"paymentRequestId": "r" * 65}}, "PARAM_ILLEGAL"),
    "id-not-a-string": (lambda _: {"body": b'{"paymentId": 12}'}, "PARAM_ILLEGAL"),
    "merchant-account-id-of-33-chars": (
        lambda _: {"fields": {"paymentId": "pay-a", "merchantAccountId": "m" * 33}},
        "PARAM_ILLEGAL",
    ),
    "unknown-path": (lambda _: {"path": "/ams/api/v1/payments/refund"}, "NO_INTERFACE_DEF"),
    "get": (lambda _: {"method": "GET"}, "NO_INTERFACE_DEF"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_requests_get_signed_f_answers(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock, case: str
) -> None:
    gateway.add_payment(payment("a"))
    make, expected = BAD_REQUESTS[case]
    options: dict[str, Any] = {"fields": {"paymentId": "pay-a"}}
    options.update(make(clock))
    response = post(http_client, gateway, clock, **options)
    assert response.status_code == 200
    signer = options.get("signer", SIGNER)
    answered = code(
        response,
        uri=options.get("path", CANCEL_PATH),
        client_id=signer.client_id,
        method=options.get("method", "POST"),
    )
    assert answered == ("F", expected)
    assert gateway.payment(payment_id="pay-a") == payment("a")
    last = gateway.received[-1].result
    assert last is not None
    assert last.code == expected


def test_a_request_without_client_id_is_answered_for_unknown(
    gateway: LocalAntomGateway, http_client: httpx.Client
) -> None:
    response = http_client.post(gateway.url + CANCEL_PATH, content=b'{"paymentId":"pay-a"}')
    assert code(response, client_id="unknown") == ("F", "INVALID_CLIENT")


def test_an_absolute_form_target_and_an_indented_body_as_the_sdk_sends_them(
    gateway: LocalAntomGateway, clock: FakeClock
) -> None:
    gateway.add_payment(payment("a"))
    body = json.dumps({"paymentRequestId": "req-a"}, indent=3).encode()
    headers = SIGNER.headers(method="POST", uri=CANCEL_PATH, body=body, now=clock.now())
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    try:
        target = f"http://127.0.0.1{CANCEL_PATH}"
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        raw_headers = response.getheaders()
    finally:
        connection.close()
    assert response.status == 200
    assert json.loads(content)["result"]["resultCode"] == "SUCCESS"
    names = [name for name, _ in raw_headers]
    assert {"signature", "client-id", "response-time", "content-type"} <= set(names)
    received = gateway.received[-1]
    assert (received.target, received.uri) == (target, CANCEL_PATH)
    assert received.body == body


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(4096)
    return head + b"\r\n\r\n" + rest


def test_answer_header_names_are_lowercase_on_the_wire_and_the_connection_stays_open(
    gateway: LocalAntomGateway, clock: FakeClock
) -> None:
    gateway.add_payment(payment("a"))
    body = encode_body({"paymentId": "pay-a"})
    headers = SIGNER.headers(method="POST", uri=CANCEL_PATH, body=body, now=clock.now())
    request = (
        f"POST {CANCEL_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(request)
        first = _read_answer(sock)
        sock.sendall(request)  # the same connection: HTTP/1.1 keep-alive
        second = _read_answer(sock)
    for raw in (first, second):
        assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
        head = raw.split(b"\r\n\r\n")[0]
        names = [line.split(b":")[0] for line in head.split(b"\r\n")[1:]]
        assert {b"signature", b"client-id", b"response-time", b"content-type"} <= set(names)
        assert all(name == name.lower() for name in names)
        assert b"\r\ncontent-type: application/json; charset=UTF-8\r\n" in raw
        assert b"\r\nsignature: algorithm=RSA256,keyVersion=1,signature=" in raw
    assert first.split(b"\r\n\r\n")[1] == second.split(b"\r\n\r\n")[1]


def test_a_chunked_body_is_read(gateway: LocalAntomGateway, clock: FakeClock) -> None:
    gateway.add_payment(payment("a"))
    body = encode_body({"paymentId": "pay-a"})
    headers = SIGNER.headers(method="POST", uri=CANCEL_PATH, body=body, now=clock.now())
    with httpx.Client() as client:
        response = client.post(
            gateway.url + CANCEL_PATH, content=iter([body[:5], body[5:]]), headers=headers
        )
    assert "content-length" not in gateway.received[-1].headers
    assert code(response) == ("S", "SUCCESS")


def test_a_bad_content_length_is_param_illegal(gateway: LocalAntomGateway) -> None:
    request = f"POST {CANCEL_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(request)
        raw = _read_answer(sock)
    assert b'"resultCode":"PARAM_ILLEGAL"' in raw
    assert b"\r\nconnection: close\r\n" in raw


# -- the received log and the API around it ----------------------------------------------------


def test_received_records_every_request_with_its_answer(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.add_payment(payment("a"))
    post(http_client, gateway, clock, {"paymentId": "pay-a"})
    post(http_client, gateway, clock, {"paymentId": "pay-a"}, path="/nowhere")
    first, second = gateway.received
    assert (first.method, first.uri, first.client_id, first.fault) == (
        "POST",
        CANCEL_PATH,
        CLIENT,
        None,
    )
    assert first.result is not None
    assert (first.result.status, first.result.code) == ("S", "SUCCESS")
    assert first.headers["client-id"] == CLIENT
    assert first.body == b'{"paymentId":"pay-a"}'
    assert first.at == START
    assert second.result is not None
    assert second.result.code == "NO_INTERFACE_DEF"
    received = gateway.received
    received.clear()  # a copy
    assert len(gateway.received) == 2
    gateway.clear_received()
    assert gateway.received == []


def test_add_payment_refuses_an_id_of_another_payment(gateway: LocalAntomGateway) -> None:
    gateway.add_payment(payment("a"))
    gateway.add_payment(payment("a", PaymentState.REFUNDED))  # the same ids: replaced
    assert gateway.payment(payment_id="pay-a") == payment("a", PaymentState.REFUNDED)
    with pytest.raises(ValidationError) as caught:
        gateway.add_payment(AntomPayment("pay-b", "req-a", PaymentState.PAID, START))
    assert caught.value.field == "payment_request_id"
    with pytest.raises(ValidationError) as caught:
        gateway.add_payment(AntomPayment("pay-a", "req-b", PaymentState.PAID, START))
    assert caught.value.field == "payment_id"
    with pytest.raises(ValidationError):
        gateway.payment()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"payment_id": ""}, "payment_id"),
        ({"payment_request_id": "x" * 65}, "payment_request_id"),
        ({"initiated_at": dt.datetime(2026, 1, 1)}, "initiated_at"),  # noqa: DTZ001  (naive on purpose)
        ({"state": PaymentState.CANCELLED}, "cancel_time"),
        ({"cancel_time": START}, "cancel_time"),
        ({"client_id": ""}, "client_id"),
    ],
)
def test_antom_payment_validates(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "payment_id": "p",
        "payment_request_id": "r",
        "state": PaymentState.PAID,
        "initiated_at": START,
    }
    values.update(changes)
    with pytest.raises(ValidationError) as caught:
        AntomPayment(**values)  # type: ignore[arg-type]  # deliberately bad values
    assert caught.value.field == field


def test_lifecycle(clock: FakeClock) -> None:
    gateway = make_gateway(clock)
    with pytest.raises(RuntimeError):
        _ = gateway.url
    gateway.start()
    try:
        assert gateway.url == f"http://127.0.0.1:{gateway.port}"
        with pytest.raises(RuntimeError):
            gateway.start()
        assert "127.0.0.1" in repr(gateway)
    finally:
        gateway.stop()
    gateway.stop()  # idempotent
    assert "stopped" in repr(gateway)


def test_stop_ends_idle_keep_alive_connections(clock: FakeClock) -> None:
    with httpx.Client() as client:
        with make_gateway(clock) as gateway:
            post(client, gateway, clock, {"paymentId": "pay-a"})  # leaves an idle connection
            port = gateway.port
            started = time.perf_counter()
        assert time.perf_counter() - started < 1.0  # stop did not wait for the idle client
    with pytest.raises(OSError):  # noqa: PT011  (ConnectionRefusedError on Linux)
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
