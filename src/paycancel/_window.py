"""Cancel windows: until when a payment can be cancelled.

A window ends at a local cut-off time on the calendar day ``T + day_offset``, where ``T`` is the
day the payment was initiated *in the window's zone*. The end is **exclusive**: at exactly the
deadline the window is closed. Alipay+ states its windows in UTC+8, a fixed offset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ._product import Product
from ._time import UTC8, require_aware
from .errors import InvalidTimeError, PolicyError, UnsupportedProductError

__all__ = ["ACQP_WINDOW", "MPP_WINDOW", "WindowPolicy", "builtin_window"]


#: A contract window longer than a year is a configuration error, not a window.
_MAX_DAY_OFFSET = 366


def _check_zone(_instance: object, _attribute: Any, value: Any) -> None:
    if not isinstance(value, dt.tzinfo):
        raise PolicyError(message="zone must be a tzinfo", field="zone")


def _check_day_offset(_instance: object, _attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_DAY_OFFSET:
        raise PolicyError(
            message=f"day_offset must be an int from 0 to 366, got {value!r}", field="day_offset"
        )


def _check_margin(_instance: object, _attribute: Any, value: Any) -> None:
    if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
        raise PolicyError(
            message="safety_margin must be a non-negative timedelta", field="safety_margin"
        )


def _check_cutoff(_instance: object, _attribute: Any, value: Any) -> None:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise PolicyError(
            message="cutoff must be a naive datetime.time (local to the window's zone)",
            field="cutoff",
        )


@attrs.frozen
class WindowPolicy:
    """When the cancel window of a payment closes.

    Args:
        cutoff: the local time of day at which the window closes (in ``zone``).
        day_offset: on which day after the initiation day ``T`` (``1`` = ``T+1``).
        zone: a fixed offset (default UTC+8) or a named zone (``zoneinfo.ZoneInfo``) for contract
            windows an acquirer states in its own zone. In a named zone a cut-off that falls in a
            DST gap or fold resolves with ``fold=0``, per PEP 495.
        safety_margin: closes the window this much earlier, so a cancel is not sent in the last
            seconds (clock skew, network time). Zero by default.
        name: a label for logs, decision records and docs.

    Raises:
        PolicyError: on an out-of-range ``day_offset``, a negative margin or an aware cut-off.
    """

    cutoff: dt.time = attrs.field(validator=_check_cutoff)
    day_offset: int = attrs.field(default=1, validator=_check_day_offset)
    zone: dt.tzinfo = attrs.field(default=UTC8, validator=_check_zone)
    safety_margin: dt.timedelta = attrs.field(default=dt.timedelta(0), validator=_check_margin)
    name: str = "custom"
    #: :meth:`describe`, computed once (decision records store it on every transition).
    description: str = attrs.field(init=False, eq=False, repr=False)
    _days: dt.timedelta = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "description", self.describe())
        object.__setattr__(self, "_days", dt.timedelta(days=self.day_offset))

    def cancellable_until(self, initiated_at: dt.datetime) -> dt.datetime:
        """The first instant at which the payment can no longer be cancelled.

        Args:
            initiated_at: when the payment was initiated; any offset, never naive.

        Returns:
            An aware datetime in the window's zone (for a named zone, with the fixed offset in
            force at that instant). The window is open strictly before it. It is never before
            ``initiated_at``: a payment made after a same-day cut-off (``day_offset=0``), or
            whose deadline the safety margin pulls before its initiation, gets a deadline equal
            to its initiation, i.e. a window that is closed from the start.

        Raises:
            InvalidTimeError: ``initiated_at`` is naive, or the deadline falls outside the
                ``datetime`` range (year 9999).
        """
        require_aware(initiated_at, "initiated_at")
        try:
            day = initiated_at.astimezone(self.zone).date() + self._days
            cut = self.cutoff
            deadline = dt.datetime(
                day.year, day.month, day.day, cut.hour, cut.minute, cut.second, cut.microsecond,
                self.zone,
            )  # fmt: skip
            if isinstance(self.zone, dt.timezone):  # a fixed offset: the common, fast case
                if self.safety_margin:
                    deadline -= self.safety_margin
            else:
                # A named zone: resolve the local cut-off to an instant (fold=0 in a DST gap or
                # fold), subtract the margin in UTC, and return it with the fixed offset in
                # force then: a ZoneInfo time in a gap or fold never compares equal to the same
                # instant in another zone (PEP 495).
                instant = deadline.astimezone(dt.timezone.utc) - self.safety_margin
                offset = instant.astimezone(self.zone).utcoffset() or dt.timedelta(0)
                deadline = instant.astimezone(dt.timezone(offset))
        except OverflowError as exc:
            raise InvalidTimeError(
                message=f"the cancel window of a payment initiated at {initiated_at.isoformat()} "
                "ends outside the supported date range",
                field="initiated_at",
            ) from exc
        return deadline if deadline > initiated_at else initiated_at.astimezone(deadline.tzinfo)

    def is_open(self, initiated_at: dt.datetime, now: dt.datetime) -> bool:
        """Whether a cancel sent at ``now`` is inside the window (the end is exclusive)."""
        require_aware(now, "now")
        return now < self.cancellable_until(initiated_at)

    def time_left(self, initiated_at: dt.datetime, now: dt.datetime) -> dt.timedelta:
        """How long the window stays open after ``now``; zero once closed."""
        require_aware(now, "now")
        left = self.cancellable_until(initiated_at) - now
        return max(left, dt.timedelta(0))

    def seconds_left(self, initiated_at: dt.datetime, now: dt.datetime) -> int:
        """:meth:`time_left` in whole seconds, rounded down; ``0`` when closed."""
        return int(self.time_left(initiated_at, now).total_seconds())

    def describe(self) -> str:
        """A one-line human description, e.g. ``until 00:15 UTC+08:00 on T+1``."""
        zone = self.zone.tzname(None) or str(self.zone)
        text = f"until {self.cutoff.strftime('%H:%M')} {zone} on T+{self.day_offset}"
        if self.safety_margin:
            text += f", minus a safety margin of {int(self.safety_margin.total_seconds())} s"
        return text


#: Alipay+ ACQP: cancellable until 00:15 UTC+8 on T+1, whatever the payment status (S0).
ACQP_WINDOW = WindowPolicy(cutoff=dt.time(0, 15), day_offset=1, zone=UTC8, name="alipayplus-acqp")
#: Alipay+ MPP: cancellable from initiation until 00:30 UTC+8 on T+1 (S3).
MPP_WINDOW = WindowPolicy(cutoff=dt.time(0, 30), day_offset=1, zone=UTC8, name="alipayplus-mpp")


def builtin_window(product: Product, contract: WindowPolicy | None = None) -> WindowPolicy:
    """The window for a product: the built-in for Alipay+, the contract's for Antom.

    Args:
        product: the product and role.
        contract: the window from the merchant's contract; required for Antom, which has no
            default (S4: "the expiration time depends on the acquirers"). When given for an
            Alipay+ role it overrides the built-in.

    Raises:
        PolicyError: Antom without a contract window.
    """
    if contract is not None:
        return contract
    if product is Product.ALIPAYPLUS_ACQP:
        return ACQP_WINDOW
    if product is Product.ALIPAYPLUS_MPP:
        return MPP_WINDOW
    if product is Product.ANTOM:
        raise PolicyError(
            message=(
                "Antom's cancel window comes from your contract with the acquirer and has no "
                "default (S4); configure WindowPolicy(cutoff=..., day_offset=..., zone=...)"
            ),
            field="contract",
        )
    raise UnsupportedProductError(  # pragma: no cover - Product is exhaustive
        message=f"unknown product {product!r}", product=str(product), operation="window"
    )
