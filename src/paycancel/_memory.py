"""In-memory implementations of the store and scheduler ports (thread-safe).

They are real implementations for a single process (tests, demos, one-off tools), and the
reference the durable stores are checked against (``tests/contract``).
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
from typing import Generic, TypeVar

import attrs

from ._cancellation import Cancellation
from ._time import UTC, require_aware
from .errors import ConcurrentUpdateError, NotFoundError, ValidationError
from .typing import Versioned

__all__ = ["InMemoryCancellationStore", "InMemoryScheduler", "InMemoryStore"]

R = TypeVar("R", bound=Versioned)


class InMemoryStore(Generic[R]):
    """A :class:`~paycancel.typing.RecordStore` in a dict, guarded by a lock."""

    def __init__(self) -> None:
        self._records: dict[str, R] = {}
        self._lock = threading.Lock()

    def create(self, *, record: R) -> tuple[R, bool]:
        with self._lock:
            existing = self._records.get(record.key)
            if existing is not None:
                return existing, False
            stored = attrs.evolve(record, version=1)  # type: ignore[misc]  # attrs records
            self._records[record.key] = stored
            return stored, True

    def get(self, *, key: str) -> R | None:
        with self._lock:
            return self._records.get(key)

    def update(self, *, record: R, expected_version: int) -> R:
        with self._lock:
            existing = self._records.get(record.key)
            if existing is None:
                raise NotFoundError(message=f"no record {record.key!r}", key=record.key)
            if existing.version != expected_version:
                raise ConcurrentUpdateError(
                    message=f"{record.key!r} is at version {existing.version}, "
                    f"not {expected_version}",
                    key=record.key,
                    expected_version=expected_version,
                    actual_version=existing.version,
                )
            stored = attrs.evolve(record, version=expected_version + 1)  # type: ignore[misc]
            self._records[record.key] = stored
            return stored

    def all(self) -> list[R]:
        """Every record, in creation order (for tests, demos and reports)."""
        with self._lock:
            return list(self._records.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


class InMemoryCancellationStore(InMemoryStore[Cancellation]):
    """The in-memory :class:`~paycancel.typing.RecordStore` of cancellations."""


class InMemoryScheduler:
    """A :class:`~paycancel.typing.Scheduler` on a heap; one wake-up per key."""

    def __init__(self) -> None:
        self._due: dict[str, dt.datetime] = {}
        self._heap: list[tuple[dt.datetime, int, str]] = []
        self._seq = 0
        self._lock = threading.Lock()

    def schedule(self, *, key: str, at: dt.datetime) -> None:
        if not key:
            raise ValidationError(message="key must not be empty", field="key")
        when = require_aware(at, "at").astimezone(UTC)
        with self._lock:
            self._due[key] = when
            self._seq += 1
            heapq.heappush(self._heap, (when, self._seq, key))

    def unschedule(self, *, key: str) -> None:
        with self._lock:
            self._due.pop(key, None)

    def claim_due(self, *, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[str]:
        require_aware(now, "now")
        if lease <= dt.timedelta(0):
            raise ValidationError(message="lease must be a positive timedelta", field="lease")
        claimed: list[str] = []
        until = now.astimezone(UTC) + lease
        with self._lock:
            while self._heap and len(claimed) < limit and self._heap[0][0] <= now:
                when, _, key = heapq.heappop(self._heap)
                if self._due.get(key) != when:  # replaced or unscheduled since: a stale entry
                    continue
                claimed.append(key)
                # Leased: due again at ``until`` unless re-scheduled or unscheduled first.
                self._due[key] = until
                self._seq += 1
                heapq.heappush(self._heap, (until, self._seq, key))
        return claimed

    def next_due(self) -> dt.datetime | None:
        """The earliest scheduled time, or ``None`` (lets a fake clock jump straight to it)."""
        with self._lock:
            return min(self._due.values()) if self._due else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._due)
