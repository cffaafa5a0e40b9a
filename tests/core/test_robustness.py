"""What must survive crashes, bad adapters and odd inputs: the order of writes in the drivers,
leased wake-ups, late notifications after a direct cancel, typed outcomes, MPP keys."""

from __future__ import annotations

import datetime as dt

import pytest
from structlog.testing import capture_logs

from paycancel import (
    AcquirerId,
    Answered,
    Cancellation,
    CancellationState,
    InMemoryScheduler,
    InMemoryStore,
    InquiryAnswered,
    MppCancelRequest,
    MppService,
    PaymentOrder,
    PaymentRequestId,
    PspId,
    ResultStatus,
    SyncDriver,
    mpp_key,
)
from paycancel.errors import ValidationError
from paycancel.testing import (
    FakeClock,
    FakeWallet,
    ScriptedCancelGateway,
    ScriptedRefundGateway,
    unknown,
)
from tests.core._usecase_support import (
    T0,
    acqp_order,
    config_for,
    make_rig,
    mpp_order,
    mpp_request,
)

S = CancellationState


class _WakeupFirstStore(InMemoryStore[Cancellation]):
    """Asserts, at every write of an attempt in flight, that its wake-up is already scheduled."""

    def __init__(self, scheduler: InMemoryScheduler) -> None:
        super().__init__()
        self.scheduler = scheduler
        self.checked = 0

    def _check(self, record: Cancellation) -> None:
        if record.state is S.IN_FLIGHT:
            assert self.scheduler.next_due() is not None, "intent stored before its wake-up"
            self.checked += 1

    def create(self, *, record: Cancellation) -> tuple[Cancellation, bool]:
        self._check(record)
        return super().create(record=record)

    def update(self, *, record: Cancellation, expected_version: int) -> Cancellation:
        self._check(record)
        return super().update(record=record, expected_version=expected_version)


def test_the_wakeup_is_scheduled_before_the_intent_is_stored() -> None:
    """A crash between the two writes must leave a wake-up, not an attempt nobody resends."""
    clock = FakeClock(T0)
    scheduler = InMemoryScheduler()
    store = _WakeupFirstStore(scheduler)
    driver = SyncDriver(
        config=config_for(acqp_order().product), store=store, clock=clock,
        cancel_gateway=ScriptedCancelGateway(unknown()), refund_gateway=ScriptedRefundGateway(),
        scheduler=scheduler,
    )  # fmt: skip
    driver.cancel(acqp_order())
    assert store.checked == 1


def test_a_lease_must_be_positive() -> None:
    """A zero lease would hand the same wake-up out again at once: rejected where it is set."""
    with pytest.raises(ValidationError) as info:
        InMemoryScheduler().claim_due(now=T0, limit=10, lease=dt.timedelta(0))
    assert info.value.field == "lease"
    with pytest.raises(ValidationError):
        SyncDriver(
            config=config_for(acqp_order().product), store=InMemoryStore(), clock=FakeClock(T0),
            cancel_gateway=ScriptedCancelGateway(), refund_gateway=ScriptedRefundGateway(),
            lease=dt.timedelta(0),
        )  # fmt: skip


def test_cancelling_again_resumes_an_attempt_left_in_flight() -> None:
    """``cancel(order)`` again is the operator's lever: a cancellation stuck in flight (its
    process died) is resent once the attempt counts as lost."""
    rig = make_rig()
    order = acqp_order()
    rig.cancel.script(order.key, unknown())
    decided = rig.driver.cancel(order)
    assert decided.state is S.RETRY_SCHEDULED
    # Simulate the crash: the record says in flight, and nobody holds a wake-up.
    rig.scheduler.unschedule(key="cancel:" + order.key)
    rig.clock.advance(dt.timedelta(minutes=10))
    again = rig.driver.cancel(order)
    assert [c.attempt for c in rig.cancel.calls] == [1, 2]
    assert again.state is S.RETRY_SCHEDULED


