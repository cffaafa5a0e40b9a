"""Settings and inputs of the calling roles' cancellation use case (ACQP and Antom)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Callable, Union

import attrs

from ._cancellation import Cancellation
from ._catalog import Action
from ._identifier import RefundRequestId
from ._order import PaymentOrder
from ._outcome import GatewayOutcome
from ._product import Product, ResultStatus
from ._retry import RetryPolicy, default_retry_policy
from ._step import Step
from ._window import WindowPolicy, builtin_window

__all__ = [
    "Begin",
    "CancelAnswered",
    "CancelConfig",
    "FlowInput",
    "PaymentNotified",
    "RefundAnswered",
    "RetryDue",
    "default_refund_request_id",
]

#: S4: a buyer who had not submitted the payment when cancel was called may still complete it.
BUYER_MAY_STILL_PAY = (
    "Antom cancelled the order, but a buyer who had not yet submitted the payment when cancel "
    "was called may still be able to complete it (S4); reconcile any later success notification."
)


def default_refund_request_id(key: str) -> RefundRequestId:
    """A refund request id derived from the cancellation key: the same key, the same refund."""
    return RefundRequestId("pcrf" + hashlib.sha256(key.encode()).hexdigest()[:40])


@attrs.frozen
class CancelConfig:
    """Settings of the calling roles' use case.

    Args:
        product: ``ALIPAYPLUS_ACQP`` or ``ANTOM``.
        window: the cancel window (built-in for the ACQP, the contract's for Antom).
        retry_policy: the schedule for unknown cancel results.
        refund_retry_policy: the schedule for unknown refund results (ACQP fallback).
        refund_request_id: makes the refund's idempotency key from the cancellation key.
        attempt_timeout: an attempt still open this long after it was sent is taken as lost
            (a crash or a dropped answer) and resent with the same parameters.
    """

    product: Product
    window: WindowPolicy
    retry_policy: RetryPolicy
    refund_retry_policy: RetryPolicy
    refund_request_id: Callable[[str], RefundRequestId] = default_refund_request_id
    attempt_timeout: dt.timedelta = dt.timedelta(seconds=30)

    @classmethod
    def for_product(
        cls,
        product: Product,
        *,
        window: WindowPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        refund_retry_policy: RetryPolicy | None = None,
    ) -> CancelConfig:
        """The defaults of a calling role (Antom needs its contract ``window``).

        Raises:
            PolicyError: Antom without a window.
            UnsupportedProductError: the MPP, which receives cancels (see ``paycancel.mpp``).
        """
        policy = retry_policy if retry_policy is not None else default_retry_policy(product)
        return cls(
            product=product,
            window=builtin_window(product, window),
            retry_policy=policy,
            refund_retry_policy=refund_retry_policy if refund_retry_policy is not None else policy,
        )


@attrs.frozen
class Begin:
    """Start cancelling ``order``. Idempotent on its key: an ended cancellation is returned as it
    is, one in progress is resumed (as :class:`RetryDue`), one on hold is resent."""

    order: PaymentOrder
    reason: str = "requested"


@attrs.frozen
class CancelAnswered:
    """The outcome of cancel attempt ``attempt``."""

    attempt: int
    outcome: GatewayOutcome


@attrs.frozen
class RefundAnswered:
    """The outcome of refund attempt ``attempt``."""

    attempt: int
    outcome: GatewayOutcome


@attrs.frozen
class RetryDue:
    """A wake-up from the scheduler (or a worker resuming after a crash)."""


@attrs.frozen
class PaymentNotified:
    """A payment result (``notifyPayment``, an inquiry) that arrived after the cancel began."""

    status: ResultStatus
    code: str


FlowInput = Union[Begin, CancelAnswered, RefundAnswered, RetryDue, PaymentNotified]


#: Actions whose cause the caller can fix before cancelling again: the cancellation waits
#: ``on_hold`` instead of failing for good.
HOLD_ACTIONS = frozenset({Action.RETRY_LATER, Action.FIX_CREDENTIALS, Action.FIX_REQUEST})


def _step(
    cancellation: Cancellation, now: dt.datetime, config: CancelConfig, **inputs: object
) -> Step:
    return Step(
        cancellation,
        now=now,
        window=config.window,
        inputs={k: v for k, v in inputs.items() if isinstance(v, (str, int, bool)) or v is None},
    )
