"""The Alipay+ MPP receiving ``cancelPayment`` (S1, S3): ``decide_mpp``, :class:`MppService` and
:class:`AsyncMppService` with the shipped :class:`FakeWallet`."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest

from paycancel import (
    UTC8,
    AsyncMppService,
    Cancellation,
    CancellationState,
    CancelReceived,
    InMemoryStore,
    MppCancelRequest,
    MppService,
    MppSettings,
    PaymentOrder,
    Reply,
    ResultStatus,
    ReversalDone,
    ReversalFailed,
    Reversed,
    ReverseFunds,
    decide_mpp,
    payment_admissible,
)
from paycancel.testing import FakeClock, FakeWallet
from paycancel.typing import FundsReversal
from tests.core._usecase_support import T0, mpp_order, mpp_request

S = CancellationState
SUCCESS = Reply(status=ResultStatus.SUCCEEDED, code="SUCCESS", message="Success")


def _service(
    wallet: FundsReversal, clock: FakeClock
) -> tuple[MppService, InMemoryStore[Cancellation]]:
    store: InMemoryStore[Cancellation] = InMemoryStore()
    return MppService(store=store, reversal=wallet, clock=clock), store


class _BlockingWallet:
    """A FundsReversal whose first ``reverse`` waits inside the call until released."""

    def __init__(self, payment: PaymentOrder) -> None:
        self.wallet = FakeWallet([payment])
        self.entered = threading.Event()
        self.release = threading.Event()
        self._blocked = False

    def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        return self.wallet.find_payment(request=request)

    def reverse(self, *, order: PaymentOrder, key: str) -> Reversed | ReversalFailed:
        if not self._blocked:
            self._blocked = True
            self.entered.set()
            if not self.release.wait(timeout=10):  # pragma: no cover - a hung test
                return ReversalFailed("test never released the reversal")
        return self.wallet.reverse(order=order, key=key)


class _ProcessDied(BaseException):
    """Stands for the wallet process dying inside the reversal (no ``except Exception``)."""


class _CrashingWallet:
    """A FundsReversal whose first ``reverse`` kills the process before touching the ledger."""

    def __init__(self, payment: PaymentOrder) -> None:
        self.wallet = FakeWallet([payment])
        self.crashed = False

    def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        return self.wallet.find_payment(request=request)

    def reverse(self, *, order: PaymentOrder, key: str) -> Reversed | ReversalFailed:
        if not self.crashed:
            self.crashed = True
            raise _ProcessDied
        return self.wallet.reverse(order=order, key=key)


class _SlowWallet:
    """A FundsReversal that takes a little real time, so concurrent twins overlap."""

    def __init__(self, payment: PaymentOrder) -> None:
        self.wallet = FakeWallet([payment])

    def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        return self.wallet.find_payment(request=request)

    def reverse(self, *, order: PaymentOrder, key: str) -> Reversed | ReversalFailed:
        time.sleep(0.02)
        return self.wallet.reverse(order=order, key=key)


class _AsyncWallet:
    """An AsyncFundsReversal over a :class:`FakeWallet` (paycancel ships no async twin)."""

    def __init__(self, wallet: FakeWallet) -> None:
        self.wallet = wallet

    async def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        await asyncio.sleep(0)
        return self.wallet.find_payment(request=request)

    async def reverse(self, *, order: PaymentOrder, key: str) -> Reversed | ReversalFailed:
        await asyncio.sleep(0)
        return self.wallet.reverse(order=order, key=key)


# -- sans-I/O ----------------------------------------------------------------------------------


def test_s3_decide_mpp_reverses_then_answers_success() -> None:
    """S3: make the cancel succeed and return the funds: a first request yields the reversal,
    its outcome yields ``S``/``SUCCESS``."""
    request, payment = mpp_request(), mpp_order()
    first = decide_mpp(None, CancelReceived(request, payment), now=T0)
    assert first.reply is None
    assert first.cancellation.state is S.IN_FLIGHT
    assert first.decision.commands == (ReverseFunds(key=request.key, order=payment),)

    done = decide_mpp(first.cancellation, ReversalDone(1, Reversed()), now=T0)
    assert done.reply == SUCCESS
    assert done.cancellation.state is S.CANCELLED

    replay = decide_mpp(done.cancellation, CancelReceived(request, payment), now=T0)
    assert replay.reply == SUCCESS
    assert replay.store is False


# -- the service -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reversed_"),
    [
        pytest.param(ResultStatus.SUCCEEDED, True, id="S"),
        pytest.param(ResultStatus.UNKNOWN, True, id="U"),
        pytest.param(None, True, id="no-result-yet"),
        pytest.param(ResultStatus.FAILED, False, id="F-nothing-taken"),
    ],
)
def test_s3_cancel_succeeds_whatever_the_payment_status(
    status: ResultStatus | None, reversed_: bool
) -> None:
    """S3: "you must ensure that the cancellation succeeds, regardless of the payment status
    (S, F, or U)"; the funds of a taken payment go back to the user."""
    payment = mpp_order(status=status)
    wallet = FakeWallet([payment])
    service, store = _service(wallet, FakeClock(T0))
    request = mpp_request()

    reply = service.handle(request)

    assert reply == SUCCESS
    record = store.get(key=request.key)
    assert record is not None
    assert record.state is S.CANCELLED
    assert record.order is not None
    assert record.order.cancelled
    expected = {request.key: payment.full_amount.value} if reversed_ else {}
    assert wallet.reversals == expected
    assert not service.payment_admissible(request)


