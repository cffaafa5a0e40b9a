"""Drivers: run the sans-I/O use cases against the ports, sync or asyncio.

The logic lives once, in generators that yield each outbound command and receive its outcome;
:class:`SyncDriver` answers them with plain calls and :class:`AsyncDriver` with ``await``. Every
decision is stored (compare-and-set) *before* its outbound call, so a crash leaves an open
attempt that the next wake-up resends with the same parameters.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, TypeVar, Union, cast

import attrs
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
from ._cancellation import Cancellation, Reply
from ._command import (
    Escalate,
    ReverseFunds,
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
from ._mpp import (
    TWIN_RUNNING,
    CancelReceived,
    MppCancelRequest,
    MppDecision,
    MppSettings,
    ReversalDone,
    ReversalFailed,
    ReversalOutcome,
    decide_mpp,
    payment_admissible,
)
from ._order import PaymentOrder
from ._outcome import NoAnswer
from ._product import Product, ResultStatus
from ._step import Decision
from .errors import ConcurrentUpdateError, NotFoundError, UnsupportedProductError
from .typing import (
    AsyncCancelGateway,
    AsyncFundsReversal,
    AsyncInquiryGateway,
    AsyncRefundGateway,
    CancelGateway,
    Clock,
    FundsReversal,
    InquiryGateway,
    RecordStore,
    RefundGateway,
    Scheduler,
)

__all__ = ["AsyncDriver", "AsyncMppService", "MppService", "SyncDriver"]

logger = structlog.get_logger(__name__)

#: Outbound work a generator hands to its driver.
Outbound = Union[SendCancel, SendRefund, SendInquiry, ReverseFunds, "_FindPayment"]
Outcome = Any  # GatewayOutcome | InquiryOutcome | ReversalOutcome | Optional[PaymentOrder]

T = TypeVar("T")

_CANCEL = "cancel:"
_WATCH = "watch:"


@attrs.frozen
class _FindPayment:
    request: MppCancelRequest


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
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.scheduler = scheduler
        self.watch_store = watch_store
        self.acqp_settings = acqp_settings if acqp_settings is not None else AcqpSettings()
        self.on_escalate = on_escalate

    # -- cancellations -----------------------------------------------------------------------

    def run(self, key: str, first: FlowInput) -> Generator[Outbound, Outcome, Cancellation]:
        record = self.store.get(key=key)
        decision = decide(record, first, now=self.clock.now(), config=self.config)
        while True:
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
                    outcome = yield command
                    follow = CancelAnswered(command.attempt, outcome)
                elif isinstance(command, SendRefund):
                    outcome = yield command
                    follow = RefundAnswered(command.attempt, outcome)
                else:
                    self._side_effect(command)
            if record.terminal and self.scheduler is not None:
                self.scheduler.unschedule(key=_CANCEL + key)
            if follow is None:
                return record
            decision = decide(record, follow, now=self.clock.now(), config=self.config)

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

    def _side_effect(self, command: object) -> None:
        if isinstance(command, ScheduleWakeup):
            if self.scheduler is not None:
                self.scheduler.schedule(key=_CANCEL + command.key, at=command.at)
        elif isinstance(command, Escalate):
            if self.on_escalate is not None:
                self.on_escalate(command)
        elif isinstance(command, StartCancellation):  # pragma: no cover - handled by watch()
            raise AssertionError("StartCancellation is run by the watch generator")

    # -- ACQP watches ------------------------------------------------------------------------

    def _watches(self) -> RecordStore[PaymentWatch]:
        if self.watch_store is None or self.config.product is not Product.ALIPAYPLUS_ACQP:
            raise UnsupportedProductError(
                message="payment watches need the ACQP product and a watch_store",
                product=self.config.product.value,
                operation="watch",
            )
        return self.watch_store

    def watch(  # noqa: PLR0912 - the watch loop's command dispatch reads best in one place
        self, key: str, first: WatchInput
    ) -> Generator[Outbound, Outcome, PaymentWatch | Cancellation]:
        store = self._watches()
        watch = store.get(key=key)
        if watch is not None and watch.state is WatchState.CANCEL_STARTED:
            return (yield from self._after_cancel_started(watch, first))
        decision: WatchDecision = decide_watch(
            watch, first, now=self.clock.now(), settings=self.acqp_settings
        )
        while True:
            after = decision.watch
            if watch is None:
                stored, created = store.create(record=after)
                if not created:
                    return stored
            elif after is watch:
                stored = watch
            else:
                try:
                    stored = store.update(record=after, expected_version=watch.version)
                except ConcurrentUpdateError:
                    latest = store.get(key=key)
                    assert latest is not None
                    return latest
            watch = stored
            log_events(decision.events)
            follow: WatchInput | None = None
            for command in decision.commands:
                if isinstance(command, SendInquiry):
                    outcome = yield command
                    follow = InquiryResult(command.number, outcome)
                elif isinstance(command, StartCancellation):
                    # The watch's recovery wake-up stays: it is harmless once the cancellation
                    # exists (it only resumes it) and essential if we die right here.
                    return (yield from self.run(key, Begin(command.order, command.reason)))
                elif isinstance(command, ScheduleWakeup) and self.scheduler is not None:
                    self.scheduler.schedule(key=_WATCH + command.key, at=command.at)
            if watch.state is not WatchState.WATCHING and self.scheduler is not None:
                self.scheduler.unschedule(key=_WATCH + key)
            if follow is None:
                return watch
            decision = decide_watch(
                watch, follow, now=self.clock.now(), settings=self.acqp_settings
            )

    def _after_cancel_started(
        self, watch: PaymentWatch, first: WatchInput
    ) -> Generator[Outbound, Outcome, Cancellation]:
        """Once the cancel began, results go to the cancellation (S0: it can only end
        cancelled); a merchant close or a tick resumes it, or starts it if a crash came between
        storing the watch and storing the cancellation."""
        key = watch.key
        if self.store.get(key=key) is None:
            begin = Begin(watch.order, "recovered: the watch had started this cancel")
            cancellation = yield from self.run(key, begin)
            if not isinstance(first, NotificationReceived):
                return cancellation
        if isinstance(first, NotificationReceived):
            return (yield from self.run(key, PaymentNotified(first.status, first.code)))
        return (yield from self.run(key, RetryDue()))

    # -- entry points shared by both drivers ---------------------------------------------------

    def begin(self, order: PaymentOrder, reason: str) -> Generator[Outbound, Outcome, Cancellation]:
        return self.run(order.key, Begin(order, reason))

    def resume(self, key: str) -> Generator[Outbound, Outcome, Cancellation]:
        if self.store.get(key=key) is None:
            raise NotFoundError(message=f"no cancellation {key!r}", key=key)
        return self.run(key, RetryDue())

    def notified(
        self, key: str, status: ResultStatus, code: str
    ) -> Generator[Outbound, Outcome, PaymentWatch | Cancellation]:
        if self.watch_store is not None and self.watch_store.get(key=key) is not None:
            return self.watch(key, NotificationReceived(status, code))
        if self.store.get(key=key) is None:
            raise NotFoundError(message=f"nothing known under {key!r}", key=key)
        return self.run(key, PaymentNotified(status, code))

    def due(self, limit: int) -> list[Generator[Outbound, Outcome, PaymentWatch | Cancellation]]:
        if self.scheduler is None:
            return []
        work: list[Generator[Outbound, Outcome, PaymentWatch | Cancellation]] = []
        for entry in self.scheduler.claim_due(now=self.clock.now(), limit=limit):
            if entry.startswith(_WATCH):
                work.append(self.watch(entry[len(_WATCH) :], WatchTick()))
            else:
                work.append(self.run(entry[len(_CANCEL) :], RetryDue()))
        return work


class _MppCore:
    def __init__(
        self, *, store: RecordStore[Cancellation], clock: Clock, settings: MppSettings
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings

    def handle(self, request: MppCancelRequest) -> Generator[Outbound, Outcome, Reply]:
        record = self.store.get(key=request.key)
        payment = record.order if record is not None else (yield _FindPayment(request))
        decided = decide_mpp(
            record, CancelReceived(request, payment), now=self.clock.now(), settings=self.settings
        )
        stored = self._persist(record, decided)
        if stored is None:
            return TWIN_RUNNING
        if decided.reply is not None:
            return decided.reply
        command = next(c for c in decided.decision.commands if isinstance(c, ReverseFunds))
        attempt = stored.attempts[-1].number
        outcome: ReversalOutcome = yield command
        done = decide_mpp(
            stored, ReversalDone(attempt, outcome), now=self.clock.now(), settings=self.settings
        )
        if self._persist(stored, done) is None:  # pragma: no cover - only a lease takeover
            return TWIN_RUNNING
        assert done.reply is not None
        return done.reply

    def _persist(self, before: Cancellation | None, decided: MppDecision) -> Cancellation | None:
        log_events(decided.decision.events)
        after = decided.cancellation
        if not decided.store or after is before:
            return before if before is not None else after
        if before is None:
            stored, created = self.store.create(record=after)
            return stored if created else None
        try:
            return self.store.update(record=after, expected_version=before.version)
        except ConcurrentUpdateError:
            return None

    def admissible(self, request: MppCancelRequest) -> bool:
        return payment_admissible(self.store.get(key=request.key))


def _drive_sync(gen: Generator[Outbound, Outcome, T], execute: Callable[[Outbound], Outcome]) -> T:
    try:
        work = next(gen)
        while True:
            work = gen.send(execute(work))
    except StopIteration as stop:
        return cast(T, stop.value)


def _guard(name: str, call: Callable[[], Outcome]) -> Outcome:
    """A port that raises instead of returning a typed outcome: log it and read no answer."""
    try:
        return call()
    except Exception as exc:
        logger.error("gateway.call_raised", port=name, error=type(exc).__name__, exc_info=True)
        return NoAnswer(f"{name} raised {type(exc).__name__}")


class SyncDriver:
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
        on_escalate: called with each :class:`Escalate` (page someone, open a ticket).
    """

    def __init__(
        self,
        *,
        config: CancelConfig,
        store: RecordStore[Cancellation],
        clock: Clock,
        cancel_gateway: CancelGateway,
        refund_gateway: RefundGateway | None = None,
        inquiry_gateway: InquiryGateway | None = None,
        scheduler: Scheduler | None = None,
        watch_store: RecordStore[PaymentWatch] | None = None,
        acqp_settings: AcqpSettings | None = None,
        on_escalate: Callable[[Escalate], None] | None = None,
    ) -> None:
        _require_refund(config, refund_gateway)
        self._core = _Core(
            config=config, store=store, clock=clock, scheduler=scheduler,
            watch_store=watch_store, acqp_settings=acqp_settings, on_escalate=on_escalate,
        )  # fmt: skip
        self._cancel = cancel_gateway
        self._refund = refund_gateway
        self._inquiry = inquiry_gateway

    def _execute(self, work: Outbound) -> Outcome:
        if isinstance(work, SendCancel):
            return _guard(
                "cancel", lambda: self._cancel.cancel(order=work.order, attempt=work.attempt)
            )
        if isinstance(work, SendRefund):
            refund = self._refund
            assert refund is not None
            return _guard("refund", lambda: refund.refund(
                order=work.order, refund_request_id=work.refund_request_id,
                amount=work.amount, reason=work.reason,
            ))  # fmt: skip
        if isinstance(work, SendInquiry):
            inquiry = self._inquiry
            if inquiry is None:
                return NoAnswer("no inquiry gateway configured")
            return _guard("inquiry", lambda: inquiry.inquire(order=work.order))
        raise AssertionError(f"unexpected work {work!r}")  # pragma: no cover

    def cancel(self, order: PaymentOrder, *, reason: str = "requested") -> Cancellation:
        """Cancel ``order`` (idempotent on its key) and run until it waits or ends."""
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
        """A ``notifyPayment`` (or other late result) for ``key``: resolves a watch, or is
        recorded on a cancellation without changing it (S0).

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
        """Run every wake-up that is due now (up to ``limit``); returns the records touched."""
        return [_drive_sync(work, self._execute) for work in self._core.due(limit)]


def _require_refund(config: CancelConfig, refund: object) -> None:
    if config.product is Product.ALIPAYPLUS_ACQP and refund is None:
        raise UnsupportedProductError(
            message=(
                "the ACQP needs a refund gateway: CANCEL_WINDOW_EXCEED falls back to refund (S0)"
            ),
            product=config.product.value,
            operation="driver",
        )


class AsyncDriver:
    """The asyncio twin of :class:`SyncDriver`: async gateways; the store, scheduler and clock
    stay synchronous calls (keep them fast, or wrap them)."""

    def __init__(
        self,
        *,
        config: CancelConfig,
        store: RecordStore[Cancellation],
        clock: Clock,
        cancel_gateway: AsyncCancelGateway,
        refund_gateway: AsyncRefundGateway | None = None,
        inquiry_gateway: AsyncInquiryGateway | None = None,
        scheduler: Scheduler | None = None,
        watch_store: RecordStore[PaymentWatch] | None = None,
        acqp_settings: AcqpSettings | None = None,
        on_escalate: Callable[[Escalate], None] | None = None,
    ) -> None:
        _require_refund(config, refund_gateway)
        self._core = _Core(
            config=config, store=store, clock=clock, scheduler=scheduler,
            watch_store=watch_store, acqp_settings=acqp_settings, on_escalate=on_escalate,
        )  # fmt: skip
        self._cancel = cancel_gateway
        self._refund = refund_gateway
        self._inquiry = inquiry_gateway

    async def _execute(self, work: Outbound) -> Outcome:
        try:
            if isinstance(work, SendCancel):
                return await self._cancel.cancel(order=work.order, attempt=work.attempt)
            if isinstance(work, SendRefund):
                assert self._refund is not None
                return await self._refund.refund(
                    order=work.order, refund_request_id=work.refund_request_id,
                    amount=work.amount, reason=work.reason,
                )  # fmt: skip
            if isinstance(work, SendInquiry):
                if self._inquiry is None:
                    return NoAnswer("no inquiry gateway configured")
                return await self._inquiry.inquire(order=work.order)
        except Exception as exc:
            port = type(work).__name__.replace("Send", "").lower()
            logger.error("gateway.call_raised", port=port, error=type(exc).__name__, exc_info=True)
            return NoAnswer(f"{port} raised {type(exc).__name__}")
        raise AssertionError(f"unexpected work {work!r}")  # pragma: no cover

    async def _drive(self, gen: Generator[Outbound, Outcome, T]) -> T:
        try:
            work = next(gen)
            while True:
                work = gen.send(await self._execute(work))
        except StopIteration as stop:
            return cast(T, stop.value)

    async def cancel(self, order: PaymentOrder, *, reason: str = "requested") -> Cancellation:
        """See :meth:`SyncDriver.cancel`."""
        return await self._drive(self._core.begin(order, reason))

    async def resume(self, key: str) -> Cancellation:
        """See :meth:`SyncDriver.resume`."""
        return await self._drive(self._core.resume(key))

    async def payment_notified(
        self, key: str, status: ResultStatus, code: str
    ) -> PaymentWatch | Cancellation:
        """See :meth:`SyncDriver.payment_notified`."""
        return await self._drive(self._core.notified(key, status, code))

    async def watch(
        self, order: PaymentOrder, *, status: ResultStatus | None, code: str | None = None
    ) -> PaymentWatch | Cancellation:
        """See :meth:`SyncDriver.watch`."""
        return await self._drive(self._core.watch(order.key, PayResult(order, status, code)))

    async def merchant_closed(
        self, key: str, *, reason: str = "merchant closed the payment"
    ) -> PaymentWatch | Cancellation:
        """See :meth:`SyncDriver.merchant_closed`."""
        return await self._drive(self._core.watch(key, MerchantClosed(reason)))

    async def run_due(self, *, limit: int = 100) -> list[PaymentWatch | Cancellation]:
        """See :meth:`SyncDriver.run_due`."""
        return [await self._drive(work) for work in self._core.due(limit)]


class MppService:
    """The wallet's side of ``cancelPayment`` (sync): decide, reverse once, answer.

    Args:
        store: where MPP cancel records live (the idempotency records).
        reversal: finds payments and returns funds.
        clock: read once per decision.
        settings: window and lease.
    """

    def __init__(
        self,
        *,
        store: RecordStore[Cancellation],
        reversal: FundsReversal,
        clock: Clock,
        settings: MppSettings | None = None,
    ) -> None:
        self._core = _MppCore(store=store, clock=clock, settings=settings or MppSettings())
        self._reversal = reversal

    def _execute(self, work: Outbound) -> Outcome:
        if isinstance(work, _FindPayment):
            return self._reversal.find_payment(request=work.request)
        if isinstance(work, ReverseFunds):
            try:
                return self._reversal.reverse(order=work.order, key=work.key)
            except Exception as exc:
                logger.error(
                    "mpp.reversal_raised", key=work.key, error=type(exc).__name__, exc_info=True
                )
                return ReversalFailed(type(exc).__name__)
        raise AssertionError(f"unexpected work {work!r}")  # pragma: no cover

    def handle(self, request: MppCancelRequest) -> Reply:
        """Answer one ``cancelPayment``; the same key always gets the same final answer."""
        reply: Reply = _drive_sync(self._core.handle(request), self._execute)
        return reply

    def payment_admissible(self, request: MppCancelRequest) -> bool:
        """Whether the payment of ``request`` may proceed (no cancel arrived for it first)."""
        return self._core.admissible(request)


class AsyncMppService:
    """The asyncio twin of :class:`MppService`."""

    def __init__(
        self,
        *,
        store: RecordStore[Cancellation],
        reversal: AsyncFundsReversal,
        clock: Clock,
        settings: MppSettings | None = None,
    ) -> None:
        self._core = _MppCore(store=store, clock=clock, settings=settings or MppSettings())
        self._reversal = reversal

    async def handle(self, request: MppCancelRequest) -> Reply:
        """See :meth:`MppService.handle`."""
        gen = self._core.handle(request)
        try:
            work = next(gen)
            while True:
                if isinstance(work, _FindPayment):
                    result: Outcome = await self._reversal.find_payment(request=work.request)
                else:
                    assert isinstance(work, ReverseFunds)
                    try:
                        result = await self._reversal.reverse(order=work.order, key=work.key)
                    except Exception as exc:
                        logger.error(
                            "mpp.reversal_raised", key=work.key, error=type(exc).__name__,
                            exc_info=True,
                        )  # fmt: skip
                        result = ReversalFailed(type(exc).__name__)
                work = gen.send(result)
        except StopIteration as stop:
            reply: Reply = stop.value
            return reply

    def payment_admissible(self, request: MppCancelRequest) -> bool:
        """See :meth:`MppService.payment_admissible`."""
        return self._core.admissible(request)
