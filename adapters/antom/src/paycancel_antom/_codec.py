"""Antom's cancel body and answer in wire names (S2); the rest of paycancel sees core types."""

from __future__ import annotations

import structlog

from paycancel import Answered, PaymentId, PaymentOrder, PaymentRequestId
from paycancel.errors import InvalidTimeError, PaycancelError, ValidationError
from paycancel_wire import MAX_ID_LENGTH, WireAnswer, encode_body, optional_string, parse_time

__all__ = [
    "MAX_MERCHANT_ACCOUNT_ID_LENGTH",
    "cancel_body",
    "check_merchant_account_id",
    "read_cancel_answer",
]

logger = structlog.get_logger(__name__)

MAX_MERCHANT_ACCOUNT_ID_LENGTH = 32


def check_merchant_account_id(value: str | None) -> None:
    """``merchantAccountId`` is optional, 1 to 32 characters (S2).

    Raises:
        ValidationError: empty, too long or not a string.
    """
    if value is None:
        return
    if not 0 < len(value) <= MAX_MERCHANT_ACCOUNT_ID_LENGTH:
        raise ValidationError(
            message=f"merchant_account_id must be 1 to {MAX_MERCHANT_ACCOUNT_ID_LENGTH} characters",
            field="merchant_account_id",
        )


def cancel_body(order: PaymentOrder, *, merchant_account_id: str | None = None) -> bytes:
    """The request body: ``paymentId`` and/or ``paymentRequestId`` (Antom uses ``paymentId`` when
    both are given), optional ``merchantAccountId``. The bytes returned are the bytes signed.

    Raises:
        ValidationError: ``merchant_account_id`` empty or longer than 32 characters.
    """
    check_merchant_account_id(merchant_account_id)
    return encode_body(
        {
            "paymentId": None if order.payment_id is None else str(order.payment_id),
            "paymentRequestId": (
                None if order.payment_request_id is None else str(order.payment_request_id)
            ),
            "merchantAccountId": merchant_account_id,
        }
    )


def read_cancel_answer(answer: WireAnswer) -> Answered:
    """Turn a verified answer into the core's :class:`~paycancel.Answered`.

    A success carries ``paymentId``, ``paymentRequestId`` and ``cancelTime``; one of them
    malformed does not undo the cancel that Antom confirmed: the field is dropped and logged.
    """
    result = answer.result
    payment_id = payment_request_id = cancel_time = None
    if result.status == "S":
        body = answer.body
        try:
            raw = optional_string(body, "paymentId", max_length=MAX_ID_LENGTH)
            payment_id = None if raw is None else PaymentId(raw)
        except PaycancelError as exc:
            logger.warning("antom.answer_field_dropped", field="paymentId", reason=exc.message)
        try:
            raw = optional_string(body, "paymentRequestId", max_length=MAX_ID_LENGTH)
            payment_request_id = None if raw is None else PaymentRequestId(raw)
        except PaycancelError as exc:
            logger.warning(
                "antom.answer_field_dropped", field="paymentRequestId", reason=exc.message
            )
        try:
            raw = optional_string(body, "cancelTime", max_length=MAX_ID_LENGTH)
            cancel_time = None if raw is None else parse_time(raw, "cancelTime")
        except (PaycancelError, InvalidTimeError) as exc:
            logger.warning("antom.answer_field_dropped", field="cancelTime", reason=exc.message)
    return Answered(
        status=result.status,
        code=result.code,
        message=result.message,
        payment_id=payment_id,
        payment_request_id=payment_request_id,
        cancel_time=cancel_time,
    )