def test_s1_duplicates_replay_the_stored_success_and_reverse_exactly_once() -> None:
    """S1/S3 idempotency: the same ``paymentRequestId`` gets the same result; the funds are
    returned exactly once however many duplicates arrive."""
    payment = mpp_order()
    wallet = FakeWallet([payment])
    clock = FakeClock(T0)
    service, store = _service(wallet, clock)
    request = mpp_request()

    first = service.handle(request)
    stored = store.get(key=request.key)
    replies = []
    for _ in range(20):
        clock.advance(seconds=7)
        replies.append(service.handle(request))

    assert first == SUCCESS
    assert replies == [first] * 20
    assert wallet.reversal_calls == 1
    assert wallet.reversals == {request.key: payment.full_amount.value}
    assert store.get(key=request.key) == stored  # replays store nothing


def test_s3_window_exceeded_answers_f_and_replays_it_identically() -> None:
    """S3: cancellable until 00:30 UTC+8 on T+1 (end exclusive); later ->
    ``F``/``CANCEL_WINDOW_EXCEED``, replayed exactly for duplicates, nothing reversed."""
    initiated = dt.datetime(2026, 3, 10, 23, 50, tzinfo=UTC8)
    payment = mpp_order(initiated_at=initiated)
    wallet = FakeWallet([payment])
    clock = FakeClock(dt.datetime(2026, 3, 11, 0, 30, tzinfo=UTC8))
    service, store = _service(wallet, clock)
    request = mpp_request()

    first = service.handle(request)

    assert first.status is ResultStatus.FAILED
    assert first.code == "CANCEL_WINDOW_EXCEED"
    clock.advance(dt.timedelta(hours=3))
    assert [service.handle(request) for _ in range(5)] == [first] * 5
    assert wallet.reversal_calls == 0
    record = store.get(key=request.key)
    assert record is not None
    assert record.state is S.FAILED


def test_s3_the_last_second_before_00_30_utc8_on_t_plus_1_is_inside_the_window() -> None:
    """S3: the window covers transactions made around midnight until 00:30 UTC+8 on T+1."""
    initiated = dt.datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC8)
    wallet = FakeWallet([mpp_order(initiated_at=initiated)])
    service, _ = _service(wallet, FakeClock(dt.datetime(2026, 3, 11, 0, 29, 59, tzinfo=UTC8)))
    assert service.handle(mpp_request()) == SUCCESS
    assert wallet.reversal_calls == 1


