"""``Request-Time`` and ``response-time``: ISO 8601 (Alipay+, the SDKs) or epoch milliseconds
(Antom's current docs). Both are accepted when receiving; ISO 8601 is sent."""

from __future__ import annotations

import datetime as dt
import re

from paycancel.errors import InvalidTimeError

from .errors import ClockSkewError

__all__ = ["DEFAULT_SKEW", "check_skew", "format_time", "parse_time"]

#: How far a received request's time may be from ours before it is refused.
DEFAULT_SKEW = dt.timedelta(minutes=5)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MILLIS = re.compile(r"^[0-9]{12,14}$")
#: One ISO 8601 form on every Python (3.11's ``fromisoformat`` takes more than 3.8's).
_ISO = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|z|[+-][0-9]{2}:[0-9]{2})$"
)


def format_time(moment: dt.datetime) -> str:
    """ISO 8601 at second precision with the moment's own offset (``2019-05-28T12:12:12+08:00``).

    Raises:
        InvalidTimeError: ``moment`` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTimeError(message="times on the wire must be timezone-aware", field="time")
    return moment.replace(microsecond=0).isoformat()


def parse_time(text: str | None, field: str = "Request-Time") -> dt.datetime:
    """Parse ISO 8601 with an offset (``Z`` accepted) or epoch milliseconds.

    Raises:
        InvalidTimeError: missing, naive or unreadable.
    """
    if text is None or not text.strip():
        raise InvalidTimeError(message=f"{field} is missing", field=field)
    raw = text.strip()
    if _MILLIS.match(raw):
        return _EPOCH + dt.timedelta(milliseconds=int(raw))
    match = _ISO.match(raw)
    try:
        if match is None:
            raise ValueError(raw)
        base, fraction, offset = match.groups()
        iso = base + ("." + fraction.ljust(6, "0") if fraction else "")
        iso += "+00:00" if offset in ("Z", "z") else offset
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise InvalidTimeError(
            message=f"{field} is neither ISO 8601 nor epoch milliseconds: {raw[:40]!r}",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        raise InvalidTimeError(message=f"{field} has no UTC offset: {raw[:40]!r}", field=field)
    return parsed


def check_skew(sent_at: dt.datetime, now: dt.datetime, tolerance: dt.timedelta) -> None:
    """Refuse a request time further than ``tolerance`` from ``now`` (either direction).

    Raises:
        ClockSkewError: outside the tolerance (answered ``INVALID_SIGNATURE``).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidTimeError(message="now must be timezone-aware", field="now")
    skew = (sent_at - now).total_seconds()
    if abs(skew) > tolerance.total_seconds():
        raise ClockSkewError(
            message=f"request time is {skew:+.0f} s from now, over the "
            f"{tolerance.total_seconds():.0f} s tolerated",
            skew_seconds=skew,
        )
