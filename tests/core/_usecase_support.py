"""Builders shared by the use-case, driver and MPP tests: orders, configs and wired drivers.

Everything here uses the shipped fakes (:mod:`paycancel.testing`) and in-memory adapters; nothing
patches paycancel code.
"""

from __future__ import annotations

import datetime as dt

import attrs

from paycancel import (
    UTC8,
    AcqpSettings,
    AcquirerId,
    CancelConfig,
    Cancellation,
    Escalate,
    GatewayOutcome,
    InMemoryScheduler,
    InMemoryStore,
    Money,
    MppCancelRequest,
    PaymentFlow,
    PaymentId,
    PaymentMethodFamily,
    PaymentOrder,
    PaymentRequestId,
    PaymentWatch,
    Product,
    PspId,
    ResultStatus,
    SyncDriver,
    WindowPolicy,
)
from paycancel.testing import (
    FakeClock,
    ScriptedCancelGateway,
    ScriptedInquiryGateway,
    ScriptedRefundGateway,
    drain,
)
from paycancel.typing import CancelGateway

UTC = dt.timezone.utc

#: Mid-morning in UTC+8, far from the 00:15 / 00:30 cut-offs of T+1.
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC8)

#: An Antom contract window (S4: set per acquirer): until 23:00 UTC+8 on the initiation day.
ANTOM_CONTRACT_WINDOW = WindowPolicy(
    cutoff=dt.time(23, 0), day_offset=0, zone=UTC8, name="antom-contract"
)

TERMINAL_NAMES = frozenset({"cancelled", "failed", "refunded", "refund_required", "escalated"})


def acqp_order(
    request_id: str = "acqp-pr-1",
    *,
    amount: int = 1050,
    initiated_at: dt.datetime = T0,
    status: ResultStatus | None = None,
    code: str | None = None,
    flow: PaymentFlow = PaymentFlow.CASHIER,
    expires_at: dt.datetime | None = None,
) -> PaymentOrder:
    """An Alipay+ ACQP payment (USD 10.50 by default)."""
    return PaymentOrder(
        product=Product.ALIPAYPLUS_ACQP,
        amount=Money(amount, "USD"),
        initiated_at=initiated_at,
        payment_request_id=PaymentRequestId(request_id),
        payment_status=status,
        payment_code=code,
        flow=flow,
        expires_at=expires_at,
    )


def antom_order(
    request_id: str = "antom-pr-1",
    *,
    amount: int = 9900,
    initiated_at: dt.datetime = T0,
    method: PaymentMethodFamily = PaymentMethodFamily.WALLET,
    captured: bool = False,
    refunded: bool = False,
    cancelled: bool = False,
    status: ResultStatus | None = None,
) -> PaymentOrder:
    """An Antom payment (JPY 9900 by default)."""
    return PaymentOrder(
        product=Product.ANTOM,
        amount=Money(amount, "JPY"),
        initiated_at=initiated_at,
        payment_request_id=PaymentRequestId(request_id),
        payment_id=PaymentId("antom-pay-" + request_id),
        method=method,
        captured=captured,
        refunded=refunded,
        cancelled=cancelled,
        payment_status=status,
    )


def mpp_request(request_id: str = "mpp-pr-1") -> MppCancelRequest:
    """An incoming Alipay+ ``cancelPayment`` (S1: acquirerId, pspId, paymentRequestId)."""
    return MppCancelRequest(
        acquirer_id=AcquirerId("1022188000000000001"),
        psp_id=PspId("1022172000000000001"),
        payment_request_id=PaymentRequestId(request_id),
    )


def mpp_order(
    request_id: str = "mpp-pr-1",
    *,
    initiated_at: dt.datetime = T0,
    status: ResultStatus | None = ResultStatus.SUCCEEDED,
    amount: int = 2500,
) -> PaymentOrder:
    """The wallet's payment matching :func:`mpp_request` (same key)."""
    request = mpp_request(request_id)
    return PaymentOrder(
        product=Product.ALIPAYPLUS_MPP,
        amount=Money(amount, "HKD"),
        initiated_at=initiated_at,
        payment_request_id=request.payment_request_id,
        acquirer_id=request.acquirer_id,
        psp_id=request.psp_id,
        payment_status=status,
    )


def config_for(product: Product, *, window: WindowPolicy | None = None) -> CancelConfig:
    """The role's default config; Antom gets :data:`ANTOM_CONTRACT_WINDOW` unless told."""
    if product is Product.ANTOM and window is None:
        window = ANTOM_CONTRACT_WINDOW
    return CancelConfig.for_product(product, window=window)


class OrderRecordingCancelGateway:
    """A :class:`CancelGateway` that keeps every ``(order, attempt)`` it is asked to send, then
    passes the call on: lets a test check that each resend carries the same parameters."""

    def __init__(self, inner: CancelGateway) -> None:
        self.inner = inner
        self.sent: list[tuple[PaymentOrder, int]] = []

    def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        self.sent.append((order, attempt))
        return self.inner.cancel(order=order, attempt=attempt)


@attrs.define
class Rig:
    """A :class:`SyncDriver` wired to scripted gateways, a fake clock and in-memory adapters."""

    clock: FakeClock
    store: InMemoryStore[Cancellation]
    watch_store: InMemoryStore[PaymentWatch]
    scheduler: InMemoryScheduler
    cancel: ScriptedCancelGateway
    refund: ScriptedRefundGateway
    inquiry: ScriptedInquiryGateway
    escalations: list[Escalate]
    config: CancelConfig
    driver: SyncDriver
    recorder: OrderRecordingCancelGateway

    def drain(self, *, until: dt.datetime | None = None) -> int:
        return drain(self.driver, self.clock, self.scheduler, until=until)

    def record(self, key: str) -> Cancellation:
        stored = self.store.get(key=key)
        assert stored is not None, f"no cancellation stored under {key!r}"
        return stored

    def watch_of(self, key: str) -> PaymentWatch:
        stored = self.watch_store.get(key=key)
        assert stored is not None, f"no watch stored under {key!r}"
        return stored


def make_rig(
    product: Product = Product.ALIPAYPLUS_ACQP,
    *,
    start: dt.datetime = T0,
    config: CancelConfig | None = None,
    acqp_settings: AcqpSettings | None = None,
    cancel_gateway: CancelGateway | None = None,
) -> Rig:
    """Wire a rig; the clock starts at ``start`` and stamps every scripted call."""
    clock = FakeClock(start)
    store: InMemoryStore[Cancellation] = InMemoryStore()
    watch_store: InMemoryStore[PaymentWatch] = InMemoryStore()
    scheduler = InMemoryScheduler()
    cancel = ScriptedCancelGateway(clock=clock)
    refund = ScriptedRefundGateway(clock=clock)
    inquiry = ScriptedInquiryGateway(clock=clock)
    escalations: list[Escalate] = []
    cfg = config if config is not None else config_for(product)
    recorder = OrderRecordingCancelGateway(cancel_gateway if cancel_gateway is not None else cancel)
    driver = SyncDriver(
        config=cfg,
        store=store,
        clock=clock,
        cancel_gateway=recorder,
        refund_gateway=refund,
        inquiry_gateway=inquiry,
        scheduler=scheduler,
        watch_store=watch_store,
        acqp_settings=acqp_settings,
        on_escalate=escalations.append,
    )
    return Rig(
        clock=clock,
        store=store,
        watch_store=watch_store,
        scheduler=scheduler,
        cancel=cancel,
        refund=refund,
        inquiry=inquiry,
        escalations=escalations,
        config=cfg,
        driver=driver,
        recorder=recorder,
    )
