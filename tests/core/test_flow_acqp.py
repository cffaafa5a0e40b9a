"""The calling role's cancellation use case for the Alipay+ ACQP (S0), sans-I/O and driven.

``decide`` is exercised directly (state in, decision out) and through :class:`SyncDriver` with
the scripted gateways, a fake clock, the in-memory store and scheduler, and ``drain``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, MutableMapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from paycancel import (
    ACQP_WINDOW,
    CATALOG_VERSION,
    Action,
    AttemptKind,
    Begin,
    CancelAnswered,
    Cancellation,
    CancellationState,
    Command,
    Escalate,
    GatewayOutcome,
    InMemoryScheduler,
    InMemoryStore,
    LateResult,
    NoAnswer,
    NotSent,
    PaymentOrder,
    Product,
    RefundAnswered,
    RefundRequestId,
    ResultStatus,
    RetryDue,
    ScheduleWakeup,
    SendCancel,
    SendRefund,
    SyncDriver,
    decide,
    default_refund_request_id,
)
from paycancel.errors import NotFoundError, UnsupportedProductError
from paycancel.testing import (
    FakeClock,
    ScriptedCancelGateway,
    ScriptedRefundGateway,
    drain,
    failed,
    no_answer,
    success,
    unknown,
)
from tests.core._usecase_support import (
    T0,
    TERMINAL_NAMES,
    acqp_order,
    antom_order,
    config_for,
    make_rig,
)

S = CancellationState
ACQP = Product.ALIPAYPLUS_ACQP
SUPPORT = "overseas_support@service.alibaba.com"


def _events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


# -- sans-I/O ----------------------------------------------------------------------------------


def test_s0_begin_stores_the_intent_and_sends_the_first_cancel() -> None:
    """S0: cancel with ``cancelPayment``; the decision carries the open attempt (the intent)."""
    order = acqp_order()
    decision = decide(None, Begin(order), now=T0, config=config_for(ACQP))

    record = decision.cancellation
    assert record.state is S.IN_FLIGHT
    assert record.key == order.key
    assert record.cancellable_until == ACQP_WINDOW.cancellable_until(T0)
    assert len(record.attempts) == 1
    attempt = record.attempts[0]
    assert (attempt.kind, attempt.number, attempt.sent_at, attempt.open) == (
        AttemptKind.CANCEL,
        1,
        T0,
        True,
    )
    sends = [c for c in decision.commands if isinstance(c, SendCancel)]
    assert sends == [SendCancel(key=order.key, order=order, attempt=1)]
    assert all(c.key == order.key for c in decision.commands)
    names = [event.name for event in decision.events]
    assert "cancellation.created" in names
    assert "cancellation.attempt_started" in names


def test_s0_success_answer_cancels_sans_io() -> None:
    """S0 result handling: ``S``/``SUCCESS`` -> cancelled (the merchant may pay again)."""
    config = config_for(ACQP)
    begun = decide(None, Begin(acqp_order()), now=T0, config=config)
    answered = decide(
        begun.cancellation,
        CancelAnswered(1, success()),
        now=T0 + dt.timedelta(seconds=1),
        config=config,
    )
    record = answered.cancellation
    assert record.state is S.CANCELLED
    assert record.terminal
    assert record.final_code == "SUCCESS"
    assert record.action is Action.MARK_CANCELLED
    assert record.order is not None
    assert record.order.cancelled
    assert answered.commands == ()
    closed = record.attempts[0]
    assert (closed.status, closed.code, closed.open) == (ResultStatus.SUCCEEDED, "SUCCESS", False)


def test_s0_unknown_answer_plans_a_retry_and_asks_for_a_wakeup_sans_io() -> None:
    """S0: ``U`` -> resend with the same parameters on the schedule; the decision asks the
    driver for a durable wake-up at the plan's second attempt."""
    config = config_for(ACQP)
    begun = decide(None, Begin(acqp_order()), now=T0, config=config)
    answered = decide(begun.cancellation, CancelAnswered(1, unknown()), now=T0, config=config)
    record = answered.cancellation
    assert record.state is S.RETRY_SCHEDULED
    assert record.plan is not None
    second = record.plan.attempt(2)
    assert second is not None
    assert record.next_attempt_at == second.at
    assert answered.commands == (ScheduleWakeup(key=record.key, at=second.at),)

    too_early = decide(record, RetryDue(), now=second.at - dt.timedelta(seconds=1), config=config)
    assert too_early.cancellation.state is S.RETRY_SCHEDULED
    assert not any(isinstance(c, SendCancel) for c in too_early.commands)

    due = decide(record, RetryDue(), now=second.at, config=config)
    assert due.cancellation.state is S.IN_FLIGHT
    sends = [c for c in due.commands if isinstance(c, SendCancel)]
    assert sends == [SendCancel(key=record.key, order=acqp_order(), attempt=2)]


