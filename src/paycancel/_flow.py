"""The calling roles' cancellation use case (Alipay+ ACQP and Antom), sans-I/O.

``decide(cancellation, input, now, config) -> Decision``: no clock, no I/O. The driver persists
the returned record (with its open attempt: the intent) *before* running the commands, then feeds
each command's outcome back in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from ._cancellation import AttemptKind, Cancellation
from ._catalog import Action
from ._command import Escalate, ScheduleWakeup
from ._flow_answers import (
    _cancel_answered,
    _notified,
    _open_attempt,
    _refund_answered,
    _send_cancel,
    _send_refund,
)
from ._flow_config import (
    Begin,
    CancelAnswered,
    CancelConfig,
    FlowInput,
    PaymentNotified,
    RefundAnswered,
    RetryDue,
    _step,
    default_refund_request_id,
)
from ._outcome import NoAnswer
from ._product import PaymentMethodFamily, Product
from ._state import CancellationState, Trigger
from ._step import Decision, Step
from ._time import require_aware
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
