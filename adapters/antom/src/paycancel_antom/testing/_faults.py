"""Scripted faults: what a local Antom gateway does wrong, and to which requests.

Faults are queued with :meth:`LocalAntomGateway.script` and consumed in order: each well-formed
cancel request (one that passes the signature and body checks) takes the first queued fault that
matches it, and a fault stays queued until it has affected ``count`` requests.
"""

from __future__ import annotations

import functools
from typing import Any, Union

import attrs
from cryptography.hazmat.primitives.asymmetric import rsa

from paycancel.errors import ValidationError
from paycancel_wire import MAX_CODE_LENGTH, PrivateKey

__all__ = [
    "DropAnswer",
    "Fault",
    "SlowAnswer",
    "Throttle",
    "UnknownStreak",
    "UnsignedFailure",
    "WrongSignature",
]


def _positive(_instance: object, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            message=f"{attribute.name} must be an int of at least 1, got {value!r}",
            field=attribute.name,
        )


def _code(_instance: object, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CODE_LENGTH:
        raise ValidationError(
            message=f"{attribute.name} must be a result code of 1 to {MAX_CODE_LENGTH} characters",
            field=attribute.name,
        )


def _delay(_instance: object, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValidationError(
            message=f"{attribute.name} must be a number of seconds >= 0, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen
class UnknownStreak:
    """Answer ``U`` with ``code`` (signed) without applying the cancel, ``count`` times."""

    count: int = attrs.field(default=1, validator=_positive)
    code: str = attrs.field(default="UNKNOWN_EXCEPTION", validator=_code)


@attrs.frozen
class Throttle:
    """Answer ``U`` ``REQUEST_TRAFFIC_EXCEED_LIMIT`` (signed) without applying the cancel."""

    count: int = attrs.field(default=1, validator=_positive)


@attrs.frozen
class DropAnswer:
    """Close the connection without any answer; the cancel is applied first if ``apply``
    (the request arrived, the answer was lost) and not if not (it never got processed)."""

    count: int = attrs.field(default=1, validator=_positive)
    apply: bool = True


@attrs.frozen
class SlowAnswer:
    """Apply the cancel, then answer normally after ``delay`` real seconds (a client that
    gives up earlier sees no answer although the cancel happened)."""

    delay: float = attrs.field(validator=_delay)
    count: int = attrs.field(default=1, validator=_positive)


@attrs.frozen
class UnsignedFailure:
    """Answer ``F`` with ``code``, unsigned (as for an error raised before the signing layer);
    the cancel is not applied.

    By default the answer has no ``signature``, ``response-time`` or ``client-id`` header at
    all, the unsigned form :class:`paycancel_wire.ResponseVerifier` accepts. The official SDK
    (1.7.1) refuses that form ("signature not exist") before it even looks at the status: it
    accepts an unsigned ``F``/``U`` only when the three headers are present with blank values
    (``signature: algorithm=RSA256,keyVersion=1,signature=`` and an empty ``response-time``).
    ``blank_headers=True`` sends that form instead.
    """

    code: str = attrs.field(default="PROCESS_FAIL", validator=_code)
    count: int = attrs.field(default=1, validator=_positive)
    blank_headers: bool = False


@attrs.frozen
class WrongSignature:
    """Apply the cancel and answer normally, but sign with a throwaway key (a response a
    merchant must refuse)."""

    count: int = attrs.field(default=1, validator=_positive)


Fault = Union[UnknownStreak, Throttle, DropAnswer, SlowAnswer, UnsignedFailure, WrongSignature]
_FAULT_TYPES = (UnknownStreak, Throttle, DropAnswer, SlowAnswer, UnsignedFailure, WrongSignature)


@attrs.define
class _Entry:
    fault: Fault
    left: int
    payment_id: str | None
    payment_request_id: str | None

    def matches(self, payment_id: str | None, payment_request_id: str | None) -> bool:
        if self.payment_id is not None and self.payment_id != payment_id:
            return False
        return self.payment_request_id is None or self.payment_request_id == payment_request_id


class FaultScript:
    """The queue of scripted faults (not thread-safe: the gateway holds its lock)."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def add(
        self, faults: tuple[Fault, ...], *, payment_id: str | None, payment_request_id: str | None
    ) -> None:
        """Queue ``faults`` for requests about the given payment (any request if no id).

        Raises:
            ValidationError: something that is not a fault.
        """
        for fault in faults:
            if not isinstance(fault, _FAULT_TYPES):
                raise ValidationError(
                    message=f"not a fault: {type(fault).__name__}", field="faults"
                )
        self._entries.extend(
            _Entry(fault, fault.count, payment_id, payment_request_id) for fault in faults
        )

    def take(self, *, payment_id: str | None, payment_request_id: str | None) -> Fault | None:
        """The fault for a request about this payment, if one is queued (and count it)."""
        for index, entry in enumerate(self._entries):
            if entry.matches(payment_id, payment_request_id):
                entry.left -= 1
                if entry.left == 0:
                    del self._entries[index]
                return entry.fault
        return None

    def pending(self) -> list[Fault]:
        """The faults still queued, in order."""
        return [entry.fault for entry in self._entries]

    def clear(self) -> None:
        """Drop every queued fault."""
        self._entries.clear()


@functools.lru_cache(maxsize=1)
def throwaway_key() -> PrivateKey:
    """A fresh RSA-2048 key nobody trusts, made once per process (about 0.1 s)."""
    return PrivateKey(rsa.generate_private_key(public_exponent=65537, key_size=2048))
