"""Sending attempts and reading their answers: the heart of the calling roles' use case."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ._cancellation import Attempt, AttemptKind, Cancellation, LateResult
from ._catalog import Action, Interpretation, Outcome, interpret
from ._command import Escalate, ScheduleWakeup, SendCancel, SendRefund
from ._flow_config import (
    BUYER_MAY_STILL_PAY,
    HOLD_ACTIONS,
    CancelAnswered,
    CancelConfig,
    PaymentNotified,
    RefundAnswered,
    _step,
)
from ._identifier import RefundRequestId
from ._order import PaymentOrder
from ._outcome import Answered, GatewayOutcome, NotSent
from ._product import Api, Product, ResultStatus
from ._retry import RetryPlan, plan_retries
from ._state import CancellationState, Trigger
from ._step import Decision, Step, close_open_attempt

__all__: list[str] = []

S = CancellationState


def _start_attempt(
    step: Step, kind: AttemptKind, number: int, rule: str, config: CancelConfig
) -> None:
    """Store the attempt as open (the intent) and arm its watchdog before the call goes out."""
    trigger = Trigger.REFUND_SENT if kind is AttemptKind.REFUND else Trigger.ATTEMPT_SENT
    step.move(
        trigger,
        rule,
        attempts=(*step.get("attempts"), Attempt(kind=kind, number=number, sent_at=step.now)),
        next_attempt_at=None,
    )
    _watchdog(step, config)


def _send_cancel(step: Step, number: int, rule: str, config: CancelConfig) -> None:
    order: PaymentOrder = step.get("order")
    _start_attempt(step, AttemptKind.CANCEL, number, rule, config)
    step.command(SendCancel(key=step.key, order=order, attempt=number))
    step.event("cancellation.attempt_started", attempt=number, product=config.product.value)


def _send_refund(step: Step, number: int, rule: str, config: CancelConfig) -> None:
    order: PaymentOrder = step.get("order")
    refund_request_id: RefundRequestId = step.get("refund_request_id")
    _start_attempt(step, AttemptKind.REFUND, number, rule, config)
    step.command(
        SendRefund(
            key=step.key,
            order=order,
            refund_request_id=refund_request_id,
            amount=order.full_amount,
            attempt=number,
            reason="cancel window exceeded (CANCEL_WINDOW_EXCEED)",
        )
    )
    step.event("cancellation.refund_started", attempt=number)


def _watchdog(step: Step, config: CancelConfig) -> None:
    """A durable wake-up, stored before the call goes out: if the process dies mid-call, the
    wake-up finds the attempt still open after ``attempt_timeout`` and resends it."""
    step.command(ScheduleWakeup(key=step.key, at=step.now + config.attempt_timeout))


def _interpretation(
    config: CancelConfig, api: Api, outcome: GatewayOutcome
) -> tuple[Interpretation, str | None]:
    """The catalog's reading of an outcome; transport failures read as ``U`` (S0, S2)."""
    if isinstance(outcome, Answered):
        return interpret(config.product, api, outcome.status, outcome.code), None
    transport = "not_sent" if isinstance(outcome, NotSent) else "no_answer"
    reading = interpret(config.product, api, ResultStatus.UNKNOWN, "UNKNOWN_EXCEPTION")
    return attrs.evolve(reading, code=transport.upper(), known=True, source="S0/S2: no answer"), (
        f"{transport}: {outcome.reason}"
    )


def _open_attempt(record: Cancellation, kind: AttemptKind) -> Attempt | None:
    for attempt in reversed(record.attempts):
        if attempt.kind is kind and attempt.open:
            return attempt
    return None


def _answer(
    record: Cancellation,
    *,
    kind: AttemptKind,
    attempt: int,
    outcome: GatewayOutcome,
    now: dt.datetime,
    config: CancelConfig,
) -> tuple[Step, Interpretation, bool]:
    """Read an answer and close the attempt it belongs to; ``False`` when it is stale (not for
    the attempt in flight), which is logged and otherwise ignored."""
    api, waiting = (
        (Api.REFUND, S.REFUND_IN_FLIGHT)
        if kind is AttemptKind.REFUND
        else (Api.CANCEL, S.IN_FLIGHT)
    )
    reading, transport = _interpretation(config, api, outcome)
    step = _step(
        record, now, config, input=f"{kind.value}_answered", attempt=attempt,
        status=reading.status.value, code=reading.code, transport=transport,
    )  # fmt: skip
    current = _open_attempt(record, kind)
    if record.state is not waiting or current is None or current.number != attempt:
        step.event(
            "cancellation.answer_ignored", attempt=attempt, kind=kind.value,
            state=record.state.value, status=reading.status.value, code=reading.code,
        )  # fmt: skip
        return step, reading, False
    close_open_attempt(
        step,
        status=reading.status if transport is None else None,
        code=reading.code if transport is None else None,
        message=outcome.message if isinstance(outcome, Answered) else None,
        transport=transport,
    )
    return step, reading, True


