"""Helpers for aware datetimes; no wall clock here (see ``_clock``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .errors import InvalidTimeError, PolicyError

#: Alipay+ cut-offs are stated in UTC+8. A fixed offset, not ``Asia/Shanghai``: the tz database
#: gives +09:00 for some dates in 1986-1991.
UTC8 = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")
UTC = dt.timezone.utc


def require_aware(value: object, field: str) -> dt.datetime:
    """Return ``value`` if it is an aware datetime, raise :class:`InvalidTimeError` otherwise."""
    if not isinstance(value, dt.datetime):
        raise InvalidTimeError(
            message=f"{field} must be a datetime, got {type(value).__name__}", field=field
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidTimeError(
            message=f"{field} must be timezone-aware (naive datetimes are rejected): {value!r}",
            field=field,
        )
    return value


def aware_validator(_instance: object, attribute: Any, value: Any) -> None:
    """An ``attrs`` validator for aware datetimes (``None`` is not accepted)."""
    require_aware(value, getattr(attribute, "name", "datetime"))


def optional_aware_validator(_instance: object, attribute: Any, value: Any) -> None:
    """An ``attrs`` validator for optional aware datetimes."""
    if value is not None:
        require_aware(value, getattr(attribute, "name", "datetime"))


def positive_timedelta(_instance: object, attribute: Any, value: Any) -> None:
    """An ``attrs`` validator for strictly positive durations (policy settings)."""
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise PolicyError(
            message=f"{attribute.name} must be a positive timedelta", field=attribute.name
        )


def isoformat(value: dt.datetime) -> str:
    """ISO 8601 with offset, seconds precision unless there are microseconds."""
    timespec = "microseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=timespec)


def parse_iso(text: str, field: str) -> dt.datetime:
    """Parse an ISO 8601 datetime with an offset (``Z`` accepted); naive input is rejected."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidTimeError(
            message=f"{field}: not an ISO 8601 datetime: {text!r}", field=field
        ) from exc
    if value.tzinfo is None:
        raise InvalidTimeError(
            message=f"{field}: {text!r} has no UTC offset (naive datetimes are rejected); "
            "add one, e.g. +08:00 or Z",
            field=field,
        )
    return value
