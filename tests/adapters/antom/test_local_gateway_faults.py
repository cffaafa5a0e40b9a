"""The local Antom gateway's scripted faults, over real loopback HTTP."""

from __future__ import annotations

import time
from typing import Iterator

import httpx
import pytest

from paycancel.errors import ValidationError
from paycancel.testing import FakeClock
from paycancel_antom.testing import (
    DropAnswer,
    LocalAntomGateway,
    PaymentState,
    SlowAnswer,
    Throttle,
    UnknownStreak,
    UnsignedFailure,
    WrongSignature,
)
from paycancel_wire import RequestSigner
from paycancel_wire.errors import SignatureError
from tests.adapters.antom.local_support import (
    CLIENT,
    START,
    code,
    make_gateway,
    payment,
    post,
    verified,
)
from tests.adapters.keys import stranger


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def gateway(clock: FakeClock) -> Iterator[LocalAntomGateway]:
    with make_gateway(clock) as server:
        server.add_payment(payment("a"))
        server.add_payment(payment("b"))
        yield server


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def state_of(gateway: LocalAntomGateway, name: str) -> PaymentState:
    found = gateway.payment(payment_id=f"pay-{name}")
    assert found is not None
    return found.state


def test_an_unknown_streak_answers_u_without_cancelling_then_the_cancel_goes_through(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(UnknownStreak(count=2))
    for _ in range(2):
        answer = verified(post(http_client, gateway, clock, {"paymentId": "pay-a"}))
        assert (answer.result.status, answer.result.code) == ("U", "UNKNOWN_EXCEPTION")
        assert answer.signed
        assert state_of(gateway, "a") is PaymentState.PAID
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-a"})) == ("S", "SUCCESS")
    assert [r.fault for r in gateway.received] == ["UnknownStreak", "UnknownStreak", None]
    assert gateway.pending_faults() == []


def test_an_unknown_streak_with_another_code(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(UnknownStreak(code="SYSTEM_BUSY"))
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-a"})) == ("U", "SYSTEM_BUSY")


def test_throttle_answers_u_request_traffic_exceed_limit(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(Throttle())
    throttled = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    assert code(throttled) == ("U", "REQUEST_TRAFFIC_EXCEED_LIMIT")
    assert state_of(gateway, "a") is PaymentState.PAID


@pytest.mark.parametrize("apply", [True, False])
def test_a_dropped_answer_closes_the_connection(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock, apply: bool
) -> None:
    gateway.script(DropAnswer(apply=apply))
    with pytest.raises(httpx.RemoteProtocolError):
        post(http_client, gateway, clock, {"paymentId": "pay-a"})
    expected = PaymentState.CANCELLED if apply else PaymentState.PAID
    assert state_of(gateway, "a") is expected
    last = gateway.received[-1]
    assert (last.result, last.fault) == (None, "DropAnswer")
    # the next call (a new connection) is answered normally
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-a"})) == ("S", "SUCCESS")


def test_a_slow_answer_applies_first_and_answers_late(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(SlowAnswer(delay=0.3), SlowAnswer(delay=0.3))
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        post(http_client, gateway, clock, {"paymentId": "pay-a"}, timeout=0.1)
    assert state_of(gateway, "a") is PaymentState.CANCELLED  # applied although unanswered
    answered = post(http_client, gateway, clock, {"paymentId": "pay-b"})
    assert time.perf_counter() - started >= 0.3 + 0.1
    assert code(answered) == ("S", "SUCCESS")


def test_an_unsigned_failure_has_no_signature_headers(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(UnsignedFailure())
    response = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    assert not {"signature", "response-time", "client-id"} & set(response.headers)
    answer = verified(response)
    assert (answer.result.status, answer.result.code, answer.signed) == ("F", "PROCESS_FAIL", False)
    assert state_of(gateway, "a") is PaymentState.PAID


def test_an_unsigned_failure_in_the_sdk_form_has_blank_signature_headers(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(UnsignedFailure(code="ACCESS_DENIED", blank_headers=True))
    response = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    assert response.headers["signature"] == "algorithm=RSA256,keyVersion=1,signature="
    assert response.headers["response-time"] == ""
    assert response.headers["client-id"] == CLIENT
    assert response.json()["result"]["resultCode"] == "ACCESS_DENIED"


def test_a_wrong_signature_fails_verification_but_the_cancel_happened(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(WrongSignature())
    response = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    assert response.headers["signature"].startswith("algorithm=RSA256,keyVersion=1,signature=")
    with pytest.raises(SignatureError):
        verified(response)
    assert state_of(gateway, "a") is PaymentState.CANCELLED
    assert gateway.received[-1].fault == "WrongSignature"


def test_faults_for_one_payment_leave_others_alone(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(Throttle(count=2), payment_request_id="req-b")
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-a"})) == ("S", "SUCCESS")
    # by paymentId: the fault matches the payment the request resolves to
    throttled = post(http_client, gateway, clock, {"paymentId": "pay-b"})
    assert code(throttled) == ("U", "REQUEST_TRAFFIC_EXCEED_LIMIT")
    throttled = post(http_client, gateway, clock, {"paymentRequestId": "req-b"})
    assert code(throttled) == ("U", "REQUEST_TRAFFIC_EXCEED_LIMIT")
    assert code(post(http_client, gateway, clock, {"paymentId": "pay-b"})) == ("S", "SUCCESS")


def test_faults_are_consumed_in_order(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(Throttle(), UnknownStreak(), payment_id="pay-a")
    assert gateway.pending_faults() == [Throttle(), UnknownStreak()]
    first = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    second = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    assert code(first) == ("U", "REQUEST_TRAFFIC_EXCEED_LIMIT")
    assert code(second) == ("U", "UNKNOWN_EXCEPTION")
    gateway.script(Throttle(count=5))
    gateway.clear_faults()
    assert gateway.pending_faults() == []


def test_a_request_refused_by_the_envelope_takes_no_fault(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(Throttle())
    forged = RequestSigner(client_id=CLIENT, private_key=stranger().private)
    refused = post(http_client, gateway, clock, {"paymentId": "pay-a"}, signer=forged)
    assert code(refused) == ("F", "INVALID_SIGNATURE")
    throttled = post(http_client, gateway, clock, {"paymentId": "pay-a"})
    assert code(throttled) == ("U", "REQUEST_TRAFFIC_EXCEED_LIMIT")


def test_a_fault_for_an_unknown_payment_matches_the_ids_in_the_body(
    gateway: LocalAntomGateway, http_client: httpx.Client, clock: FakeClock
) -> None:
    gateway.script(UnknownStreak(), payment_request_id="req-later")
    early = post(http_client, gateway, clock, {"paymentRequestId": "req-later"})
    assert code(early) == ("U", "UNKNOWN_EXCEPTION")
    assert code(post(http_client, gateway, clock, {"paymentRequestId": "req-later"})) == (
        "F",
        "ORDER_NOT_EXIST",
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: UnknownStreak(count=0),
        lambda: Throttle(count=-1),
        lambda: DropAnswer(count=True),
        lambda: SlowAnswer(delay=-1),
        lambda: UnsignedFailure(code=""),
        lambda: UnknownStreak(code="X" * 65),
    ],
)
def test_faults_validate(make: object) -> None:
    with pytest.raises(ValidationError):
        make()  # type: ignore[operator]  # a lambda


def test_script_refuses_what_is_not_a_fault(gateway: LocalAntomGateway) -> None:
    with pytest.raises(ValidationError):
        gateway.script("drop")  # type: ignore[arg-type]  # deliberately wrong