def test_s0_stale_answer_is_ignored() -> None:
    """An answer for an attempt that is not the open one changes nothing (no double counting)."""
    config = config_for(ACQP)
    begun = decide(None, Begin(acqp_order()), now=T0, config=config)
    stale = decide(begun.cancellation, CancelAnswered(7, success()), now=T0, config=config)
    assert stale.cancellation.state is S.IN_FLIGHT
    assert stale.cancellation.attempts == begun.cancellation.attempts
    assert [e.name for e in stale.events] == ["cancellation.answer_ignored"]


def test_decide_needs_a_record_for_anything_but_begin() -> None:
    with pytest.raises(ValueError, match="needs an existing cancellation"):
        decide(None, RetryDue(), now=T0, config=config_for(ACQP))


def test_decide_rejects_an_order_of_another_product() -> None:
    with pytest.raises(UnsupportedProductError) as caught:
        decide(None, Begin(antom_order()), now=T0, config=config_for(ACQP))
    assert caught.value.product == Product.ANTOM.value
    assert caught.value.operation == "begin"


def test_s0_cancel_unknown_until_the_plan_ends_escalates_with_evidence_sans_io() -> None:
    """S0: still ``U`` after the mandated resends -> an :class:`Escalate` command for Alipay+
    support carrying the evidence (ids, every attempt, the rules applied)."""
    config = config_for(ACQP)
    order = acqp_order()
    now = T0
    decision = decide(None, Begin(order), now=now, config=config)
    seen: list[Command] = []
    for _ in range(100):
        seen.extend(decision.commands)
        sends = [c for c in decision.commands if isinstance(c, SendCancel)]
        wakeups = [c for c in decision.commands if isinstance(c, ScheduleWakeup)]
        if sends:
            event: CancelAnswered | RetryDue = CancelAnswered(sends[0].attempt, unknown())
        elif wakeups:
            now = wakeups[0].at
            event = RetryDue()
        else:
            break
        decision = decide(decision.cancellation, event, now=now, config=config)

    record = decision.cancellation
    assert record.state is S.ESCALATED
    assert record.plan is not None
    escalations = [c for c in seen if isinstance(c, Escalate)]
    assert len(escalations) == 1
    escalation = escalations[0]
    assert escalation.to == SUPPORT
    assert escalation.key == order.key
    attempts = escalation.evidence["attempts"]
    assert isinstance(attempts, list)
    assert len(attempts) == 1 + len(record.plan.attempts)


# -- driven: results and their handling ---------------------------------------------------------


def test_s0_success_cancels_through_the_driver() -> None:
    """S0: ``S``/``SUCCESS`` -> cancelled, in one call, with nothing left scheduled."""
    rig = make_rig()
    order = acqp_order()
    record = rig.driver.cancel(order)
    assert record.state is S.CANCELLED
    assert record.version >= 2
    assert rig.record(order.key) == record
    assert [(c.api, c.attempt, c.at) for c in rig.cancel.calls] == [("cancel", 1, T0)]
    assert len(rig.scheduler) == 0
    assert rig.refund.calls == []


@pytest.mark.parametrize(
    ("status", "code", "expected_status", "expected_code"),
    [
        pytest.param(
            ResultStatus.SUCCEEDED, "SUCCESS", ResultStatus.FAILED, "ORDER_IS_CLOSED",
            id="success-becomes-order-is-closed",
        ),
        pytest.param(
            ResultStatus.FAILED, "USER_BALANCE_NOT_ENOUGH", ResultStatus.FAILED,
            "USER_BALANCE_NOT_ENOUGH", id="failure-keeps-its-result",
        ),
        pytest.param(None, None, None, None, id="no-result-stays-none"),
    ],
)  # fmt: skip
def test_s0_processing_logic_recorded_payment_result_after_cancel(
    status: ResultStatus | None,
    code: str | None,
    expected_status: ResultStatus | None,
    expected_code: str | None,
) -> None:
    """S0 processing logic: cancelling a successful payment turns its result into
    ``F``/``ORDER_IS_CLOSED``; cancelling a failed one leaves it unchanged."""
    rig = make_rig()
    order = acqp_order(status=status, code=code)
    record = rig.driver.cancel(order)
    assert record.state is S.CANCELLED
    assert record.order is not None
    assert record.order.payment_status is expected_status
    assert record.order.payment_code == expected_code
    assert record.order.cancelled


