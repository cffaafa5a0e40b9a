"""The body codec: every value a JSON string, optional fields omitted, never ``""`` (S1, S2).

Encoding produces the exact bytes that are signed and sent. Decoding never re-serializes: it
validates the received bytes and raises :class:`ParamIllegalError` (``PARAM_ILLEGAL``).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import attrs

from .errors import ParamIllegalError

__all__ = [
    "MAX_CODE_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "Result",
    "decode_body",
    "decode_result",
    "encode_body",
    "one_of",
    "optional_object",
    "optional_string",
    "required_string",
]

MAX_ID_LENGTH = 64
MAX_CODE_LENGTH = 64
MAX_MESSAGE_LENGTH = 256
_STATUSES = ("S", "F", "U")


def _illegal(field: str, reason: str, message: str) -> ParamIllegalError:
    return ParamIllegalError(message=f"{field}: {message}", field=field, reason=reason)


def _clean(value: object, path: str) -> object:
    if isinstance(value, str):
        if value == "":
            raise _illegal(path, "empty", 'optional fields are omitted, never sent as ""')
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _illegal(path, "invalid", "holds a lone surrogate (not UTF-8)") from None
        return value
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _illegal(path, "invalid", "object keys must be strings")
            if item is None:
                continue
            out[key] = _clean(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_clean(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise _illegal(
        path,
        "not_string",
        f"every value is a JSON string (numbers and booleans too), got {type(value).__name__}",
    )


def encode_body(fields: Mapping[str, object]) -> bytes:
    """Compact UTF-8 JSON of ``fields``; ``None`` values are dropped.

    Raises:
        ParamIllegalError: a value that is not a string (or an object/list of them), or ``""``.
    """
    cleaned = _clean(fields, "")
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _illegal(key, "duplicate", "appears twice in the body")
        out[key] = value
    return out


def decode_body(body: bytes) -> dict[str, Any]:
    """Parse a body into a JSON object (duplicate keys refused).

    Raises:
        ParamIllegalError: not UTF-8, not JSON or not an object.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _illegal("body", "not_json", "not UTF-8") from None
    try:
        parsed = json.loads(text, object_pairs_hook=_no_duplicates)
    except ParamIllegalError:
        raise
    except (ValueError, RecursionError):
        raise _illegal("body", "not_json", "not valid JSON") from None
    if not isinstance(parsed, dict):
        raise _illegal("body", "not_object", "the body must be a JSON object")
    return parsed


def optional_string(obj: Mapping[str, Any], name: str, *, max_length: int) -> str | None:
    """A string field that may be absent or ``null``.

    Raises:
        ParamIllegalError: present but not a string, ``""`` or longer than ``max_length``.
    """
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _illegal(name, "not_string", f"must be a JSON string, got {type(value).__name__}")
    if value == "":
        raise _illegal(name, "empty", "must not be empty")
    if len(value) > max_length:
        raise _illegal(name, "too_long", f"longer than {max_length} characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON's \ud800 escapes decode to lone surrogates, which no UTF-8 answer can echo.
            raise _illegal(name, "invalid", "holds a lone surrogate") from None
    return value


def required_string(obj: Mapping[str, Any], name: str, *, max_length: int) -> str:
    """A string field that must be present.

    Raises:
        ParamIllegalError: missing or invalid as for :func:`optional_string`.
    """
    value = optional_string(obj, name, max_length=max_length)
    if value is None:
        raise _illegal(name, "missing", "is required")
    return value


def optional_object(obj: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """A nested object field that may be absent.

    Raises:
        ParamIllegalError: present but not an object.
    """
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _illegal(name, "not_object", "must be a JSON object")
    return value


def one_of(obj: Mapping[str, Any], *names: str) -> None:
    """The "cannot both be null" rule: at least one of ``names`` is present.

    Raises:
        ParamIllegalError: all of them absent or ``null`` (reason ``both_null``).
    """
    if all(obj.get(name) is None for name in names):
        joined = " and ".join(names)
        raise _illegal(names[0], "both_null", f"{joined} cannot both be null")


@attrs.frozen
class Result:
    """The ``result`` object every answer carries."""

    status: str
    code: str
    message: str | None = None

    def to_wire(self) -> dict[str, str]:
        """The JSON object (``resultMessage`` omitted when ``None``)."""
        out = {"resultStatus": self.status, "resultCode": self.code}
        if self.message is not None:
            out["resultMessage"] = self.message[:MAX_MESSAGE_LENGTH]
        return out


def decode_result(obj: Mapping[str, Any]) -> Result:
    """The ``result`` of an answer.

    Raises:
        ParamIllegalError: no ``result`` object, a status other than S/F/U, no code, or
            over-long code or message.
    """
    raw = optional_object(obj, "result")
    if raw is None:
        raise _illegal("result", "missing", "is required")
    try:
        status = required_string(raw, "resultStatus", max_length=1)
        if status not in _STATUSES:
            raise _illegal("resultStatus", "invalid", f"must be S, F or U, got {status!r}")
        code = required_string(raw, "resultCode", max_length=MAX_CODE_LENGTH)
        message = optional_string(raw, "resultMessage", max_length=MAX_MESSAGE_LENGTH)
    except ParamIllegalError as exc:
        raise _illegal(f"result.{exc.field}", exc.reason, exc.message.split(": ", 1)[-1]) from None
    return Result(status=status, code=code, message=message)
