"""Contract suites for the persistence ports: :class:`RecordStore` and :class:`Scheduler`.

STYLE 14: one contract suite per port runs against the fake and every real adapter, so fakes
cannot drift. Each suite is parametrized over a list of factories; a durable adapter (SQLite,
PostgreSQL) joins by adding its factory to ``STORES`` / ``SCHEDULERS`` (a factory may be a
generator-based fixture helper that sets up and tears down its database).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable

import attrs
import pytest

from paycancel import (
    UTC8,
    Cancellation,
    CancellationState,
    InMemoryCancellationStore,
    InMemoryScheduler,
    InMemoryStore,
    Money,
    PaymentOrder,
    PaymentRequestId,
    PaymentWatch,
    Product,
    WatchState,
)
from paycancel.errors import ConcurrentUpdateError, InvalidTimeError, NotFoundError
from paycancel.typing import RecordStore, Scheduler

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 10, 2, 0, tzinfo=UTC)

StoreFactory = Callable[[], RecordStore[Cancellation]]
SchedulerFactory = Callable[[], Scheduler]


def _in_memory_store() -> RecordStore[Cancellation]:
    return InMemoryStore[Cancellation]()


def _in_memory_cancellation_store() -> RecordStore[Cancellation]:
    return InMemoryCancellationStore()


def _in_memory_scheduler() -> Scheduler:
    return InMemoryScheduler()


STORES = [
    pytest.param(_in_memory_store, id="InMemoryStore"),
    pytest.param(_in_memory_cancellation_store, id="InMemoryCancellationStore"),
]
SCHEDULERS = [pytest.param(_in_memory_scheduler, id="InMemoryScheduler")]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> RecordStore[Cancellation]:
    factory: StoreFactory = request.param
    return factory()


@pytest.fixture(params=SCHEDULERS)
def scheduler(request: pytest.FixtureRequest) -> Scheduler:
    factory: SchedulerFactory = request.param
    return factory()


def _record(key: str = "antom:request:r-1", *, reason: str = "requested") -> Cancellation:
    return Cancellation(
        key=key, order=None, state=CancellationState.PENDING, created_at=T0, reason=reason
    )


# -- RecordStore ---------------------------------------------------------------------------------


def test_get_of_a_missing_key_is_none(store: RecordStore[Cancellation]) -> None:
    assert store.get(key="antom:request:nobody") is None


def test_create_stores_version_1_and_get_returns_it(store: RecordStore[Cancellation]) -> None:
    stored, created = store.create(record=_record())
    assert created is True
    assert stored.version == 1
    assert stored == attrs.evolve(_record(), version=1)
    assert store.get(key=stored.key) == stored


def test_create_is_idempotent_the_second_returns_the_first(
    store: RecordStore[Cancellation],
) -> None:
    first, created = store.create(record=_record(reason="first"))
    again, created_again = store.create(record=_record(reason="second"))
    assert created is True
    assert created_again is False
    assert again == first
    assert again.reason == "first"
    assert store.get(key=first.key) == first


def test_create_ignores_the_version_it_is_handed(store: RecordStore[Cancellation]) -> None:
    stored, _ = store.create(record=attrs.evolve(_record(), version=41))
    assert stored.version == 1


def test_updates_bump_the_version_by_one(store: RecordStore[Cancellation]) -> None:
    stored, _ = store.create(record=_record())
    for expected in range(1, 6):
        changed = attrs.evolve(stored, reason=f"change {expected}")
        stored = store.update(record=changed, expected_version=expected)
        assert stored.version == expected + 1
        assert stored.reason == f"change {expected}"
        assert store.get(key=stored.key) == stored


def test_update_with_a_stale_version_raises_with_fields(
    store: RecordStore[Cancellation],
) -> None:
    stored, _ = store.create(record=_record())
    current = store.update(record=attrs.evolve(stored, reason="won"), expected_version=1)
    with pytest.raises(ConcurrentUpdateError) as caught:
        store.update(record=attrs.evolve(stored, reason="lost"), expected_version=1)
    error = caught.value
    assert (error.key, error.expected_version, error.actual_version) == (stored.key, 1, 2)
    assert store.get(key=stored.key) == current


def test_update_of_a_missing_key_raises_not_found(store: RecordStore[Cancellation]) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.update(record=_record("antom:request:ghost"), expected_version=1)
    assert caught.value.key == "antom:request:ghost"
    assert isinstance(caught.value, LookupError)
    assert store.get(key="antom:request:ghost") is None


def test_records_are_independent_per_key(store: RecordStore[Cancellation]) -> None:
    a, _ = store.create(record=_record("antom:request:a"))
    b, _ = store.create(record=_record("antom:request:b"))
    store.update(record=attrs.evolve(a, reason="a changed"), expected_version=1)
    assert store.get(key=b.key) == b


def _contend(
    store: RecordStore[Cancellation], base: Cancellation, *, expected: int, threads: int
) -> tuple[list[int], list[int]]:
    """``threads`` workers update ``base`` at once, all expecting version ``expected``."""
    barrier = threading.Barrier(threads)
    wins: list[int] = []
    losses: list[int] = []
    lock = threading.Lock()

    def contend(worker: int) -> None:
        barrier.wait(timeout=10)
        try:
            store.update(record=attrs.evolve(base, reason=f"w{worker}"), expected_version=expected)
        except ConcurrentUpdateError:
            with lock:
                losses.append(worker)
        else:
            with lock:
                wins.append(worker)

    pool = [threading.Thread(target=contend, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=10)
    return wins, losses


@pytest.mark.parametrize("threads", [2, 8, 16])
def test_concurrent_compare_and_set_exactly_one_wins_per_version(
    store: RecordStore[Cancellation], threads: int
) -> None:
    stored, _ = store.create(record=_record())
    for version in range(1, 6):
        wins, losses = _contend(store, stored, expected=version, threads=threads)
        assert len(wins) == 1, f"version {version}: winners {wins}"
        assert len(losses) == threads - 1
        latest = store.get(key=stored.key)
        assert latest is not None
        assert latest.version == version + 1
        assert latest.reason == f"w{wins[0]}"


# -- Scheduler -----------------------------------------------------------------------------------


#: Longer than any test's time span, so a lease never ends inside a test unless it says so.
LEASE = dt.timedelta(hours=1)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_claim_due_returns_due_keys_earliest_first(scheduler: Scheduler) -> None:
    scheduler.schedule(key="c", at=_at(3))
    scheduler.schedule(key="a", at=_at(1))
    scheduler.schedule(key="b", at=_at(2))
    scheduler.schedule(key="later", at=_at(60))
    assert scheduler.claim_due(now=_at(10), limit=10, lease=LEASE) == ["a", "b", "c"]


def test_claim_due_is_inclusive_of_now_and_leaves_future_keys(scheduler: Scheduler) -> None:
    scheduler.schedule(key="a", at=_at(5))
    assert scheduler.claim_due(now=_at(4.999), limit=10, lease=LEASE) == []
    assert scheduler.claim_due(now=_at(5), limit=10, lease=LEASE) == ["a"]


def test_claim_due_honours_the_limit(scheduler: Scheduler) -> None:
    for n in range(5):
        scheduler.schedule(key=f"k{n}", at=_at(n))
    assert scheduler.claim_due(now=_at(10), limit=2, lease=LEASE) == ["k0", "k1"]
    assert scheduler.claim_due(now=_at(10), limit=2, lease=LEASE) == ["k2", "k3"]
    assert scheduler.claim_due(now=_at(10), limit=2, lease=LEASE) == ["k4"]


def test_a_claim_is_a_lease_that_comes_due_again(scheduler: Scheduler) -> None:
    """A worker that claims a key and dies loses nothing: the key comes due again when the
    lease ends (the durable stores' SKIP LOCKED lease has the same contract)."""
    scheduler.schedule(key="a", at=_at(1))
    assert scheduler.claim_due(now=_at(2), limit=10, lease=LEASE) == ["a"]
    assert scheduler.claim_due(now=_at(2), limit=10, lease=LEASE) == []  # held by the lease
    lease_end = _at(2) + LEASE
    assert scheduler.claim_due(now=lease_end - dt.timedelta(microseconds=1), limit=10,
                               lease=LEASE) == []  # fmt: skip
    assert scheduler.claim_due(now=lease_end, limit=10, lease=LEASE) == ["a"]


def test_a_claimed_key_scheduled_again_follows_the_new_time(scheduler: Scheduler) -> None:
    scheduler.schedule(key="a", at=_at(1))
    assert scheduler.claim_due(now=_at(2), limit=10, lease=LEASE) == ["a"]
    scheduler.schedule(key="a", at=_at(5))  # the worker finished and planned the next wake-up
    assert scheduler.claim_due(now=_at(5), limit=10, lease=LEASE) == ["a"]


def test_a_claimed_key_unscheduled_is_gone(scheduler: Scheduler) -> None:
    scheduler.schedule(key="a", at=_at(1))
    assert scheduler.claim_due(now=_at(2), limit=10, lease=LEASE) == ["a"]
    scheduler.unschedule(key="a")  # the worker finished: nothing more to do
    assert scheduler.claim_due(now=_at(10_000), limit=10, lease=LEASE) == []


def test_rescheduling_replaces_the_earlier_wakeup(scheduler: Scheduler) -> None:
    scheduler.schedule(key="a", at=_at(1))
    scheduler.schedule(key="a", at=_at(10))
    assert scheduler.claim_due(now=_at(5), limit=10, lease=LEASE) == []
    assert scheduler.claim_due(now=_at(10), limit=10, lease=LEASE) == ["a"]
    assert scheduler.claim_due(now=_at(100), limit=10, lease=LEASE) == []


def test_rescheduling_earlier_replaces_too(scheduler: Scheduler) -> None:
    scheduler.schedule(key="a", at=_at(10))
    scheduler.schedule(key="a", at=_at(1))
    assert scheduler.claim_due(now=_at(1), limit=10, lease=LEASE) == ["a"]
    assert scheduler.claim_due(now=_at(100), limit=10, lease=LEASE) == []


def test_unschedule_forgets_the_wakeup(scheduler: Scheduler) -> None:
    scheduler.schedule(key="a", at=_at(1))
    scheduler.schedule(key="b", at=_at(2))
    scheduler.unschedule(key="a")
    scheduler.unschedule(key="never-scheduled")
    assert scheduler.claim_due(now=_at(100), limit=10, lease=LEASE) == ["b"]


def test_times_in_other_offsets_compare_as_instants(scheduler: Scheduler) -> None:
    # 10:00 UTC+8 is 02:00 UTC: after 01:30 UTC, before 02:30 UTC.
    scheduler.schedule(key="utc8", at=dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC8))
    scheduler.schedule(key="early", at=dt.datetime(2026, 3, 10, 1, 30, tzinfo=UTC))
    scheduler.schedule(key="late", at=dt.datetime(2026, 3, 10, 2, 30, tzinfo=UTC))
    assert scheduler.claim_due(now=_at(3600), limit=10, lease=LEASE) == ["early", "utc8", "late"]


