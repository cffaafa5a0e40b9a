"""Alipay+ MPP: receiving ``cancelPayment`` (S1, S3), sans-I/O.

The wallet must make the cancel succeed whatever the payment status and return the funds once.
Idempotency is keyed by ``(acquirerId, pspId, paymentRequestId)``:

* a stored ``S`` or ``F`` is replayed exactly;
* a stored ``U`` is not final, so the next request re-runs the work;
* a twin that arrives while the first is still running (inside the lease) gets ``U``;
* a cancel for a payment the wallet has not seen yet is recorded, and that payment is refused
  when it arrives (:func:`payment_admissible`).
"""

from __future__ import annotations

import datetime as dt
from typing import Union

import attrs

from ._cancellation import Attempt, AttemptKind, Cancellation, Reply
from ._catalog import Action
from ._command import ReverseFunds
from ._identifier import AcquirerId, PaymentRequestId, PspId
from ._order import PaymentOrder, mpp_key
from ._product import ResultStatus
from ._state import CancellationState, Trigger
from ._step import Decision, Step, close_open_attempt
from ._time import require_aware
from ._window import MPP_WINDOW, WindowPolicy
from .errors import InvalidOrderError

__all__ = [
    "CancelReceived",
    "MppCancelRequest",
    "MppDecision",
    "MppSettings",
    "ReversalDone",
    "ReversalFailed",
    "ReversalOutcome",
    "Reversed",
    "decide_mpp",
    "payment_admissible",
]

S = CancellationState

SUCCESS = Reply(status=ResultStatus.SUCCEEDED, code="SUCCESS", message="Success")
WINDOW_EXCEEDED = Reply(
    status=ResultStatus.FAILED, code="CANCEL_WINDOW_EXCEED", message="Exceed Cancel window."
)
TWIN_RUNNING = Reply(
    status=ResultStatus.UNKNOWN,
    code="UNKNOWN_EXCEPTION",
    message="A cancel for this paymentRequestId is still being processed; retry.",
)
TEMPORARY_FAULT = Reply(
    status=ResultStatus.UNKNOWN,
    code="UNKNOWN_EXCEPTION",
    message="An API call failed, which is caused by unknown reasons.",
)


@attrs.frozen
class MppCancelRequest:
    """An incoming ``cancelPayment``, already verified and decoded by the adapter."""

    acquirer_id: AcquirerId
    psp_id: PspId
    payment_request_id: PaymentRequestId

    @property
    def key(self) -> str:
        return mpp_key(str(self.acquirer_id), str(self.psp_id), str(self.payment_request_id))


@attrs.frozen
class MppSettings:
    """Settings of the MPP use case.

    Args:
        window: 00:30 UTC+8 on T+1 by default (S3).
        lease: a run older than this is presumed crashed and is re-run by the next request;
            a twin inside it gets ``U``. Keep it above Alipay+'s 8 s timeout.
    """

    window: WindowPolicy = MPP_WINDOW
    lease: dt.timedelta = dt.timedelta(seconds=30)


@attrs.frozen
class CancelReceived:
    """A cancel arrived; ``payment`` is the wallet's payment, ``None`` if it has not seen it."""

    request: MppCancelRequest
    payment: PaymentOrder | None


@attrs.frozen
class Reversed:
    """The funds went back to the user (or there was nothing to return)."""


@attrs.frozen
class ReversalFailed:
    """The reversal did not complete (a temporary fault); Alipay+ will retry."""

    reason: str


ReversalOutcome = Union[Reversed, ReversalFailed]


@attrs.frozen
class ReversalDone:
    """The outcome of reversal attempt ``attempt``."""

    attempt: int
    outcome: ReversalOutcome


MppInput = Union[CancelReceived, ReversalDone]


@attrs.frozen
class MppDecision:
    """The record to store, commands to run, events to log and the reply, once there is one.

    ``reply is None`` means the work is running (a :class:`ReverseFunds` command was issued).
    ``store`` is ``False`` for answers that must not be stored (the twin's ``U``).
    """

    decision: Decision
    reply: Reply | None
    store: bool = True

    @property
    def cancellation(self) -> Cancellation:
        return self.decision.cancellation


def payment_admissible(record: Cancellation | None) -> bool:
    """Whether a payment may still go ahead: not if a cancel for it was received first."""
    return record is None or (record.state is S.FAILED and record.order is not None)


def decide_mpp(
    record: Cancellation | None,
    event: MppInput,
    *,
    now: dt.datetime,
    settings: MppSettings | None = None,
) -> MppDecision:
    """Decide the wallet's answer to a ``cancelPayment`` (or to its reversal's outcome).

    Raises:
        InvalidOrderError: the payment does not match the request's key.
        ValueError: a reversal outcome without a record.
    """
    require_aware(now, "now")
    cfg = settings if settings is not None else MppSettings()
    if isinstance(event, ReversalDone):
        if record is None:
            raise ValueError("a reversal outcome needs an existing record")
        return _reversal_done(record, event, now, cfg)
    if record is None:
        return _first(event, now, cfg)
    step = _step(record, now, cfg, event)
    if record.terminal:
        step.event("mpp.reply_replayed", code=record.reply.code if record.reply else None)
        return MppDecision(step.decision(), record.reply, store=False)
    if record.state is S.IN_FLIGHT:
        assert record.running_since is not None
        if now - record.running_since < cfg.lease:
            step.event("mpp.twin_answered_unknown")
            return MppDecision(step.decision(), TWIN_RUNNING, store=False)
        close_open_attempt(step, transport="lost: the run's lease expired")
        step.move(Trigger.UNKNOWN, "mpp.lease_expired (re-run)")
    # A stored U (or an expired run) is not final: run the reversal again (idempotent).
    _reverse(step, "mpp.rerun_after_unknown (S1: same request, same result once final)")
    return MppDecision(step.decision(), None)


