"""What a gateway call came to: typed transport outcomes in core types (never an HTTP response)."""

from __future__ import annotations

import datetime as dt
from typing import Union

import attrs

from ._identifier import AcquirerId, PaymentId, PaymentRequestId, PspId
from ._product import ResultStatus
from ._time import optional_aware_validator

__all__ = ["Answered", "GatewayOutcome", "InquiryAnswered", "InquiryOutcome", "NoAnswer", "NotSent"]


@attrs.frozen
class Answered:
    """The platform answered with a (verified) ``result``.

    Optional fields carry what the success body adds: Antom's ``paymentId``,
    ``paymentRequestId`` and ``cancelTime``; Alipay+'s ``acquirerId`` and ``pspId``.
    """

    status: ResultStatus
    code: str
    message: str | None = None
    payment_id: PaymentId | None = None
    payment_request_id: PaymentRequestId | None = None
    cancel_time: dt.datetime | None = attrs.field(default=None, validator=optional_aware_validator)
    acquirer_id: AcquirerId | None = None
    psp_id: PspId | None = None


@attrs.frozen
class NotSent:
    """The request never left (connection refused, DNS): safe to resend, nothing happened."""

    reason: str


@attrs.frozen
class NoAnswer:
    """The request may have arrived but no usable answer came back (timeout, reset, bad
    signature on an ``S``). The core treats it exactly like ``U``."""

    reason: str


GatewayOutcome = Union[Answered, NotSent, NoAnswer]


@attrs.frozen
class InquiryAnswered:
    """``inquiryPayment`` answered (S0): ``result`` is the call, ``paymentResult`` the payment."""

    result_status: ResultStatus
    result_code: str
    payment_status: ResultStatus | None = None
    payment_code: str | None = None


InquiryOutcome = Union[InquiryAnswered, NotSent, NoAnswer]
