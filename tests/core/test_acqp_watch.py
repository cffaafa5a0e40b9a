"""S0 "when to cancel": the ACQP's watch over a payment with no final result, run end to end
through :meth:`SyncDriver.watch` / ``run_due`` with ``drain``, a fake clock and in-memory stores.
"""

from __future__ import annotations

import datetime as dt

import pytest

from paycancel import (
    AcqpSettings,
    CancelConfig,
    Cancellation,
    CancellationState,
    InMemoryScheduler,
    InMemoryStore,
    InquiryAnswered,
    InquiryOutcome,
    NotSent,
    PaymentFlow,
    PaymentWatch,
    PayResult,
    Product,
    ResultStatus,
    SendInquiry,
    StartCancellation,
    SyncDriver,
    WatchState,
    WatchTick,
    decide_watch,
)
from paycancel.errors import PolicyError, UnsupportedProductError
from paycancel.testing import (
    FakeClock,
    ScriptedCancelGateway,
    ScriptedInquiryGateway,
    ScriptedRefundGateway,
    drain,
    no_answer,
    success,
    unknown,
)
from tests.core._usecase_support import T0, acqp_order, antom_order, make_rig

S = CancellationState
W = WatchState
ACQP = Product.ALIPAYPLUS_ACQP

IN_PROCESS = InquiryAnswered(
    result_status=ResultStatus.SUCCEEDED,
    result_code="SUCCESS",
    payment_status=ResultStatus.UNKNOWN,
    payment_code="PAYMENT_IN_PROCESS",
)
ORDER_NOT_EXIST = InquiryAnswered(result_status=ResultStatus.FAILED, result_code="ORDER_NOT_EXIST")
INQUIRY_UNKNOWN = InquiryAnswered(
    result_status=ResultStatus.UNKNOWN, result_code="UNKNOWN_EXCEPTION"
)
PAID = InquiryAnswered(
    result_status=ResultStatus.SUCCEEDED,
    result_code="SUCCESS",
    payment_status=ResultStatus.SUCCEEDED,
    payment_code="SUCCESS",
)
CLOSED = InquiryAnswered(
    result_status=ResultStatus.SUCCEEDED,
    result_code="SUCCESS",
    payment_status=ResultStatus.FAILED,
    payment_code="ORDER_IS_CLOSED",
)

CASHIER_EXPIRY = dt.timedelta(minutes=10)
AUTO_DEBIT_EXPIRY = dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("pay_status", "pay_code"),
    [
        pytest.param(ResultStatus.UNKNOWN, "PAYMENT_IN_PROCESS", id="pay-U"),
        pytest.param(None, None, id="pay-no-answer"),
    ],
)
@pytest.mark.parametrize(
    "inquiry",
    [
        pytest.param(IN_PROCESS, id="inquiry-payment-in-process"),
        pytest.param(INQUIRY_UNKNOWN, id="inquiry-U"),
        pytest.param(no_answer(), id="inquiry-no-answer"),
        pytest.param(NotSent("connection refused"), id="inquiry-not-sent"),
    ],
)
def test_s0_scenario_1_no_final_result_until_expiry_starts_the_cancel(
    pay_status: ResultStatus | None, pay_code: str | None, inquiry: InquiryOutcome
) -> None:
    """S0 scenario 1: ``pay`` gave ``U`` or nothing, no notification, and inquiries stay ``U``
    (or unanswered) until the payment expires -> cancel."""
    rig = make_rig()
    order = acqp_order()
    rig.inquiry.script(order.key, inquiry)

    started = rig.driver.watch(order, status=pay_status, code=pay_code)
    assert isinstance(started, PaymentWatch)
    assert started.state is W.WATCHING
    assert rig.cancel.calls == []

    rig.drain()

    watch = rig.watch_of(order.key)
    assert watch.state is W.CANCEL_STARTED
    assert watch.scenario == "scenario 1"
    inquiries = [c.at for c in rig.inquiry.calls]
    assert inquiries
    assert all(at < T0 + CASHIER_EXPIRY for at in inquiries)
    assert watch.inquiries == len(inquiries)
    [cancel] = rig.cancel.calls
    assert cancel.at == T0 + CASHIER_EXPIRY
    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    assert "scenario 1" in record.reason
    assert "expired" in record.reason
    assert len(rig.scheduler) == 0


