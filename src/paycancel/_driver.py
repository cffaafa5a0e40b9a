"""Drivers: run the calling roles' use cases (ACQP, Antom) against the ports, sync or asyncio.

The logic lives once, in :class:`_Core`'s generators, which yield each outbound command and
receive its outcome; :class:`SyncDriver` answers them with plain calls and ``AsyncDriver`` (in
``_async_driver``) with ``await``. The order of writes is what makes a crash harmless:

1. the wake-ups a decision asks for are scheduled first (an early wake-up is a no-op that
   re-arms itself; a stored intent without one would wait forever);
2. the decision is stored with compare-and-set, its open attempt being the intent;
3. only then does the outbound call go out, and its outcome is fed back in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Generator, Generic, TypeVar, Union, cast

import structlog

from ._acqp import (
    AcqpSettings,
    InquiryResult,
    MerchantClosed,
    NotificationReceived,
    PaymentWatch,
    PayResult,
    WatchDecision,
    WatchInput,
    WatchState,
    WatchTick,
    decide_watch,
)
from ._cancellation import Cancellation
from ._command import (
    Command,
    Escalate,
    ScheduleWakeup,
    SendCancel,
    SendInquiry,
    SendRefund,
    StartCancellation,
)
from ._event import log_events
from ._flow import (
    Begin,
    CancelAnswered,
    CancelConfig,
    FlowInput,
    PaymentNotified,
    RefundAnswered,
    RetryDue,
    decide,
)
from ._order import PaymentOrder
from ._outcome import Answered, InquiryAnswered, NoAnswer, NotSent
from ._product import Product, ResultStatus
from ._step import Decision
from .errors import (
    ConcurrentUpdateError,
    NotFoundError,
    UnsupportedProductError,
    ValidationError,
)
from .typing import (
    CancelGateway,
    Clock,
    InquiryGateway,
    RecordStore,
    RefundGateway,
    Scheduler,
)

__all__ = ["SyncDriver"]

logger = structlog.get_logger(__name__)

#: Outbound work a generator hands to its driver, and what the driver sends back.
Outbound = Union[SendCancel, SendRefund, SendInquiry]
Outcome = Any  # GatewayOutcome | InquiryOutcome
T = TypeVar("T")
Work = Generator[Outbound, Outcome, Union[PaymentWatch, Cancellation]]

_CANCEL = "cancel:"
_WATCH = "watch:"


class _Core:
    """The I/O-free half of both drivers: stores, scheduler, clock, and the generators."""

    def __init__(
        self,
        *,
        config: CancelConfig,
        store: RecordStore[Cancellation],
        clock: Clock,
        scheduler: Scheduler | None,
        watch_store: RecordStore[PaymentWatch] | None,
        acqp_settings: AcqpSettings | None,
        on_escalate: Callable[[Escalate], None] | None,
        lease: dt.timedelta,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.scheduler = scheduler
        self.watch_store = watch_store
        self.acqp_settings = acqp_settings if acqp_settings is not None else AcqpSettings()
        self.on_escalate = on_escalate
        self.lease = lease

    # -- cancellations -----------------------------------------------------------------------

    def run(self, key: str, first: FlowInput) -> Generator[Outbound, Outcome, Cancellation]:
        record = self.store.get(key=key)
        if record is None and not isinstance(first, Begin):
            raise NotFoundError(message=f"no cancellation {key!r}", key=key)
        decision = decide(record, first, now=self.clock.now(), config=self.config)
        while True:
            self._schedule(_CANCEL, decision.commands)
            stored = self._persist(record, decision)
            if stored is None:  # lost a race: someone else moved it on; report their record
                latest = self.store.get(key=key)
                assert latest is not None
                return latest
            record = stored
            log_events(decision.events)
            follow: FlowInput | None = None
            for command in decision.commands:
                if isinstance(command, SendCancel):
                    follow = CancelAnswered(command.attempt, (yield command))
                elif isinstance(command, SendRefund):
                    follow = RefundAnswered(command.attempt, (yield command))
                elif isinstance(command, Escalate) and self.on_escalate is not None:
                    self.on_escalate(command)
            if record.terminal and self.scheduler is not None:
                self.scheduler.unschedule(key=_CANCEL + key)
            if follow is None:
                return record
            decision = decide(record, follow, now=self.clock.now(), config=self.config)

    def _schedule(self, prefix: str, commands: tuple[Command, ...]) -> None:
        if self.scheduler is None:
            return
        for command in commands:
            if isinstance(command, ScheduleWakeup):
                self.scheduler.schedule(key=prefix + command.key, at=command.at)

    def _persist(self, before: Cancellation | None, decision: Decision) -> Cancellation | None:
        after = decision.cancellation
        if before is None:
            stored, created = self.store.create(record=after)
            return stored if created else None
        if after is before:
            return before
        try:
            return self.store.update(record=after, expected_version=before.version)
        except ConcurrentUpdateError:
            logger.info("cancellation.update_lost", key=after.key, version=before.version)
            return None

    # -- ACQP watches ------------------------------------------------------------------------

    def _watches(self) -> RecordStore[PaymentWatch]:
        if self.watch_store is None or self.config.product is not Product.ALIPAYPLUS_ACQP:
            raise UnsupportedProductError(
                message="payment watches need the ACQP product and a watch_store",
                product=self.config.product.value,
                operation="watch",
            )
        return self.watch_store

    def watch(self, key: str, first: WatchInput) -> Work:
        store = self._watches()
        watch = store.get(key=key)
        if watch is not None and (
            watch.state is WatchState.CANCEL_STARTED or self.store.get(key=key) is not None
        ):
            return (yield from self._after_cancel_started(watch, first))
        decision: WatchDecision = decide_watch(
            watch, first, now=self.clock.now(), settings=self.acqp_settings
        )
        while True:
            self._schedule(_WATCH, decision.commands)
            stored = self._persist_watch(store, watch, decision.watch)
            if stored is None:
                latest = store.get(key=key)
                assert latest is not None
                return latest
            watch = stored
            log_events(decision.events)
            follow: WatchInput | None = None
            for command in decision.commands:
                if isinstance(command, SendInquiry):
                    follow = InquiryResult(command.number, (yield command))
                elif isinstance(command, StartCancellation):
                    # The watch's recovery wake-up stays: harmless once the cancellation exists
                    # (it only resumes it), essential if the process dies right here.
                    return (yield from self.run(key, Begin(command.order, command.reason)))
            if watch.state is not WatchState.WATCHING and self.scheduler is not None:
                self.scheduler.unschedule(key=_WATCH + key)
            if follow is None:
                return watch
            decision = decide_watch(
                watch, follow, now=self.clock.now(), settings=self.acqp_settings
            )

    @staticmethod
    def _persist_watch(
        store: RecordStore[PaymentWatch], before: PaymentWatch | None, after: PaymentWatch
    ) -> PaymentWatch | None:
        if before is None:
            stored, created = store.create(record=after)
            return stored if created else None
        if after is before:
            return before
        try:
            return store.update(record=after, expected_version=before.version)
        except ConcurrentUpdateError:
            return None

    def _after_cancel_started(
        self, watch: PaymentWatch, first: WatchInput
    ) -> Generator[Outbound, Outcome, Cancellation]:
        """Once a cancel began, results go to the cancellation (S0: it can only end cancelled);
        a merchant close or a tick resumes it, or starts it if a crash came between storing the
        watch and storing the cancellation."""
        key = watch.key
        started: Cancellation | None = None
        if self.store.get(key=key) is None:
            begin = Begin(watch.order, "recovered: the watch had started this cancel")
            started = yield from self.run(key, begin)
        if self.scheduler is not None:  # the cancellation has its own wake-ups from here on
            self.scheduler.unschedule(key=_WATCH + key)
        if isinstance(first, NotificationReceived):
            return (yield from self.run(key, PaymentNotified(first.status, first.code)))
        if started is not None:
            return started
        return (yield from self.run(key, RetryDue()))

    # -- entry points shared by both drivers ---------------------------------------------------

    def begin(self, order: PaymentOrder, reason: str) -> Generator[Outbound, Outcome, Cancellation]:
        return self.run(order.key, Begin(order, reason))

    def resume(self, key: str) -> Generator[Outbound, Outcome, Cancellation]:
        return self.run(key, RetryDue())

    def notified(self, key: str, status: ResultStatus, code: str) -> Work:
        if self.store.get(key=key) is not None:  # a cancel began: it decides (S0, S4)
            return self.run(key, PaymentNotified(status, code))
        if self.watch_store is not None and self.watch_store.get(key=key) is not None:
            return self.watch(key, NotificationReceived(status, code))
        raise NotFoundError(message=f"nothing known under {key!r}", key=key)

    def due(self, limit: int) -> list[tuple[str, Work]]:
        """The claimed wake-ups with their work. A claim is a lease: an entry whose work fails
        comes due again after ``lease`` unless the work re-schedules or unschedules it."""
        if self.scheduler is None:
            return []
        work: list[tuple[str, Work]] = []
        entries = self.scheduler.claim_due(now=self.clock.now(), limit=limit, lease=self.lease)
        for entry in entries:
            if entry.startswith(_WATCH):
                work.append((entry, self.watch(entry[len(_WATCH) :], WatchTick())))
            else:
                work.append((entry, self.run(entry[len(_CANCEL) :], RetryDue())))
        return work

    def wakeup_failed(self, entry: str, exc: Exception) -> None:
        if isinstance(exc, NotFoundError) and self.scheduler is not None:
            logger.warning("scheduler.wakeup_dropped", entry=entry, reason="no such record")
            self.scheduler.unschedule(key=entry)
            return
        # The lease brings the entry back; one bad record must not stop the others.
        logger.error("scheduler.wakeup_failed", entry=entry, error=type(exc).__name__)


def _drive_sync(gen: Generator[Outbound, Outcome, T], execute: Callable[[Outbound], Outcome]) -> T:
    try:
        work = next(gen)
        while True:
            work = gen.send(execute(work))
    except StopIteration as stop:
        return cast(T, stop.value)


def _port_call(
    work: Outbound, cancel: Any, refund: Any, inquiry: Any
) -> tuple[str, Callable[[], Any] | None]:
    """Which port a piece of work goes to, as a call to make (``None``: no such port)."""
    if isinstance(work, SendCancel):
        return "cancel", lambda: cancel.cancel(order=work.order, attempt=work.attempt)
    if isinstance(work, SendRefund):
        return "refund", None if refund is None else lambda: refund.refund(
            order=work.order, refund_request_id=work.refund_request_id,
            amount=work.amount, reason=work.reason,
        )  # fmt: skip
    return "inquiry", None if inquiry is None else lambda: inquiry.inquire(order=work.order)


def _checked(port: str, result: object) -> Outcome:
    """A port must return a typed outcome; anything else is logged and read as no answer."""
    expected = (InquiryAnswered, NotSent, NoAnswer) if port == "inquiry" else (
        Answered, NotSent, NoAnswer,
    )  # fmt: skip
    if isinstance(result, expected):
        return result
    logger.error("gateway.unexpected_result", port=port, type=type(result).__name__)
    return NoAnswer(f"{port} returned {type(result).__name__}")


def _raised(port: str, exc: Exception) -> NoAnswer:
    """A port that raises: an adapter bug must not lose the stored intent; read it as no
    answer, so the attempt is resent with the same parameters."""
    logger.error("gateway.call_raised", port=port, error=type(exc).__name__, exc_info=True)
    return NoAnswer(f"{port} raised {type(exc).__name__}")


def _require_refund(config: CancelConfig, refund: object) -> None:
    if config.product is Product.ALIPAYPLUS_ACQP and refund is None:
        raise UnsupportedProductError(
            message=(
                "the ACQP needs a refund gateway: CANCEL_WINDOW_EXCEED falls back to refund (S0)"
            ),
            product=config.product.value,
            operation="driver",
        )


CG = TypeVar("CG")
RG = TypeVar("RG")
IG = TypeVar("IG")


class _DriverBase(Generic[CG, RG, IG]):
    """What both drivers are built from; ``CG``/``RG``/``IG`` are their gateway port types."""

    def __init__(
        self,
        *,
        config: CancelConfig,
        store: RecordStore[Cancellation],
        clock: Clock,
        cancel_gateway: CG,
        refund_gateway: RG | None = None,
        inquiry_gateway: IG | None = None,
        scheduler: Scheduler | None = None,
        watch_store: RecordStore[PaymentWatch] | None = None,
        acqp_settings: AcqpSettings | None = None,
        on_escalate: Callable[[Escalate], None] | None = None,
        lease: dt.timedelta = dt.timedelta(seconds=60),
    ) -> None:
        _require_refund(config, refund_gateway)
        if lease <= dt.timedelta(0):
            raise ValidationError(message="lease must be a positive timedelta", field="lease")
        self._core = _Core(
            config=config, store=store, clock=clock, scheduler=scheduler, watch_store=watch_store,
            acqp_settings=acqp_settings, on_escalate=on_escalate, lease=lease,
        )  # fmt: skip
        self._gateways = (cancel_gateway, refund_gateway, inquiry_gateway)


class SyncDriver(_DriverBase[CancelGateway, RefundGateway, InquiryGateway]):
    """Runs cancellations (ACQP, Antom) and ACQP payment watches against sync ports.

    Args:
        config: the role's settings (``CancelConfig.for_product(...)``).
        store: where cancellations live.
        clock: read once per decision.
        cancel_gateway: sends cancels.
        refund_gateway: sends refunds (ACQP fallback); required for the ACQP.
        inquiry_gateway: inquires payments (ACQP watches).
        scheduler: durable wake-ups; without one, call :meth:`resume` yourself.
        watch_store: where ACQP payment watches live.
        acqp_settings: expiry defaults and inquiry pacing of ACQP watches.
        on_escalate: called with each :class:`Escalate` (page someone, open a ticket).
        lease: how long a claimed wake-up stays claimed before it comes due again (if the
            worker that claimed it died); 60 s by default.

    Raises:
        UnsupportedProductError: an ACQP driver without a refund gateway.
        ValidationError: a lease that is not positive.
    """

    def _execute(self, work: Outbound) -> Outcome:
        port, call = _port_call(work, *self._gateways)
        if call is None:
            return NoAnswer(f"no {port} gateway configured")
        try:
            return _checked(port, call())
        except Exception as exc:
            return _raised(port, exc)

    def cancel(self, order: PaymentOrder, *, reason: str = "requested") -> Cancellation:
        """Cancel ``order`` and run until it waits or ends. Idempotent on the order's key: a
        cancellation in progress is resumed (if due), one on hold is resent, an ended one is
        returned as it is."""
        return _drive_sync(self._core.begin(order, reason), self._execute)

    def resume(self, key: str) -> Cancellation:
        """Run a due retry (or recover a lost attempt) of the cancellation ``key``.

        Raises:
            NotFoundError: no cancellation under ``key``.
        """
        return _drive_sync(self._core.resume(key), self._execute)

    def payment_notified(
        self, key: str, status: ResultStatus, code: str
    ) -> PaymentWatch | Cancellation:
        """A ``notifyPayment`` (or other late result) for ``key``. Once a cancel began it is
        recorded on the cancellation without changing it (S0, S4); before, it resolves the
        ACQP watch.

        Raises:
            NotFoundError: nothing is known under ``key``.
        """
        return _drive_sync(self._core.notified(key, status, code), self._execute)

    def watch(
        self, order: PaymentOrder, *, status: ResultStatus | None, code: str | None = None
    ) -> PaymentWatch | Cancellation:
        """ACQP: ``pay`` answered ``status`` (``None``: no answer); watch it until it resolves
        or must be cancelled (S0)."""
        return _drive_sync(
            self._core.watch(order.key, PayResult(order, status, code)), self._execute
        )

    def merchant_closed(
        self, key: str, *, reason: str = "merchant closed the payment"
    ) -> PaymentWatch | Cancellation:
        """ACQP: the merchant closes a watched payment before a result: cancel it (S0)."""
        return _drive_sync(self._core.watch(key, MerchantClosed(reason)), self._execute)

    def run_due(self, *, limit: int = 100) -> list[PaymentWatch | Cancellation]:
        """Run the wake-ups due now (up to ``limit``); returns the records touched. A wake-up
        whose work fails is logged and comes back after the lease; the others still run."""
        done: list[PaymentWatch | Cancellation] = []
        for entry, work in self._core.due(limit):
            try:
                done.append(_drive_sync(work, self._execute))
            except Exception as exc:
                self._core.wakeup_failed(entry, exc)
        return done
