"""What a gateway call came to: typed transport outcomes in core types (never an HTTP response)."""

from __future__ import annotations

import datetime as dt
from typing import Union

import attrs

from ._identifier import AcquirerId, PaymentId, PaymentRequestId, PspId
from ._product import ResultStatus, to_result_status
from ._time import optional_aware_validator

__all__ = ["Answered", "GatewayOutcome", "InquiryAnswered", "InquiryOutcome", "NoAnswer", "NotSent"]


@attrs.frozen
class Answered:
    """The platform answered with a (verified) ``result``.

    Optional fields carry what the success body adds: Antom's ``paymentId``,
    ``paymentRequestId`` and ``cancelTime``; Alipay+'s ``acquirerId`` and ``pspId``.
    """

    status: ResultStatus = attrs.field(converter=to_result_status)
    code: str = attrs.field(validator=attrs.validators.instance_of(str))
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

    result_status: ResultStatus = attrs.field(converter=to_result_status)
    result_code: str = attrs.field(validator=attrs.validators.instance_of(str))
    payment_status: ResultStatus | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_result_status)
    )
    payment_code: str | None = None


InquiryOutcome = Union[InquiryAnswered, NotSent, NoAnswer]