def test_s0_scenario_2_order_not_exist_until_expiry_starts_the_cancel() -> None:
    """S0 scenario 2: inquiries keep answering ``ORDER_NOT_EXIST`` until expiry -> cancel, and
    the reason says which scenario it was."""
    rig = make_rig()
    order = acqp_order()
    rig.inquiry.script(order.key, ORDER_NOT_EXIST)

    rig.driver.watch(order, status=None)
    rig.drain()

    watch = rig.watch_of(order.key)
    assert watch.state is W.CANCEL_STARTED
    assert watch.scenario == "scenario 2"
    assert watch.last_code == "ORDER_NOT_EXIST"
    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    assert "scenario 2" in record.reason
    [cancel] = rig.cancel.calls
    assert cancel.at == T0 + CASHIER_EXPIRY


def test_s0_maximum_inquiries_reached_starts_the_cancel_before_expiry() -> None:
    """S0: "until the maximum number of inquiries is exceeded" -> cancel, even before expiry."""
    rig = make_rig(acqp_settings=AcqpSettings(max_inquiries=3))
    order = acqp_order()

    rig.driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    rig.drain()

    assert len(rig.inquiry.calls) == 3
    watch = rig.watch_of(order.key)
    assert watch.state is W.CANCEL_STARTED
    [cancel] = rig.cancel.calls
    assert cancel.at < T0 + CASHIER_EXPIRY
    assert cancel.at == rig.inquiry.calls[-1].at
    record = rig.record(order.key)
    assert "maximum of 3 inquiries" in record.reason
    assert record.state is S.CANCELLED


@pytest.mark.parametrize("bad", [0, -1, True])
def test_max_inquiries_must_be_a_positive_int(bad: int) -> None:
    with pytest.raises(PolicyError) as caught:
        AcqpSettings(max_inquiries=bad)
    assert caught.value.field == "max_inquiries"


def test_s0_notification_success_before_cancelling_resolves_paid_without_cancelling() -> None:
    """S0: a final ``S`` from ``notifyPayment`` within the expiry resolves the payment; nothing
    is cancelled."""
    rig = make_rig()
    order = acqp_order()
    rig.driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    rig.drain(until=T0 + dt.timedelta(minutes=2))
    assert rig.watch_of(order.key).state is W.WATCHING

    resolved = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")

    assert isinstance(resolved, PaymentWatch)
    assert resolved.state is W.PAID
    assert resolved.order.payment_status is ResultStatus.SUCCEEDED
    rig.drain()
    assert rig.cancel.calls == []
    assert rig.store.get(key=order.key) is None
    assert len(rig.scheduler) == 0
    assert rig.watch_of(order.key).state is W.PAID


@pytest.mark.parametrize(
    ("answer", "state"),
    [pytest.param(PAID, W.PAID, id="paymentResult-S"), pytest.param(CLOSED, W.FAILED, id="F")],
)
def test_s0_inquiry_with_a_final_payment_result_resolves_without_cancelling(
    answer: InquiryAnswered, state: WatchState
) -> None:
    """S0 ``inquiryPayment``: ``result`` S/SUCCESS with ``paymentResult`` ``S`` -> paid, ``F``
    -> failed; either way nothing is cancelled."""
    rig = make_rig()
    order = acqp_order()
    rig.inquiry.script(order.key, IN_PROCESS, IN_PROCESS, answer)

    rig.driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    rig.drain()

    watch = rig.watch_of(order.key)
    assert watch.state is state
    assert watch.order.payment_status is answer.payment_status
    assert watch.order.payment_code == answer.payment_code
    assert len(rig.inquiry.calls) == 3
    assert rig.cancel.calls == []
    assert len(rig.scheduler) == 0


def test_s0_pay_with_a_final_result_needs_no_watch() -> None:
    """A ``pay`` that answered ``S`` is resolved at once: no inquiry, no cancel."""
    rig = make_rig()
    order = acqp_order()
    watch = rig.driver.watch(order, status=ResultStatus.SUCCEEDED, code="SUCCESS")
    assert isinstance(watch, PaymentWatch)
    assert watch.state is W.PAID
    rig.drain()
    assert rig.inquiry.calls == []
    assert rig.cancel.calls == []


def test_s0_merchant_closes_before_a_result_starts_the_cancel() -> None:
    """S0: the ACQP closes the payment before receiving the payment result -> cancel."""
    rig = make_rig()
    order = acqp_order()
    rig.driver.watch(order, status=None)
    rig.clock.advance(seconds=25)

    result = rig.driver.merchant_closed(order.key, reason="shopper walked away")

    assert isinstance(result, Cancellation)
    assert result.state is S.CANCELLED
    assert result.reason == "shopper walked away"
    [cancel] = rig.cancel.calls
    assert cancel.at == T0 + dt.timedelta(seconds=25)
    assert rig.watch_of(order.key).state is W.CANCEL_STARTED
    rig.drain()
    assert len(rig.cancel.calls) == 1
    assert len(rig.scheduler) == 0


