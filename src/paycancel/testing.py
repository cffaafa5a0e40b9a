"""Fakes for testing code that uses paycancel: a fake clock, scripted gateways, a fake wallet.

Switch these in through the ports instead of patching anything.

    >>> import datetime as dt
    >>> clock = FakeClock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    >>> clock.advance(seconds=30).isoformat()
    '2026-01-01T00:00:30+00:00'
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol, Sequence

import attrs

from ._async_driver import AsyncDriver
from ._driver import SyncDriver
from ._identifier import RefundRequestId
from ._money import Money
from ._mpp import MppCancelRequest, ReversalFailed, ReversalOutcome, Reversed
from ._order import PaymentOrder
from ._outcome import Answered, GatewayOutcome, InquiryAnswered, InquiryOutcome, NoAnswer
from ._product import ResultStatus
from ._time import require_aware
from .errors import ValidationError
from .typing import Scheduler

__all__ = [
    "AsyncFakeWallet",
    "AsyncScriptedCancelGateway",
    "AsyncScriptedInquiryGateway",
    "AsyncScriptedRefundGateway",
    "FakeClock",
    "FakeWallet",
    "GatewayCall",
    "SchedulerWithNextDue",
    "ScriptedCancelGateway",
    "ScriptedInquiryGateway",
    "ScriptedRefundGateway",
    "drain",
    "drain_async",
    "failed",
    "no_answer",
    "success",
    "unknown",
]


def success(code: str = "SUCCESS", message: str = "Success") -> Answered:
    """An ``S`` answer."""
    return Answered(status=ResultStatus.SUCCEEDED, code=code, message=message)


def failed(code: str, message: str | None = None) -> Answered:
    """An ``F`` answer with ``code``."""
    return Answered(status=ResultStatus.FAILED, code=code, message=message)


def unknown(code: str = "UNKNOWN_EXCEPTION", message: str | None = None) -> Answered:
    """A ``U`` answer."""
    return Answered(status=ResultStatus.UNKNOWN, code=code, message=message)


def no_answer(reason: str = "timed out") -> NoAnswer:
    """The request may have arrived; no answer came back."""
    return NoAnswer(reason)


class FakeClock:
    """A :class:`~paycancel.typing.Clock` that moves only when told to. Thread-safe."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = require_aware(start, "start")
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | None = None, *, seconds: float = 0) -> dt.datetime:
        """Move forward by ``delta`` and/or ``seconds``; returns the new time."""
        step = (delta or dt.timedelta(0)) + dt.timedelta(seconds=seconds)
        if step < dt.timedelta(0):
            raise ValidationError(message="a clock does not go backwards", field="delta")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: dt.datetime) -> None:
        """Jump to ``when`` (not earlier than now)."""
        when = require_aware(when, "when")
        with self._lock:
            if when < self._now:
                raise ValidationError(message="a clock does not go backwards", field="when")
            self._now = when

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"


@attrs.frozen
class GatewayCall:
    """One call a scripted gateway received."""

    api: str
    key: str
    at: dt.datetime
    attempt: int = 0
    refund_request_id: str | None = None
    amount: Money | None = None


class _Script:
    def __init__(self, api: str, default: Sequence[object], clock: FakeClock | None) -> None:
        if not default:
            raise ValidationError(message="a script needs at least one answer", field="default")
        self._api = api
        self._default = list(default)
        self._scripts: dict[str, list[object]] = {}
        self._served: dict[str, int] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self.calls: list[GatewayCall] = []

    def script(self, key: str, answers: Sequence[object]) -> None:
        if not answers:
            raise ValidationError(message="a script needs at least one answer", field="answers")
        with self._lock:
            self._scripts[key] = list(answers)
            self._served[key] = 0

    def next(self, call: GatewayCall) -> object:
        with self._lock:
            self.calls.append(call)
            answers = self._scripts.get(call.key, self._default)
            served = self._served.get(call.key, 0)
            self._served[call.key] = served + 1
            # Past the end of a script, the last answer repeats.
            return answers[min(served, len(answers) - 1)]

    def at(self) -> dt.datetime:
        if self._clock is not None:
            return self._clock.now()
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)

    def calls_for(self, key: str) -> list[GatewayCall]:
        with self._lock:
            return [c for c in self.calls if c.key == key]


