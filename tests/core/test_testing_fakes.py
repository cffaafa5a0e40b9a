"""The shipped fakes in :mod:`paycancel.testing` behave as documented (users build on them)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel import (
    Answered,
    CancellationState,
    InquiryAnswered,
    Money,
    NoAnswer,
    NotSent,
    RefundRequestId,
    ResultStatus,
    ReversalFailed,
    Reversed,
)
from paycancel.errors import InvalidTimeError, ValidationError
from paycancel.testing import (
    FakeClock,
    FakeWallet,
    GatewayCall,
    ScriptedCancelGateway,
    ScriptedInquiryGateway,
    ScriptedRefundGateway,
    drain,
    failed,
    no_answer,
    success,
    unknown,
)
from tests.core._usecase_support import T0, acqp_order, make_rig, mpp_order

# -- FakeClock -----------------------------------------------------------------------------------


def test_fake_clock_starts_where_told_and_moves_only_when_told() -> None:
    clock = FakeClock(T0)
    assert clock.now() == T0
    assert clock.now() == T0
    assert clock.advance(seconds=1.5) == T0 + dt.timedelta(seconds=1.5)
    assert clock.advance(dt.timedelta(minutes=1), seconds=1) == T0 + dt.timedelta(seconds=62.5)
    clock.set(T0 + dt.timedelta(hours=1))
    assert clock.now() == T0 + dt.timedelta(hours=1)
    clock.set(clock.now())  # standing still is allowed
    assert "FakeClock(" in repr(clock)


def test_fake_clock_rejects_naive_times() -> None:
    naive = dt.datetime(2026, 1, 1)  # noqa: DTZ001 - the naive value under test
    with pytest.raises(InvalidTimeError):
        FakeClock(naive)
    clock = FakeClock(T0)
    with pytest.raises(InvalidTimeError):
        clock.set(naive)
    assert clock.now() == T0


@pytest.mark.parametrize(
    "move",
    [
        pytest.param(lambda c: c.advance(seconds=-1), id="advance-negative-seconds"),
        pytest.param(lambda c: c.advance(dt.timedelta(microseconds=-1)), id="advance-negative"),
        pytest.param(lambda c: c.set(T0 - dt.timedelta(microseconds=1)), id="set-earlier"),
    ],
)
def test_fake_clock_never_goes_backwards(move: Callable[[FakeClock], object]) -> None:
    clock = FakeClock(T0)
    with pytest.raises(ValidationError) as caught:
        move(clock)
    assert "backwards" in caught.value.message
    assert clock.now() == T0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-3600, 3600)), max_size=30))
def test_fake_clock_is_monotonic_whatever_is_asked(moves: list[tuple[bool, int]]) -> None:
    clock = FakeClock(T0)
    seen = [clock.now()]
    for use_set, seconds in moves:
        try:
            if use_set:
                clock.set(clock.now() + dt.timedelta(seconds=seconds))
            else:
                clock.advance(seconds=seconds)
        except ValidationError:
            assert seconds < 0
        seen.append(clock.now())
    assert seen == sorted(seen)


def test_fake_clock_is_thread_safe() -> None:
    clock = FakeClock(T0)

    def tick() -> None:
        for _ in range(200):
            clock.advance(seconds=1)

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert clock.now() == T0 + dt.timedelta(seconds=1600)


# -- answers -------------------------------------------------------------------------------------


def test_answer_helpers_build_typed_outcomes() -> None:
    assert success() == Answered(status=ResultStatus.SUCCEEDED, code="SUCCESS", message="Success")
    assert failed("PROCESS_FAIL") == Answered(status=ResultStatus.FAILED, code="PROCESS_FAIL")
    assert unknown() == Answered(status=ResultStatus.UNKNOWN, code="UNKNOWN_EXCEPTION")
    assert unknown("REQUEST_TRAFFIC_EXCEED_LIMIT").code == "REQUEST_TRAFFIC_EXCEED_LIMIT"
    assert no_answer() == NoAnswer("timed out")


# -- scripted gateways ---------------------------------------------------------------------------


def test_scripted_cancel_gateway_answers_in_order_and_repeats_the_last() -> None:
    clock = FakeClock(T0)
    gateway = ScriptedCancelGateway(clock=clock)
    order = acqp_order()
    gateway.script(order.key, unknown(), no_answer(), success())

    answers = []
    for attempt in range(1, 6):
        answers.append(gateway.cancel(order=order, attempt=attempt))
        clock.advance(seconds=5)

    assert answers == [unknown(), no_answer(), success(), success(), success()]
    assert gateway.calls == [
        GatewayCall(api="cancel", key=order.key, at=T0 + dt.timedelta(seconds=5 * n), attempt=n + 1)
        for n in range(5)
    ]
    assert gateway.calls_for(order.key) == gateway.calls
    assert gateway.calls_for("someone-else") == []


def test_scripted_cancel_gateway_defaults_and_per_key_scripts() -> None:
    gateway = ScriptedCancelGateway()
    other = ScriptedCancelGateway(unknown(), failed("PROCESS_FAIL"))
    a, b = acqp_order("a"), acqp_order("b")
    gateway.script(a.key, failed("ACCESS_DENIED"))

    assert gateway.cancel(order=a, attempt=1) == failed("ACCESS_DENIED")
    assert gateway.cancel(order=b, attempt=1) == success()
    assert [other.cancel(order=b, attempt=n) for n in (1, 2, 3)] == [
        unknown(),
        failed("PROCESS_FAIL"),
        failed("PROCESS_FAIL"),
    ]
    # Without a clock, calls are stamped with the earliest aware time.
    assert gateway.calls[0].at == dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def test_rescripting_a_key_starts_its_script_again() -> None:
    gateway = ScriptedCancelGateway()
    order = acqp_order()
    gateway.script(order.key, unknown(), success())
    assert gateway.cancel(order=order, attempt=1) == unknown()
    gateway.script(order.key, failed("PROCESS_FAIL"), success())
    assert gateway.cancel(order=order, attempt=2) == failed("PROCESS_FAIL")


def test_scripts_need_at_least_one_answer() -> None:
    gateway = ScriptedCancelGateway()
    with pytest.raises(ValidationError) as caught:
        gateway.script("k")
    assert caught.value.field == "answers"
    with pytest.raises(ValidationError):
        ScriptedRefundGateway().script("k")
    with pytest.raises(ValidationError):
        ScriptedInquiryGateway().script("k")


def test_scripted_refund_gateway_records_the_refund_request_id_and_amount() -> None:
    clock = FakeClock(T0)
    gateway = ScriptedRefundGateway(clock=clock)
    order = acqp_order(amount=777)
    gateway.script(order.key, unknown(), NotSent("dns"), success())
    refund_id = RefundRequestId("rf-1")

    answers = [
        gateway.refund(
            order=order, refund_request_id=refund_id, amount=Money(777, "USD"), reason="r"
        )
        for _ in range(4)
    ]

    assert answers == [unknown(), NotSent("dns"), success(), success()]
    assert {(c.api, c.refund_request_id, c.amount) for c in gateway.calls} == {
        ("refund", "rf-1", Money(777, "USD"))
    }
    assert gateway.calls_for(order.key) == gateway.calls
    assert (
        ScriptedRefundGateway().refund(
            order=order, refund_request_id=refund_id, amount=order.full_amount, reason="r"
        )
        == success()
    )


def test_scripted_inquiry_gateway_defaults_to_payment_in_process() -> None:
    gateway = ScriptedInquiryGateway()
    order = acqp_order()
    answer = gateway.inquire(order=order)
    assert answer == InquiryAnswered(
        result_status=ResultStatus.SUCCEEDED,
        result_code="SUCCESS",
        payment_status=ResultStatus.UNKNOWN,
        payment_code="PAYMENT_IN_PROCESS",
    )
    gateway.script(order.key, no_answer())
    assert gateway.inquire(order=order) == no_answer()
    assert gateway.inquire(order=order) == no_answer()
    assert [c.api for c in gateway.calls] == ["inquiry"] * 3


# -- FakeWallet ----------------------------------------------------------------------------------


def test_fake_wallet_reverses_once_per_key_and_fails_on_demand() -> None:
    payment = mpp_order(amount=4200)
    wallet = FakeWallet()
    wallet.add(payment)
    wallet.fail_next(2)
    key = payment.key

    outcomes = [wallet.reverse(order=payment, key=key) for _ in range(4)]

    assert outcomes == [
        ReversalFailed("ledger temporarily unavailable"),
        ReversalFailed("ledger temporarily unavailable"),
        Reversed(),
        Reversed(),
    ]
    assert wallet.reversal_calls == 4
    assert wallet.reversed_amount(key) == 4200
    assert wallet.reversed_amount("other") == 0
    assert wallet.reversals == {key: 4200}
    snapshot = wallet.reversals
    snapshot["tampered"] = 1
    assert "tampered" not in wallet.reversals


# -- drain -----------------------------------------------------------------------------------------


def test_drain_jumps_the_clock_wakeup_to_wakeup_and_stops_at_until() -> None:
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown())
    rig.driver.cancel(order)

    steps = drain(rig.driver, rig.clock, rig.scheduler, until=T0 + dt.timedelta(seconds=30))
    assert steps >= 2
    assert rig.clock.now() <= T0 + dt.timedelta(seconds=30)
    assert rig.record(order.key).state is CancellationState.RETRY_SCHEDULED

    rest = drain(rig.driver, rig.clock, rig.scheduler)
    assert rig.record(order.key).state is CancellationState.ESCALATED
    assert steps + rest == len(rig.cancel.calls) - 1
    assert drain(rig.driver, rig.clock, rig.scheduler) == 0
