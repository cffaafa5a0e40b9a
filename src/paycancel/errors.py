"""The one error tree of paycancel.

Every error raised on purpose by paycancel derives from :class:`PaycancelError` and carries
the fields callers branch on; never parse the message.
"""

from __future__ import annotations

import attrs

__all__ = [
    "ConcurrentUpdateError",
    "IllegalTransitionError",
    "InvalidIdentifierError",
    "InvalidMoneyError",
    "InvalidOrderError",
    "InvalidTimeError",
    "NotFoundError",
    "PaycancelError",
    "PolicyError",
    "UnsupportedProductError",
    "ValidationError",
]


@attrs.define(kw_only=True)
class PaycancelError(Exception):
    """Root of every error paycancel raises on purpose."""

    message: str

    def __str__(self) -> str:
        return self.message


@attrs.define(kw_only=True)
class ValidationError(PaycancelError, ValueError):
    """A value handed to paycancel is not acceptable.

    Attributes:
        field: the name of the offending field or argument.
    """

    field: str


@attrs.define(kw_only=True)
class InvalidIdentifierError(ValidationError):
    """An identifier is empty, too long, not a string or holds control characters."""

    value: object


@attrs.define(kw_only=True)
class InvalidMoneyError(ValidationError):
    """An amount is not an integer number of minor units or the currency is not ISO 4217."""


@attrs.define(kw_only=True)
class InvalidTimeError(ValidationError):
    """A datetime is naive (no UTC offset) or otherwise unusable."""


@attrs.define(kw_only=True)
class InvalidOrderError(ValidationError):
    """A payment order is inconsistent (no identifier, non-positive amount, ...)."""


@attrs.define(kw_only=True)
class PolicyError(ValidationError):
    """A window or retry policy is misconfigured (or missing where there is no safe default)."""


@attrs.define(kw_only=True)
class UnsupportedProductError(PaycancelError, ValueError):
    """An operation does not apply to this product or role (e.g. the MPP never retries)."""

    product: str
    operation: str


@attrs.define(kw_only=True)
class IllegalTransitionError(PaycancelError):
    """The cancellation state machine has no transition for this (state, event)."""

    state: str
    event: str


@attrs.define(kw_only=True)
class ConcurrentUpdateError(PaycancelError):
    """A compare-and-set on a stored record lost: someone else updated it first."""

    key: str
    expected_version: int
    actual_version: int | None


@attrs.define(kw_only=True)
class NotFoundError(PaycancelError, LookupError):
    """A record that must exist is not in the store."""

    key: str
