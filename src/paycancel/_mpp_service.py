"""The MPP service: run the wallet's ``cancelPayment`` use case against its ports.

Like the drivers, the logic lives once in a generator that yields its I/O (finding the payment,
reversing the funds) and is answered by :class:`MppService` with plain calls and by
:class:`AsyncMppService` with ``await``.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Generic, TypeVar, Union

import attrs
import structlog

from ._cancellation import Cancellation, Reply
from ._command import ReverseFunds
from ._event import log_events
from ._mpp import (
    TEMPORARY_FAULT,
    TWIN_RUNNING,
    CancelReceived,
    MppCancelRequest,
    MppDecision,
    MppSettings,
    ReversalDone,
    ReversalFailed,
    Reversed,
    decide_mpp,
    payment_admissible,
)
from ._order import PaymentOrder
from .errors import ConcurrentUpdateError
from .typing import AsyncFundsReversal, Clock, FundsReversal, RecordStore

__all__ = ["AsyncMppService", "MppService"]

logger = structlog.get_logger(__name__)


@attrs.frozen
class _FindPayment:
    request: MppCancelRequest


@attrs.frozen
class _LookupFailed:
    reason: str


Work = Union[_FindPayment, ReverseFunds]
Handling = Generator[Work, Any, Reply]


class _MppCore:
    def __init__(
        self, *, store: RecordStore[Cancellation], clock: Clock, settings: MppSettings
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings

    def handle(self, request: MppCancelRequest) -> Handling:
        record = self.store.get(key=request.key)
        payment: PaymentOrder | None = None
        if record is not None:
            payment = record.order
        else:
            found = yield _FindPayment(request)
            if isinstance(found, _LookupFailed):  # the wallet could not look: Alipay+ retries
                return TEMPORARY_FAULT
            payment = found
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
        outcome = yield command
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


def _failed(name: str, key: str, exc: Exception) -> Any:
    """A wallet fault is a temporary fault: ``U`` to Alipay+, which retries (S3)."""
    logger.error("mpp.wallet_call_raised", call=name, key=key, error=type(exc).__name__,
                 exc_info=True)  # fmt: skip
    reason = f"{name} raised {type(exc).__name__}"
    return _LookupFailed(reason) if name == "find_payment" else ReversalFailed(reason)


def _call_for(work: Work, wallet: Any) -> tuple[str, str, Callable[[], Any]]:
    if isinstance(work, _FindPayment):
        return "find_payment", work.request.key, lambda: wallet.find_payment(request=work.request)
    return "reverse", work.key, lambda: wallet.reverse(order=work.order, key=work.key)


def _checked_reversal(name: str, key: str, result: object) -> Any:
    if name == "reverse" and not isinstance(result, (Reversed, ReversalFailed)):
        logger.error("mpp.unexpected_reversal_result", key=key, type=type(result).__name__)
        return ReversalFailed(f"reverse returned {type(result).__name__}")
    if name == "find_payment" and not (result is None or isinstance(result, PaymentOrder)):
        logger.error("mpp.unexpected_payment", key=key, type=type(result).__name__)
        return _LookupFailed(f"find_payment returned {type(result).__name__}")
    return result


W = TypeVar("W")


class _ServiceBase(Generic[W]):
    def __init__(
        self,
        *,
        store: RecordStore[Cancellation],
        reversal: W,
        clock: Clock,
        settings: MppSettings | None = None,
    ) -> None:
        self._core = _MppCore(store=store, clock=clock, settings=settings or MppSettings())
        self._reversal = reversal

    def payment_admissible(self, request: MppCancelRequest) -> bool:
        """Whether the payment of ``request`` may proceed (no cancel arrived for it first)."""
        return payment_admissible(self._core.store.get(key=request.key))


class MppService(_ServiceBase[FundsReversal]):
    """The wallet's side of ``cancelPayment`` (sync): decide, reverse once, answer.

    Args:
        store: where MPP cancel records live (the idempotency records).
        reversal: finds payments and returns funds.
        clock: read once per decision.
        settings: window and lease.
    """

    def handle(self, request: MppCancelRequest) -> Reply:
        """Answer one ``cancelPayment``; the same key always gets the same final answer."""
        gen = self._core.handle(request)
        try:
            work = next(gen)
            while True:
                name, key, call = _call_for(work, self._reversal)
                try:
                    result = _checked_reversal(name, key, call())
                except Exception as exc:
                    result = _failed(name, key, exc)
                work = gen.send(result)
        except StopIteration as stop:
            reply: Reply = stop.value
            return reply


class AsyncMppService(_ServiceBase[AsyncFundsReversal]):
    """The asyncio twin of :class:`MppService`, with the same keyword arguments."""

    async def handle(self, request: MppCancelRequest) -> Reply:
        """See :meth:`MppService.handle`."""
        gen = self._core.handle(request)
        try:
            work = next(gen)
            while True:
                name, key, call = _call_for(work, self._reversal)
                try:
                    result = _checked_reversal(name, key, await call())
                except Exception as exc:
                    result = _failed(name, key, exc)
                work = gen.send(result)
        except StopIteration as stop:
            reply: Reply = stop.value
            return reply
