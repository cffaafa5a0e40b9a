"""Alipay+ ACQP: *when* to cancel (S0's scenario table), sans-I/O.

A :class:`PaymentWatch` follows a payment whose ``pay`` answered ``U`` or nothing: it inquires on
a schedule until the payment expires (or the inquiry budget is spent), then asks for a
cancellation. A notification or inquiry with a final result resolves it without cancelling.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Union

import attrs

from ._catalog import Action, interpret
from ._command import Command, ScheduleWakeup, SendInquiry, StartCancellation
from ._event import Event, Scalar
from ._order import PaymentOrder
from ._outcome import InquiryAnswered, InquiryOutcome, NoAnswer, NotSent
from ._product import Api, PaymentFlow, Product, ResultStatus
from ._time import aware_validator, positive_timedelta, require_aware
from .errors import PolicyError, UnsupportedProductError

__all__ = [
    "AcqpSettings",
    "InquiryResult",
    "MerchantClosed",
    "NotificationReceived",
    "PayResult",
    "PaymentWatch",
    "WatchDecision",
    "WatchInput",
    "WatchState",
    "WatchTick",
    "decide_watch",
]


@attrs.frozen
class AcqpSettings:
    """How the ACQP watches an unknown payment.

    Args:
        auto_debit_expiry: Alipay+'s default expiry for Auto Debit (S0: 1 minute).
        cashier_expiry: the default for Cashier Payment (10 minutes).
        auto_debit_inquiry_interval: S0's Auto Debit guidance: inquire every 3 s for 60 s.
        cashier_inquiry_interval: how often to inquire on a Cashier Payment.
        max_inquiries: stop inquiring (and cancel) after this many, even before expiry.
        recovery_delay: when a watch starts a cancel, it also sets a wake-up this far ahead, so
            a crash before the cancellation is stored cannot lose it.
    """

    auto_debit_expiry: dt.timedelta = attrs.field(
        default=dt.timedelta(minutes=1), validator=positive_timedelta
    )
    cashier_expiry: dt.timedelta = attrs.field(
        default=dt.timedelta(minutes=10), validator=positive_timedelta
    )
    auto_debit_inquiry_interval: dt.timedelta = attrs.field(
        default=dt.timedelta(seconds=3), validator=positive_timedelta
    )
    cashier_inquiry_interval: dt.timedelta = attrs.field(
        default=dt.timedelta(seconds=10), validator=positive_timedelta
    )
    max_inquiries: int | None = None
    recovery_delay: dt.timedelta = attrs.field(
        default=dt.timedelta(seconds=30), validator=positive_timedelta
    )

    def __attrs_post_init__(self) -> None:
        if self.max_inquiries is not None and (
            isinstance(self.max_inquiries, bool) or self.max_inquiries < 1
        ):
            raise PolicyError(message="max_inquiries must be a positive int", field="max_inquiries")

    def default_expiry(self, flow: PaymentFlow) -> dt.timedelta:
        return self.auto_debit_expiry if flow is PaymentFlow.AUTO_DEBIT else self.cashier_expiry

    def inquiry_interval(self, flow: PaymentFlow) -> dt.timedelta:
        if flow is PaymentFlow.AUTO_DEBIT:
            return self.auto_debit_inquiry_interval
        return self.cashier_inquiry_interval

    def expires_at(self, order: PaymentOrder) -> dt.datetime:
        """The effective expiry: the requested ``paymentExpiryTime`` only when it is shorter
        than Alipay+'s default, otherwise the default applies (S0 note)."""
        default = order.initiated_at + self.default_expiry(order.flow)
        if order.expires_at is not None and order.expires_at < default:
            return order.expires_at
        return default


class WatchState(str, enum.Enum):
    """Where a watched payment stands."""

    WATCHING = "watching"
    #: Resolved without cancelling: the payment succeeded.
    PAID = "paid"
    #: Resolved without cancelling: the payment failed.
    FAILED = "failed"
    #: No final result in time, or the merchant closed it: a cancellation was started.
    CANCEL_STARTED = "cancel_started"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class PaymentWatch:
    """The ACQP's watch over one payment with no final result yet."""

    key: str
    order: PaymentOrder
    state: WatchState
    started_at: dt.datetime = attrs.field(validator=aware_validator)
    expires_at: dt.datetime = attrs.field(validator=aware_validator)
    inquiries: int = 0
    next_inquiry_at: dt.datetime | None = None
    inquiry_open: bool = False
    scenario: str | None = None
    last_code: str | None = None
    version: int = 0