def _cancel_answered(
    record: Cancellation, event: CancelAnswered, now: dt.datetime, config: CancelConfig
) -> Decision:
    step, reading, current = _answer(
        record, kind=AttemptKind.CANCEL, attempt=event.attempt, outcome=event.outcome,
        now=now, config=config,
    )  # fmt: skip
    if not current:
        return step.decision()
    if reading.action is Action.MARK_CANCELLED:
        _cancelled(step, reading, config, event.outcome)
    elif reading.action is Action.REFUND_INSTEAD:
        refund_id = config.refund_request_id(record.key)
        step.move(
            Trigger.REFUND_REQUIRED,
            reading.rule,
            refund_request_id=refund_id,
            final_code=reading.code,
            action=Action.REFUND_INSTEAD,
        )
        step.event("cancellation.refund_required", code=reading.code)
        _send_refund(
            step, 1, "refund.send_first_attempt (S0: CANCEL_WINDOW_EXCEED -> refund)", config
        )
    elif reading.action is Action.RETRY_SAME_REQUEST:
        _schedule(step, reading, config, refund=False)
    elif reading.action in HOLD_ACTIONS:
        # The caller can fix the cause and cancel again: S2's MERCHANT_BALANCE_NOT_ENOUGH ("call
        # again after the merchant has sufficient balance"), a key or request to correct (S0:
        # "take actions according to the error code"). Held until the caller cancels again; the
        # window's end closes the case.
        until: dt.datetime | None = step.get("cancellable_until")
        step.move(Trigger.HELD, reading.rule, final_code=reading.code, action=reading.action)
        if until is not None:
            step.command(ScheduleWakeup(key=step.key, at=until))
        step.event("cancellation.held", code=reading.code)
    else:
        step.move(Trigger.FAILED, reading.rule, final_code=reading.code, action=reading.action)
        step.event("cancellation.failed", code=reading.code, action=reading.action.value)
    return step.decision()


def _cancelled(
    step: Step, reading: Interpretation, config: CancelConfig, outcome: GatewayOutcome
) -> None:
    order: PaymentOrder = step.get("order")
    changes: dict[str, Any] = {"cancelled": True}
    if config.product is Product.ALIPAYPLUS_ACQP and order.payment_status is ResultStatus.SUCCEEDED:
        # S0: cancelling a successful payment turns its result into F/ORDER_IS_CLOSED; a failed
        # one keeps its result.
        changes.update(payment_status=ResultStatus.FAILED, payment_code="ORDER_IS_CLOSED")
    if (
        isinstance(outcome, Answered)
        and outcome.payment_id is not None
        and order.payment_id is None
    ):
        changes["payment_id"] = outcome.payment_id
    if (
        isinstance(outcome, Answered)
        and outcome.payment_request_id is not None
        and order.payment_request_id is None
    ):
        changes["payment_request_id"] = outcome.payment_request_id
    order = attrs.evolve(order, **changes)
    warnings: tuple[str, ...] = step.get("warnings")
    # S4: only a buyer who had not yet submitted the payment may still complete it, so the
    # warning is for payments with no final result yet.
    if config.product is Product.ANTOM and order.payment_status in (None, ResultStatus.UNKNOWN):
        warnings = (*warnings, BUYER_MAY_STILL_PAY)
        step.event("cancellation.buyer_may_still_pay_warned")
    step.move(
        Trigger.SUCCEEDED,
        reading.rule,
        order=order,
        final_code=reading.code,
        action=Action.MARK_CANCELLED,
        warnings=warnings,
        # Antom's cancelTime: when the platform says the cancel took effect.
        cancelled_at=outcome.cancel_time if isinstance(outcome, Answered) else None,
    )
    step.event("cancellation.cancelled", attempts=len(step.get("attempts")))


