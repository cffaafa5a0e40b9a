"""Wire times: ISO 8601 at second precision is sent; ISO 8601 with an offset or epoch
milliseconds is accepted; the request time must lie within the tolerated skew."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel.errors import InvalidTimeError
from paycancel_wire import DEFAULT_SKEW, check_skew, format_time, parse_time
from paycancel_wire.errors import ClockSkewError, SignatureError

UTC8 = dt.timezone(dt.timedelta(hours=8))
MOMENT = dt.datetime(2019, 5, 28, 12, 12, 12, tzinfo=UTC8)


# --- format_time -------------------------------------------------------------------------------


def test_format_time_is_seconds_with_the_moments_own_offset() -> None:
    assert format_time(MOMENT.replace(microsecond=987654)) == "2019-05-28T12:12:12+08:00"
    assert format_time(MOMENT.astimezone(dt.timezone.utc)) == "2019-05-28T04:12:12+00:00"
    minus = dt.timezone(-dt.timedelta(hours=5, minutes=30))
    assert format_time(MOMENT.astimezone(minus)) == "2019-05-27T22:42:12-05:30"


def test_format_time_refuses_naive_times() -> None:
    with pytest.raises(InvalidTimeError) as caught:
        format_time(MOMENT.replace(tzinfo=None))

    assert caught.value.field == "time"


def test_format_then_parse_is_the_same_instant_to_the_second() -> None:
    moment = MOMENT.replace(microsecond=500000)

    assert parse_time(format_time(moment)) == MOMENT


# --- parse_time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-05-28T12:12:12+08:00", MOMENT),
        ("2019-05-28T04:12:12+00:00", MOMENT),
        ("2019-05-28T04:12:12Z", MOMENT),
        ("2019-05-28T04:12:12z", MOMENT),
        ("  2019-05-28T12:12:12+08:00 ", MOMENT),
        ("2019-05-28T12:12:12.250+08:00", MOMENT + dt.timedelta(milliseconds=250)),
        (
            "1685599933871",
            dt.datetime(2023, 6, 1, 6, 12, 13, 871000, tzinfo=dt.timezone.utc),
        ),
        ("1559016732000", MOMENT),
    ],
)
def test_parse_time_accepts_iso_with_offset_and_epoch_millis(
    text: str, expected: dt.datetime
) -> None:
    parsed = parse_time(text)

    assert parsed == expected
    assert parsed.utcoffset() is not None


def test_parse_time_keeps_the_senders_offset() -> None:
    assert parse_time("2019-05-28T12:12:12+08:00").utcoffset() == dt.timedelta(hours=8)
    assert parse_time("1685599933871").utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "2019-05-28T12:12:12",  # naive
        "2019-05-28 12:12:12",  # naive
        "garbage",
        "2019-13-28T12:12:12+08:00",
        "2019-05-28T12:12:12+25:00",
        "Tue, 28 May 2019 04:12:12 GMT",
        "Z",
        "1685599933",  # epoch seconds, not milliseconds
        "-1685599933871",
        "1685599933871.5",
        "",
        "   ",
        None,
    ],
)
def test_parse_time_refuses_naive_garbage_and_empty(text: str | None) -> None:
    with pytest.raises(InvalidTimeError) as caught:
        parse_time(text, "response-time")

    assert caught.value.field == "response-time"
    assert "response-time" in caught.value.message


def test_parse_time_names_request_time_by_default() -> None:
    with pytest.raises(InvalidTimeError) as caught:
        parse_time("nope")

    assert caught.value.field == "Request-Time"


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"\A[0-9T:+\-Zz. ]{0,32}\Z")))
def test_parse_time_returns_an_aware_time_or_raises_invalid_time_error(text: str) -> None:
    try:
        parsed = parse_time(text)
    except InvalidTimeError:
        return
    assert parsed.utcoffset() is not None


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=10**12, max_value=10**13 * 5))
def test_epoch_millis_round_trip(millis: int) -> None:
    parsed = parse_time(str(millis))

    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    assert (parsed - epoch) // dt.timedelta(milliseconds=1) == millis


# --- check_skew --------------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC8)
TOLERANCE = dt.timedelta(minutes=5)
TICK = dt.timedelta(milliseconds=1)


@pytest.mark.parametrize("offset", [dt.timedelta(0), TOLERANCE, -TOLERANCE, TOLERANCE - TICK])
def test_check_skew_accepts_up_to_the_tolerance_both_ways(offset: dt.timedelta) -> None:
    check_skew(NOW + offset, NOW, TOLERANCE)


@pytest.mark.parametrize(("offset", "sign"), [(TOLERANCE + TICK, 1), (-TOLERANCE - TICK, -1)])
def test_check_skew_refuses_just_past_the_tolerance_both_ways(
    offset: dt.timedelta, sign: int
) -> None:
    with pytest.raises(ClockSkewError) as caught:
        check_skew(NOW + offset, NOW, TOLERANCE)

    error = caught.value
    assert error.skew_seconds == pytest.approx(offset.total_seconds())
    assert (error.skew_seconds > 0) == (sign > 0)
    assert isinstance(error, SignatureError)
    assert error.result_code == "INVALID_SIGNATURE"


def test_check_skew_compares_instants_not_wall_clocks() -> None:
    check_skew(NOW.astimezone(dt.timezone.utc), NOW, dt.timedelta(0))


def test_default_skew_is_five_minutes() -> None:
    assert dt.timedelta(minutes=5) == DEFAULT_SKEW
