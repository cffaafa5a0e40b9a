"""The cancellation record, kept separate from the payment it cancels."""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from ._catalog import Action
from ._event import Scalar
from ._identifier import RefundRequestId
from ._order import PaymentOrder
from ._product import ResultStatus
from ._retry import RetryPlan
from ._state import CancellationState
from ._time import aware_validator, optional_aware_validator

__all__ = [
    "Attempt",
    "AttemptKind",
    "Cancellation",
    "DecisionRecord",
    "LateResult",
    "Reply",
]


class AttemptKind(str, enum.Enum):
    """What an attempt sent."""

    CANCEL = "cancel"
    REFUND = "refund"
    #: MPP: the wallet's own funds reversal.
    REVERSAL = "reversal"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Attempt:
    """One outbound call, stored before it is sent and completed when it is answered.

    ``answered_at is None`` means the call is (or was, before a crash) in flight. ``status`` is
    ``None`` with ``answered_at`` set when no answer came (timeout, not sent).
    """

    kind: AttemptKind
    number: int
    sent_at: dt.datetime = attrs.field(validator=aware_validator)
    answered_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_validator)
    status: ResultStatus | None = None
    code: str | None = None
    message: str | None = None
    transport: str | None = None

    @property
    def open(self) -> bool:
        return self.answered_at is None


@attrs.frozen
class DecisionRecord:
    """Why the state changed: the inputs, the catalog version, the window, ``now``, the rule."""

    at: dt.datetime
    rule: str
    state_before: CancellationState
    state_after: CancellationState
    catalog_version: str
    window: str
    cancellable_until: dt.datetime | None
    inputs: dict[str, Scalar] = attrs.field(factory=dict)


@attrs.frozen
class LateResult:
    """A payment result that arrived after the cancel began; recorded, never applied."""

    received_at: dt.datetime
    status: ResultStatus
    code: str


@attrs.frozen
class Reply:
    """The answer a receiving role (MPP) gave, replayed exactly for the same key."""

    status: ResultStatus
    code: str
    message: str


@attrs.frozen
class Cancellation:
    """A cancellation of one payment, by one role.

    Attributes:
        key: the idempotency key (see :attr:`PaymentOrder.key`).
        version: bumped on every stored change (compare-and-set).
        next_attempt_at: when the next planned attempt is due, if one is.
        plan: the retry plan, made at the first unknown result.
        refund_request_id: the refund's own idempotency key (ACQP fallback).
        final_code: the code that ended it (``SUCCESS``, ``CANCEL_WINDOW_EXCEED``, ...).
        action: what a human or the caller should do next, in the catalog vocabulary.
        reply: the MPP's stored answer.
        running_since: MPP: when the current run started (twins inside the lease get ``U``).
        warnings: what the caller should know about a result (S4: the buyer may still pay).
        cancelled_at: when the platform says the cancel took effect (Antom's ``cancelTime``).
    """

    key: str
    order: PaymentOrder | None
    state: CancellationState
    created_at: dt.datetime = attrs.field(validator=aware_validator)
    reason: str = "requested"
    version: int = 0
    cancellable_until: dt.datetime | None = None
    attempts: tuple[Attempt, ...] = ()
    plan: RetryPlan | None = None
    refund_plan: RetryPlan | None = None
    refund_request_id: RefundRequestId | None = None
    next_attempt_at: dt.datetime | None = None
    final_code: str | None = None
    action: Action | None = None
    reply: Reply | None = None
    running_since: dt.datetime | None = None
    decisions: tuple[DecisionRecord, ...] = ()
    late_results: tuple[LateResult, ...] = ()
    warnings: tuple[str, ...] = ()
    cancelled_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_validator)

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    def attempts_of(self, kind: AttemptKind) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.kind is kind)

    def support_record(self) -> dict[str, object]:
        """Everything support needs: ids, every attempt with time and result, the rules applied."""
        order = self.order
        return {
            "key": self.key,
            "state": self.state.value,
            "payment_request_id": None
            if order is None or order.payment_request_id is None
            else order.payment_request_id.value,
            "payment_id": None
            if order is None or order.payment_id is None
            else order.payment_id.value,
            "refund_request_id": None
            if self.refund_request_id is None
            else self.refund_request_id.value,
            "final_code": self.final_code,
            "cancelled_at": None if self.cancelled_at is None else self.cancelled_at.isoformat(),
            "attempts": [
                {
                    "kind": a.kind.value,
                    "number": a.number,
                    "sent_at": a.sent_at.isoformat(),
                    "answered_at": None if a.answered_at is None else a.answered_at.isoformat(),
                    "status": None if a.status is None else a.status.value,
                    "code": a.code,
                    "transport": a.transport,
                }
                for a in self.attempts
            ],
            "rules": [d.rule for d in self.decisions],
        }