def test_s0_unknown_streak_resends_the_same_parameters_on_the_planned_schedule() -> None:
    """S0: ``U`` -> resend with the same request parameters, on the plan's times, with increasing
    attempt numbers; a later ``S`` cancels."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, *([unknown()] * 5), success())

    first = rig.driver.cancel(order)
    assert first.state is S.RETRY_SCHEDULED
    rig.drain()

    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    assert record.plan is not None
    assert record.plan.first_unknown_at == T0
    planned = [record.plan.attempt(n) for n in range(2, 7)]
    assert all(p is not None for p in planned)
    expected_times = [T0] + [p.at for p in planned if p is not None]
    calls = rig.cancel.calls_for(order.key)
    assert [c.at for c in calls] == expected_times
    assert [c.attempt for c in calls] == [1, 2, 3, 4, 5, 6]
    # The same parameters on every resend: the very same order went out each time.
    assert [attempt for _, attempt in rig.recorder.sent] == [1, 2, 3, 4, 5, 6]
    assert all(sent == order for sent, _ in rig.recorder.sent)
    assert [a.number for a in record.attempts_of(AttemptKind.CANCEL)] == [1, 2, 3, 4, 5, 6]
    assert len(rig.scheduler) == 0


def test_s0_resend_schedule_every_5_to_10_s_in_the_first_minute_then_10_every_5_minutes() -> None:
    """S0: resend every 5-10 s during the first 60 s, then at least 10 more times 5 minutes
    apart; still ``U`` -> escalate. The scripted gateway's call times are the plan's times."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"))
    rig.driver.cancel(order)
    rig.drain()

    record = rig.record(order.key)
    assert record.state is S.ESCALATED
    assert record.plan is not None
    times = [c.at for c in rig.cancel.calls_for(order.key)]
    assert times == [T0] + [p.at for p in record.plan.attempts]
    first_minute = [t for t in times if t - T0 <= dt.timedelta(seconds=60)]
    gaps = [b - a for a, b in zip(first_minute, first_minute[1:])]
    assert gaps
    assert all(dt.timedelta(seconds=5) <= g <= dt.timedelta(seconds=10) for g in gaps)
    later = times[len(first_minute) - 1 :]
    assert len(later) - 1 == 10
    assert all(b - a == dt.timedelta(minutes=5) for a, b in zip(later, later[1:]))
    assert len(rig.escalations) == 1


def test_s0_resends_stay_spaced_after_a_worker_outage() -> None:
    """S0: resend every 5-10 s in the first minute, then 5 minutes apart. When the worker was
    down past several planned times, the overdue resends must not go out in one burst (and the
    case must not be escalated after a few milliseconds of trying)."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"))
    rig.driver.cancel(order)

    rig.clock.advance(dt.timedelta(hours=2))  # the worker was down; nothing ran
    rig.drain()

    record = rig.record(order.key)
    assert record.plan is not None
    times = [c.at for c in rig.cancel.calls_for(order.key)]
    gaps = [b - a for a, b in zip(times[1:], times[2:])]
    bursts = sum(1 for gap in gaps if gap < dt.timedelta(seconds=5))
    assert bursts == 0, (
        f"{bursts + 1} resends went out at the same instant {times[1].isoformat()} after the "
        f"outage, then the case was {record.state.value}"
    )
    # Each overdue resend keeps at least its phase's gap to the one before.
    min_gap = {phase.name: phase.min_gap for phase in record.plan.policy.phases}
    for number, gap in enumerate(gaps, start=3):
        planned = record.plan.attempt(number)
        assert planned is not None
        assert gap >= min_gap[planned.phase], (number, gap)
    assert len(times) == 1 + len(record.plan.attempts)
    assert record.state is S.ESCALATED


@pytest.mark.parametrize(
    "silence",
    [
        pytest.param(no_answer("read timed out after 8 s"), id="no-answer"),
        pytest.param(NotSent("connection refused"), id="not-sent"),
        pytest.param(unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"), id="U-traffic"),
    ],
)
def test_s0_no_answer_is_treated_like_unknown(silence: GatewayOutcome) -> None:
    """S0: if no response is returned, resend with the same parameters, exactly as for ``U``."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, silence, success())

    record = rig.driver.cancel(order)
    assert record.state is S.RETRY_SCHEDULED
    assert record.plan is not None
    second = record.plan.attempt(2)
    assert second is not None
    assert record.next_attempt_at == second.at
    assert rig.scheduler.next_due() == second.at
    first = record.attempts[0]
    assert not first.open
    if isinstance(silence, (NoAnswer, NotSent)):
        assert first.status is None
        assert first.transport is not None
        assert silence.reason in first.transport
    else:
        assert first.status is ResultStatus.UNKNOWN

    rig.drain()
    assert rig.record(order.key).state is S.CANCELLED
    assert [c.attempt for c in rig.cancel.calls_for(order.key)] == [1, 2]
    assert [c.at for c in rig.cancel.calls_for(order.key)] == [T0, second.at]


def test_s0_cancel_window_exceed_refunds_the_full_amount_with_its_own_refund_request_id() -> None:
    """S0: ``CANCEL_WINDOW_EXCEED`` -> call ``refund`` for the full amount, with its own
    ``refundRequestId``; refund ``S`` -> refunded."""
    rig = make_rig()
    order = acqp_order(amount=123_456)
    rig.cancel.script(order.key, failed("CANCEL_WINDOW_EXCEED"))

    record = rig.driver.cancel(order)

    assert record.state is S.REFUNDED
    assert record.final_code == "CANCEL_WINDOW_EXCEED"
    assert record.action is Action.REFUND_INSTEAD
    expected_id = default_refund_request_id(order.key)
    assert record.refund_request_id == expected_id
    assert expected_id.value != order.key
    assert order.payment_request_id is not None
    assert expected_id.value != order.payment_request_id.value
    [call] = rig.refund.calls
    assert call.amount == order.amount
    assert call.refund_request_id == expected_id.value
    assert [a.kind for a in record.attempts] == [AttemptKind.CANCEL, AttemptKind.REFUND]
    assert len(rig.cancel.calls) == 1