class ScriptedCancelGateway:
    """A :class:`~paycancel.typing.CancelGateway` answering from a script per order key.

    Args:
        default: the answers for keys without a script, in order; the last one repeats.
        clock: stamps each recorded call with this clock's time.
    """

    def __init__(self, *default: GatewayOutcome, clock: FakeClock | None = None) -> None:
        self._script = _Script("cancel", default or (success(),), clock)

    @property
    def calls(self) -> list[GatewayCall]:
        return self._script.calls

    def script(self, key: str, *answers: GatewayOutcome) -> None:
        """Answer cancels of ``key`` with ``answers`` in order (the last one repeats)."""
        self._script.script(key, answers)

    def calls_for(self, key: str) -> list[GatewayCall]:
        return self._script.calls_for(key)

    def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        call = GatewayCall(api="cancel", key=order.key, at=self._script.at(), attempt=attempt)
        answer = self._script.next(call)
        return answer  # type: ignore[return-value]  # the script holds GatewayOutcomes


class ScriptedRefundGateway:
    """A :class:`~paycancel.typing.RefundGateway` answering from a script per order key."""

    def __init__(self, *default: GatewayOutcome, clock: FakeClock | None = None) -> None:
        self._script = _Script("refund", default or (success(),), clock)

    @property
    def calls(self) -> list[GatewayCall]:
        return self._script.calls

    def script(self, key: str, *answers: GatewayOutcome) -> None:
        """Answer refunds of ``key`` with ``answers`` in order (the last one repeats)."""
        self._script.script(key, answers)

    def calls_for(self, key: str) -> list[GatewayCall]:
        return self._script.calls_for(key)

    def refund(
        self,
        *,
        order: PaymentOrder,
        refund_request_id: RefundRequestId,
        amount: Money,
        reason: str,
    ) -> GatewayOutcome:
        call = GatewayCall(
            api="refund", key=order.key, at=self._script.at(),
            refund_request_id=refund_request_id.value, amount=amount,
        )  # fmt: skip
        return self._script.next(call)  # type: ignore[return-value]  # holds GatewayOutcomes


class ScriptedInquiryGateway:
    """An :class:`~paycancel.typing.InquiryGateway` answering from a script per order key.

    The default answer is ``U``/``PAYMENT_IN_PROCESS`` (an inquiry that never resolves).
    """

    def __init__(self, *default: InquiryOutcome, clock: FakeClock | None = None) -> None:
        in_process = InquiryAnswered(
            result_status=ResultStatus.SUCCEEDED,
            result_code="SUCCESS",
            payment_status=ResultStatus.UNKNOWN,
            payment_code="PAYMENT_IN_PROCESS",
        )
        self._script = _Script("inquiry", default or (in_process,), clock)

    @property
    def calls(self) -> list[GatewayCall]:
        return self._script.calls

    def script(self, key: str, *answers: InquiryOutcome) -> None:
        """Answer inquiries of ``key`` with ``answers`` in order (the last one repeats)."""
        self._script.script(key, answers)

    def inquire(self, *, order: PaymentOrder) -> InquiryOutcome:
        call = GatewayCall(api="inquiry", key=order.key, at=self._script.at())
        return self._script.next(call)  # type: ignore[return-value]  # holds InquiryOutcomes


class AsyncScriptedCancelGateway:
    """The asyncio form of :class:`ScriptedCancelGateway` (wraps one)."""

    def __init__(self, inner: ScriptedCancelGateway) -> None:
        self.inner = inner

    async def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        return self.inner.cancel(order=order, attempt=attempt)