def test_s3_a_reversal_fault_answers_u_and_the_next_duplicate_reruns_it() -> None:
    """S3: only a temporary fault justifies a non-success (``U``/``UNKNOWN_EXCEPTION``);
    Alipay+ retries, the retry re-runs the work and succeeds; still one reversal."""
    payment = mpp_order()
    wallet = FakeWallet([payment])
    wallet.fail_next(1)
    clock = FakeClock(T0)
    service, store = _service(wallet, clock)
    request = mpp_request()

    first = service.handle(request)
    assert first.status is ResultStatus.UNKNOWN
    assert first.code == "UNKNOWN_EXCEPTION"
    record = store.get(key=request.key)
    assert record is not None
    assert not record.terminal
    assert wallet.reversals == {}

    clock.advance(seconds=8)
    second = service.handle(request)
    assert second == SUCCESS
    assert service.handle(request) == SUCCESS
    assert wallet.reversals == {request.key: payment.full_amount.value}
    assert wallet.reversal_calls == 2


def test_s3_a_reversal_that_raises_is_a_temporary_fault() -> None:
    """A wallet port that raises is read as a temporary fault (``U``), never a crash."""

    class Raising(FakeWallet):
        def reverse(self, *, order: PaymentOrder, key: str) -> Reversed | ReversalFailed:
            raise ConnectionError("ledger down")

    service = MppService(
        store=InMemoryStore(), reversal=Raising([mpp_order()]), clock=FakeClock(T0)
    )
    reply = service.handle(mpp_request())
    assert reply.status is ResultStatus.UNKNOWN
    assert reply.code == "UNKNOWN_EXCEPTION"


def test_s1_a_twin_arriving_while_the_first_runs_gets_u() -> None:
    """S1 (idempotency, inference adopted in PROTOCOL 3): a twin that arrives while the first
    request is still running gets ``U``; the first then answers ``S``; one reversal."""
    payment = mpp_order()
    wallet = _BlockingWallet(payment)
    clock = FakeClock(T0)
    service, _ = _service(wallet, clock)
    request = mpp_request()
    replies: list[Reply] = []
    first = threading.Thread(target=lambda: replies.append(service.handle(request)))

    first.start()
    try:
        assert wallet.entered.wait(timeout=10)
        twin = service.handle(request)
    finally:
        wallet.release.set()
        first.join(timeout=10)

    assert not first.is_alive()
    assert twin.status is ResultStatus.UNKNOWN
    assert twin.code == "UNKNOWN_EXCEPTION"
    assert replies == [SUCCESS]
    assert service.handle(request) == SUCCESS
    assert wallet.wallet.reversal_calls == 1
    assert wallet.wallet.reversals == {request.key: payment.full_amount.value}


def test_s1_a_crashed_run_is_rerun_after_the_lease_expires() -> None:
    """A run that never finished (the process died inside the reversal) blocks twins with ``U``
    only for the lease; the next request after it re-runs the reversal and succeeds."""
    payment = mpp_order()
    wallet = _CrashingWallet(payment)
    clock = FakeClock(T0)
    service, store = _service(wallet, clock)
    request = mpp_request()
    lease = MppSettings().lease

    with pytest.raises(_ProcessDied):
        service.handle(request)
    stuck = store.get(key=request.key)
    assert stuck is not None
    assert stuck.state is S.IN_FLIGHT

    clock.advance(lease - dt.timedelta(seconds=1))
    assert service.handle(request).status is ResultStatus.UNKNOWN
    assert wallet.wallet.reversal_calls == 0

    clock.advance(seconds=1)
    assert service.handle(request) == SUCCESS
    assert wallet.wallet.reversals == {request.key: payment.full_amount.value}
    record = store.get(key=request.key)
    assert record is not None
    assert record.state is S.CANCELLED
    assert record.attempts[0].transport is not None
    assert "lease" in record.attempts[0].transport