def test_s0_refund_request_id_is_per_cancellation() -> None:
    """Each cancellation refunds under its own idempotency key; the same key, the same id."""
    first = default_refund_request_id(acqp_order("pr-a").key)
    assert first == default_refund_request_id(acqp_order("pr-a").key)
    assert first != default_refund_request_id(acqp_order("pr-b").key)
    assert isinstance(first, RefundRequestId)


def test_s0_refund_unknown_retries_reuse_the_same_refund_request_id() -> None:
    """S0 refund: retry ``U``/timeouts with the same ``refundRequestId``."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, failed("CANCEL_WINDOW_EXCEED"))
    rig.refund.script(order.key, unknown(), no_answer(), NotSent("dns"), success())

    record = rig.driver.cancel(order)
    assert record.state is S.REFUND_RETRY_SCHEDULED
    rig.drain()

    record = rig.record(order.key)
    assert record.state is S.REFUNDED
    calls = rig.refund.calls_for(order.key)
    assert len(calls) == 4
    assert {c.refund_request_id for c in calls} == {default_refund_request_id(order.key).value}
    assert {c.amount for c in calls} == {order.amount}
    assert record.refund_plan is not None
    assert [c.at for c in calls] == [T0] + [p.at for p in record.refund_plan.attempts[:3]]
    assert [a.number for a in record.attempts_of(AttemptKind.REFUND)] == [1, 2, 3, 4]
    assert len(rig.cancel.calls) == 1


def test_s0_refund_unknown_forever_escalates() -> None:
    """S0: a refund that stays unknown through its plan is handed to support with the evidence."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, failed("CANCEL_WINDOW_EXCEED"))
    rig.refund.script(order.key, unknown())

    rig.driver.cancel(order)
    rig.drain()

    record = rig.record(order.key)
    assert record.state is S.ESCALATED
    assert record.refund_plan is not None
    refunds = rig.refund.calls_for(order.key)
    assert len(refunds) == 1 + len(record.refund_plan.attempts)
    [escalation] = rig.escalations
    assert escalation.to == SUPPORT
    assert escalation.evidence["refund_request_id"] == default_refund_request_id(order.key).value
    assert len(rig.scheduler) == 0


def test_s0_refund_failure_is_final() -> None:
    """A refund answered ``F`` is final (an unlisted code goes to manual review)."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, failed("CANCEL_WINDOW_EXCEED"))
    rig.refund.script(order.key, failed("REFUND_AMOUNT_EXCEED"))
    record = rig.driver.cancel(order)
    assert record.state is S.FAILED
    assert record.final_code == "REFUND_AMOUNT_EXCEED"
    assert record.action is Action.MANUAL_REVIEW


def test_s0_cancel_unknown_forever_escalates_with_a_support_record() -> None:
    """S0: still ``U`` -> escalate to Alipay+ support with the evidence: the ids, every attempt
    with its time and result, and the rules applied."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown(), no_answer(), unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"))

    rig.driver.cancel(order)
    rig.drain()

    record = rig.record(order.key)
    assert record.state is S.ESCALATED
    assert record.action is Action.CONTACT_SUPPORT
    [escalation] = rig.escalations
    assert isinstance(escalation, Escalate)
    assert escalation.key == order.key
    assert escalation.to == SUPPORT
    evidence = escalation.evidence
    assert evidence["key"] == order.key
    assert evidence["payment_request_id"] == "acqp-pr-1"
    assert evidence["state"] == "escalated"
    attempts = evidence["attempts"]
    assert isinstance(attempts, list)
    calls = rig.cancel.calls_for(order.key)
    assert len(attempts) == len(calls)
    assert [a["number"] for a in attempts] == [c.attempt for c in calls]
    assert [a["sent_at"] for a in attempts] == [c.at.isoformat() for c in calls]
    assert all(a["answered_at"] is not None for a in attempts)
    assert attempts[0]["status"] == "U"
    assert attempts[0]["code"] == "UNKNOWN_EXCEPTION"
    assert attempts[1]["status"] is None
    assert str(attempts[1]["transport"]).startswith("no_answer")
    assert attempts[2]["code"] == "REQUEST_TRAFFIC_EXCEED_LIMIT"
    rules = evidence["rules"]
    assert isinstance(rules, list)
    assert rules == [d.rule for d in record.decisions]
    assert any(str(rule).startswith("plan.exhausted") for rule in rules)
    assert len(rig.scheduler) == 0


