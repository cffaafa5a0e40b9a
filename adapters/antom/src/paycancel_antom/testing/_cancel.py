"""What Antom answers to a cancel (S2, S4), as pure functions: no I/O, no lock, no clock."""

from __future__ import annotations

import datetime as dt
from typing import Dict, Optional

import attrs

from paycancel import UTC8, WindowPolicy
from paycancel_antom import MAX_MERCHANT_ACCOUNT_ID_LENGTH
from paycancel_wire import MAX_ID_LENGTH, Result, decode_body, format_time, one_of, optional_string

from ._payments import AntomPayment, PaymentState

__all__ = ["CancelQuery", "Decision", "decide", "failure", "parse_cancel_body", "unknown"]

#: The messages of S2's result table (``INVALID_CLIENT`` and ``INVALID_SIGNATURE`` come from the
#: envelope's error list; the verifier's own message is used for them).
MESSAGES = {
    "SUCCESS": "Success",
    "ACCESS_DENIED": "Access is denied.",
    "CANCEL_WINDOW_EXCEED": "The cancellation date exceeds the period during which cancellation "
    "is supported. The period is agreed upon in the contract.",
    "KEY_NOT_FOUND": "The private key or public key of Alipay or the merchant is not found.",
    "NO_INTERFACE_DEF": "API is not defined.",
    "ORDER_NOT_EXIST": "The order does not exist.",
    "ORDER_STATUS_INVALID": "The transaction cannot be further processed because the order "
    "status is invalid.",
    "PARAM_ILLEGAL": "The required parameters are not passed, or illegal parameters exist.",
    "PROCESS_FAIL": "A general business failure occurred.",
    "SYSTEM_ERROR": "A system error occurred.",
    "REQUEST_TRAFFIC_EXCEED_LIMIT": "The request traffic exceeds the limit.",
    "UNKNOWN_EXCEPTION": "An API call has failed, which is caused by unknown reasons.",
}

Fields = Dict[str, Optional[str]]


def failure(code: str, message: str | None = None) -> Result:
    """An ``F`` result with S2's message for ``code`` unless ``message`` is given."""
    return Result(status="F", code=code, message=message or MESSAGES.get(code, code))


def unknown(code: str) -> Result:
    """A ``U`` result with S2's message for ``code``."""
    return Result(status="U", code=code, message=MESSAGES.get(code, "Unknown exception."))


@attrs.frozen
class CancelQuery:
    """A validated cancel body."""

    payment_id: str | None
    payment_request_id: str | None
    merchant_account_id: str | None


def parse_cancel_body(body: bytes) -> CancelQuery:
    """Validate the cancel body: ``paymentId`` and ``paymentRequestId`` optional strings of up
    to 64 characters, not both null; ``merchantAccountId`` optional, up to 32.

    Raises:
        ParamIllegalError: anything else (answered ``PARAM_ILLEGAL``).
    """
    fields = decode_body(body)
    payment_id = optional_string(fields, "paymentId", max_length=MAX_ID_LENGTH)
    payment_request_id = optional_string(fields, "paymentRequestId", max_length=MAX_ID_LENGTH)
    one_of(fields, "paymentId", "paymentRequestId")
    merchant_account_id = optional_string(
        fields, "merchantAccountId", max_length=MAX_MERCHANT_ACCOUNT_ID_LENGTH
    )
    return CancelQuery(
        payment_id=payment_id,
        payment_request_id=payment_request_id,
        merchant_account_id=merchant_account_id,
    )


@attrs.frozen
class Decision:
    """The answer to one cancel: its result, the other body fields, and the payment as it
    stands afterwards (``None``: unknown payment; unchanged unless the cancel applied)."""

    result: Result
    fields: Fields
    payment: AntomPayment | None
    changed: bool = False


def _success(payment: AntomPayment) -> Decision:
    assert payment.cancel_time is not None
    return Decision(
        result=Result(status="S", code="SUCCESS", message=MESSAGES["SUCCESS"]),
        fields={
            "paymentId": payment.payment_id,
            "paymentRequestId": payment.payment_request_id,
            "cancelTime": format_time(payment.cancel_time.astimezone(UTC8)),
        },
        payment=payment,
    )


def decide(
    payment: AntomPayment | None, *, now: dt.datetime, window: WindowPolicy | None
) -> Decision:
    """Answer a cancel of ``payment`` at ``now``.

    * unknown (or another client's) -> ``F`` ``ORDER_NOT_EXIST``;
    * ``CANCELLED`` -> ``S`` again with the stored ``cancelTime`` (the same body, byte for
      byte), whatever the window;
    * ``REFUNDED`` -> ``F`` ``PROCESS_FAIL`` (S4 names this code);
    * ``CAPTURED`` -> ``F`` ``ORDER_STATUS_INVALID``. S4 says card payments cannot be cancelled
      during or after capture but names no code: this one is an inference from S2's table
      ("the order status is invalid");
    * ``UNPAID``/``PAID`` with the window closed -> ``F`` ``CANCEL_WINDOW_EXCEED`` (the refused
      states above are answered first, the window being moot for them);
    * ``UNPAID``/``PAID`` otherwise -> cancelled at ``now`` (to the second, as sent),
      ``S`` ``SUCCESS`` with ``paymentId``, ``paymentRequestId`` and ``cancelTime`` in UTC+8.
    """
    if payment is None:
        return Decision(result=failure("ORDER_NOT_EXIST"), fields={}, payment=None)
    state = payment.state
    if state is PaymentState.CANCELLED:
        return _success(payment)
    if state is PaymentState.REFUNDED:
        return Decision(result=failure("PROCESS_FAIL"), fields={}, payment=payment)
    if state is PaymentState.CAPTURED:
        return Decision(result=failure("ORDER_STATUS_INVALID"), fields={}, payment=payment)
    if window is not None and not window.is_open(payment.initiated_at, now):
        return Decision(result=failure("CANCEL_WINDOW_EXCEED"), fields={}, payment=payment)
    cancelled = attrs.evolve(
        payment, state=PaymentState.CANCELLED, cancel_time=now.replace(microsecond=0)
    )
    return attrs.evolve(_success(cancelled), changed=True)