def test_s1_a_stuck_run_taken_over_after_the_lease_still_reverses_once() -> None:
    """The first run hangs past the lease; a retry takes over and succeeds. When the hung run
    finally returns, it does not overwrite the result; the user is refunded once."""
    payment = mpp_order()
    wallet = _BlockingWallet(payment)
    clock = FakeClock(T0)
    service, _ = _service(wallet, clock)
    request = mpp_request()
    replies: list[Reply] = []
    hung = threading.Thread(target=lambda: replies.append(service.handle(request)))

    hung.start()
    try:
        assert wallet.entered.wait(timeout=10)
        clock.advance(MppSettings().lease)
        takeover = service.handle(request)
    finally:
        wallet.release.set()
        hung.join(timeout=10)

    assert takeover == SUCCESS
    # The hung run's own answer is not final (Alipay+ will ask again) or the same success.
    assert replies[0] == SUCCESS or replies[0].status is ResultStatus.UNKNOWN
    assert service.handle(request) == SUCCESS
    assert wallet.wallet.reversals == {request.key: payment.full_amount.value}


def test_s1_a_cancel_for_a_payment_not_seen_yet_succeeds_and_blocks_the_payment() -> None:
    """A cancel can overtake its payment: answer ``S``, record it, and refuse the payment when
    it arrives (``payment_admissible`` is False)."""
    wallet = FakeWallet([])
    service, store = _service(wallet, FakeClock(T0))
    request = mpp_request("not-yet-seen")
    assert service.payment_admissible(request)

    assert service.handle(request) == SUCCESS

    assert not service.payment_admissible(request)
    assert not payment_admissible(store.get(key=request.key))
    assert wallet.reversals == {}
    assert wallet.reversal_calls == 0
    assert service.handle(request) == SUCCESS


def test_s1_concurrent_duplicates_from_16_threads_reverse_once_and_agree() -> None:
    """S1: the same ``paymentRequestId`` gets the same result, even from 16 threads at once;
    twins may get ``U`` meanwhile (Alipay+ retries), every final answer is the same."""
    payment = mpp_order()
    wallet = _SlowWallet(payment)
    service, _ = _service(wallet, FakeClock(T0))
    request = mpp_request()
    barrier = threading.Barrier(16)
    finals: list[Reply] = []
    lock = threading.Lock()

    def alipayplus() -> None:
        barrier.wait(timeout=10)
        reply = service.handle(request)
        for _ in range(500):
            if reply.status is not ResultStatus.UNKNOWN:
                break
            time.sleep(0.005)
            reply = service.handle(request)
        with lock:
            finals.append(reply)

    threads = [threading.Thread(target=alipayplus) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(finals) == 16
    assert finals == [SUCCESS] * 16
    assert wallet.wallet.reversal_calls == 1
    assert wallet.wallet.reversals == {request.key: payment.full_amount.value}


def test_async_mpp_service_behaves_like_the_sync_one() -> None:
    """:class:`AsyncMppService`: ``S`` whatever the status, duplicates replayed, a fault gives
    ``U`` and is re-run, the funds go back once."""
    first_payment = mpp_order("async-1")
    faulty_payment = mpp_order("async-2", status=ResultStatus.UNKNOWN)
    wallet = FakeWallet([first_payment, faulty_payment])
    service = AsyncMppService(
        store=InMemoryStore(), reversal=_AsyncWallet(wallet), clock=FakeClock(T0)
    )

    async def scenario() -> list[Reply]:
        replies = [await service.handle(mpp_request("async-1")) for _ in range(3)]
        wallet.fail_next(1)
        replies.append(await service.handle(mpp_request("async-2")))
        replies.append(await service.handle(mpp_request("async-2")))
        replies.append(await service.handle(mpp_request("async-unseen")))
        return replies

    replies = asyncio.run(scenario())

    assert replies[:3] == [SUCCESS] * 3
    assert replies[3].status is ResultStatus.UNKNOWN
    assert replies[4:] == [SUCCESS, SUCCESS]
    assert wallet.reversals == {
        mpp_request("async-1").key: first_payment.full_amount.value,
        mpp_request("async-2").key: faulty_payment.full_amount.value,
    }
    assert wallet.reversal_calls == 3
    assert not service.payment_admissible(mpp_request("async-unseen"))
    assert service.payment_admissible(mpp_request("async-other"))
