"""Events: what happened, as flat data, logged through structlog by whoever runs the use case."""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Union

import attrs
import structlog

__all__ = ["Event", "log_events"]

logger = structlog.get_logger("paycancel")

Scalar = Union[str, int, float, bool, None]


@attrs.frozen
class Event:
    """A fact, named ``"<area>.<noun>_<past-verb>"`` (``"cancellation.retry_scheduled"``).

    ``data`` holds flat, JSON-friendly values only; never keys, signatures or bodies.
    """

    name: str
    key: str
    at: dt.datetime
    data: dict[str, Scalar] = attrs.field(factory=dict)


def log_events(events: Iterable[Event]) -> None:
    """Emit events with structlog (the embedding service configures structlog, never us)."""
    for event in events:
        level = (
            "warning" if event.name.endswith(("_escalated", "late_success_recorded")) else "info"
        )
        at = event.at.astimezone(dt.timezone.utc).isoformat()
        getattr(logger, level)(event.name, key=event.key, at=at, **event.data)