@pytest.mark.parametrize(
    ("code", "action"),
    [
        ("PROCESS_FAIL", Action.DO_NOT_RETRY),
        ("ACCESS_DENIED", Action.CONTACT_SUPPORT),
        ("A_CODE_NOBODY_DOCUMENTED", Action.MANUAL_REVIEW),
    ],
)
def test_s0_failure_is_final_and_acted_on_by_code(code: str, action: Action) -> None:
    """S0: ``F`` -> final, act on the code (an unlisted ``F`` goes to manual review)."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, failed(code))
    record = rig.driver.cancel(order)
    assert record.state is S.FAILED
    assert (record.final_code, record.action) == (code, action)
    assert rig.refund.calls == []
    assert len(rig.cancel.calls) == 1


@pytest.mark.parametrize(
    ("code", "action"),
    [("INVALID_SIGNATURE", Action.FIX_CREDENTIALS), ("PARAM_ILLEGAL", Action.FIX_REQUEST)],
)
def test_s0_a_fixable_failure_holds_until_cancelled_again(code: str, action: Action) -> None:
    """S0: "take actions according to the error code": once the key or request is fixed, the
    same cancel is sent again; until then it waits on hold."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, failed(code), success())
    held = rig.driver.cancel(order)
    assert held.state is S.ON_HOLD
    assert (held.final_code, held.action) == (code, action)
    record = rig.driver.cancel(order, reason="credentials fixed")
    assert record.state is S.CANCELLED
    assert [c.attempt for c in rig.cancel.calls] == [1, 2]


def test_s0_a_hold_never_resent_before_the_cutoff_is_escalated() -> None:
    """S0: an initiated cancel may only end cancelled; a hold that outlives 00:15 UTC+8 T+1
    cannot be cancelled any more, so it goes to support with the evidence."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, failed("INVALID_SIGNATURE"))
    rig.driver.cancel(order)
    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.ESCALATED
    assert record.action is Action.CONTACT_SUPPORT
    assert len(rig.escalations) == 1
    assert rig.clock.now() >= ACQP_WINDOW.cancellable_until(order.initiated_at)


@pytest.mark.parametrize("unknowns_before_hold", [0, 17])
def test_s0_a_resend_after_a_hold_runs_the_whole_fresh_plan(unknowns_before_hold: int) -> None:
    """After a hold (even one that followed a whole U streak), the resend's unknowns get the
    complete S0 schedule again: 5-10 s first, every planned retry, then escalation."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(
        order.key, *([unknown()] * unknowns_before_hold), failed("INVALID_SIGNATURE"), unknown()
    )
    rig.driver.cancel(order)
    rig.drain(until=rig.clock.now() + dt.timedelta(hours=2))
    held = rig.record(order.key)
    assert held.state is S.ON_HOLD
    sent_before = len(rig.cancel.calls)
    resent_at = rig.clock.now()

    record = rig.driver.cancel(order, reason="credentials fixed")
    assert record.plan is not None
    assert record.next_attempt_at is not None
    assert dt.timedelta(seconds=5) <= record.next_attempt_at - resent_at <= dt.timedelta(seconds=10)
    rig.drain()
    final = rig.record(order.key)
    assert final.state is S.ESCALATED
    retries = len(rig.cancel.calls) - sent_before - 1
    assert retries == len(record.plan)
    numbers = [c.attempt for c in rig.cancel.calls]
    assert numbers == list(range(1, len(numbers) + 1))


def test_s0_a_resend_after_a_hold_gets_a_fresh_retry_plan() -> None:
    """A plan spent on an earlier U streak does not carry over to the resend after a hold."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown(), failed("INVALID_SIGNATURE"), unknown(), success())
    rig.driver.cancel(order)
    rig.drain(until=rig.clock.now() + dt.timedelta(seconds=30))
    assert rig.record(order.key).state is S.ON_HOLD
    record = rig.driver.cancel(order, reason="credentials fixed")
    assert record.state is S.RETRY_SCHEDULED
    assert record.plan is not None
    assert record.plan.first_unknown_at == rig.clock.now()
    rig.drain()
    assert rig.record(order.key).state is S.CANCELLED


def test_s0_success_with_an_unlisted_code_is_not_taken_as_success() -> None:
    """Catalog rule: an ``S`` with a code the catalog does not know is never a silent success."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, success("SUCCESS_BUT_ODD"))
    record = rig.driver.cancel(order)
    assert record.state is S.FAILED
    assert record.action is Action.MANUAL_REVIEW


# -- every script ends terminal ------------------------------------------------------------------

_CANCEL_ANSWERS: st.SearchStrategy[GatewayOutcome] = st.one_of(
    st.just(success()),
    st.just(success("ODD_SUCCESS_CODE")),
    st.sampled_from(
        [
            "CANCEL_WINDOW_EXCEED",
            "PROCESS_FAIL",
            "ACCESS_DENIED",
            "ORDER_NOT_EXIST",
            "MERCHANT_BALANCE_NOT_ENOUGH",
            "UNLISTED_F",
        ]
    ).map(failed),
    st.sampled_from(["UNKNOWN_EXCEPTION", "REQUEST_TRAFFIC_EXCEED_LIMIT", "UNLISTED_U"]).map(
        unknown
    ),
    st.just(no_answer()),
    st.just(NotSent("connection refused")),
)
_REFUND_ANSWERS: st.SearchStrategy[GatewayOutcome] = st.one_of(
    st.just(success()),
    st.sampled_from(["PROCESS_FAIL", "UNLISTED_F"]).map(failed),
    st.sampled_from(["UNKNOWN_EXCEPTION", "REQUEST_TRAFFIC_EXCEED_LIMIT"]).map(unknown),
    st.just(no_answer()),
    st.just(NotSent("connection refused")),
)