@pytest.mark.parametrize(
    ("flow", "requested", "expected"),
    [
        pytest.param(PaymentFlow.AUTO_DEBIT, None, AUTO_DEBIT_EXPIRY, id="auto-debit-default"),
        pytest.param(PaymentFlow.CASHIER, None, CASHIER_EXPIRY, id="cashier-default"),
        pytest.param(
            PaymentFlow.CASHIER, dt.timedelta(minutes=4), dt.timedelta(minutes=4),
            id="cashier-shorter-requested-wins",
        ),
        pytest.param(
            PaymentFlow.CASHIER, dt.timedelta(minutes=30), CASHIER_EXPIRY,
            id="cashier-longer-requested-ignored",
        ),
        pytest.param(
            PaymentFlow.AUTO_DEBIT, dt.timedelta(seconds=30), dt.timedelta(seconds=30),
            id="auto-debit-shorter-requested-wins",
        ),
        pytest.param(
            PaymentFlow.AUTO_DEBIT, dt.timedelta(minutes=5), AUTO_DEBIT_EXPIRY,
            id="auto-debit-longer-requested-ignored",
        ),
    ],
)  # fmt: skip
def test_s0_payment_expiry_defaults_and_requested_expiry(
    flow: PaymentFlow, requested: dt.timedelta | None, expected: dt.timedelta
) -> None:
    """S0 note: Auto Debit expires after 1 minute, Cashier Payment after 10; a
    ``paymentExpiryTime`` applies only when shorter than the default."""
    rig = make_rig()
    order = acqp_order(flow=flow, expires_at=None if requested is None else T0 + requested)

    watch = rig.driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    assert isinstance(watch, PaymentWatch)
    assert watch.expires_at == T0 + expected
    assert AcqpSettings().expires_at(order) == T0 + expected

    rig.drain()
    [cancel] = rig.cancel.calls
    assert cancel.at == T0 + expected


def test_s0_auto_debit_inquires_every_3_s_for_60_s_then_cancels() -> None:
    """S0 Auto Debit guidance: inquire every 3 s for 60 s, then cancel."""
    rig = make_rig()
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)

    rig.driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    rig.drain()

    offsets = [(c.at - T0).total_seconds() for c in rig.inquiry.calls]
    assert offsets == [3.0 * n for n in range(1, 20)]
    [cancel] = rig.cancel.calls
    assert cancel.at == T0 + dt.timedelta(seconds=60)
    assert rig.record(order.key).state is S.CANCELLED


def test_s0_notification_after_the_cancel_started_goes_to_the_cancellation() -> None:
    """S0: after a cancel is initiated the order may only end cancelled; a later notification
    is handed to the cancellation, recorded, and changes nothing."""
    rig = make_rig()
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)
    rig.driver.watch(order, status=None)
    rig.drain()
    cancelled = rig.record(order.key)
    assert cancelled.state is S.CANCELLED

    result = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")

    assert isinstance(result, Cancellation)
    assert result.state is S.CANCELLED
    assert result.order == cancelled.order
    assert [(r.status, r.code) for r in result.late_results] == [
        (ResultStatus.SUCCEEDED, "SUCCESS")
    ]
    assert rig.watch_of(order.key).state is W.CANCEL_STARTED
    assert len(rig.cancel.calls) == 1


def test_s0_notification_during_cancel_retries_does_not_stop_the_cancel() -> None:
    """S0: a notification that arrives while the cancel is still unknown is recorded; the order
    still ends cancelled on the cancel's answer."""
    rig = make_rig()
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)
    rig.cancel.script(order.key, unknown(), unknown(), success())
    rig.driver.watch(order, status=None)
    rig.drain(until=T0 + AUTO_DEBIT_EXPIRY)
    assert rig.record(order.key).state is S.RETRY_SCHEDULED

    noted = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")
    assert isinstance(noted, Cancellation)
    assert noted.state is S.RETRY_SCHEDULED
    assert rig.watch_of(order.key).state is W.CANCEL_STARTED

    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    assert len(record.late_results) == 1
    assert [c.attempt for c in rig.cancel.calls] == [1, 2, 3]


class _ProcessDied(BaseException):
    """Stands for the worker dying (no ``except Exception`` catches it)."""


