""":class:`AsyncDriver` runs the same generators as :class:`SyncDriver`: for the same scripts it
reaches the same end states, at the same (fake) times, with the same attempts."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from paycancel import (
    AsyncDriver,
    Cancellation,
    CancellationState,
    Escalate,
    GatewayOutcome,
    InMemoryScheduler,
    InMemoryStore,
    InquiryAnswered,
    InquiryOutcome,
    NotSent,
    PaymentFlow,
    PaymentOrder,
    PaymentWatch,
    Product,
    ResultStatus,
    WatchState,
)
from paycancel.errors import NotFoundError, UnsupportedProductError
from paycancel.testing import (
    AsyncScriptedCancelGateway,
    AsyncScriptedInquiryGateway,
    AsyncScriptedRefundGateway,
    FakeClock,
    ScriptedCancelGateway,
    ScriptedInquiryGateway,
    ScriptedRefundGateway,
    drain_async,
    failed,
    no_answer,
    success,
    unknown,
)
from tests.core._usecase_support import T0, acqp_order, antom_order, config_for, make_rig

S = CancellationState
ACQP = Product.ALIPAYPLUS_ACQP
ANTOM = Product.ANTOM


@attrs.frozen
class Summary:
    """What must be equal whichever driver ran the scripts."""

    state: CancellationState
    final_code: str | None
    action: str | None
    attempts: tuple[
        tuple[str, int, dt.datetime, dt.datetime | None, str | None, str | None, str | None], ...
    ]
    rules: tuple[str, ...]
    warnings: tuple[str, ...]
    cancel_calls: tuple[tuple[int, dt.datetime], ...]
    refund_calls: tuple[tuple[str | None, dt.datetime], ...]
    escalations: int


def _summary(
    record: Cancellation,
    cancel: ScriptedCancelGateway,
    refund: ScriptedRefundGateway,
    escalations: list[Escalate],
) -> Summary:
    return Summary(
        state=record.state,
        final_code=record.final_code,
        action=None if record.action is None else record.action.value,
        attempts=tuple(
            (
                a.kind.value,
                a.number,
                a.sent_at,
                a.answered_at,
                None if a.status is None else a.status.value,
                a.code,
                a.transport,
            )
            for a in record.attempts
        ),
        rules=tuple(d.rule for d in record.decisions),
        warnings=record.warnings,
        cancel_calls=tuple((c.attempt, c.at) for c in cancel.calls),
        refund_calls=tuple((c.refund_request_id, c.at) for c in refund.calls),
        escalations=len(escalations),
    )


def _run_sync(
    product: Product,
    order: PaymentOrder,
    cancel_script: Sequence[GatewayOutcome],
    refund_script: Sequence[GatewayOutcome],
    start: dt.datetime = T0,
) -> Summary:
    rig = make_rig(product, start=start)
    rig.cancel.script(order.key, *cancel_script)
    rig.refund.script(order.key, *refund_script)
    rig.driver.cancel(order)
    rig.drain()
    return _summary(rig.record(order.key), rig.cancel, rig.refund, rig.escalations)


def _run_async(
    product: Product,
    order: PaymentOrder,
    cancel_script: Sequence[GatewayOutcome],
    refund_script: Sequence[GatewayOutcome],
    start: dt.datetime = T0,
) -> Summary:
    clock = FakeClock(start)
    store: InMemoryStore[Cancellation] = InMemoryStore()
    scheduler = InMemoryScheduler()
    cancel = ScriptedCancelGateway(clock=clock)
    refund = ScriptedRefundGateway(clock=clock)
    cancel.script(order.key, *cancel_script)
    refund.script(order.key, *refund_script)
    escalations: list[Escalate] = []
    driver = AsyncDriver(
        config=config_for(product),
        store=store,
        clock=clock,
        cancel_gateway=AsyncScriptedCancelGateway(cancel),
        refund_gateway=AsyncScriptedRefundGateway(refund),
        scheduler=scheduler,
        on_escalate=escalations.append,
    )

    async def scenario() -> Cancellation:
        await driver.cancel(order)
        await drain_async(driver, clock, scheduler)
        record = store.get(key=order.key)
        assert record is not None
        return record

    record = asyncio.run(scenario())
    assert len(scheduler) == 0
    return _summary(record, cancel, refund, escalations)


SCRIPTS = [
    pytest.param(ACQP, [success()], [success()], id="acqp-S"),
    pytest.param(ACQP, [unknown(), no_answer(), NotSent("dns"), success()], [success()],
                 id="acqp-U-streak-then-S"),
    pytest.param(ACQP, [unknown()], [success()], id="acqp-U-forever-escalated"),
    pytest.param(ACQP, [failed("PROCESS_FAIL")], [success()], id="acqp-F"),
    pytest.param(ACQP, [failed("CANCEL_WINDOW_EXCEED")], [unknown(), no_answer(), success()],
                 id="acqp-window-exceeded-refund-retried"),
    pytest.param(ACQP, [unknown(), failed("CANCEL_WINDOW_EXCEED")], [unknown()],
                 id="acqp-refund-U-forever-escalated"),
    pytest.param(ANTOM, [success()], [success()], id="antom-S-warning"),
    pytest.param(ANTOM, [unknown(), failed("ORDER_STATUS_INVALID")], [success()],
                 id="antom-U-then-F"),
    pytest.param(ANTOM, [no_answer()], [success()], id="antom-no-answer-forever"),
]  # fmt: skip


def _order_for(product: Product) -> PaymentOrder:
    return acqp_order() if product is ACQP else antom_order()


@pytest.mark.parametrize(("product", "cancel_script", "refund_script"), SCRIPTS)
def test_async_driver_reaches_the_same_end_state_as_the_sync_driver(
    product: Product,
    cancel_script: list[GatewayOutcome],
    refund_script: list[GatewayOutcome],
) -> None:
    """S0/S2 flows: one core, two drivers, the same outcome for the same platform answers."""
    order = _order_for(product)
    sync = _run_sync(product, order, cancel_script, refund_script)
    run_async = _run_async(product, order, cancel_script, refund_script)
    assert run_async == sync
    assert sync.state.terminal


_ANSWERS: st.SearchStrategy[GatewayOutcome] = st.one_of(
    st.just(success()),
    st.sampled_from(["CANCEL_WINDOW_EXCEED", "PROCESS_FAIL", "UNLISTED_F"]).map(failed),
    st.sampled_from(["UNKNOWN_EXCEPTION", "REQUEST_TRAFFIC_EXCEED_LIMIT"]).map(unknown),
    st.just(no_answer()),
    st.just(NotSent("refused")),
)


@settings(max_examples=25, deadline=None)
@given(
    product=st.sampled_from([ACQP, ANTOM]),
    cancel_script=st.lists(_ANSWERS, min_size=1, max_size=20),
    refund_script=st.lists(_ANSWERS, min_size=1, max_size=20),
    offset_hours=st.integers(min_value=0, max_value=40),
)
def test_async_and_sync_drivers_agree_on_random_scripts(
    product: Product,
    cancel_script: list[GatewayOutcome],
    refund_script: list[GatewayOutcome],
    offset_hours: int,
) -> None:
    """Whatever the answers, both drivers end in the same terminal state at the same times."""
    order = _order_for(product)
    start = T0 + dt.timedelta(hours=offset_hours)
    sync = _run_sync(product, order, cancel_script, refund_script, start)
    assert _run_async(product, order, cancel_script, refund_script, start) == sync
    assert sync.state.terminal


IN_PROCESS = InquiryAnswered(
    result_status=ResultStatus.SUCCEEDED,
    result_code="SUCCESS",
    payment_status=ResultStatus.UNKNOWN,
    payment_code="PAYMENT_IN_PROCESS",
)


@pytest.mark.parametrize(
    "inquiries",
    [
        pytest.param([IN_PROCESS], id="scenario-1"),
        pytest.param(
            [InquiryAnswered(result_status=ResultStatus.FAILED, result_code="ORDER_NOT_EXIST")],
            id="scenario-2",
        ),
        pytest.param(
            [
                IN_PROCESS,
                InquiryAnswered(
                    result_status=ResultStatus.SUCCEEDED,
                    result_code="SUCCESS",
                    payment_status=ResultStatus.SUCCEEDED,
                    payment_code="SUCCESS",
                ),
            ],
            id="paid",
        ),
    ],
)
def test_async_watch_matches_the_sync_watch(inquiries: list[InquiryOutcome]) -> None:
    """S0 when-to-cancel through both drivers: the same inquiries, the same outcome."""
    order = acqp_order(flow=PaymentFlow.AUTO_DEBIT)

    rig = make_rig()
    rig.inquiry.script(order.key, *inquiries)
    rig.driver.watch(order, status=None)
    rig.drain()
    sync_watch = rig.watch_of(order.key)
    sync_calls = [c.at for c in rig.inquiry.calls], [c.at for c in rig.cancel.calls]

    clock = FakeClock(T0)
    store: InMemoryStore[Cancellation] = InMemoryStore()
    watch_store: InMemoryStore[PaymentWatch] = InMemoryStore()
    scheduler = InMemoryScheduler()
    cancel = ScriptedCancelGateway(clock=clock)
    inquiry = ScriptedInquiryGateway(clock=clock)
    inquiry.script(order.key, *inquiries)
    driver = AsyncDriver(
        config=config_for(ACQP),
        store=store,
        clock=clock,
        cancel_gateway=AsyncScriptedCancelGateway(cancel),
        refund_gateway=AsyncScriptedRefundGateway(ScriptedRefundGateway()),
        inquiry_gateway=AsyncScriptedInquiryGateway(inquiry),
        scheduler=scheduler,
        watch_store=watch_store,
    )

    async def scenario() -> None:
        await driver.watch(order, status=None)
        await drain_async(driver, clock, scheduler)

    asyncio.run(scenario())
    async_watch = watch_store.get(key=order.key)
    assert async_watch is not None
    assert async_watch.state is sync_watch.state
    assert async_watch.scenario == sync_watch.scenario
    assert ([c.at for c in inquiry.calls], [c.at for c in cancel.calls]) == sync_calls
    if sync_watch.state is WatchState.CANCEL_STARTED:
        record = store.get(key=order.key)
        assert record is not None
        assert record.state is rig.record(order.key).state
        assert record.reason == rig.record(order.key).reason


def test_async_driver_late_notification_merchant_close_and_errors() -> None:
    """The rest of the async surface: merchant close, late success (S0/S4: stays cancelled),
    resume of an unknown key, a raising gateway read as no answer, the ACQP refund check."""
    order = acqp_order()
    clock = FakeClock(T0)
    store: InMemoryStore[Cancellation] = InMemoryStore()
    watch_store: InMemoryStore[PaymentWatch] = InMemoryStore()
    scheduler = InMemoryScheduler()
    cancel = ScriptedCancelGateway(clock=clock)

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        async def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
            self.calls += 1
            if self.calls == 1:
                raise TimeoutError("read timed out")
            return cancel.cancel(order=order, attempt=attempt)

    driver = AsyncDriver(
        config=config_for(ACQP),
        store=store,
        clock=clock,
        cancel_gateway=Flaky(),
        refund_gateway=AsyncScriptedRefundGateway(ScriptedRefundGateway()),
        scheduler=scheduler,
        watch_store=watch_store,
    )

    async def scenario() -> tuple[object, object]:
        await driver.watch(order, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
        closed = await driver.merchant_closed(order.key)
        await drain_async(driver, clock, scheduler)
        late = await driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")
        with pytest.raises(NotFoundError):
            await driver.resume("alipayplus-acqp:request:unknown")
        with pytest.raises(NotFoundError):
            await driver.payment_notified(
                "alipayplus-acqp:request:unknown", ResultStatus.FAILED, "X"
            )
        return closed, late

    with capture_logs() as logs:
        closed, late = asyncio.run(scenario())

    assert isinstance(closed, Cancellation)
    assert closed.state is S.RETRY_SCHEDULED
    assert closed.attempts[0].transport is not None
    assert closed.attempts[0].transport.startswith("no_answer")
    assert any(e["event"] == "gateway.call_raised" and e["log_level"] == "error" for e in logs)
    assert isinstance(late, Cancellation)
    assert late.state is S.CANCELLED
    assert len(late.late_results) == 1
    with pytest.raises(UnsupportedProductError):
        AsyncDriver(
            config=config_for(ACQP),
            store=store,
            clock=clock,
            cancel_gateway=AsyncScriptedCancelGateway(cancel),
        )