def _schedule(step: Step, reading: Interpretation, config: CancelConfig, *, refund: bool) -> None:
    kind = AttemptKind.REFUND if refund else AttemptKind.CANCEL
    plan: RetryPlan | None = step.get("refund_plan" if refund else "plan")
    sent = [a for a in step.get("attempts") if a.kind is kind]
    last = sent[-1].number
    if plan is None:
        plan = plan_retries(
            policy=config.refund_retry_policy if refund else config.retry_policy,
            first_unknown_at=step.now,
            cutoff=None if refund else step.get("cancellable_until"),
            jitter_key=step.key + (":refund" if refund else ""),
            first_number=last + 1,  # a plan made after a hold numbers on from the resend
        )
    upcoming = plan.attempt(last + 1)
    next_at = None
    if upcoming is not None:
        # Never closer to the last send than the phase allows: after an outage the overdue
        # resends go out one by one, spaced as planned, not in a burst (and none is dropped).
        next_at = max(upcoming.at, sent[-1].sent_at + plan.min_gap(upcoming.number))
    step.move(
        Trigger.REFUND_UNKNOWN if refund else Trigger.UNKNOWN,
        reading.rule,
        next_attempt_at=next_at,
        **{"refund_plan" if refund else "plan": plan},
    )
    if upcoming is None:
        step.move(
            Trigger.PLAN_EXHAUSTED,
            f"plan.exhausted ({plan.policy.name}: still U after {last} attempts -> "
            f"{plan.then.value})",
            action=Action.CONTACT_SUPPORT,
            final_code=reading.code,
        )
        step.command(
            Escalate(
                key=step.key,
                to=plan.policy.escalate_to,
                evidence=step.cancellation.support_record(),
            )
        )
        step.event("cancellation.escalated", to=plan.policy.escalate_to, attempts=last)
        return
    assert next_at is not None
    step.command(ScheduleWakeup(key=step.key, at=next_at))
    step.event(
        "cancellation.refund_retry_scheduled" if refund else "cancellation.retry_scheduled",
        attempt=upcoming.number,
        next_at=next_at.isoformat(),
        delayed=next_at != upcoming.at,
        phase=upcoming.phase,
        after_cutoff=upcoming.after_cutoff,
    )


def _refund_answered(
    record: Cancellation, event: RefundAnswered, now: dt.datetime, config: CancelConfig
) -> Decision:
    step, reading, current = _answer(
        record, kind=AttemptKind.REFUND, attempt=event.attempt, outcome=event.outcome,
        now=now, config=config,
    )  # fmt: skip
    if not current:
        return step.decision()
    if reading.outcome is Outcome.SUCCEEDED:
        step.move(
            Trigger.REFUND_SUCCEEDED, reading.rule, final_code="CANCEL_WINDOW_EXCEED",
            action=Action.REFUND_INSTEAD,
        )  # fmt: skip
        step.event(
            "cancellation.refunded", amount=record.order.full_amount.value if record.order else 0
        )
    elif reading.action is Action.RETRY_SAME_REQUEST:
        _schedule(step, reading, config, refund=True)
    else:
        step.move(
            Trigger.REFUND_FAILED, reading.rule, final_code=reading.code, action=reading.action
        )
        step.event("cancellation.refund_failed", code=reading.code, action=reading.action.value)
    return step.decision()


def _notified(
    record: Cancellation, event: PaymentNotified, now: dt.datetime, config: CancelConfig
) -> Decision:
    step = _step(
        record, now, config, input="payment_notified", status=event.status.value, code=event.code
    )
    step.update(
        late_results=(
            *record.late_results,
            LateResult(received_at=now, status=event.status, code=event.code),
        )
    )
    if not record.terminal:
        step.move(
            Trigger.PAYMENT_NOTIFIED,
            "notification.after_cancel_began (S0: the order may only end cancelled)",
        )
    if event.status is ResultStatus.SUCCEEDED:
        # S0 and S4: the cancel response decides; the late success is kept for reconciliation.
        step.event("cancellation.late_success_recorded", code=event.code, state=record.state.value)
    else:
        step.event("cancellation.late_result_recorded", status=event.status.value, code=event.code)
    return step.decision()
