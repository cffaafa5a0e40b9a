"""Commands: what a use case asks its driver to do. Plain data; drivers execute them."""

from __future__ import annotations

import datetime as dt
from typing import Union

import attrs

from ._identifier import RefundRequestId
from ._money import Money
from ._order import PaymentOrder

__all__ = [
    "Command",
    "Escalate",
    "ReverseFunds",
    "ScheduleWakeup",
    "SendCancel",
    "SendInquiry",
    "SendRefund",
    "StartCancellation",
]


@attrs.frozen
class SendCancel:
    """Send the cancel (the same parameters on every attempt)."""

    key: str
    order: PaymentOrder
    attempt: int


@attrs.frozen
class SendRefund:
    """Refund the full amount with the cancellation's own refund request id (S0 fallback)."""

    key: str
    order: PaymentOrder
    refund_request_id: RefundRequestId
    amount: Money
    attempt: int
    reason: str


@attrs.frozen
class SendInquiry:
    """ACQP: ask Alipay+ for the payment result (``inquiryPayment``)."""

    key: str
    order: PaymentOrder
    number: int


@attrs.frozen
class ReverseFunds:
    """MPP: return the funds of this payment to the user, idempotently on ``key``."""

    key: str
    order: PaymentOrder


@attrs.frozen
class ScheduleWakeup:
    """Come back to ``key`` at ``at`` (a durable timer through the scheduler port)."""

    key: str
    at: dt.datetime


@attrs.frozen
class Escalate:
    """Hand the case to support with the evidence."""

    key: str
    to: str
    evidence: dict[str, object]


@attrs.frozen
class StartCancellation:
    """ACQP watch: no final result in time (or the merchant closed it): cancel the payment."""

    key: str
    order: PaymentOrder
    reason: str


Command = Union[
    SendCancel, SendRefund, SendInquiry, ReverseFunds, ScheduleWakeup, Escalate, StartCancellation
]