def test_one_failing_wakeup_does_not_stop_the_others_and_comes_back() -> None:
    rig = make_rig()
    first, second = acqp_order("acqp-a"), acqp_order("acqp-b")
    rig.cancel.script(first.key, unknown(), unknown())
    rig.cancel.script(second.key, unknown(), unknown())
    rig.driver.cancel(first)
    rig.driver.cancel(second)
    # A wake-up for a record that is not there, claimed in the same batch.
    rig.scheduler.schedule(key="cancel:alipayplus-acqp:request:ghost", at=T0)
    rig.clock.advance(dt.timedelta(seconds=11))
    with capture_logs() as logs:
        done = rig.driver.run_due()
    assert {r.key for r in done} == {first.key, second.key}
    assert [e for e in logs if e["event"] == "scheduler.wakeup_dropped"]
    later = rig.scheduler.claim_due(
        now=rig.clock.now() + dt.timedelta(days=1), limit=10, lease=dt.timedelta(hours=1)
    )
    assert "cancel:alipayplus-acqp:request:ghost" not in later  # dropped, not leased forever


def test_a_notification_after_a_direct_cancel_of_a_watched_payment_goes_to_the_cancel() -> None:
    """S0/S4: once a cancel began, a late SUCCESS never marks the order paid, even when the
    payment was also being watched."""
    rig = make_rig()
    order = acqp_order()
    rig.driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    cancelled = rig.driver.cancel(order, reason="merchant closed it")
    assert cancelled.state is S.CANCELLED
    after = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")
    assert isinstance(after, Cancellation)
    assert after.state is S.CANCELLED
    assert [r.code for r in after.late_results] == ["SUCCESS"]


class _WeirdGateway:
    def cancel(self, *, order: PaymentOrder, attempt: int) -> object:
        return {"resultStatus": "S"}  # a dict, not a typed outcome


def test_a_gateway_returning_the_wrong_type_reads_as_no_answer() -> None:
    rig = make_rig(cancel_gateway=_WeirdGateway())  # type: ignore[arg-type]  # on purpose
    with capture_logs() as logs:
        record = rig.driver.cancel(acqp_order())
    assert record.state is S.RETRY_SCHEDULED  # never a silent success
    assert record.attempts[0].transport is not None
    assert any(e["event"] == "gateway.unexpected_result" for e in logs)


def test_outcomes_accept_wire_status_strings_and_reject_others() -> None:
    assert Answered(status="U", code="UNKNOWN_EXCEPTION").status is ResultStatus.UNKNOWN
    inquiry = InquiryAnswered(result_status="S", result_code="SUCCESS", payment_status="F")
    assert inquiry.payment_status is ResultStatus.FAILED
    with pytest.raises(ValidationError) as info:
        Answered(status="X", code="SUCCESS")
    assert info.value.field == "status"


class _BrokenLedger(FakeWallet):
    def find_payment(self, *, request: MppCancelRequest) -> PaymentOrder | None:
        raise ConnectionError("ledger down")


def test_s3_a_wallet_that_cannot_look_up_the_payment_answers_u() -> None:
    """S3: a temporary fault on the wallet's side is a ``U``; Alipay+ retries."""
    service = MppService(store=InMemoryStore(), reversal=_BrokenLedger(), clock=FakeClock(T0))
    reply = service.handle(mpp_request())
    assert (reply.status, reply.code) == (ResultStatus.UNKNOWN, "UNKNOWN_EXCEPTION")


def test_s1_mpp_keys_of_different_triples_never_collide() -> None:
    """S1's idempotency key is the triple: ids containing the separator stay distinct."""
    one = MppCancelRequest(AcquirerId("ACQ/1"), PspId("PSP"), PaymentRequestId("R"))
    two = MppCancelRequest(AcquirerId("ACQ"), PspId("1/PSP"), PaymentRequestId("R"))
    assert one.key != two.key
    assert one.key == mpp_key("ACQ/1", "PSP", "R")
    assert mpp_order().key == mpp_request().key
