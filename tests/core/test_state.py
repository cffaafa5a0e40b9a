"""The cancellation state machine: one table, absorbing terminal states, typed errors."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from paycancel import TERMINAL_STATES, TRANSITIONS, CancellationState, Trigger, next_state
from paycancel.errors import IllegalTransitionError, PaycancelError

S = CancellationState
T = Trigger

NON_TERMINAL = [s for s in S if s not in TERMINAL_STATES]
ILLEGAL = [
    (state, trigger)
    for state, trigger in itertools.product(NON_TERMINAL, T)
    if (state, trigger) not in TRANSITIONS
]


def test_terminal_states_are_the_five_endings() -> None:
    assert {
        S.CANCELLED,
        S.FAILED,
        S.REFUNDED,
        S.REFUND_REQUIRED,
        S.ESCALATED,
    } == TERMINAL_STATES
    assert all(state.terminal for state in TERMINAL_STATES)
    assert not any(state.terminal for state in NON_TERMINAL)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_state_absorbs_every_trigger(state: CancellationState) -> None:
    """A late SUCCESS notification never changes a cancelled order (S0, S4)."""
    for trigger in T:
        assert next_state(state, trigger) is state


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_illegal_transition_raises_with_state_and_event(
    state: CancellationState, trigger: Trigger
) -> None:
    with pytest.raises(IllegalTransitionError) as info:
        next_state(state, trigger)
    assert info.value.state == state.value
    assert info.value.event == trigger.value
    assert isinstance(info.value, PaycancelError)


def test_some_triggers_are_illegal_from_every_non_terminal_state() -> None:
    """Guards the parametrisation above against an empty list."""
    assert {state for state, _ in ILLEGAL} == set(NON_TERMINAL)


@pytest.mark.parametrize(
    ("state", "trigger", "after"),
    [
        (S.PENDING, T.ATTEMPT_SENT, S.IN_FLIGHT),
        (S.PENDING, T.ALREADY_CANCELLED, S.CANCELLED),
        (S.PENDING, T.REFUSED_LOCALLY, S.FAILED),
        (S.PENDING, T.REFUND_HANDED_OVER, S.REFUND_REQUIRED),
        (S.IN_FLIGHT, T.SUCCEEDED, S.CANCELLED),
        (S.IN_FLIGHT, T.FAILED, S.FAILED),
        (S.IN_FLIGHT, T.UNKNOWN, S.RETRY_SCHEDULED),
        (S.IN_FLIGHT, T.REFUND_REQUIRED, S.REFUND_PENDING),
        (S.RETRY_SCHEDULED, T.ATTEMPT_SENT, S.IN_FLIGHT),
        (S.RETRY_SCHEDULED, T.PLAN_EXHAUSTED, S.ESCALATED),
        (S.REFUND_PENDING, T.REFUND_SENT, S.REFUND_IN_FLIGHT),
        (S.REFUND_IN_FLIGHT, T.REFUND_SUCCEEDED, S.REFUNDED),
        (S.REFUND_IN_FLIGHT, T.REFUND_FAILED, S.FAILED),
        (S.REFUND_IN_FLIGHT, T.REFUND_UNKNOWN, S.REFUND_RETRY_SCHEDULED),
        (S.REFUND_RETRY_SCHEDULED, T.REFUND_SENT, S.REFUND_IN_FLIGHT),
        (S.REFUND_RETRY_SCHEDULED, T.PLAN_EXHAUSTED, S.ESCALATED),
    ],
)
def test_named_legal_transitions(
    state: CancellationState, trigger: Trigger, after: CancellationState
) -> None:
    assert next_state(state, trigger) is after


@pytest.mark.parametrize("state", NON_TERMINAL)
def test_a_payment_notification_never_moves_an_open_cancellation(
    state: CancellationState,
) -> None:
    """S0: a notification after the cancel began is handled per the cancel response."""
    assert next_state(state, T.PAYMENT_NOTIFIED) is state


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        (S.PENDING, T.SUCCEEDED),  # no answer without a request
        (S.RETRY_SCHEDULED, T.SUCCEEDED),  # an answer belongs to an attempt in flight
        (S.IN_FLIGHT, T.ATTEMPT_SENT),  # one request in flight at a time
        (S.PENDING, T.REFUND_SENT),  # a refund only after CANCEL_WINDOW_EXCEED
        (S.RETRY_SCHEDULED, T.REFUND_SENT),
        (S.REFUND_PENDING, T.ATTEMPT_SENT),  # no more cancels once the refund fallback began
    ],
)
def test_out_of_order_events_are_illegal(state: CancellationState, trigger: Trigger) -> None:
    with pytest.raises(IllegalTransitionError):
        next_state(state, trigger)


def test_table_has_no_entries_from_terminal_states() -> None:
    """Terminal states absorb in next_state; a table row leaving one would be dead or a lie."""
    assert not [key for key in TRANSITIONS if key[0] in TERMINAL_STATES]


def test_every_state_is_reachable_and_every_open_state_can_end() -> None:
    reachable = {S.PENDING}
    frontier = [S.PENDING]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(S)
    for state in NON_TERMINAL:
        seen = {state}
        frontier = [state]
        while frontier:
            current = frontier.pop()
            for (source, _), target in TRANSITIONS.items():
                if source is current and target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen & TERMINAL_STATES, f"{state} can never end"


# --- stateful: random triggers -----------------------------------------------------------------


class CancellationMachine(RuleBasedStateMachine):
    """Fires random triggers at next_state and checks the machine's promises."""

    def __init__(self) -> None:
        super().__init__()
        self.state = S.PENDING
        self.terminal_reached: CancellationState | None = None
        self.path: list[CancellationState] = [S.PENDING]

    def _apply(self, trigger: Trigger) -> None:
        before = self.state
        legal = before in TERMINAL_STATES or (before, trigger) in TRANSITIONS
        if legal:
            after = next_state(before, trigger)
            if before in TERMINAL_STATES:
                assert after is before
            else:
                assert after is TRANSITIONS[(before, trigger)]
            self.state = after
            self.path.append(after)
        else:
            with pytest.raises(IllegalTransitionError) as info:
                next_state(before, trigger)
            assert (info.value.state, info.value.event) == (before.value, trigger.value)
            assert self.state is before
        if self.state in TERMINAL_STATES and self.terminal_reached is None:
            self.terminal_reached = self.state

    @rule(trigger=st.sampled_from(Trigger))
    def fire_any(self, trigger: Trigger) -> None:
        self._apply(trigger)

    @precondition(lambda self: self.state not in TERMINAL_STATES)
    @rule(data=st.data())
    def fire_legal(self, data: st.DataObject) -> None:
        """Steer towards deep states (refund fallback, escalation) more often than chance."""
        choices = sorted(t for (s, t) in TRANSITIONS if s is self.state)
        self._apply(data.draw(st.sampled_from(choices)))

    @invariant()
    def never_leaves_a_terminal_state(self) -> None:
        if self.terminal_reached is not None:
            assert self.state is self.terminal_reached

    @invariant()
    def every_step_of_the_path_is_a_table_transition(self) -> None:
        for before, after in zip(self.path, self.path[1:]):
            if before in TERMINAL_STATES:
                assert after is before
            else:
                assert (before, after) in {(s, a) for (s, _), a in TRANSITIONS.items()}


TestCancellationMachine = CancellationMachine.TestCase
TestCancellationMachine.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
