"""Errors of the envelope, all under :class:`paycancel.errors.PaycancelError`.

Each carries ``result_code``: the Alipay+/Antom code a receiving side answers with (S1, S2).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from paycancel.errors import PaycancelError, ValidationError

__all__ = [
    "ClockSkewError",
    "InsecureTransportError",
    "KeyLoadError",
    "KeyNotFoundError",
    "ParamIllegalError",
    "SignatureError",
    "UnknownClientError",
    "UnsignedResponseError",
    "WireError",
]


@attrs.define(kw_only=True)
class WireError(PaycancelError):
    """Root of the envelope's errors; ``result_code`` is the protocol's answer to it."""

    result_code: ClassVar[str] = "PROCESS_FAIL"


@attrs.define(kw_only=True)
class KeyLoadError(WireError):
    """A key could not be loaded. The message never contains key material.

    Attributes:
        field: which key (``private_key``, ``public_key``).
    """

    field: str
    result_code: ClassVar[str] = "KEY_NOT_FOUND"


@attrs.define(kw_only=True)
class SignatureError(WireError):
    """A signature is missing, malformed, of an unknown algorithm or does not verify."""

    result_code: ClassVar[str] = "INVALID_SIGNATURE"


@attrs.define(kw_only=True)
class ClockSkewError(SignatureError):
    """A request's ``Request-Time`` is further from now than the tolerated skew.

    Attributes:
        skew_seconds: how far off the request time is (positive: in the future).
    """

    skew_seconds: float


@attrs.define(kw_only=True)
class UnsignedResponseError(SignatureError):
    """An unsigned response claimed ``S`` (only ``F`` and ``U`` may come unsigned)."""

    status: str | None


@attrs.define(kw_only=True)
class UnknownClientError(WireError):
    """No key is registered for the request's ``Client-Id`` (or it sent none)."""

    client_id: str | None
    result_code: ClassVar[str] = "INVALID_CLIENT"


@attrs.define(kw_only=True)
class KeyNotFoundError(WireError):
    """The client is known but not under the ``keyVersion`` its signature names."""

    client_id: str
    key_version: str
    result_code: ClassVar[str] = "KEY_NOT_FOUND"


@attrs.define(kw_only=True)
class ParamIllegalError(WireError, ValidationError):
    """A body is not valid JSON, or a field is missing, not a string, empty or too long.

    Attributes:
        field: the offending field (dotted for nested ones, ``body`` for the whole body).
        reason: a short machine-friendly reason (``missing``, ``not_string``, ``empty``,
            ``too_long``, ``not_json``, ``not_object``, ``duplicate``, ``both_null``, ``invalid``).
    """

    reason: str
    result_code: ClassVar[str] = "PARAM_ILLEGAL"


@attrs.define(kw_only=True)
class InsecureTransportError(WireError):
    """Plain ``http://`` to a host that is not loopback: TLS is required off this machine."""

    url: str