def test_naive_datetimes_are_rejected(scheduler: Scheduler) -> None:
    naive = dt.datetime(2026, 3, 10, 2, 0)  # noqa: DTZ001 - the naive value under test
    with pytest.raises(InvalidTimeError):
        scheduler.schedule(key="a", at=naive)
    with pytest.raises(InvalidTimeError):
        scheduler.claim_due(now=naive, limit=10, lease=LEASE)


# -- RecordStore of payment watches (the ACQP's second record type) ------------------------------


def _in_memory_watch_store() -> RecordStore[PaymentWatch]:
    return InMemoryStore[PaymentWatch]()


WATCH_STORES = [pytest.param(_in_memory_watch_store, id="InMemoryStore[PaymentWatch]")]


@pytest.mark.parametrize("factory", WATCH_STORES)
def test_watch_records_round_trip_with_versions(
    factory: Callable[[], RecordStore[PaymentWatch]],
) -> None:
    store = factory()
    order = PaymentOrder(
        product=Product.ALIPAYPLUS_ACQP,
        amount=Money(100, "USD"),
        initiated_at=T0,
        payment_request_id=PaymentRequestId("watch-1"),
    )
    watch = PaymentWatch(
        key=order.key,
        order=order,
        state=WatchState.WATCHING,
        started_at=T0,
        expires_at=T0 + dt.timedelta(minutes=10),
    )
    stored, created = store.create(record=watch)
    assert (created, stored.version) == (True, 1)
    assert store.create(record=attrs.evolve(watch, inquiries=9)) == (stored, False)
    updated = store.update(record=attrs.evolve(stored, inquiries=1), expected_version=1)
    assert (updated.version, updated.inquiries) == (2, 1)
    with pytest.raises(ConcurrentUpdateError):
        store.update(record=attrs.evolve(stored, inquiries=2), expected_version=1)
    assert store.get(key=order.key) == updated