@settings(max_examples=60, deadline=None)
@given(
    product=st.sampled_from([Product.ALIPAYPLUS_ACQP, Product.ANTOM]),
    offset_minutes=st.integers(min_value=0, max_value=2 * 24 * 60),
    cancel_script=st.lists(_CANCEL_ANSWERS, min_size=1, max_size=25),
    refund_script=st.lists(_REFUND_ANSWERS, min_size=1, max_size=25),
)
def test_every_script_ends_in_a_terminal_state_within_the_plan(
    product: Product,
    offset_minutes: int,
    cancel_script: list[GatewayOutcome],
    refund_script: list[GatewayOutcome],
) -> None:
    """S0/S2: whatever the platform answers (S, F codes, U, nothing), the driver and ``drain``
    end every cancellation in a terminal state, never beyond the retry plan."""
    start = T0.replace(hour=0) + dt.timedelta(minutes=offset_minutes)
    initiated = T0.replace(hour=0)
    rig = make_rig(product, start=start)
    order = (
        acqp_order(initiated_at=initiated)
        if product is Product.ALIPAYPLUS_ACQP
        else antom_order(initiated_at=initiated)
    )
    rig.cancel.script(order.key, *cancel_script)
    rig.refund.script(order.key, *refund_script)

    rig.driver.cancel(order)
    rig.drain()

    record = rig.record(order.key)
    assert record.terminal
    assert record.state.value in TERMINAL_NAMES
    assert len(rig.scheduler) == 0
    cancels = rig.cancel.calls_for(order.key)
    refunds = rig.refund.calls_for(order.key)
    cancel_budget = 1 + (len(record.plan.attempts) if record.plan is not None else 0)
    refund_budget = 1 + (len(record.refund_plan.attempts) if record.refund_plan is not None else 0)
    assert len(cancels) <= cancel_budget
    assert len(refunds) <= refund_budget
    assert [c.attempt for c in cancels] == list(range(1, len(cancels) + 1))
    assert all(not a.open for a in record.attempts)
    assert len(record.attempts) == len(cancels) + len(refunds)
    if product is Product.ANTOM:
        assert refunds == []
    assert len(rig.escalations) == (1 if record.state is S.ESCALATED else 0)


# -- late results ----------------------------------------------------------------------------


def test_s0_late_success_after_cancel_keeps_it_cancelled_and_is_recorded() -> None:
    """S0: after the cancel, the order may only end cancelled; a success notification that
    arrives later is recorded (a LateResult and a warning event), never applied."""
    rig = make_rig()
    order = acqp_order()
    cancelled = rig.driver.cancel(order)
    assert cancelled.state is S.CANCELLED
    rig.clock.advance(seconds=42)

    with capture_logs() as logs:
        record = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")

    assert isinstance(record, Cancellation)
    assert record.state is S.CANCELLED
    assert record.late_results == (
        LateResult(received_at=T0 + dt.timedelta(seconds=42), status=ResultStatus.SUCCEEDED,
                   code="SUCCESS"),
    )  # fmt: skip
    assert record.order == cancelled.order
    assert record.decisions == cancelled.decisions
    assert rig.record(order.key) == record
    [event] = _events(logs, "cancellation.late_success_recorded")
    assert event["log_level"] == "warning"
    assert event["key"] == order.key
    assert event["state"] == "cancelled"
    assert len(rig.cancel.calls) == 1


def test_s0_notification_while_retrying_is_recorded_and_the_cancel_goes_on() -> None:
    """S0: once the cancel is initiated the order may only end cancelled: a success that arrives
    during the retries is recorded and the resends continue to their answer."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown(), success())
    rig.driver.cancel(order)

    noted = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")
    assert isinstance(noted, Cancellation)
    assert noted.state is S.RETRY_SCHEDULED
    assert len(noted.late_results) == 1

    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    assert len(record.late_results) == 1


# -- decision records -------------------------------------------------------------------------


def test_decision_records_carry_catalog_version_window_and_rule() -> None:
    """Every state change records why: the catalog version, the window, ``now`` and the rule."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown(), success())
    rig.driver.cancel(order)
    rig.drain()

    record = rig.record(order.key)
    assert record.decisions
    previous = S.PENDING
    for decision in record.decisions:
        assert decision.catalog_version == CATALOG_VERSION
        assert decision.window == "until 00:15 UTC+08:00 on T+1"
        assert decision.window == ACQP_WINDOW.describe()
        assert decision.cancellable_until == ACQP_WINDOW.cancellable_until(T0)
        assert decision.rule
        assert decision.state_before is previous
        assert "trigger" in decision.inputs
        previous = decision.state_after
    assert previous is S.CANCELLED
    last = record.decisions[-1]
    assert last.rule == "alipayplus-acqp.cancel.S.SUCCESS:code"
    assert last.inputs["status"] == "S"
    assert last.inputs["code"] == "SUCCESS"
    assert last.inputs["attempt"] == 2


