"""The payments a local Antom gateway knows, and loading them from a JSON file."""

from __future__ import annotations

import datetime as dt
import enum
import json
from pathlib import Path
from typing import Any, Union

import attrs

from paycancel.errors import InvalidTimeError, ValidationError
from paycancel_wire import MAX_ID_LENGTH, parse_time

__all__ = ["AntomPayment", "PaymentState", "PaymentsFileError", "load_payments"]


class PaymentState(enum.Enum):
    """Where a payment stands, as far as cancelling it goes (S4)."""

    #: Created, not paid yet (the buyer may not have submitted it): cancellable.
    UNPAID = "unpaid"
    #: Paid: cancellable within the window.
    PAID = "paid"
    #: Refunded, fully or partly: a cancel answers ``PROCESS_FAIL`` (S4).
    REFUNDED = "refunded"
    #: A card payment being captured or captured: cannot be cancelled, refund instead (S4).
    CAPTURED = "captured"
    #: Cancelled: a cancel is answered ``SUCCESS`` again with the same ``cancelTime``.
    CANCELLED = "cancelled"


def _check_id(_instance: object, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise ValidationError(
            message=f"{attribute.name} must be a string of 1 to {MAX_ID_LENGTH} characters",
            field=attribute.name,
        )


def _check_client_id(_instance: object, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(
            message="client_id must be None (any client) or a non-empty string",
            field=attribute.name,
        )


def _check_aware(_instance: object, attribute: Any, value: Any) -> None:
    if value is None and attribute.name == "cancel_time":
        return
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidTimeError(
            message=f"{attribute.name} must be a timezone-aware datetime", field=attribute.name
        )


@attrs.frozen
class AntomPayment:
    """One payment on the local gateway.

    Args:
        payment_id: Antom's ``paymentId`` (1 to 64 characters).
        payment_request_id: the merchant's ``paymentRequestId`` (1 to 64 characters).
        state: where it stands.
        initiated_at: when it was initiated (aware); the cancel window counts from it.
        client_id: the only client that may cancel it; ``None`` lets any client (other clients
            are answered ``ORDER_NOT_EXIST``, as for a payment that is not theirs).
        cancel_time: when it was cancelled; required for ``CANCELLED`` and only then.

    Raises:
        ValidationError: a bad id, a naive time, or ``cancel_time`` not matching the state.
    """

    payment_id: str = attrs.field(validator=_check_id)
    payment_request_id: str = attrs.field(validator=_check_id)
    state: PaymentState = attrs.field(validator=attrs.validators.instance_of(PaymentState))
    initiated_at: dt.datetime = attrs.field(validator=_check_aware)
    client_id: str | None = attrs.field(default=None, validator=_check_client_id)
    cancel_time: dt.datetime | None = attrs.field(default=None, validator=_check_aware)

    def __attrs_post_init__(self) -> None:
        cancelled = self.state is PaymentState.CANCELLED
        if cancelled and self.cancel_time is None:
            raise ValidationError(
                message="a CANCELLED payment needs its cancel_time", field="cancel_time"
            )
        if not cancelled and self.cancel_time is not None:
            raise ValidationError(
                message=f"cancel_time is only for CANCELLED payments, not {self.state.name}",
                field="cancel_time",
            )


@attrs.define(kw_only=True)
class PaymentsFileError(ValidationError):
    """A payments file cannot be read or holds a bad entry.

    Attributes:
        path: the file.
        index: the entry at fault (0-based), ``None`` for the file as a whole.
        field: the JSON field at fault (``paymentId``, ...), ``payments`` for the whole file.
    """

    path: str
    index: int | None = None


_FIELDS = ("paymentId", "paymentRequestId", "state", "initiatedAt", "clientId", "cancelTime")
_REQUIRED = ("paymentId", "paymentRequestId", "state", "initiatedAt")
_ATTRIBUTES = {
    "payment_id": "paymentId",
    "payment_request_id": "paymentRequestId",
    "client_id": "clientId",
    "cancel_time": "cancelTime",
    "initiated_at": "initiatedAt",
}


def _time(text: object, field: str, fail: Any) -> dt.datetime:
    if not isinstance(text, str):
        raise fail(field, "must be an ISO 8601 string with an offset")
    try:
        return parse_time(text, field)
    except InvalidTimeError as exc:
        raise fail(field, exc.message) from None


def _entry(raw: object, index: int, path: str) -> AntomPayment:
    def fail(field: str, reason: str) -> PaymentsFileError:
        return PaymentsFileError(
            message=f"{path}: payment {index}: {field}: {reason}",
            field=field,
            path=path,
            index=index,
        )

    if not isinstance(raw, dict):
        raise fail("payment", "each payment must be a JSON object")
    for name in raw:
        if name not in _FIELDS:
            raise fail(str(name), f"unknown field (known: {', '.join(_FIELDS)})")
    for name in _REQUIRED:
        if raw.get(name) is None:
            raise fail(name, "is required")
    state_text = raw["state"]
    states = [s.value for s in PaymentState]
    if not isinstance(state_text, str) or state_text.lower() not in states:
        raise fail("state", f"must be one of {', '.join(states)}")
    cancel_raw = raw.get("cancelTime")
    try:
        return AntomPayment(
            payment_id=raw["paymentId"],
            payment_request_id=raw["paymentRequestId"],
            state=PaymentState(state_text.lower()),
            initiated_at=_time(raw["initiatedAt"], "initiatedAt", fail),
            client_id=raw.get("clientId"),
            cancel_time=None if cancel_raw is None else _time(cancel_raw, "cancelTime", fail),
        )
    except PaymentsFileError:
        raise
    except ValidationError as exc:
        field = _ATTRIBUTES.get(exc.field, exc.field)
        raise fail(field, exc.message.replace(exc.field, field)) from None


PathLike = Union[str, Path]


def load_payments(path: PathLike) -> list[AntomPayment]:
    """Read payments from a JSON file: a list of objects with ``paymentId``,
    ``paymentRequestId``, ``state`` (``unpaid``, ``paid``, ``refunded``, ``captured`` or
    ``cancelled``, any case), ``initiatedAt`` (ISO 8601 with an offset), and optionally
    ``clientId`` and ``cancelTime`` (required for, and only for, ``cancelled``).

    Example file::

        [
            {
                "paymentId": "P1",
                "paymentRequestId": "R1",
                "state": "paid",
                "initiatedAt": "2026-11-22T10:00:00+08:00",
            }
        ]

    Raises:
        PaymentsFileError: the file cannot be read, is not a JSON list, or an entry is bad
            (unknown or missing field, bad value, an id used twice); ``index`` and ``field``
            say which.
    """
    name = str(path)

    def fail(message: str, *, field: str = "payments", index: int | None = None) -> Exception:
        return PaymentsFileError(message=f"{name}: {message}", field=field, path=name, index=index)

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise fail(f"cannot read the payments file: {reason}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise fail(f"not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise fail("must hold a JSON list of payments")
    payments = [_entry(raw, i, name) for i, raw in enumerate(data)]
    seen: dict[str, int] = {}
    for i, payment in enumerate(payments):
        for field, value in (
            ("paymentId", payment.payment_id),
            ("paymentRequestId", payment.payment_request_id),
        ):
            key = f"{field}:{value}"
            if key in seen:
                raise fail(
                    f"payment {i}: {field}: {value!r} is already used by payment {seen[key]}",
                    field=field,
                    index=i,
                )
            seen[key] = i
    return payments