@attrs.frozen
class PayResult:
    """What ``pay`` returned: ``paymentResult`` status and code, or ``None`` for no answer."""

    order: PaymentOrder
    status: ResultStatus | None
    code: str | None = None


@attrs.frozen
class InquiryResult:
    """What inquiry ``number`` came to."""

    number: int
    outcome: InquiryOutcome


@attrs.frozen
class NotificationReceived:
    """``notifyPayment`` arrived with a payment result."""

    status: ResultStatus
    code: str


@attrs.frozen
class WatchTick:
    """A scheduler wake-up."""


@attrs.frozen
class MerchantClosed:
    """The merchant closes the payment before a result: cancel it (S0)."""

    reason: str = "merchant closed the payment"


WatchInput = Union[PayResult, InquiryResult, NotificationReceived, WatchTick, MerchantClosed]


@attrs.frozen
class WatchDecision:
    """The new watch, the commands to run and the events to log."""

    watch: PaymentWatch
    commands: tuple[Command, ...] = ()
    events: tuple[Event, ...] = ()


class _Out:
    def __init__(self, watch: PaymentWatch, now: dt.datetime) -> None:
        self.watch = watch
        self.now = now
        self.commands: list[Command] = []
        self.events: list[Event] = []

    def event(self, name: str, **data: Scalar) -> None:
        self.events.append(Event(name=name, key=self.watch.key, at=self.now, data=data))

    def done(self) -> WatchDecision:
        return WatchDecision(self.watch, tuple(self.commands), tuple(self.events))


def decide_watch(
    watch: PaymentWatch | None,
    event: WatchInput,
    *,
    now: dt.datetime,
    settings: AcqpSettings | None = None,
) -> WatchDecision:
    """Decide whether an unknown ACQP payment is resolved, needs another inquiry, or must be
    cancelled (S0 scenarios 1 and 2, and the merchant closing early).

    Raises:
        UnsupportedProductError: the order is not an ACQP order.
        ValueError: anything but :class:`PayResult` without a watch.
    """
    require_aware(now, "now")
    cfg = settings if settings is not None else AcqpSettings()
    if isinstance(event, PayResult):
        if watch is not None:
            return WatchDecision(watch)
        return _start(event, now, cfg)
    if watch is None:
        raise ValueError(f"{type(event).__name__} needs an existing watch")
    out = _Out(watch, now)
    if watch.state is not WatchState.WATCHING:
        if isinstance(event, MerchantClosed) and watch.state is WatchState.PAID:
            _start_cancel(out, "merchant closed a paid payment (S0: any status)", cfg)
        else:
            out.event("watch.input_ignored", state=watch.state.value, input=type(event).__name__)
        return out.done()
    if isinstance(event, NotificationReceived):
        _resolve(out, event.status, event.code, "notifyPayment")
    elif isinstance(event, MerchantClosed):
        _start_cancel(out, event.reason, cfg)
    elif isinstance(event, InquiryResult):
        _inquiry(out, event, cfg)
    else:
        _tick(out, cfg)
    return out.done()


def _start(event: PayResult, now: dt.datetime, cfg: AcqpSettings) -> WatchDecision:
    order = event.order
    if order.product is not Product.ALIPAYPLUS_ACQP:
        raise UnsupportedProductError(
            message="payment watches are for the Alipay+ ACQP role",
            product=order.product.value,
            operation="watch",
        )
    watch = PaymentWatch(
        key=order.key,
        order=order,
        state=WatchState.WATCHING,
        started_at=now,
        expires_at=cfg.expires_at(order),
    )
    out = _Out(watch, now)
    if event.status in (ResultStatus.SUCCEEDED, ResultStatus.FAILED):
        _resolve(out, event.status, event.code or "", "pay")
        return out.done()
    out.event("watch.started", expires_at=watch.expires_at.isoformat(), pay_code=event.code)
    _tick(out, cfg)
    return out.done()


def _resolve(out: _Out, status: ResultStatus, code: str, source: str) -> None:
    reading = interpret(Product.ALIPAYPLUS_ACQP, Api.PAYMENT_RESULT, status, code)
    if status is ResultStatus.UNKNOWN:
        out.event("watch.still_unknown", source=source, code=code)
        return
    state = WatchState.PAID if status is ResultStatus.SUCCEEDED else WatchState.FAILED
    order = attrs.evolve(out.watch.order, payment_status=status, payment_code=code)
    out.watch = attrs.evolve(out.watch, state=state, order=order, next_inquiry_at=None)
    out.event(
        "watch.resolved", source=source, status=status.value, code=code, rule=reading.rule,
        known=reading.known,
    )  # fmt: skip


