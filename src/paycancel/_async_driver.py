"""The asyncio driver: the same generators as :class:`SyncDriver`, answered with ``await``."""

from __future__ import annotations

from typing import Generator, TypeVar, cast

from ._acqp import MerchantClosed, PaymentWatch, PayResult
from ._cancellation import Cancellation
from ._driver import Outbound, Outcome, _checked, _DriverBase, _port_call, _raised
from ._order import PaymentOrder
from ._outcome import NoAnswer
from ._product import ResultStatus
from .typing import (
    AsyncCancelGateway,
    AsyncInquiryGateway,
    AsyncRefundGateway,
)

__all__ = ["AsyncDriver"]

T = TypeVar("T")


class AsyncDriver(_DriverBase[AsyncCancelGateway, AsyncRefundGateway, AsyncInquiryGateway]):
    """The asyncio twin of :class:`~paycancel.SyncDriver`, with the same keyword arguments and
    async gateways; the store, scheduler and clock stay synchronous calls (keep them fast, or
    wrap them)."""

    async def _execute(self, work: Outbound) -> Outcome:
        port, call = _port_call(work, *self._gateways)
        if call is None:
            return NoAnswer(f"no {port} gateway configured")
        try:
            return _checked(port, await call())
        except Exception as exc:
            return _raised(port, exc)

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
        done: list[PaymentWatch | Cancellation] = []
        for entry, work in self._core.due(limit):
            try:
                done.append(await self._drive(work))
            except Exception as exc:
                self._core.wakeup_failed(entry, exc)
        return done
