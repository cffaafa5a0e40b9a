"""Bookkeeping shared by the use cases: apply triggers, record decisions, collect output."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ._cancellation import Attempt, Cancellation, DecisionRecord
from ._catalog import CATALOG_VERSION
from ._command import Command
from ._event import Event, Scalar
from ._product import ResultStatus
from ._state import CancellationState, Trigger, next_state
from ._window import WindowPolicy

__all__ = ["Decision"]


@attrs.frozen
class Decision:
    """What a use case decided: the new record, the commands to run, the events to log."""

    cancellation: Cancellation
    commands: tuple[Command, ...] = ()
    events: tuple[Event, ...] = ()


class Step:
    """Accumulates one ``decide`` call's changes on a frozen :class:`Cancellation`.

    Changes are collected and applied with one ``attrs.evolve`` when the record is read
    (:attr:`cancellation`) or the decision is taken; :meth:`get` reads a field without that.
    """

    def __init__(
        self,
        cancellation: Cancellation,
        *,
        now: dt.datetime,
        window: WindowPolicy,
        inputs: dict[str, Scalar],
    ) -> None:
        self._record = cancellation
        self._changes: dict[str, Any] = {}
        self._decisions: list[DecisionRecord] = []
        self.state: CancellationState = cancellation.state
        self.key = cancellation.key
        self.now = now
        self.window = window
        self.inputs = inputs
        self.commands: list[Command] = []
        self.events: list[Event] = []

    def get(self, name: str) -> Any:
        """A field of the record as changed so far."""
        if name in self._changes:
            return self._changes[name]
        return getattr(self._record, name)

    @property
    def cancellation(self) -> Cancellation:
        """The record with every change so far applied."""
        if self._changes or self._decisions:
            changes = self._changes
            changes["state"] = self.state
            if self._decisions:
                changes["decisions"] = (*self._record.decisions, *self._decisions)
            self._record = attrs.evolve(self._record, **changes)
            self._changes = {}
            self._decisions = []
        return self._record

    def move(self, trigger: Trigger, rule: str, **changes: Any) -> None:
        """Apply ``trigger`` (raising on an illegal one), record why, and set ``changes``."""
        before = self.state
        after = next_state(before, trigger)
        self._decisions.append(
            DecisionRecord(
                at=self.now,
                rule=rule,
                state_before=before,
                state_after=after,
                catalog_version=CATALOG_VERSION,
                window=self.window.description,
                cancellable_until=self._record.cancellable_until,
                inputs={**self.inputs, "trigger": trigger.value},
            )
        )
        self.state = after
        self._changes.update(changes)
        self.event(
            "cancellation.state_changed",
            state_before=before.value,
            state_after=after.value,
            trigger=trigger.value,
            rule=rule,
        )

    def update(self, **changes: Any) -> None:
        """Change fields without a state transition (closing an attempt, adding a warning)."""
        self._changes.update(changes)

    def event(self, name: str, **data: Scalar) -> None:
        self.events.append(Event(name=name, key=self.key, at=self.now, data=data))

    def command(self, command: Command) -> None:
        self.commands.append(command)

    def decision(self) -> Decision:
        return Decision(
            cancellation=self.cancellation,
            commands=tuple(self.commands),
            events=tuple(self.events),
        )


def close_open_attempt(
    step: Step,
    *,
    status: ResultStatus | None = None,
    code: str | None = None,
    message: str | None = None,
    transport: str | None = None,
) -> None:
    """Mark the attempt in flight as answered (or as never answered, with ``transport``)."""
    attempts: tuple[Attempt, ...] = step.get("attempts")
    for index in range(len(attempts) - 1, -1, -1):
        if attempts[index].open:
            closed = attrs.evolve(
                attempts[index],
                answered_at=step.now,
                status=status,
                code=code,
                message=message,
                transport=transport,
            )
            step.update(attempts=(*attempts[:index], closed, *attempts[index + 1 :]))
            return
