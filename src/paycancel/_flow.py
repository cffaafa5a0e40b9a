"""The calling roles' cancellation use case (Alipay+ ACQP and Antom), sans-I/O.

``decide(cancellation, input, now, config) -> Decision``: no clock, no I/O. The driver persists
the returned record (with its open attempt: the intent) *before* running the commands, then feeds
each command's outcome back in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Callable, Union

import attrs

from ._cancellation import Attempt, AttemptKind, Cancellation, LateResult
from ._catalog import Action, Interpretation, Outcome, interpret
from ._command import Escalate, ScheduleWakeup, SendCancel, SendRefund
from ._identifier import RefundRequestId
from ._order import PaymentOrder
from ._outcome import Answered, GatewayOutcome, NoAnswer, NotSent
from ._product import Api, PaymentMethodFamily, Product, ResultStatus
from ._retry import RetryPlan, RetryPolicy, default_retry_policy, plan_retries
from ._state import CancellationState, Trigger
from ._step import Decision, Step, close_open_attempt
from ._time import require_aware
from ._window import WindowPolicy, builtin_window
from .errors import UnsupportedProductError

__all__ = [
    "Begin",
    "CancelAnswered",
    "CancelConfig",
    "FlowInput",
    "PaymentNotified",
    "RefundAnswered",
    "RetryDue",
    "decide",
    "default_refund_request_id",
]

S = CancellationState

#: S4: a buyer who had not submitted the payment when cancel was called may still complete it.
BUYER_MAY_STILL_PAY = (
    "Antom cancelled the order, but a buyer who had not yet submitted the payment when cancel "
    "was called may still be able to complete it (S4); reconcile any later success notification."
)


def default_refund_request_id(key: str) -> RefundRequestId:
    """A refund request id derived from the cancellation key: the same key, the same refund."""
    return RefundRequestId("pcrf" + hashlib.sha256(key.encode()).hexdigest()[:40])


@attrs.frozen
class CancelConfig:
    """Settings of the calling roles' use case.

    Args:
        product: ``ALIPAYPLUS_ACQP`` or ``ANTOM``.
        window: the cancel window (built-in for the ACQP, the contract's for Antom).
        retry_policy: the schedule for unknown cancel results.
        refund_retry_policy: the schedule for unknown refund results (ACQP fallback).
        refund_request_id: makes the refund's idempotency key from the cancellation key.
        attempt_timeout: an attempt still open this long after it was sent is taken as lost
            (a crash or a dropped answer) and resent with the same parameters.
    """

    product: Product
    window: WindowPolicy
    retry_policy: RetryPolicy
    refund_retry_policy: RetryPolicy
    refund_request_id: Callable[[str], RefundRequestId] = default_refund_request_id
    attempt_timeout: dt.timedelta = dt.timedelta(seconds=30)

    @classmethod
    def for_product(
        cls,
        product: Product,
        *,
        window: WindowPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        refund_retry_policy: RetryPolicy | None = None,
    ) -> CancelConfig:
        """The defaults of a calling role (Antom needs its contract ``window``).

        Raises:
            PolicyError: Antom without a window.
            UnsupportedProductError: the MPP, which receives cancels (see ``paycancel.mpp``).
        """
        policy = retry_policy if retry_policy is not None else default_retry_policy(product)
        return cls(
            product=product,
            window=builtin_window(product, window),
            retry_policy=policy,
            refund_retry_policy=refund_retry_policy if refund_retry_policy is not None else policy,
        )


@attrs.frozen
class Begin:
    """Start cancelling ``order``. Idempotent on its key: an ended cancellation is returned as it
    is, one in progress is resumed (as :class:`RetryDue`), one on hold is resent."""

    order: PaymentOrder
    reason: str = "requested"


@attrs.frozen
class CancelAnswered:
    """The outcome of cancel attempt ``attempt``."""

    attempt: int
    outcome: GatewayOutcome


@attrs.frozen
class RefundAnswered:
    """The outcome of refund attempt ``attempt``."""

    attempt: int
    outcome: GatewayOutcome


@attrs.frozen
class RetryDue:
    """A wake-up from the scheduler (or a worker resuming after a crash)."""


@attrs.frozen
class PaymentNotified:
    """A payment result (``notifyPayment``, an inquiry) that arrived after the cancel began."""

    status: ResultStatus
    code: str


FlowInput = Union[Begin, CancelAnswered, RefundAnswered, RetryDue, PaymentNotified]


def decide(
    cancellation: Cancellation | None,
    event: FlowInput,
    *,
    now: dt.datetime,
    config: CancelConfig,
) -> Decision:
    """Decide what to do next with a cancellation.

    Args:
        cancellation: the stored record, ``None`` before the first :class:`Begin`.
        event: what happened.
        now: the current time (aware), read once by the caller from its clock.
        config: the role's settings.

    Returns:
        The new record, commands and events.

    Raises:
        IllegalTransitionError: the input makes no sense in the record's state.
        UnsupportedProductError: ``config.product`` is the MPP.
        ValueError: anything but :class:`Begin` without a record.
    """
    require_aware(now, "now")
    if config.product is Product.ALIPAYPLUS_MPP:
        raise UnsupportedProductError(
            message="the MPP receives cancels; use paycancel.decide_mpp",
            product=config.product.value,
            operation="decide",
        )
    if isinstance(event, Begin):
        if cancellation is None:
            return _begin(event, now, config)
        if cancellation.state is S.ON_HOLD:
            return _resend_after_hold(cancellation, event, now, config)
        if not cancellation.terminal:  # in progress: make sure it progresses (resume if due)
            return _retry_due(cancellation, now, config)
        return Decision(cancellation=cancellation)
    if cancellation is None:
        raise ValueError(f"{type(event).__name__} needs an existing cancellation")
    handler = _HANDLERS[type(event)]
    return handler(cancellation, event, now, config)


def _step(
    cancellation: Cancellation, now: dt.datetime, config: CancelConfig, **inputs: object
) -> Step:
    return Step(
        cancellation,
        now=now,
        window=config.window,
        inputs={k: v for k, v in inputs.items() if isinstance(v, (str, int, bool)) or v is None},
    )


def _begin(event: Begin, now: dt.datetime, config: CancelConfig) -> Decision:
    order = event.order
    if order.product is not config.product:
        raise UnsupportedProductError(
            message=f"order is for {order.product.value}, config for {config.product.value}",
            product=order.product.value,
            operation="begin",
        )
    record = Cancellation(
        key=order.key,
        order=order,
        state=S.PENDING,
        created_at=now,
        reason=event.reason,
        cancellable_until=config.window.cancellable_until(order.initiated_at),
    )
    step = _step(record, now, config, input="begin", reason=event.reason)
    step.event("cancellation.created", reason=event.reason, product=config.product.value)
    antom = config.product is Product.ANTOM
    if order.cancelled:
        step.move(
            Trigger.ALREADY_CANCELLED,
            "precheck.already_cancelled",
            final_code="SUCCESS",
            action=Action.MARK_CANCELLED,
        )
    elif antom and order.refunded:
        step.move(
            Trigger.REFUSED_LOCALLY,
            "antom.precheck.refunded (S4: a refunded payment cannot be cancelled; PROCESS_FAIL)",
            final_code="PROCESS_FAIL",
            action=Action.DO_NOT_RETRY,
        )
    elif antom and order.method is PaymentMethodFamily.CARD and order.captured:
        step.move(
            Trigger.REFUND_HANDED_OVER,
            "antom.precheck.card_captured (S4: no cancel during or after capture; refund instead)",
            action=Action.REFUND_INSTEAD,
        )
    elif antom and not config.window.is_open(order.initiated_at, now):
        step.move(
            Trigger.REFUSED_LOCALLY,
            "antom.precheck.window_closed (S2: outside the contract's cancellable period)",
            final_code="CANCEL_WINDOW_EXCEED",
            action=Action.DO_NOT_RETRY,
        )
    else:
        # The ACQP always asks Alipay+, even past its own view of 00:15: clocks differ, and the
        # answer (SUCCESS or CANCEL_WINDOW_EXCEED -> refund) is what decides (S0).
        _send_cancel(step, 1, "begin.send_first_attempt", config)
    return step.decision()


#: Actions whose cause the caller can fix before cancelling again: the cancellation waits
#: ``on_hold`` instead of failing for good.
HOLD_ACTIONS = frozenset({Action.RETRY_LATER, Action.FIX_CREDENTIALS, Action.FIX_REQUEST})


def _resend_after_hold(
    record: Cancellation, event: Begin, now: dt.datetime, config: CancelConfig
) -> Decision:
    """The caller fixed what held the cancel (funded its balance) and cancels again."""
    step = _step(record, now, config, input="begin", reason=event.reason)
    last = max(a.number for a in record.attempts if a.kind is AttemptKind.CANCEL)
    # A fresh start: the old plan (perhaps spent on an earlier U streak) does not carry over.
    step.update(final_code=None, action=None, plan=None, next_attempt_at=None)
    _send_cancel(step, last + 1, f"hold.resent ({event.reason})", config)
    return step.decision()


def _send_cancel(step: Step, number: int, rule: str, config: CancelConfig) -> None:
    order: PaymentOrder = step.get("order")
    step.move(
        Trigger.ATTEMPT_SENT,
        rule,
        attempts=(
            *step.get("attempts"),
            Attempt(kind=AttemptKind.CANCEL, number=number, sent_at=step.now),
        ),
        next_attempt_at=None,
    )
    _watchdog(step, config)
    step.command(SendCancel(key=step.key, order=order, attempt=number))
    step.event("cancellation.attempt_started", attempt=number, product=config.product.value)


def _send_refund(step: Step, number: int, rule: str, config: CancelConfig) -> None:
    order: PaymentOrder = step.get("order")
    refund_request_id: RefundRequestId = step.get("refund_request_id")
    step.move(
        Trigger.REFUND_SENT,
        rule,
        attempts=(
            *step.get("attempts"),
            Attempt(kind=AttemptKind.REFUND, number=number, sent_at=step.now),
        ),
        next_attempt_at=None,
    )
    _watchdog(step, config)
    step.command(
        SendRefund(
            key=step.key,
            order=order,
            refund_request_id=refund_request_id,
            amount=order.amount,
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
    )
    step.event("cancellation.cancelled", attempts=len(step.get("attempts")))


def _schedule(step: Step, reading: Interpretation, config: CancelConfig, *, refund: bool) -> None:
    kind = AttemptKind.REFUND if refund else AttemptKind.CANCEL
    plan: RetryPlan | None = step.get("refund_plan" if refund else "plan")
    if plan is None:
        plan = plan_retries(
            policy=config.refund_retry_policy if refund else config.retry_policy,
            first_unknown_at=step.now,
            cutoff=None if refund else step.get("cancellable_until"),
            jitter_key=step.key + (":refund" if refund else ""),
        )
    sent = [a for a in step.get("attempts") if a.kind is kind]
    last = sent[-1].number
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
        step.event("cancellation.refunded", amount=record.order.amount.value if record.order else 0)
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


def _on_retry_due(
    record: Cancellation, _event: RetryDue, now: dt.datetime, config: CancelConfig
) -> Decision:
    return _retry_due(record, now, config)


_HANDLERS: dict[type, Callable[[Cancellation, Any, dt.datetime, CancelConfig], Decision]] = {
    CancelAnswered: _cancel_answered,
    RefundAnswered: _refund_answered,
    PaymentNotified: _notified,
    RetryDue: _on_retry_due,
}


def _lost(record: Cancellation, kind: AttemptKind, now: dt.datetime, config: CancelConfig) -> bool:
    attempt = _open_attempt(record, kind)
    return attempt is not None and now - attempt.sent_at >= config.attempt_timeout


def _retry_due(record: Cancellation, now: dt.datetime, config: CancelConfig) -> Decision:
    state = record.state
    if state is S.IN_FLIGHT and _lost(record, AttemptKind.CANCEL, now, config):
        attempt = _open_attempt(record, AttemptKind.CANCEL)
        assert attempt is not None
        answered = _cancel_answered(
            record,
            CancelAnswered(attempt.number, NoAnswer("lost: no answer recorded")),
            now,
            config,
        )
        return _chain(answered, now, config)
    if state is S.REFUND_IN_FLIGHT and _lost(record, AttemptKind.REFUND, now, config):
        attempt = _open_attempt(record, AttemptKind.REFUND)
        assert attempt is not None
        answered = _refund_answered(
            record,
            RefundAnswered(attempt.number, NoAnswer("lost: no answer recorded")),
            now,
            config,
        )
        return _chain(answered, now, config)
    step = _step(record, now, config, input="retry_due")
    due = record.next_attempt_at is None or now >= record.next_attempt_at
    if state is S.PENDING:
        _send_cancel(step, 1, "resume.send_first_attempt", config)
    elif state is S.REFUND_PENDING:
        _send_refund(step, 1, "resume.send_first_refund", config)
    elif state is S.RETRY_SCHEDULED and due:
        last = max(a.number for a in record.attempts if a.kind is AttemptKind.CANCEL)
        _send_cancel(step, last + 1, "plan.attempt_due (same parameters)", config)
    elif state is S.REFUND_RETRY_SCHEDULED and due:
        last = max(a.number for a in record.attempts if a.kind is AttemptKind.REFUND)
        _send_refund(step, last + 1, "plan.refund_attempt_due (same refundRequestId)", config)
    elif state is S.ON_HOLD and record.cancellable_until is not None:
        if now >= record.cancellable_until:
            _hold_expired(step, record, config)
        else:
            step.command(ScheduleWakeup(key=record.key, at=record.cancellable_until))
    elif state in (S.IN_FLIGHT, S.REFUND_IN_FLIGHT):
        # Woken before the attempt in flight timed out (another worker is on it): look again
        # when it would count as lost.
        kind = AttemptKind.REFUND if state is S.REFUND_IN_FLIGHT else AttemptKind.CANCEL
        attempt = _open_attempt(record, kind)
        if attempt is not None:
            step.command(
                ScheduleWakeup(key=record.key, at=attempt.sent_at + config.attempt_timeout)
            )
    elif record.next_attempt_at is not None and not record.terminal:
        step.command(ScheduleWakeup(key=record.key, at=record.next_attempt_at))
    return step.decision()


def _hold_expired(step: Step, record: Cancellation, config: CancelConfig) -> None:
    """The window closed with the cancel still on hold: it can no longer be cancelled."""
    if config.product is Product.ALIPAYPLUS_ACQP:
        # S0: an initiated cancel may only end cancelled, and past 00:15 only a refund undoes a
        # paid order; whether one is due is for support to establish with the evidence.
        step.move(
            Trigger.PLAN_EXHAUSTED,
            "hold.window_closed (ACQP: never resent before the cut-off; escalated, S0)",
            action=Action.CONTACT_SUPPORT,
        )
        to = config.retry_policy.escalate_to
        step.command(Escalate(key=record.key, to=to, evidence=step.cancellation.support_record()))
        step.event("cancellation.escalated", to=to, attempts=len(record.attempts))
        return
    step.move(
        Trigger.WINDOW_CLOSED,
        "hold.window_closed (never resent before the cancel window closed)",
        action=Action.DO_NOT_RETRY,
    )
    step.event("cancellation.failed", code=record.final_code, action="do_not_retry")


def _chain(first: Decision, now: dt.datetime, config: CancelConfig) -> Decision:
    """Run a due wake-up right after a lost attempt was closed, merging both decisions."""
    if first.cancellation.terminal:
        return first
    second = _retry_due(first.cancellation, now, config)
    # The second decision re-emits the wake-up when the next attempt is not due yet.
    commands = tuple(c for c in first.commands if not isinstance(c, ScheduleWakeup))
    return Decision(
        cancellation=second.cancellation,
        commands=commands + second.commands,
        events=first.events + second.events,
    )
