"""The ports: small ``typing.Protocol``s with keyword-only arguments and core types only.

Adapters implement them without inheriting from anything; pin conformance in a test with
``_: CancelGateway = MyGateway(...)`` so mypy checks it.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, TypeVar

from ._identifier import RefundRequestId
from ._money import Money
from ._mpp import MppCancelRequest, ReversalOutcome
from ._order import PaymentOrder
from ._outcome import GatewayOutcome, InquiryOutcome

__all__ = [
    "AsyncCancelGateway",
    "AsyncFundsReversal",
    "AsyncInquiryGateway",
    "AsyncRefundGateway",
    "CancelGateway",
    "Clock",
    "FundsReversal",
    "InquiryGateway",
    "RecordStore",
    "RefundGateway",
    "Scheduler",
    "Versioned",
]


class Versioned(Protocol):
    """A stored record: a unique ``key`` and a ``version`` bumped on each update."""

    @property
    def key(self) -> str: ...

    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=Versioned)


class Clock(Protocol):
    """Where "now" comes from. Only ``paycancel._clock.SystemClock`` reads the wall clock."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class RecordStore(Protocol[R]):
    """Stores records (cancellations, payment watches) by key, with compare-and-set updates.

    ``CancellationStore`` is ``RecordStore[Cancellation]``.
    """

    def create(self, *, record: R) -> tuple[R, bool]:
        """Store ``record`` unless its key exists. Returns the stored record and whether this
        call created it (idempotent creation: a second create returns the first record)."""
        ...

    def get(self, *, key: str) -> R | None:
        """The stored record, or ``None``."""
        ...

    def update(self, *, record: R, expected_version: int) -> R:
        """Replace the stored record if its version is still ``expected_version``; returns the
        stored record with ``version = expected_version + 1``.

        Raises:
            ConcurrentUpdateError: the stored version differs (someone else won).
            NotFoundError: no record under this key.
        """
        ...


class Scheduler(Protocol):
    """Durable wake-ups for retries and inquiries."""

    def schedule(self, *, key: str, at: dt.datetime) -> None:
        """Wake ``key`` up at ``at`` (replaces an earlier wake-up of the same key)."""
        ...

    def unschedule(self, *, key: str) -> None:
        """Forget any wake-up of ``key``."""
        ...

    def claim_due(self, *, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[str]:
        """Claim up to ``limit`` keys due at ``now``, earliest first. A claim is a lease: the
        key comes due again at ``now + lease`` unless it is scheduled again or unscheduled
        before then, so a worker that dies holding it loses nothing."""
        ...


class CancelGateway(Protocol):
    """Sends a cancel to the platform (Alipay+ ``cancelPayment``, Antom ``cancel``)."""

    def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        """Send the cancel; the same parameters on every attempt. Never raises for transport
        failures: returns :class:`NotSent` or :class:`NoAnswer`."""
        ...


class RefundGateway(Protocol):
    """Sends a refund (the ACQP's fallback after ``CANCEL_WINDOW_EXCEED``)."""

    def refund(
        self,
        *,
        order: PaymentOrder,
        refund_request_id: RefundRequestId,
        amount: Money,
        reason: str,
    ) -> GatewayOutcome:
        """Send the refund; retries reuse ``refund_request_id``."""
        ...


class InquiryGateway(Protocol):
    """Asks for a payment's result (Alipay+ ``inquiryPayment``)."""

    def inquire(self, *, order: PaymentOrder) -> InquiryOutcome:
        """Inquire; transport failures come back as :class:`NotSent` / :class:`NoAnswer`."""
        ...


class FundsReversal(Protocol):
    """The wallet's side of an MPP cancel: find the payment, give the money back."""

    def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        """The wallet's payment for this request, or ``None`` if it has not seen it."""
        ...

    def reverse(self, *, order: PaymentOrder, key: str) -> ReversalOutcome:
        """Return the funds (stop the payment if in process). Must be idempotent on ``key``:
        a second call for the same key returns the funds no second time."""
        ...


class AsyncCancelGateway(Protocol):
    """The asyncio form of :class:`CancelGateway`."""

    async def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome: ...


class AsyncRefundGateway(Protocol):
    """The asyncio form of :class:`RefundGateway`."""

    async def refund(
        self,
        *,
        order: PaymentOrder,
        refund_request_id: RefundRequestId,
        amount: Money,
        reason: str,
    ) -> GatewayOutcome: ...


class AsyncInquiryGateway(Protocol):
    """The asyncio form of :class:`InquiryGateway`."""

    async def inquire(self, *, order: PaymentOrder) -> InquiryOutcome: ...


class AsyncFundsReversal(Protocol):
    """The asyncio form of :class:`FundsReversal`."""

    async def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None: ...

    async def reverse(self, *, order: PaymentOrder, key: str) -> ReversalOutcome: ...
