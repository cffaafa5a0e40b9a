"""Typed identifiers: small frozen types so a payment id is never passed as a request id."""

from __future__ import annotations

import unicodedata
from typing import Any

import attrs

from .errors import InvalidIdentifierError

__all__ = [
    "MAX_ID_LENGTH",
    "AcquirerId",
    "PaymentId",
    "PaymentRequestId",
    "PspId",
    "RefundRequestId",
]

#: Alipay+ and Antom limit every identifier in the cancel APIs to 64 characters (S1, S2).
MAX_ID_LENGTH = 64


def _check(instance: _Identifier, _attribute: Any, value: Any) -> None:
    kind = type(instance).__name__
    if not isinstance(value, str):
        raise InvalidIdentifierError(
            message=f"{kind} must be a string, got {type(value).__name__}",
            field=kind,
            value=value,
        )
    if not value:
        raise InvalidIdentifierError(message=f"{kind} must not be empty", field=kind, value=value)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdentifierError(
            message=f"{kind} is {len(value)} characters long; at most {MAX_ID_LENGTH} allowed",
            field=kind,
            value=value,
        )
    # Unicode category C*: control (C0, DEL, C1), format, surrogate, private use, unassigned.
    if value != value.strip() or any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise InvalidIdentifierError(
            message=f"{kind} must not hold surrounding whitespace or control characters",
            field=kind,
            value=value,
        )


@attrs.frozen
class _Identifier:
    value: str = attrs.field(validator=_check)

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class PaymentId(_Identifier):
    """The platform's id of a payment (``paymentId``), assigned by Alipay+ or Antom."""


@attrs.frozen
class PaymentRequestId(_Identifier):
    """The id of the original payment request (``paymentRequestId``): the idempotency key."""


@attrs.frozen
class AcquirerId(_Identifier):
    """The Alipay+ id of an acquiring partner (``acquirerId``)."""


@attrs.frozen
class PspId(_Identifier):
    """The Alipay+ id of a wallet, MPP or PSP (``pspId``)."""


@attrs.frozen
class RefundRequestId(_Identifier):
    """The idempotency key of a refund (``refundRequestId``)."""