def _start_cancel(out: _Out, reason: str, cfg: AcqpSettings) -> None:
    out.watch = attrs.evolve(out.watch, state=WatchState.CANCEL_STARTED, next_inquiry_at=None)
    # A durable wake-up first: if the process dies before the cancellation is stored, the
    # wake-up finds the watch in CANCEL_STARTED with no cancellation and starts it then.
    out.commands.append(ScheduleWakeup(key=out.watch.key, at=out.now + cfg.recovery_delay))
    out.commands.append(StartCancellation(key=out.watch.key, order=out.watch.order, reason=reason))
    out.event("watch.cancel_started", reason=reason, inquiries=out.watch.inquiries)


def _budget_spent(watch: PaymentWatch, now: dt.datetime, cfg: AcqpSettings) -> str | None:
    if now >= watch.expires_at:
        return "payment expired"
    if cfg.max_inquiries is not None and watch.inquiries >= cfg.max_inquiries:
        return f"maximum of {cfg.max_inquiries} inquiries reached"
    return None


def _tick(out: _Out, cfg: AcqpSettings) -> None:
    watch = out.watch
    spent = _budget_spent(watch, out.now, cfg)
    if spent is not None:
        scenario = watch.scenario or "scenario 1"
        _start_cancel(out, f"S0 {scenario}: no final result; {spent}", cfg)
        return
    if watch.inquiry_open:
        out.commands.append(ScheduleWakeup(key=watch.key, at=watch.expires_at))
        return
    due = watch.next_inquiry_at
    if due is None:
        due = watch.started_at + cfg.inquiry_interval(watch.order.flow)
    if out.now >= due:
        number = watch.inquiries + 1
        out.watch = attrs.evolve(
            watch,
            inquiries=number,
            inquiry_open=True,
            next_inquiry_at=out.now + cfg.inquiry_interval(watch.order.flow),
        )
        out.commands.append(SendInquiry(key=watch.key, order=watch.order, number=number))
        out.event("watch.inquiry_started", number=number)
        return
    out.watch = attrs.evolve(watch, next_inquiry_at=due)
    out.commands.append(ScheduleWakeup(key=watch.key, at=min(due, watch.expires_at)))


def _inquiry(out: _Out, event: InquiryResult, cfg: AcqpSettings) -> None:
    watch = out.watch
    if not watch.inquiry_open or event.number != watch.inquiries:
        out.event("watch.input_ignored", state=watch.state.value, input="stale inquiry")
        return
    out.watch = attrs.evolve(watch, inquiry_open=False)
    outcome = event.outcome
    if isinstance(outcome, (NoAnswer, NotSent)):
        out.watch = attrs.evolve(out.watch, scenario="scenario 1", last_code="NO_ANSWER")
        out.event("watch.inquiry_unanswered", number=event.number)
    else:
        _inquiry_answered(out, outcome)
    if out.watch.state is WatchState.WATCHING:
        _tick(out, cfg)


def _inquiry_answered(out: _Out, answer: InquiryAnswered) -> None:
    call = interpret(Product.ALIPAYPLUS_ACQP, Api.INQUIRY, answer.result_status, answer.result_code)
    if answer.result_status is ResultStatus.SUCCEEDED and answer.payment_status is not None:
        code = answer.payment_code or ""
        if answer.payment_status is ResultStatus.UNKNOWN:
            out.watch = attrs.evolve(out.watch, scenario="scenario 1", last_code=code)
        _resolve(out, answer.payment_status, code, "inquiryPayment")
        return
    scenario = "scenario 2" if answer.result_code == "ORDER_NOT_EXIST" else "scenario 1"
    out.watch = attrs.evolve(out.watch, scenario=scenario, last_code=answer.result_code)
    kind = "watch.order_not_found" if scenario == "scenario 2" else "watch.inquiry_unknown"
    out.event(kind, code=answer.result_code, action=call.action.value)
    if call.action not in (Action.RETRY_SAME_REQUEST, Action.DO_NOT_RETRY):
        # An inquiry that fails for good (credentials, request) gets no better by waiting; the
        # payment still has no final result, so the watch goes on to cancel at expiry.
        out.event("watch.inquiry_failed", code=answer.result_code, action=call.action.value)
