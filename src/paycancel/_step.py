"""Bookkeeping shared by the use cases: apply triggers, record decisions, collect output."""

from __future__ import annotations

import datetime as dt

import attrs

from ._cancellation import Cancellation, DecisionRecord
from ._catalog import CATALOG_VERSION
from ._command import Command
from ._event import Event, Scalar
from ._product import ResultStatus
from ._state import Trigger, next_state
from ._window import WindowPolicy

__all__ = ["Decision", "Step"]


@attrs.frozen
class Decision:
    """What a use case decided: the new record, the commands to run, the events to log."""

    cancellation: Cancellation
    commands: tuple[Command, ...] = ()
    events: tuple[Event, ...] = ()


class Step:
    """Accumulates one ``decide`` call's changes on a frozen :class:`Cancellation`."""

    def __init__(
        self,
        cancellation: Cancellation,
        *,
        now: dt.datetime,
        window: WindowPolicy,
        inputs: dict[str, Scalar],
    ) -> None:
        self.cancellation = cancellation
        self.now = now
        self.window = window
        self.inputs = inputs
        self.commands: list[Command] = []
        self.events: list[Event] = []

    def move(self, trigger: Trigger, rule: str, **changes: object) -> None:
        """Apply ``trigger`` (raising on an illegal one), record why, and set ``changes``."""
        before = self.cancellation.state
        after = next_state(before, trigger)
        record = DecisionRecord(
            at=self.now,
            rule=rule,
            state_before=before,
            state_after=after,
            catalog_version=CATALOG_VERSION,
            window=self.window.describe(),
            cancellable_until=self.cancellation.cancellable_until,
            inputs=dict(self.inputs, trigger=trigger.value),
        )
        self.cancellation = attrs.evolve(
            self.cancellation,
            state=after,
            decisions=(*self.cancellation.decisions, record),
            **changes,  # type: ignore[arg-type]  # attrs.evolve takes the record's fields
        )
        self.event(
            "cancellation.state_changed",
            state_before=before.value,
            state_after=after.value,
            trigger=trigger.value,
            rule=rule,
        )

    def update(self, **changes: object) -> None:
        """Change fields without a state transition (closing an attempt, adding a warning)."""
        self.cancellation = attrs.evolve(self.cancellation, **changes)  # type: ignore[arg-type]

    def event(self, name: str, **data: Scalar) -> None:
        self.events.append(Event(name=name, key=self.cancellation.key, at=self.now, data=data))

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
    attempts = list(step.cancellation.attempts)
    for index in range(len(attempts) - 1, -1, -1):
        if attempts[index].open:
            attempts[index] = attrs.evolve(
                attempts[index],
                answered_at=step.now,
                status=status,
                code=code,
                message=message,
                transport=transport,
            )
            break
    step.update(attempts=tuple(attempts))