# -- persistence and recovery ------------------------------------------------------------------


class _StoreReadingGateway:
    """Cancel and refund gateways that look at the store while the call is "on the wire"."""

    def __init__(self, store: InMemoryStore[Cancellation], *, cancel: GatewayOutcome) -> None:
        self.store = store
        self.cancel_answer = cancel
        self.during_cancel: list[Cancellation | None] = []
        self.during_refund: list[Cancellation | None] = []

    def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        self.during_cancel.append(self.store.get(key=order.key))
        return self.cancel_answer

    def refund(
        self,
        *,
        order: PaymentOrder,
        refund_request_id: RefundRequestId,
        amount: object,
        reason: str,
    ) -> GatewayOutcome:
        self.during_refund.append(self.store.get(key=order.key))
        return success()


def test_the_intent_is_persisted_before_the_outbound_call() -> None:
    """STYLE 4: persist the intent before the outbound call: during the call the store already
    holds the record in flight, with the attempt open."""
    clock = FakeClock(T0)
    store: InMemoryStore[Cancellation] = InMemoryStore()
    gateway = _StoreReadingGateway(store, cancel=failed("CANCEL_WINDOW_EXCEED"))
    driver = SyncDriver(
        config=config_for(ACQP),
        store=store,
        clock=clock,
        cancel_gateway=gateway,
        refund_gateway=gateway,
    )
    order = acqp_order()

    record = driver.cancel(order)

    assert record.state is S.REFUNDED
    [during_cancel] = gateway.during_cancel
    assert during_cancel is not None
    assert during_cancel.state is S.IN_FLIGHT
    assert [(a.kind, a.number, a.open) for a in during_cancel.attempts] == [
        (AttemptKind.CANCEL, 1, True)
    ]
    [during_refund] = gateway.during_refund
    assert during_refund is not None
    assert during_refund.state is S.REFUND_IN_FLIGHT
    assert during_refund.refund_request_id == default_refund_request_id(order.key)
    assert during_refund.attempts[-1].kind is AttemptKind.REFUND
    assert during_refund.attempts[-1].open


def test_a_lost_attempt_is_resent_with_the_same_parameters_after_the_attempt_timeout() -> None:
    """S0: no answer -> resend with the same parameters. A crash after the intent was stored
    leaves the attempt open; a ``RetryDue`` past ``attempt_timeout`` takes it as lost."""
    rig = make_rig()
    order = acqp_order()
    # The crash: Begin was decided and stored, the call never answered.
    begun = decide(None, Begin(order), now=rig.clock.now(), config=rig.config)
    rig.store.create(record=begun.cancellation)
    timeout = rig.config.attempt_timeout
    assert timeout == dt.timedelta(seconds=30)

    rig.clock.advance(timeout - dt.timedelta(seconds=1))
    early = rig.driver.resume(order.key)
    assert early.state is S.IN_FLIGHT
    assert early.attempts[0].open
    assert rig.cancel.calls == []

    rig.clock.advance(seconds=1)
    lost = rig.driver.resume(order.key)
    assert lost.state is S.RETRY_SCHEDULED
    assert not lost.attempts[0].open
    assert lost.attempts[0].transport is not None
    assert lost.attempts[0].transport.startswith("no_answer")
    assert rig.scheduler.next_due() == lost.next_attempt_at

    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    [call] = rig.cancel.calls_for(order.key)
    assert call.attempt == 2
    assert call.at >= T0 + timeout
    assert rig.recorder.sent == [(order, 2)]


class _ProcessDied(BaseException):
    """Stands for the worker process dying mid-call: no ``except Exception`` catches it."""


class _DiesOnFirstCall:
    def __init__(self, inner: ScriptedCancelGateway) -> None:
        self.inner = inner
        self.died = False

    def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        if not self.died:
            self.died = True
            raise _ProcessDied
        return self.inner.cancel(order=order, attempt=attempt)


def test_a_crash_mid_call_leaves_a_durable_wakeup_so_the_attempt_is_recovered() -> None:
    """S0 (no answer -> resend) and the driver's promise: "a crash leaves an open attempt that
    the next wake-up resends". The intent is stored before the call, so after a crash a wake-up
    (at the latest ``attempt_timeout`` after sending) must be scheduled to recover it."""
    clock = FakeClock(T0)
    scheduler = InMemoryScheduler()
    store: InMemoryStore[Cancellation] = InMemoryStore()
    inner = ScriptedCancelGateway(clock=clock)
    config = config_for(ACQP)
    order = acqp_order()

    def driver_with(gateway: _DiesOnFirstCall | ScriptedCancelGateway) -> SyncDriver:
        return SyncDriver(
            config=config,
            store=store,
            clock=clock,
            cancel_gateway=gateway,
            refund_gateway=ScriptedRefundGateway(),
            scheduler=scheduler,
        )

    with pytest.raises(_ProcessDied):
        driver_with(_DiesOnFirstCall(inner)).cancel(order)
    stored = store.get(key=order.key)
    assert stored is not None
    assert stored.state is S.IN_FLIGHT

    # A fresh worker after the restart only runs what the scheduler hands it.
    restarted = driver_with(inner)
    assert scheduler.next_due() is not None, (
        "nothing is scheduled for an attempt left in flight: after a crash the cancellation "
        "stays IN_FLIGHT forever unless someone calls resume() by hand"
    )
    drain(restarted, clock, scheduler)
    record = store.get(key=order.key)
    assert record is not None
    assert record.state is S.CANCELLED
    assert clock.now() <= T0 + config.attempt_timeout + dt.timedelta(seconds=10)