class AsyncScriptedRefundGateway:
    """The asyncio form of :class:`ScriptedRefundGateway` (wraps one)."""

    def __init__(self, inner: ScriptedRefundGateway) -> None:
        self.inner = inner

    async def refund(
        self,
        *,
        order: PaymentOrder,
        refund_request_id: RefundRequestId,
        amount: Money,
        reason: str,
    ) -> GatewayOutcome:
        return self.inner.refund(
            order=order, refund_request_id=refund_request_id, amount=amount, reason=reason
        )


class AsyncScriptedInquiryGateway:
    """The asyncio form of :class:`ScriptedInquiryGateway` (wraps one)."""

    def __init__(self, inner: ScriptedInquiryGateway) -> None:
        self.inner = inner

    async def inquire(self, *, order: PaymentOrder) -> InquiryOutcome:
        return self.inner.inquire(order=order)


class FakeWallet:
    """A :class:`~paycancel.typing.FundsReversal`: a wallet with payments and balances.

    ``reverse`` is idempotent on its key and counts reversals, so a test can assert that the
    funds went back exactly once. ``fail_next(n)`` makes the next ``n`` reversals fail.
    """

    def __init__(self, payments: Sequence[PaymentOrder] = ()) -> None:
        self._payments: dict[str, PaymentOrder] = {p.key: p for p in payments}
        self._reversed: dict[str, int] = {}
        self._failures = 0
        self._lock = threading.Lock()
        self.reversal_calls = 0

    def add(self, payment: PaymentOrder) -> None:
        with self._lock:
            self._payments[payment.key] = payment

    def fail_next(self, count: int = 1) -> None:
        with self._lock:
            self._failures = count

    def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        with self._lock:
            return self._payments.get(request.key)

    def reverse(self, *, order: PaymentOrder, key: str) -> ReversalOutcome:
        with self._lock:
            self.reversal_calls += 1
            if self._failures:
                self._failures -= 1
                return ReversalFailed("ledger temporarily unavailable")
            if key not in self._reversed:
                self._reversed[key] = order.full_amount.value
            return Reversed()

    def reversed_amount(self, key: str) -> int:
        """Minor units returned to the user for ``key`` (0 if none)."""
        with self._lock:
            return self._reversed.get(key, 0)

    @property
    def reversals(self) -> dict[str, int]:
        """Every key reversed, with its amount (each key at most once)."""
        with self._lock:
            return dict(self._reversed)


class AsyncFakeWallet:
    """The asyncio form of :class:`FakeWallet` (wraps one)."""

    def __init__(self, inner: FakeWallet) -> None:
        self.inner = inner

    async def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        return self.inner.find_payment(request=request)

    async def reverse(self, *, order: PaymentOrder, key: str) -> ReversalOutcome:
        return self.inner.reverse(order=order, key=key)


class SchedulerWithNextDue(Scheduler, Protocol):
    """A scheduler that can tell its earliest wake-up (what :func:`drain` jumps the clock to)."""

    def next_due(self) -> dt.datetime | None: ...


def drain(
    driver: SyncDriver,
    clock: FakeClock,
    scheduler: SchedulerWithNextDue,
    *,
    until: dt.datetime | None = None,
    max_steps: int = 100_000,
) -> int:
    """Jump the fake clock from wake-up to wake-up, running each, until nothing is scheduled
    (or ``until``). Returns the number of wake-ups run. A day of retries takes milliseconds."""
    steps = 0
    while steps < max_steps:
        due = scheduler.next_due()
        if due is None or (until is not None and due > until):
            break
        if due > clock.now():
            clock.set(due)
        steps += len(driver.run_due(limit=1000))
    return steps


async def drain_async(
    driver: AsyncDriver,
    clock: FakeClock,
    scheduler: SchedulerWithNextDue,
    *,
    until: dt.datetime | None = None,
    max_steps: int = 100_000,
) -> int:
    """The asyncio form of :func:`drain`."""
    steps = 0
    while steps < max_steps:
        due = scheduler.next_due()
        if due is None or (until is not None and due > until):
            break
        if due > clock.now():
            clock.set(due)
        steps += len(await driver.run_due(limit=1000))
    return steps
