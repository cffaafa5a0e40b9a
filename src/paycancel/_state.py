"""The cancellation state machine: one table, typed errors, absorbing terminal states."""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Mapping

from .errors import IllegalTransitionError

__all__ = ["TERMINAL_STATES", "TRANSITIONS", "CancellationState", "Trigger", "next_state"]


class CancellationState(str, enum.Enum):
    """Where a cancellation stands. Terminal states absorb every later trigger."""

    #: Created; nothing sent yet.
    PENDING = "pending"
    #: A cancel (ACQP, Antom) or the funds reversal (MPP) is being sent; the intent is stored.
    IN_FLIGHT = "in_flight"
    #: The last answer was ``U`` or nothing; the next attempt is planned.
    RETRY_SCHEDULED = "retry_scheduled"
    #: Failed for a reason the caller must fix first (``retry_later``, ``fix_credentials``,
    #: ``fix_request``; e.g. Antom's ``MERCHANT_BALANCE_NOT_ENOUGH``): cancel the order again once
    #: fixed. If the window closes first it ends ``failed`` (Antom) or ``escalated`` (ACQP).
    ON_HOLD = "on_hold"
    #: ``CANCEL_WINDOW_EXCEED`` (ACQP): a full refund with its own request id is to be sent.
    REFUND_PENDING = "refund_pending"
    REFUND_IN_FLIGHT = "refund_in_flight"
    REFUND_RETRY_SCHEDULED = "refund_retry_scheduled"
    #: Terminal: cancelled.
    CANCELLED = "cancelled"
    #: Terminal: failed with a final code (see ``final_code`` and ``action``).
    FAILED = "failed"
    #: Terminal: the full amount was refunded instead (ACQP fallback).
    REFUNDED = "refunded"
    #: Terminal: the payment must be refunded by the merchant's refund flow (Antom card captured).
    REFUND_REQUIRED = "refund_required"
    #: Terminal: every planned attempt stayed unknown; handed to support with the evidence.
    ESCALATED = "escalated"

    def __str__(self) -> str:
        return self.value

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


class Trigger(str, enum.Enum):
    """What happened to a cancellation (the events of the state machine)."""

    ATTEMPT_SENT = "attempt_sent"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    REFUND_REQUIRED = "refund_required"
    REFUND_HANDED_OVER = "refund_handed_over"
    REFUND_SENT = "refund_sent"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    REFUND_UNKNOWN = "refund_unknown"
    PLAN_EXHAUSTED = "plan_exhausted"
    ALREADY_CANCELLED = "already_cancelled"
    REFUSED_LOCALLY = "refused_locally"
    HELD = "held"
    WINDOW_CLOSED = "window_closed"
    PAYMENT_NOTIFIED = "payment_notified"

    def __str__(self) -> str:
        return self.value


S = CancellationState
T = Trigger

TERMINAL_STATES: frozenset[CancellationState] = frozenset(
    {S.CANCELLED, S.FAILED, S.REFUNDED, S.REFUND_REQUIRED, S.ESCALATED}
)

#: The whole state machine (read-only). Anything not listed from a non-terminal state is illegal.
TRANSITIONS: Mapping[tuple[CancellationState, Trigger], CancellationState] = MappingProxyType(
    {
        (S.PENDING, T.ATTEMPT_SENT): S.IN_FLIGHT,
        (S.PENDING, T.ALREADY_CANCELLED): S.CANCELLED,
        (S.PENDING, T.REFUSED_LOCALLY): S.FAILED,
        (S.PENDING, T.REFUND_HANDED_OVER): S.REFUND_REQUIRED,
        (S.PENDING, T.PAYMENT_NOTIFIED): S.PENDING,
        (S.IN_FLIGHT, T.SUCCEEDED): S.CANCELLED,
        (S.IN_FLIGHT, T.FAILED): S.FAILED,
        (S.IN_FLIGHT, T.UNKNOWN): S.RETRY_SCHEDULED,
        (S.IN_FLIGHT, T.REFUND_REQUIRED): S.REFUND_PENDING,
        (S.IN_FLIGHT, T.PAYMENT_NOTIFIED): S.IN_FLIGHT,
        (S.IN_FLIGHT, T.HELD): S.ON_HOLD,
        (S.ON_HOLD, T.ATTEMPT_SENT): S.IN_FLIGHT,
        (S.ON_HOLD, T.WINDOW_CLOSED): S.FAILED,
        (S.ON_HOLD, T.PLAN_EXHAUSTED): S.ESCALATED,
        (S.ON_HOLD, T.PAYMENT_NOTIFIED): S.ON_HOLD,
        (S.RETRY_SCHEDULED, T.ATTEMPT_SENT): S.IN_FLIGHT,
        (S.RETRY_SCHEDULED, T.PLAN_EXHAUSTED): S.ESCALATED,
        (S.RETRY_SCHEDULED, T.PAYMENT_NOTIFIED): S.RETRY_SCHEDULED,
        (S.REFUND_PENDING, T.REFUND_SENT): S.REFUND_IN_FLIGHT,
        (S.REFUND_PENDING, T.PAYMENT_NOTIFIED): S.REFUND_PENDING,
        (S.REFUND_IN_FLIGHT, T.REFUND_SUCCEEDED): S.REFUNDED,
        (S.REFUND_IN_FLIGHT, T.REFUND_FAILED): S.FAILED,
        (S.REFUND_IN_FLIGHT, T.REFUND_UNKNOWN): S.REFUND_RETRY_SCHEDULED,
        (S.REFUND_IN_FLIGHT, T.PAYMENT_NOTIFIED): S.REFUND_IN_FLIGHT,
        (S.REFUND_RETRY_SCHEDULED, T.REFUND_SENT): S.REFUND_IN_FLIGHT,
        (S.REFUND_RETRY_SCHEDULED, T.PLAN_EXHAUSTED): S.ESCALATED,
        (S.REFUND_RETRY_SCHEDULED, T.PAYMENT_NOTIFIED): S.REFUND_RETRY_SCHEDULED,
    }
)


def next_state(state: CancellationState, trigger: Trigger) -> CancellationState:
    """The state after ``trigger``.

    Terminal states absorb: any trigger leaves them as they are (a late ``SUCCESS`` notification
    never resurrects or changes a cancelled order).

    Raises:
        IllegalTransitionError: no transition for ``(state, trigger)`` from a non-terminal state.
    """
    if state in TERMINAL_STATES:
        return state
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransitionError(
            message=f"no transition from {state.value!r} on {trigger.value!r}",
            state=state.value,
            event=trigger.value,
        ) from None
