"""Cancel windows: S0 (ACQP 00:15 UTC+8 T+1), S3 (MPP 00:30 UTC+8 T+1), S4 (Antom: contract)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel import ACQP_WINDOW, MPP_WINDOW, UTC8, Product, WindowPolicy, builtin_window
from paycancel.errors import InvalidTimeError, PolicyError

if sys.version_info >= (3, 9):
    import zoneinfo
else:  # Python 3.8: the backport is a dependency there (STYLE 19)
    from backports import zoneinfo

UTC = dt.timezone.utc


def utc8(  # noqa: PLR0917 - mirrors the datetime constructor
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=UTC8)


# --- the built-in windows ------------------------------------------------------------------


def test_s0_acqp_window_closes_at_0015_utc8_on_t_plus_1() -> None:
    assert ACQP_WINDOW.cancellable_until(utc8(2024, 5, 1, 12, 0)) == utc8(2024, 5, 2, 0, 15)


def test_s3_mpp_window_closes_at_0030_utc8_on_t_plus_1() -> None:
    assert MPP_WINDOW.cancellable_until(utc8(2024, 5, 1, 12, 0)) == utc8(2024, 5, 2, 0, 30)


def test_s0_s3_builtin_window_per_alipayplus_role() -> None:
    assert builtin_window(Product.ALIPAYPLUS_ACQP) == ACQP_WINDOW
    assert builtin_window(Product.ALIPAYPLUS_MPP) == MPP_WINDOW


def test_s4_antom_has_no_default_window() -> None:
    """S4: "The expiration times depends on the acquirers": no guess, a PolicyError."""
    with pytest.raises(PolicyError) as info:
        builtin_window(Product.ANTOM)
    assert info.value.field == "contract"


def test_s4_antom_uses_the_contract_window() -> None:
    contract = WindowPolicy(cutoff=dt.time(23, 0), day_offset=7, zone=UTC8, name="acme")
    assert builtin_window(Product.ANTOM, contract) is contract
    assert contract.cancellable_until(utc8(2024, 5, 1, 12, 0)) == utc8(2024, 5, 8, 23, 0)


def test_s0_a_contract_window_overrides_the_builtin() -> None:
    contract = WindowPolicy(cutoff=dt.time(0, 10))
    assert builtin_window(Product.ALIPAYPLUS_ACQP, contract) is contract


def test_s0_describe_states_the_window() -> None:
    assert ACQP_WINDOW.describe() == "until 00:15 UTC+08:00 on T+1"
    assert MPP_WINDOW.describe() == "until 00:30 UTC+08:00 on T+1"


# --- near midnight: T is the UTC+8 calendar day ----------------------------------------------


def test_s0_payment_at_235959_utc8_can_be_cancelled_for_16_minutes() -> None:
    initiated = utc8(2024, 5, 1, 23, 59, 59)
    deadline = ACQP_WINDOW.cancellable_until(initiated)
    assert deadline == utc8(2024, 5, 2, 0, 15)
    assert deadline - initiated == dt.timedelta(minutes=15, seconds=1)


def test_s0_payment_at_000001_utc8_belongs_to_the_new_day() -> None:
    initiated = utc8(2024, 5, 2, 0, 0, 1)
    assert ACQP_WINDOW.cancellable_until(initiated) == utc8(2024, 5, 3, 0, 15)


def test_s3_mpp_covers_payments_made_around_midnight() -> None:
    """S3: the window runs 30 minutes past the cut-off for payments made around 24:00."""
    assert MPP_WINDOW.cancellable_until(utc8(2024, 5, 1, 23, 59, 59)) == utc8(2024, 5, 2, 0, 30)
    assert MPP_WINDOW.cancellable_until(utc8(2024, 5, 2, 0, 0, 1)) == utc8(2024, 5, 3, 0, 30)


def test_s0_new_years_eve_rolls_over_month_and_year() -> None:
    assert ACQP_WINDOW.cancellable_until(utc8(2024, 12, 31, 23, 0)) == utc8(2025, 1, 1, 0, 15)
    assert ACQP_WINDOW.cancellable_until(utc8(2024, 2, 28, 23, 0)) == utc8(2024, 2, 29, 0, 15)


@pytest.mark.parametrize(
    "initiated",
    [
        utc8(2024, 5, 1, 23, 59, 59),
        dt.datetime(2024, 5, 1, 15, 59, 59, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 10, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(2024, 5, 2, 1, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=10))),
        dt.datetime(2024, 5, 1, 21, 29, 59, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ],
)
def test_s0_same_instant_in_any_offset_gives_the_same_deadline(initiated: dt.datetime) -> None:
    """23:59:59 UTC+8 is 15:59:59 UTC the same day: the deadline does not depend on the offset."""
    assert ACQP_WINDOW.cancellable_until(initiated) == utc8(2024, 5, 2, 0, 15)


def test_s0_utc_date_is_not_the_utc8_date() -> None:
    """20:00 UTC on 1 May is 04:00 UTC+8 on 2 May, so T is 2 May and the deadline 3 May 00:15."""
    initiated = dt.datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
    assert ACQP_WINDOW.cancellable_until(initiated) == utc8(2024, 5, 3, 0, 15)
    initiated = dt.datetime(2024, 5, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 UTC+8, still 1 May
    assert ACQP_WINDOW.cancellable_until(initiated) == utc8(2024, 5, 2, 0, 15)


def test_s0_deadline_is_returned_in_utc8() -> None:
    deadline = ACQP_WINDOW.cancellable_until(dt.datetime(2024, 5, 1, 4, 0, tzinfo=UTC))
    assert deadline.utcoffset() == dt.timedelta(hours=8)
    assert (deadline.hour, deadline.minute) == (0, 15)


def test_s0_utc8_is_a_fixed_offset_even_in_1988() -> None:
    """PROTOCOL 3: Asia/Shanghai had summer time in 1986-1991; UTC+8 does not."""
    initiated = dt.datetime(1988, 6, 1, 4, 0, tzinfo=UTC)
    deadline = ACQP_WINDOW.cancellable_until(initiated)
    assert deadline.utcoffset() == dt.timedelta(hours=8)
    assert deadline == dt.datetime(1988, 6, 1, 16, 15, tzinfo=UTC)
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    assert deadline.astimezone(shanghai).utcoffset() == dt.timedelta(hours=9)


# --- the end is exclusive --------------------------------------------------------------------


def test_s0_window_is_open_one_microsecond_before_the_deadline() -> None:
    initiated = utc8(2024, 5, 1, 23, 59, 59)
    deadline = utc8(2024, 5, 2, 0, 15)
    assert ACQP_WINDOW.is_open(initiated, deadline - dt.timedelta(microseconds=1))
    assert ACQP_WINDOW.is_open(initiated, initiated)


def test_s0_window_is_closed_at_exactly_the_deadline() -> None:
    initiated = utc8(2024, 5, 1, 23, 59, 59)
    deadline = utc8(2024, 5, 2, 0, 15)
    assert not ACQP_WINDOW.is_open(initiated, deadline)
    assert not ACQP_WINDOW.is_open(initiated, deadline.astimezone(UTC))
    assert not ACQP_WINDOW.is_open(initiated, deadline + dt.timedelta(days=3))


def test_s3_mpp_window_closed_at_0030_open_at_002959() -> None:
    initiated = utc8(2024, 5, 1, 23, 59, 59)
    assert MPP_WINDOW.is_open(initiated, utc8(2024, 5, 2, 0, 29, 59, 999999))
    assert not MPP_WINDOW.is_open(initiated, utc8(2024, 5, 2, 0, 30))


def test_s0_now_in_another_offset_is_compared_as_an_instant() -> None:
    initiated = utc8(2024, 5, 1, 12, 0)
    just_before = dt.datetime(2024, 5, 1, 16, 14, 59, tzinfo=UTC)  # 00:14:59 UTC+8
    assert ACQP_WINDOW.is_open(initiated, just_before)
    assert not ACQP_WINDOW.is_open(initiated, dt.datetime(2024, 5, 1, 16, 15, tzinfo=UTC))


def test_s0_seconds_left_rounds_down() -> None:
    initiated = utc8(2024, 5, 1, 12, 0)
    deadline = utc8(2024, 5, 2, 0, 15)
    assert ACQP_WINDOW.seconds_left(initiated, deadline - dt.timedelta(seconds=1.5)) == 1
    assert ACQP_WINDOW.seconds_left(initiated, deadline - dt.timedelta(microseconds=1)) == 0
    assert ACQP_WINDOW.seconds_left(initiated, deadline - dt.timedelta(seconds=59.999999)) == 59
    assert ACQP_WINDOW.seconds_left(initiated, initiated) == 12 * 3600 + 15 * 60


def test_s0_seconds_and_time_left_are_zero_once_closed() -> None:
    initiated = utc8(2024, 5, 1, 12, 0)
    deadline = utc8(2024, 5, 2, 0, 15)
    for now in (deadline, deadline + dt.timedelta(seconds=1), deadline + dt.timedelta(days=400)):
        assert ACQP_WINDOW.seconds_left(initiated, now) == 0
        assert ACQP_WINDOW.time_left(initiated, now) == dt.timedelta(0)
    left = ACQP_WINDOW.time_left(initiated, deadline - dt.timedelta(microseconds=1))
    assert left == dt.timedelta(microseconds=1)


# --- naive datetimes -------------------------------------------------------------------------


def test_s0_naive_initiation_is_rejected() -> None:
    naive = utc8(2024, 5, 1, 12, 0).replace(tzinfo=None)
    with pytest.raises(InvalidTimeError) as info:
        ACQP_WINDOW.cancellable_until(naive)
    assert info.value.field == "initiated_at"
    with pytest.raises(InvalidTimeError):
        ACQP_WINDOW.is_open(naive, utc8(2024, 5, 1, 13, 0))


def test_s0_naive_now_is_rejected() -> None:
    initiated = utc8(2024, 5, 1, 12, 0)
    naive_now = utc8(2024, 5, 1, 13, 0).replace(tzinfo=None)
    for call in (ACQP_WINDOW.is_open, ACQP_WINDOW.time_left, ACQP_WINDOW.seconds_left):
        with pytest.raises(InvalidTimeError) as info:
            call(initiated, naive_now)
        assert info.value.field == "now"


# --- named zones (S4: contract windows in the acquirer's zone) ---------------------------------


def test_s4_contract_window_in_a_named_zone_follows_its_local_day() -> None:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    policy = WindowPolicy(cutoff=dt.time(18, 0), day_offset=2, zone=berlin, name="acme-eu")
    # 23:30 UTC on 1 January is 00:30 on 2 January in Berlin (CET, +01:00): T is 2 January.
    winter = policy.cancellable_until(dt.datetime(2024, 1, 1, 23, 30, tzinfo=UTC))
    assert winter == dt.datetime(2024, 1, 4, 17, 0, tzinfo=UTC)
    # Returned with the fixed offset in force at that instant (comparable across zones).
    assert winter.utcoffset() == dt.timedelta(hours=1)
    assert winter.isoformat() == "2024-01-04T18:00:00+01:00"
    # In July Berlin is on CEST (+02:00): the same local cut-off is an hour earlier in UTC.
    summer = policy.cancellable_until(dt.datetime(2024, 7, 1, 12, 0, tzinfo=UTC))
    assert summer == dt.datetime(2024, 7, 3, 16, 0, tzinfo=UTC)


def test_s4_named_zone_cutoff_in_a_dst_gap_resolves_with_fold_0() -> None:
    """02:30 does not exist in New York on 10 March 2024; fold=0 reads it with the old offset."""
    new_york = zoneinfo.ZoneInfo("America/New_York")
    policy = WindowPolicy(cutoff=dt.time(2, 30), day_offset=1, zone=new_york)
    initiated = dt.datetime(2024, 3, 9, 12, 0, tzinfo=new_york)
    deadline = policy.cancellable_until(initiated)
    assert deadline.astimezone(UTC) == dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    assert policy.is_open(initiated, dt.datetime(2024, 3, 10, 7, 29, 59, tzinfo=UTC))
    assert not policy.is_open(initiated, dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("cutoff", "initiated"),
    [
        # 02:30 on 10 March 2024 is in the spring-forward gap in New York.
        (dt.time(2, 30), dt.datetime(2024, 3, 9, 12, 0, tzinfo=dt.timezone.utc)),
        # 01:30 on 3 November 2024 happens twice in New York (the fall-back fold).
        (dt.time(1, 30), dt.datetime(2024, 11, 2, 16, 0, tzinfo=dt.timezone.utc)),
    ],
)
def test_s4_named_zone_deadline_equals_its_own_instant_in_utc(
    cutoff: dt.time, initiated: dt.datetime
) -> None:
    """A deadline is an instant: it must compare equal to itself converted to UTC.

    Python's ``==`` between different zones is False when one side is a gap or fold time
    (PEP 495), so a deadline returned as a raw local gap/fold time is not equal to the same
    deadline read back from a store that keeps UTC (STYLE 8), or to a plan's UTC cut-off.
    """
    new_york = zoneinfo.ZoneInfo("America/New_York")
    policy = WindowPolicy(cutoff=cutoff, day_offset=1, zone=new_york)
    deadline = policy.cancellable_until(initiated)
    assert deadline - deadline.astimezone(UTC) == dt.timedelta(0)  # the same instant...
    assert deadline == deadline.astimezone(UTC)  # ...so it must also compare equal


def test_s4_describe_names_the_zone() -> None:
    policy = WindowPolicy(cutoff=dt.time(18, 0), day_offset=2, zone=zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert policy.describe() == "until 18:00 Asia/Tokyo on T+2"


# --- safety margin ---------------------------------------------------------------------------


def test_s0_safety_margin_closes_the_window_earlier() -> None:
    policy = attrs.evolve(ACQP_WINDOW, safety_margin=dt.timedelta(seconds=30))
    initiated = utc8(2024, 5, 1, 23, 59, 59)
    assert policy.cancellable_until(initiated) == utc8(2024, 5, 2, 0, 14, 30)
    assert policy.is_open(initiated, utc8(2024, 5, 2, 0, 14, 29, 999999))
    assert not policy.is_open(initiated, utc8(2024, 5, 2, 0, 14, 30))
    assert policy.describe() == "until 00:15 UTC+08:00 on T+1, minus a safety margin of 30 s"


def test_s4_safety_margin_across_a_dst_change_is_real_time() -> None:
    """Berlin jumps 02:00 -> 03:00 on 31 March 2024; 20 minutes before 03:10 CEST is 01:50 CET."""
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    policy = WindowPolicy(
        cutoff=dt.time(3, 10), zone=berlin, safety_margin=dt.timedelta(minutes=20)
    )
    deadline = policy.cancellable_until(dt.datetime(2024, 3, 30, 12, 0, tzinfo=berlin))
    assert deadline == dt.datetime(2024, 3, 31, 0, 50, tzinfo=UTC)
    assert (deadline.hour, deadline.minute) == (1, 50)


def test_s0_same_day_window_with_day_offset_0() -> None:
    policy = WindowPolicy(cutoff=dt.time(23, 0), day_offset=0)
    assert policy.cancellable_until(utc8(2024, 5, 1, 9, 0)) == utc8(2024, 5, 1, 23, 0)


# --- invalid policies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"safety_margin": dt.timedelta(seconds=-1)}, "safety_margin"),
        ({"safety_margin": 30}, "safety_margin"),
        ({"day_offset": -1}, "day_offset"),
        ({"day_offset": 367}, "day_offset"),
        ({"day_offset": True}, "day_offset"),
        ({"day_offset": 1.0}, "day_offset"),
        ({"cutoff": dt.time(0, 15, tzinfo=UTC8)}, "cutoff"),
        ({"cutoff": "00:15"}, "cutoff"),
        ({"cutoff": dt.datetime(2024, 1, 1, 0, 15, tzinfo=UTC8)}, "cutoff"),
        ({"zone": "Asia/Shanghai"}, "zone"),
    ],
)
def test_invalid_policy_is_rejected(changes: dict[str, Any], field: str) -> None:
    """A misconfigured S0/S3 or S4 contract window fails when built, naming the setting."""
    with pytest.raises(PolicyError) as info:
        attrs.evolve(ACQP_WINDOW, **changes)
    assert info.value.field == field


def test_day_offset_limits_are_inclusive() -> None:
    """T+0 (same day) and T+366 are the bounds an S4 contract window can state."""
    assert WindowPolicy(cutoff=dt.time(0, 15), day_offset=0).day_offset == 0
    assert WindowPolicy(cutoff=dt.time(0, 15), day_offset=366).day_offset == 366


# --- properties (S0/S3 shape: a cut-off on T+n in a fixed-offset zone) -----------------------

fixed_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis bounds must be naive
    max_value=dt.datetime(2200, 1, 1),  # noqa: DTZ001 - hypothesis bounds must be naive
    timezones=fixed_offsets,
)
policies = st.builds(
    WindowPolicy,
    cutoff=st.times(),
    day_offset=st.integers(min_value=1, max_value=366),
    zone=fixed_offsets,
)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(policy=policies, initiated=aware_datetimes)
def test_s0_deadline_is_after_initiation_at_the_local_cutoff(
    policy: WindowPolicy, initiated: dt.datetime
) -> None:
    deadline = policy.cancellable_until(initiated)
    assert deadline > initiated
    local = deadline.astimezone(policy.zone)
    assert local.time() == policy.cutoff
    initiated_day = initiated.astimezone(policy.zone).date()
    assert local.date() == initiated_day + dt.timedelta(days=policy.day_offset)


@PROPERTY_SETTINGS
@given(policy=policies, first=aware_datetimes, later_by=st.timedeltas(min_value=dt.timedelta(0)))
def test_s0_deadline_never_decreases_as_initiation_moves_later(
    policy: WindowPolicy, first: dt.datetime, later_by: dt.timedelta
) -> None:
    try:
        second = first + later_by
    except OverflowError:
        return
    assert policy.cancellable_until(first) <= policy.cancellable_until(second)


@PROPERTY_SETTINGS
@given(
    policy=policies,
    initiated=aware_datetimes,
    now_offset=st.timedeltas(min_value=dt.timedelta(days=-2), max_value=dt.timedelta(days=370)),
)
def test_s0_is_open_exactly_before_the_deadline(
    policy: WindowPolicy, initiated: dt.datetime, now_offset: dt.timedelta
) -> None:
    now = initiated + now_offset
    deadline = policy.cancellable_until(initiated)
    assert policy.is_open(initiated, now) == (now < deadline)
    assert policy.is_open(initiated, deadline - dt.timedelta(microseconds=1))
    assert not policy.is_open(initiated, deadline)
    assert (policy.seconds_left(initiated, now) == 0) == (now > deadline - dt.timedelta(seconds=1))


@PROPERTY_SETTINGS
@given(
    policy=policies,
    initiated=aware_datetimes,
    margin=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=6)),
)
def test_s0_safety_margin_moves_the_deadline_by_exactly_the_margin(
    policy: WindowPolicy, initiated: dt.datetime, margin: dt.timedelta
) -> None:
    """The margin moves the deadline earlier by exactly itself, but never before initiation."""
    with_margin = attrs.evolve(policy, safety_margin=margin)
    expected = max(policy.cancellable_until(initiated) - margin, initiated)
    assert with_margin.cancellable_until(initiated) == expected


any_policies = st.builds(
    WindowPolicy,
    cutoff=st.times(),
    day_offset=st.integers(min_value=0, max_value=366),
    zone=fixed_offsets,
    safety_margin=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
)


@PROPERTY_SETTINGS
@given(policy=any_policies, initiated=aware_datetimes, later=st.timedeltas(
    min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)))  # fmt: skip
def test_no_deadline_is_ever_before_initiation(
    policy: WindowPolicy, initiated: dt.datetime, later: dt.timedelta
) -> None:
    """Any policy, T+0 and safety margins included: the deadline is never before initiation
    (a same-day cut-off already passed gives a window closed from the start), and it never
    moves earlier as initiation moves later."""
    deadline = policy.cancellable_until(initiated)
    assert deadline >= initiated
    if deadline == initiated:
        assert not policy.is_open(initiated, initiated)
    assert policy.cancellable_until(initiated + later) >= deadline


def test_s4_same_day_cutoff_already_passed_is_closed_from_the_start() -> None:
    """A T+0 contract window (until 18:00 the same day): a payment at 19:00 cannot be
    cancelled at all; its deadline is its own initiation, not a time before it."""
    policy = WindowPolicy(cutoff=dt.time(18, 0), day_offset=0)
    initiated = dt.datetime(2024, 5, 1, 19, 0, tzinfo=UTC8)
    assert policy.cancellable_until(initiated) == initiated
    assert not policy.is_open(initiated, initiated)
    assert policy.seconds_left(initiated, initiated) == 0


def test_a_deadline_past_year_9999_is_a_typed_error() -> None:
    with pytest.raises(InvalidTimeError) as info:
        ACQP_WINDOW.cancellable_until(dt.datetime(9999, 12, 31, 23, 0, tzinfo=UTC8))
    assert info.value.field == "initiated_at"