def _step(record: Cancellation, now: dt.datetime, cfg: MppSettings, event: CancelReceived) -> Step:
    return Step(
        record,
        now=now,
        window=cfg.window,
        inputs={
            "input": "cancel_received",
            "payment_request_id": event.request.payment_request_id.value,
            "payment_known": event.payment is not None,
        },
    )


def _first(event: CancelReceived, now: dt.datetime, cfg: MppSettings) -> MppDecision:
    payment = event.payment
    if payment is not None and payment.key != event.request.key:
        raise InvalidOrderError(
            message="the payment found does not match the request's acquirerId/pspId/"
            "paymentRequestId",
            field="payment",
        )
    until = None if payment is None else cfg.window.cancellable_until(payment.initiated_at)
    record = Cancellation(
        key=event.request.key,
        order=payment,
        state=S.PENDING,
        created_at=now,
        reason="cancelPayment received",
        cancellable_until=until,
    )
    step = _step(record, now, cfg, event)
    if payment is None:
        step.move(
            Trigger.ALREADY_CANCELLED,
            "mpp.unseen_payment (recorded; the payment is refused when it arrives)",
            reply=SUCCESS, final_code=SUCCESS.code, action=Action.MARK_CANCELLED,
        )  # fmt: skip
        step.event("mpp.unseen_payment_cancelled")
        return MppDecision(step.decision(), SUCCESS)
    if not cfg.window.is_open(payment.initiated_at, now):
        step.move(
            Trigger.REFUSED_LOCALLY,
            "mpp.window_exceeded (S3: until 00:30 UTC+8 on T+1)",
            reply=WINDOW_EXCEEDED, final_code=WINDOW_EXCEEDED.code, action=Action.DO_NOT_RETRY,
        )  # fmt: skip
        step.event("mpp.window_exceeded")
        return MppDecision(step.decision(), WINDOW_EXCEEDED)
    if payment.cancelled or payment.payment_status is ResultStatus.FAILED:
        # Nothing was taken from the user: the cancel succeeds at once (S3: whatever the status).
        step.move(
            Trigger.ALREADY_CANCELLED,
            "mpp.nothing_to_reverse (payment failed or already cancelled)",
            reply=SUCCESS, final_code=SUCCESS.code, action=Action.MARK_CANCELLED,
            order=attrs.evolve(payment, cancelled=True),
        )  # fmt: skip
        return MppDecision(step.decision(), SUCCESS)
    _reverse(step, "mpp.reverse_funds (S3: succeed whatever the status, return the funds)")
    return MppDecision(step.decision(), None)


def _reverse(step: Step, rule: str) -> None:
    record = step.cancellation
    assert record.order is not None
    number = len(record.attempts_of(AttemptKind.REVERSAL)) + 1
    step.move(
        Trigger.ATTEMPT_SENT,
        rule,
        attempts=(
            *record.attempts,
            Attempt(kind=AttemptKind.REVERSAL, number=number, sent_at=step.now),
        ),
        running_since=step.now,
        reply=None,
    )
    step.command(ReverseFunds(key=record.key, order=record.order))
    step.event("mpp.reversal_started", attempt=number)


def _reversal_done(
    record: Cancellation, event: ReversalDone, now: dt.datetime, cfg: MppSettings
) -> MppDecision:
    step = Step(
        record,
        now=now,
        window=cfg.window,
        inputs={"input": "reversal_done", "attempt": event.attempt},
    )
    open_attempts = [a for a in record.attempts if a.open and a.kind is AttemptKind.REVERSAL]
    if (
        record.state is not S.IN_FLIGHT
        or not open_attempts
        or open_attempts[-1].number != event.attempt
    ):
        step.event("mpp.reversal_outcome_ignored", attempt=event.attempt, state=record.state.value)
        return MppDecision(step.decision(), record.reply, store=False)
    if isinstance(event.outcome, Reversed):
        close_open_attempt(step, status=ResultStatus.SUCCEEDED, code="REVERSED")
        assert record.order is not None
        step.move(
            Trigger.SUCCEEDED, "mpp.funds_reversed", reply=SUCCESS, final_code=SUCCESS.code,
            action=Action.MARK_CANCELLED, running_since=None,
            order=attrs.evolve(record.order, cancelled=True),
        )  # fmt: skip
        step.event("mpp.funds_reversed", amount=record.order.full_amount.value)
        return MppDecision(step.decision(), SUCCESS)
    close_open_attempt(step, transport=f"reversal failed: {event.outcome.reason}")
    step.move(
        Trigger.UNKNOWN, "mpp.temporary_fault (U: Alipay+ retries, S3)",
        reply=TEMPORARY_FAULT, running_since=None,
    )  # fmt: skip
    step.event("mpp.reversal_failed", reason=event.outcome.reason)
    return MppDecision(step.decision(), TEMPORARY_FAULT)