class _DiesOnFirstCreate:
    """A cancellation store whose first ``create`` kills the worker before anything is stored:
    the watch already recorded its decision to cancel, the cancellation does not exist yet."""

    def __init__(self) -> None:
        self.inner: InMemoryStore[Cancellation] = InMemoryStore()
        self.died = False

    def create(self, *, record: Cancellation) -> tuple[Cancellation, bool]:
        if not self.died:
            self.died = True
            raise _ProcessDied
        return self.inner.create(record=record)

    def get(self, *, key: str) -> Cancellation | None:
        return self.inner.get(key=key)

    def update(self, *, record: Cancellation, expected_version: int) -> Cancellation:
        return self.inner.update(record=record, expected_version=expected_version)


def test_s0_a_cancel_decided_by_the_watch_survives_a_crash_before_it_was_created() -> None:
    """S0: no final result by expiry -> the payment must be cancelled. If the worker dies after
    the watch stored ``cancel_started`` but before the cancellation was created, a durable
    wake-up (or any later nudge: a tick, the merchant closing it) must still start the cancel."""
    clock = FakeClock(T0)
    store = _DiesOnFirstCreate()
    watch_store: InMemoryStore[PaymentWatch] = InMemoryStore()
    scheduler = InMemoryScheduler()
    cancel = ScriptedCancelGateway(clock=clock)
    driver = SyncDriver(
        config=CancelConfig.for_product(ACQP),
        store=store,
        clock=clock,
        cancel_gateway=cancel,
        refund_gateway=ScriptedRefundGateway(),
        inquiry_gateway=ScriptedInquiryGateway(clock=clock),
        scheduler=scheduler,
        watch_store=watch_store,
    )
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)
    driver.watch(order, status=None)
    with pytest.raises(_ProcessDied):
        drain(driver, clock, scheduler)
    stored_watch = watch_store.get(key=order.key)
    assert stored_watch is not None
    assert stored_watch.state is W.CANCEL_STARTED
    assert store.get(key=order.key) is None

    # The restarted worker only runs what the scheduler hands it.
    assert scheduler.next_due() is not None
    drain(driver, clock, scheduler)
    recovered = store.get(key=order.key)
    assert recovered is not None
    assert recovered.state is S.CANCELLED
    assert len(cancel.calls) == 1

    # A later nudge (here the merchant closing it) only resumes the cancellation.
    result = driver.merchant_closed(order.key)
    assert isinstance(result, Cancellation)
    assert result.state is S.CANCELLED
    assert len(cancel.calls) == 1


def test_watch_ticks_resume_a_started_cancellation() -> None:
    """A merchant close on a watch whose cancel already started resumes the cancellation."""
    rig = make_rig()
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)
    rig.driver.watch(order, status=None)
    rig.drain()
    again = rig.driver.merchant_closed(order.key)
    assert isinstance(again, Cancellation)
    assert again.state is S.CANCELLED
    assert len(rig.cancel.calls) == 1


def test_watch_is_for_the_acqp_role_only() -> None:
    with pytest.raises(UnsupportedProductError) as caught:
        decide_watch(None, PayResult(antom_order(), None), now=T0)
    assert caught.value.operation == "watch"
    rig = make_rig(Product.ANTOM)
    with pytest.raises(UnsupportedProductError):
        rig.driver.watch(antom_order(), status=None)


def test_decide_watch_sans_io_inquires_then_starts_the_cancel() -> None:
    """S0 sans-I/O: the watch asks for inquiries on its schedule and, at expiry, for a
    :class:`StartCancellation` carrying the reason."""
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)
    started = decide_watch(
        None, PayResult(order, ResultStatus.UNKNOWN, "PAYMENT_IN_PROCESS"), now=T0
    )
    watch = started.watch
    assert watch.expires_at == T0 + AUTO_DEBIT_EXPIRY
    assert watch.next_inquiry_at == T0 + dt.timedelta(seconds=3)

    due = decide_watch(watch, WatchTick(), now=T0 + dt.timedelta(seconds=3))
    assert due.commands == (SendInquiry(key=order.key, order=order, number=1),)
    assert due.watch.inquiry_open

    expired = decide_watch(due.watch, WatchTick(), now=T0 + AUTO_DEBIT_EXPIRY)
    [command] = [c for c in expired.commands if isinstance(c, StartCancellation)]
    assert command.order == order
    assert "scenario 1" in command.reason
    assert expired.watch.state is W.CANCEL_STARTED
