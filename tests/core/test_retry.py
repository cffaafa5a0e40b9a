"""The retry planner: S0's schedule for unknown cancel results, as a finite plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel import (
    ACQP_RETRY_POLICY,
    ACQP_WINDOW,
    ANTOM_RETRY_POLICY,
    UTC8,
    FinalStep,
    PlannedAttempt,
    Product,
    RetryPhase,
    RetryPlan,
    RetryPolicy,
    WindowPolicy,
    default_retry_policy,
    plan_for,
    plan_retries,
)
from paycancel._retry import MAX_PLANNED_ATTEMPTS
from paycancel.errors import InvalidTimeError, PolicyError, UnsupportedProductError

UTC = dt.timezone.utc
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
FIVE_MINUTES = dt.timedelta(minutes=5)

INITIATED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC8)
FIRST_UNKNOWN = dt.datetime(2024, 5, 1, 12, 1, tzinfo=UTC8)


def acqp_plan(
    key: str = "alipayplus-acqp:request:r1",
    initiated_at: dt.datetime = INITIATED,
    first_unknown_at: dt.datetime = FIRST_UNKNOWN,
) -> RetryPlan:
    return plan_for(
        product=Product.ALIPAYPLUS_ACQP,
        initiated_at=initiated_at,
        first_unknown_at=first_unknown_at,
        jitter_key=key,
    )


def split(plan: RetryPlan) -> tuple[list[PlannedAttempt], list[PlannedAttempt]]:
    first = [a for a in plan.attempts if a.phase == "first_minute"]
    later = [a for a in plan.attempts if a.phase == "every_5_minutes"]
    assert first + later == list(plan.attempts)
    return first, later


def gaps(start: dt.datetime, attempts: list[PlannedAttempt]) -> list[dt.timedelta]:
    times = [start, *(a.at for a in attempts)]
    return [b - a for a, b in zip(times, times[1:])]


# --- the S0 schedule ---------------------------------------------------------------------------


def test_s0_first_minute_gaps_are_5_to_10_seconds() -> None:
    """S0: "In the first 60 seconds, you can retry the request with an interval of 5 to 10 s"."""
    plan = acqp_plan()
    first, _ = split(plan)
    for gap in gaps(plan.first_unknown_at, first):  # includes first unknown -> first retry
        assert 5 * SECOND <= gap <= 10 * SECOND


def test_s0_first_minute_attempts_fill_the_first_60_seconds() -> None:
    plan = acqp_plan()
    first, _ = split(plan)
    assert 6 <= len(first) <= 12  # 60 s at 10 s gaps .. 60 s at 5 s gaps
    for attempt in first:
        assert attempt.at - FIRST_UNKNOWN <= 60 * SECOND
    # One more 5-10 s gap would leave the minute, so the minute was used.
    assert first[-1].at - FIRST_UNKNOWN > 50 * SECOND


def test_s0_then_ten_attempts_exactly_five_minutes_apart() -> None:
    """S0: "After 60 seconds, ... retry at least 10 times, with an interval of 5 minutes"."""
    plan = acqp_plan()
    first, later = split(plan)
    assert len(later) == 10
    assert gaps(first[-1].at, later) == [FIVE_MINUTES] * 10
    assert all(a.at - FIRST_UNKNOWN > MINUTE for a in later)


def test_s0_still_unknown_escalates_to_alipayplus_support() -> None:
    plan = acqp_plan()
    assert plan.then is FinalStep.ESCALATE
    assert plan.policy.escalate_to == "overseas_support@service.alibaba.com"
    assert ACQP_RETRY_POLICY.then is FinalStep.ESCALATE


def test_s0_attempts_are_numbered_from_the_original_request() -> None:
    plan = acqp_plan()
    numbers = [a.number for a in plan.attempts]
    assert numbers == list(range(2, len(plan.attempts) + 2))
    assert plan.attempt(2) == plan.attempts[0]
    assert plan.attempt(len(plan.attempts) + 1) == plan.attempts[-1]
    assert plan.attempt(1) is None  # the original request is not a planned retry
    assert plan.attempt(len(plan.attempts) + 2) is None  # exhausted: the final step applies


def test_s0_plan_is_stored_in_utc() -> None:
    plan = acqp_plan()
    assert plan.first_unknown_at == FIRST_UNKNOWN
    assert plan.first_unknown_at.utcoffset() == dt.timedelta(0)
    assert all(a.at.utcoffset() == dt.timedelta(0) for a in plan.attempts)


def test_s0_plan_does_not_depend_on_the_offset_of_its_input() -> None:
    in_utc = acqp_plan(first_unknown_at=FIRST_UNKNOWN.astimezone(UTC))
    assert in_utc == acqp_plan()


# --- deterministic jitter ----------------------------------------------------------------------


def test_s0_same_key_gives_the_same_plan() -> None:
    """A plan can be recomputed after a crash."""
    assert acqp_plan("alipayplus-acqp:request:r1") == acqp_plan("alipayplus-acqp:request:r1")


def test_s0_different_keys_do_not_retry_in_lockstep() -> None:
    """Payments that went unknown at the same instant spread their first-minute retries."""
    firsts = [acqp_plan(f"alipayplus-acqp:request:r{i}").attempts[0].at for i in range(50)]
    assert len(set(firsts)) >= 40
    counts = {len(split(acqp_plan(f"alipayplus-acqp:request:r{i}"))[0]) for i in range(50)}
    assert len(counts) > 1


def test_s0_jitter_is_whole_milliseconds() -> None:
    """Stored plans stay exact across databases that keep milliseconds."""
    plan = acqp_plan()
    assert all(a.at.microsecond % 1000 == 0 for a in plan.attempts)


# --- around the cut-off (S0: 00:15 UTC+8 on T+1) -------------------------------------------


def test_s0_attempts_after_the_cutoff_are_marked_and_still_planned() -> None:
    initiated = dt.datetime(2024, 5, 1, 23, 50, tzinfo=UTC8)
    first_unknown = dt.datetime(2024, 5, 2, 0, 10, tzinfo=UTC8)
    plan = acqp_plan(initiated_at=initiated, first_unknown_at=first_unknown)
    cutoff = dt.datetime(2024, 5, 2, 0, 15, tzinfo=UTC8)
    assert plan.cutoff == cutoff
    for attempt in plan.attempts:
        assert attempt.after_cutoff == (attempt.at >= cutoff), attempt
    first, later = split(plan)
    assert not any(a.after_cutoff for a in first)
    # The mandated schedule wins: the 10 five-minute attempts are neither dropped nor squeezed.
    assert len(later) == 10
    assert all(a.after_cutoff for a in later)
    assert gaps(first[-1].at, later) == [FIVE_MINUTES] * 10


def test_s0_describe_cutoff_explains_what_late_attempts_can_still_learn() -> None:
    initiated = dt.datetime(2024, 5, 1, 23, 50, tzinfo=UTC8)
    first_unknown = dt.datetime(2024, 5, 2, 0, 10, tzinfo=UTC8)
    plan = acqp_plan(initiated_at=initiated, first_unknown_at=first_unknown)
    text = plan.describe_cutoff()
    assert "CANCEL_WINDOW_EXCEED" in text
    assert "SUCCESS" in text
    assert "2024-05-02T00:15:00+08:00" in text
    late = sum(a.after_cutoff for a in plan.attempts)
    assert f"{late} at or after it" in text


def test_s0_an_attempt_at_exactly_the_cutoff_is_after_it() -> None:
    """The window end is exclusive, so an attempt at exactly 00:15 UTC+8 is too late."""
    policy = RetryPolicy(
        name="one-shot",
        phases=(RetryPhase(name="once", min_gap=FIVE_MINUTES, max_gap=FIVE_MINUTES, attempts=1),),
    )
    cutoff = dt.datetime(2024, 5, 2, 0, 15, tzinfo=UTC8)
    at_cutoff = plan_retries(policy=policy, first_unknown_at=cutoff - FIVE_MINUTES, cutoff=cutoff)
    assert at_cutoff.attempts[0].at == cutoff
    assert at_cutoff.attempts[0].after_cutoff
    just_before = plan_retries(
        policy=policy,
        first_unknown_at=cutoff - FIVE_MINUTES - dt.timedelta(microseconds=1),
        cutoff=cutoff,
    )
    assert not just_before.attempts[0].after_cutoff


def test_s0_plan_cutoff_is_the_acqp_window_end() -> None:
    plan = acqp_plan()
    assert plan.cutoff == ACQP_WINDOW.cancellable_until(INITIATED)


def test_plan_without_a_cutoff_marks_nothing_late() -> None:
    plan = plan_retries(policy=ACQP_RETRY_POLICY, first_unknown_at=FIRST_UNKNOWN)
    assert plan.cutoff is None
    assert not any(a.after_cutoff for a in plan.attempts)
    assert plan.describe_cutoff() == "No cut-off applies to this plan."


# --- products ----------------------------------------------------------------------------------


def test_s1_mpp_has_no_retry_plan() -> None:
    """S3: Alipay+ retries the MPP; the wallet never retries a cancel it received."""
    with pytest.raises(UnsupportedProductError) as info:
        plan_for(
            product=Product.ALIPAYPLUS_MPP,
            initiated_at=INITIATED,
            first_unknown_at=FIRST_UNKNOWN,
        )
    assert info.value.product == "alipayplus-mpp"
    assert info.value.operation == "plan"
    with pytest.raises(UnsupportedProductError):
        default_retry_policy(Product.ALIPAYPLUS_MPP)


def test_s2_antom_default_policy_mirrors_alipayplus_and_escalates() -> None:
    """S2/S4 mandate no schedule, only "resend with the same id" and "contact support"."""
    assert default_retry_policy(Product.ANTOM) is ANTOM_RETRY_POLICY
    assert default_retry_policy(Product.ALIPAYPLUS_ACQP) is ACQP_RETRY_POLICY
    assert ANTOM_RETRY_POLICY.phases == ACQP_RETRY_POLICY.phases
    assert ANTOM_RETRY_POLICY.then is FinalStep.ESCALATE
    assert "Antom" in ANTOM_RETRY_POLICY.escalate_to
    assert "CANCEL_WINDOW_EXCEED" in ANTOM_RETRY_POLICY.cutoff_rule


def test_s4_antom_plan_needs_the_contract_window() -> None:
    with pytest.raises(PolicyError):
        plan_for(product=Product.ANTOM, initiated_at=INITIATED, first_unknown_at=FIRST_UNKNOWN)
    contract = WindowPolicy(cutoff=dt.time(23, 0), day_offset=7)
    plan = plan_for(
        product=Product.ANTOM,
        initiated_at=INITIATED,
        first_unknown_at=FIRST_UNKNOWN,
        window=contract,
        jitter_key="antom:request:r1",
    )
    assert plan.cutoff == dt.datetime(2024, 5, 8, 23, 0, tzinfo=UTC8)
    assert plan.policy is ANTOM_RETRY_POLICY
    assert len(plan.attempts) == len(acqp_plan("antom:request:r1").attempts)


def test_a_custom_policy_replaces_the_default() -> None:
    policy = RetryPolicy(
        name="fast",
        phases=(RetryPhase(name="p", min_gap=SECOND, max_gap=SECOND, attempts=3),),
        escalate_to="ops@example.com",
    )
    plan = plan_for(
        product=Product.ALIPAYPLUS_ACQP,
        initiated_at=INITIATED,
        first_unknown_at=FIRST_UNKNOWN,
        policy=policy,
    )
    assert [a.at - FIRST_UNKNOWN for a in plan.attempts] == [SECOND, 2 * SECOND, 3 * SECOND]
    assert plan.policy.escalate_to == "ops@example.com"


def test_phases_with_the_same_name_are_not_silently_cut_short() -> None:
    """Each phase "starts after the previous one's last attempt" and plans its own count.

    Two phases that share a name must either be refused as a misconfiguration or each get
    their attempts; a plan with fewer attempts than configured escalates too early.
    """
    try:
        policy = RetryPolicy(
            name="twice",
            phases=(
                RetryPhase(name="retry", min_gap=SECOND, max_gap=SECOND, attempts=2),
                RetryPhase(name="retry", min_gap=MINUTE, max_gap=MINUTE, attempts=3),
            ),
        )
    except PolicyError:
        return
    plan = plan_retries(policy=policy, first_unknown_at=FIRST_UNKNOWN)
    assert gaps(FIRST_UNKNOWN, list(plan.attempts)) == [SECOND, SECOND, MINUTE, MINUTE, MINUTE]


def test_a_sub_millisecond_min_gap_is_never_undercut() -> None:
    """Gaps are drawn from [min_gap, max_gap]: a resolution limit must not shorten the minimum.

    Either the phase is refused (gaps must be whole milliseconds) or every gap is >= min_gap.
    """
    min_gap = dt.timedelta(microseconds=1500)
    try:
        phase = RetryPhase(name="p", min_gap=min_gap, max_gap=min_gap, attempts=3)
    except PolicyError:
        return
    plan = plan_retries(
        policy=RetryPolicy(name="fine", phases=(phase,)), first_unknown_at=FIRST_UNKNOWN
    )
    assert all(gap >= min_gap for gap in gaps(FIRST_UNKNOWN, list(plan.attempts)))


def test_a_runaway_policy_is_capped() -> None:
    policy = RetryPolicy(
        name="runaway",
        phases=(
            RetryPhase(
                name="busy",
                min_gap=dt.timedelta(milliseconds=1),
                max_gap=dt.timedelta(milliseconds=1),
                within=dt.timedelta(days=1),
            ),
        ),
    )
    plan = plan_retries(policy=policy, first_unknown_at=FIRST_UNKNOWN)
    assert len(plan.attempts) == MAX_PLANNED_ATTEMPTS
    assert plan.then is FinalStep.ESCALATE


# --- invalid input -----------------------------------------------------------------------------


def test_naive_first_unknown_is_rejected() -> None:
    with pytest.raises(InvalidTimeError) as info:
        plan_retries(policy=ACQP_RETRY_POLICY, first_unknown_at=FIRST_UNKNOWN.replace(tzinfo=None))
    assert info.value.field == "first_unknown_at"
    with pytest.raises(InvalidTimeError):
        acqp_plan(first_unknown_at=FIRST_UNKNOWN.replace(tzinfo=None))


def test_naive_cutoff_is_rejected() -> None:
    with pytest.raises(InvalidTimeError) as info:
        plan_retries(
            policy=ACQP_RETRY_POLICY,
            first_unknown_at=FIRST_UNKNOWN,
            cutoff=FIRST_UNKNOWN.replace(tzinfo=None),
        )
    assert info.value.field == "cutoff"


VALID_PHASE: dict[str, Any] = {"name": "p", "min_gap": SECOND, "max_gap": 2 * SECOND}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"min_gap": dt.timedelta(0), "attempts": 1}, "min_gap"),
        ({"min_gap": -SECOND, "attempts": 1}, "min_gap"),
        ({"max_gap": dt.timedelta(0), "attempts": 1}, "max_gap"),
        ({"min_gap": 5, "attempts": 1}, "min_gap"),
        ({"max_gap": SECOND / 2, "attempts": 1}, "max_gap"),
        ({}, "attempts"),
        ({"attempts": 3, "within": MINUTE}, "attempts"),
        ({"attempts": 0}, "attempts"),
        ({"attempts": MAX_PLANNED_ATTEMPTS + 1}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"within": SECOND / 2}, "within"),
    ],
)
def test_invalid_retry_phase_is_rejected(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(PolicyError) as info:
        RetryPhase(**{**VALID_PHASE, **fields})
    assert info.value.field == field


def test_retry_policy_needs_a_phase() -> None:
    with pytest.raises(PolicyError) as info:
        RetryPolicy(name="empty", phases=())
    assert info.value.field == "phases"


def test_policies_and_plans_are_frozen() -> None:
    plan = acqp_plan()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        plan.then = FinalStep.ESCALATE  # type: ignore[misc]  # frozen is the point
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ACQP_RETRY_POLICY.name = "x"  # type: ignore[misc]  # frozen is the point


# --- properties --------------------------------------------------------------------------------

fixed_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds must be naive
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001 - hypothesis bounds must be naive
    timezones=fixed_offsets,
)


@settings(max_examples=150, deadline=None)
@given(first_unknown=aware_datetimes, key=st.text(max_size=80))
def test_s0_every_acqp_plan_keeps_the_schedule_and_ends(
    first_unknown: dt.datetime, key: str
) -> None:
    plan = plan_retries(policy=ACQP_RETRY_POLICY, first_unknown_at=first_unknown, jitter_key=key)
    times = [a.at for a in plan.attempts]
    assert all(a < b for a, b in zip(times, times[1:]))
    first, later = split(plan)
    assert first, "the first minute always has retries"
    for gap in gaps(first_unknown, first):
        assert 5 * SECOND <= gap <= 10 * SECOND
    assert first[-1].at - first_unknown <= 60 * SECOND
    assert gaps(first[-1].at, later) == [FIVE_MINUTES] * 10
    # Finite, and what follows the last attempt is a final step: no payment is left unresolved.
    assert plan.then is FinalStep.ESCALATE
    assert plan.attempt(len(plan.attempts) + 2) is None


phases = st.builds(
    RetryPhase,
    name=st.sampled_from(["a", "b", "c", "d"]),
    min_gap=st.integers(min_value=1, max_value=3_600_000).map(
        lambda ms: dt.timedelta(milliseconds=ms)
    ),
    max_gap=st.just(dt.timedelta(hours=1)),
    attempts=st.integers(min_value=1, max_value=20),
)


@settings(max_examples=100, deadline=None)
@given(
    phase_list=st.lists(phases, min_size=1, max_size=4, unique_by=lambda p: p.name),
    first_unknown=aware_datetimes,
    key=st.text(max_size=20),
)
def test_any_policy_gives_a_finite_increasing_plan_within_its_gaps(
    phase_list: list[RetryPhase], first_unknown: dt.datetime, key: str
) -> None:
    policy = RetryPolicy(name="any", phases=tuple(phase_list))
    plan = plan_retries(policy=policy, first_unknown_at=first_unknown, jitter_key=key)
    by_name = {p.name: p for p in phase_list}
    assert len(plan.attempts) == sum(p.attempts or 0 for p in phase_list)
    previous = first_unknown
    for attempt in plan.attempts:
        phase = by_name[attempt.phase]
        assert phase.min_gap <= attempt.at - previous <= phase.max_gap
        previous = attempt.at
    assert plan.then is FinalStep.ESCALATE
    assert plan == plan_retries(policy=policy, first_unknown_at=first_unknown, jitter_key=key)