def test_begin_is_idempotent_no_second_call() -> None:
    """Idempotent Begin: cancelling the same order again returns the stored cancellation and
    sends nothing more (whatever its state)."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown(), success())
    first = rig.driver.cancel(order)
    assert first.state is S.RETRY_SCHEDULED

    again = rig.driver.cancel(order, reason="clicked twice")
    assert again == first
    assert again.reason == "requested"
    assert len(rig.cancel.calls) == 1

    rig.drain()
    done = rig.record(order.key)
    assert rig.driver.cancel(order) == done
    assert len(rig.cancel.calls) == 2

    same = decide(done, Begin(order), now=rig.clock.now(), config=rig.config)
    assert same.cancellation is done
    assert same.commands == ()


def test_concurrent_begins_from_many_workers_send_one_cancel() -> None:
    """Idempotent Begin under concurrency: workers sharing the store race to cancel the same
    order; the store's idempotent create lets exactly one of them send."""
    clock = FakeClock(T0)
    store: InMemoryStore[Cancellation] = InMemoryStore()
    sent: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    class Slow:
        def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
            with lock:
                sent.append(attempt)
            time.sleep(0.02)
            return success()

    def worker() -> None:
        driver = SyncDriver(
            config=config_for(ACQP),
            store=store,
            clock=clock,
            cancel_gateway=Slow(),
            refund_gateway=ScriptedRefundGateway(),
        )
        barrier.wait(timeout=10)
        driver.cancel(acqp_order())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sent == [1]
    record = store.get(key=acqp_order().key)
    assert record is not None
    assert record.state is S.CANCELLED


def test_a_gateway_that_raises_is_treated_as_no_answer_and_logged() -> None:
    """STYLE 6 / S0: a port that raises instead of returning a typed outcome is read as "no
    answer" (like ``U``: resend) and logged, never crashes the cancellation."""

    class Exploding:
        def __init__(self) -> None:
            self.calls = 0

        def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionResetError("peer reset")
            return success()

    gateway = Exploding()
    rig = make_rig(cancel_gateway=gateway)
    order = acqp_order()

    with capture_logs() as logs:
        record = rig.driver.cancel(order)

    assert record.state is S.RETRY_SCHEDULED
    assert record.attempts[0].status is None
    assert record.attempts[0].transport == "no_answer: cancel raised ConnectionResetError"
    [logged] = _events(logs, "gateway.call_raised")
    assert logged["log_level"] == "error"
    assert logged["port"] == "cancel"
    assert logged["error"] == "ConnectionResetError"

    rig.drain()
    assert rig.record(order.key).state is S.CANCELLED
    assert gateway.calls == 2


def test_the_acqp_driver_needs_a_refund_gateway() -> None:
    """S0: ``CANCEL_WINDOW_EXCEED`` falls back to refund, so the ACQP driver must have one."""
    with pytest.raises(UnsupportedProductError) as caught:
        SyncDriver(
            config=config_for(ACQP),
            store=InMemoryStore(),
            clock=FakeClock(T0),
            cancel_gateway=ScriptedCancelGateway(),
        )
    assert caught.value.operation == "driver"


def test_resume_of_an_unknown_key_raises_not_found() -> None:
    rig = make_rig()
    with pytest.raises(NotFoundError) as caught:
        rig.driver.resume("alipayplus-acqp:request:nobody")
    assert caught.value.key == "alipayplus-acqp:request:nobody"


def test_refund_answers_are_matched_to_the_open_refund_attempt_sans_io() -> None:
    """A refund answer for another attempt number is ignored (sans-I/O)."""
    config = config_for(ACQP)
    begun = decide(None, Begin(acqp_order()), now=T0, config=config)
    refunding = decide(
        begun.cancellation, CancelAnswered(1, failed("CANCEL_WINDOW_EXCEED")), now=T0,
        config=config,
    )  # fmt: skip
    assert refunding.cancellation.state is S.REFUND_IN_FLIGHT
    [command] = [c for c in refunding.commands if isinstance(c, SendRefund)]
    assert command.amount == acqp_order().amount
    assert command.attempt == 1
    ignored = decide(refunding.cancellation, RefundAnswered(2, success()), now=T0, config=config)
    assert ignored.cancellation.state is S.REFUND_IN_FLIGHT
    done = decide(refunding.cancellation, RefundAnswered(1, success()), now=T0, config=config)
    assert done.cancellation.state is S.REFUNDED
