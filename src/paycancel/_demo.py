"""``paycancel demo``: sample payments of all three roles through the core, on a fake clock.

Everything here is the real core (windows, catalogs, plans, state machine, drivers, in-memory
stores); only the platforms are scripted. Later adapters grow this into the full simulated day.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ._catalog import interpret
from ._driver import SyncDriver
from ._flow import CancelConfig
from ._identifier import AcquirerId, PaymentId, PaymentRequestId, PspId
from ._memory import InMemoryCancellationStore, InMemoryScheduler, InMemoryStore
from ._money import Money
from ._mpp import MppCancelRequest
from ._mpp_service import MppService
from ._order import PaymentOrder
from ._product import Api, PaymentFlow, PaymentMethodFamily, Product, ResultStatus
from ._retry import plan_for
from ._time import UTC8, isoformat
from ._window import ACQP_WINDOW, MPP_WINDOW, WindowPolicy
from .testing import (
    FakeClock,
    FakeWallet,
    ScriptedCancelGateway,
    ScriptedInquiryGateway,
    ScriptedRefundGateway,
    drain,
    failed,
    no_answer,
    success,
    unknown,
)

__all__ = ["run_demo"]

#: The sample business day starts at 23:40 UTC+8, so the 00:15 and 00:30 cut-offs fall inside it.
DAY = dt.datetime(2026, 11, 21, 23, 40, tzinfo=UTC8)
ANTOM_CONTRACT = WindowPolicy(
    cutoff=dt.time(23, 59), day_offset=6, zone=UTC8, name="antom-contract"
)


def _acqp(clock: FakeClock) -> list[dict[str, Any]]:
    store = InMemoryCancellationStore()
    scheduler = InMemoryScheduler()
    cancels = ScriptedCancelGateway(success(), clock=clock)
    refunds = ScriptedRefundGateway(success(), clock=clock)
    inquiries = ScriptedInquiryGateway(clock=clock)
    driver = SyncDriver(
        config=CancelConfig.for_product(Product.ALIPAYPLUS_ACQP),
        store=store,
        clock=clock,
        cancel_gateway=cancels,
        refund_gateway=refunds,
        inquiry_gateway=inquiries,
        scheduler=scheduler,
        watch_store=InMemoryStore(),
    )

    def order(rid: str, minutes: int, **extra: Any) -> PaymentOrder:
        return PaymentOrder(
            product=Product.ALIPAYPLUS_ACQP,
            amount=Money(12_50, "USD"),
            initiated_at=clock.now() - dt.timedelta(minutes=minutes),
            payment_request_id=PaymentRequestId(rid),
            **extra,
        )

    cases = {
        "acqp-success": order("acqp-success", 0),
        "acqp-u-streak": order("acqp-u-streak", 1),
        "acqp-after-cutoff": order("acqp-after-cutoff", 2),
        "acqp-never-resolves": order("acqp-never-resolves", 3),
    }
    cancels.script(cases["acqp-u-streak"].key, unknown(), no_answer(), unknown(), success())
    cancels.script(
        cases["acqp-after-cutoff"].key, *([unknown()] * 12), failed("CANCEL_WINDOW_EXCEED")
    )
    cancels.script(cases["acqp-never-resolves"].key, unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"))
    refunds.script(cases["acqp-after-cutoff"].key, unknown(), success())
    for case in cases.values():
        driver.cancel(case, reason="merchant closed the payment")
    # Scenario 1 of S0: pay answered nothing; inquiries stay PAYMENT_IN_PROCESS until the Auto
    # Debit expiry (1 minute), then the payment is cancelled.
    watched = order("acqp-watch-expired", 0, flow=PaymentFlow.AUTO_DEBIT)
    driver.watch(watched, status=None)
    paid = order("acqp-watch-paid", 0, flow=PaymentFlow.CASHIER)
    driver.watch(paid, status=ResultStatus.UNKNOWN, code="PAYMENT_IN_PROCESS")
    clock.advance(seconds=20)
    driver.payment_notified(paid.key, ResultStatus.SUCCEEDED, "SUCCESS")
    drain(driver, clock, scheduler)
    # A success notification after the cancel: recorded for reconciliation, order stays cancelled.
    driver.payment_notified(cases["acqp-u-streak"].key, ResultStatus.SUCCEEDED, "SUCCESS")
    rows = [_row(store.get(key=c.key), cancels, refunds) for c in (*cases.values(), watched)]
    rows.append(
        {"payment": "acqp-watch-paid", "state": "paid (no cancel)", "code": "-", "cancel_calls": 0,
         "refund_calls": 0, "until": "-", "notes": "notifyPayment S before expiry"}
    )  # fmt: skip
    return rows


def _row(record: Any, cancels: Any = None, refunds: Any = None) -> dict[str, Any]:
    order = record.order
    ident = None if order is None else (order.payment_request_id or order.payment_id)
    name = record.key if ident is None else str(ident)
    notes = []
    if record.late_results:
        notes.append("late success recorded")
    if record.warnings:
        notes.append("buyer may still pay (S4)")
    if record.refund_request_id is not None:
        notes.append(f"refund {record.refund_request_id}")
    return {
        "payment": name,
        "state": record.state.value,
        "code": record.final_code or "-",
        "cancel_calls": len(cancels.calls_for(record.key)) if cancels else 0,
        "refund_calls": len(refunds.calls_for(record.key)) if refunds else 0,
        "until": isoformat(record.cancellable_until) if record.cancellable_until else "-",
        "notes": ", ".join(notes) or "-",
    }


def _mpp(clock: FakeClock) -> list[dict[str, Any]]:
    acquirer, psp = AcquirerId("1022188000000000001"), PspId("1022172000000000001")

    def payment(rid: str, status: ResultStatus | None, minutes: int) -> PaymentOrder:
        return PaymentOrder(
            product=Product.ALIPAYPLUS_MPP,
            amount=Money(88_00, "HKD"),
            initiated_at=clock.now() - dt.timedelta(minutes=minutes),
            payment_request_id=PaymentRequestId(rid),
            acquirer_id=acquirer,
            psp_id=psp,
            payment_status=status,
        )

    wallet = FakeWallet(
        [
            payment("mpp-paid", ResultStatus.SUCCEEDED, 5),
            payment("mpp-failed", ResultStatus.FAILED, 5),
            payment("mpp-in-process", ResultStatus.UNKNOWN, 5),
            payment("mpp-yesterday", ResultStatus.SUCCEEDED, 60 * 26),
        ]
    )
    store = InMemoryCancellationStore()
    service = MppService(store=store, reversal=wallet, clock=clock)
    rows = []
    for rid in ("mpp-paid", "mpp-failed", "mpp-in-process", "mpp-yesterday", "mpp-not-seen-yet"):
        request = MppCancelRequest(acquirer, psp, PaymentRequestId(rid))
        if rid == "mpp-in-process":
            wallet.fail_next()  # a ledger hiccup: U first, Alipay+ retries, then S
        answers = [service.handle(request) for _ in range(3)]  # Alipay+ retries and duplicates
        rows.append(
            {
                "payment": rid,
                "answers": " ".join(f"{a.status.value}/{a.code}" for a in answers),
                "reversed": wallet.reversed_amount(request.key),
                "later_payment_allowed": service.payment_admissible(request),
            }
        )
    return rows


def _antom(clock: FakeClock) -> list[dict[str, Any]]:
    store = InMemoryCancellationStore()
    scheduler = InMemoryScheduler()
    cancels = ScriptedCancelGateway(success(), clock=clock)
    driver = SyncDriver(
        config=CancelConfig.for_product(Product.ANTOM, window=ANTOM_CONTRACT),
        store=store,
        clock=clock,
        cancel_gateway=cancels,
        scheduler=scheduler,
    )

    def order(pid: str, **extra: Any) -> PaymentOrder:
        return PaymentOrder(
            product=Product.ANTOM,
            amount=Money(30_00, "EUR"),
            initiated_at=DAY,
            payment_id=PaymentId(pid),
            **extra,
        )

    cases = [
        order("antom-unpaid"),
        order("antom-u-then-s"),
        order("antom-refunded", payment_status=ResultStatus.SUCCEEDED, refunded=True),
        order(
            "antom-card-captured",
            payment_status=ResultStatus.SUCCEEDED,
            method=PaymentMethodFamily.CARD,
            captured=True,
        ),
        order("antom-balance", payment_status=ResultStatus.SUCCEEDED),
    ]
    cancels.script(cases[1].key, unknown(), unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"), success())
    cancels.script(cases[4].key, failed("MERCHANT_BALANCE_NOT_ENOUGH"), success())
    for case in cases:
        driver.cancel(case)
    drain(driver, clock, scheduler, until=clock.now() + dt.timedelta(hours=1))
    # The balance was short (S2: call again once funded): the cancel waited on hold; the
    # merchant tops up and cancels the same order again.
    held = store.get(key=cases[4].key)
    assert held is not None
    clock.advance(dt.timedelta(hours=2))
    driver.cancel(cases[4], reason="merchant balance funded")
    drain(driver, clock, scheduler, until=clock.now() + dt.timedelta(hours=1))
    rows = [_row(store.get(key=c.key), cancels) for c in cases]
    rows[4]["notes"] = f"was {held.state.value} with {held.final_code}; resent once funded"
    return rows


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths)) for r in rows]
    return "\n".join(lines)


def run_demo(*, json_output: bool = False) -> int:
    """Run the sample payments and print windows, decisions, a retry plan and the outcomes."""
    initiated = DAY + dt.timedelta(minutes=2)
    windows = [
        {"product": "alipayplus-acqp", "rule": ACQP_WINDOW.describe(),
         "initiated_at": isoformat(initiated),
         "cancellable_until": isoformat(ACQP_WINDOW.cancellable_until(initiated))},
        {"product": "alipayplus-mpp", "rule": MPP_WINDOW.describe(),
         "initiated_at": isoformat(initiated),
         "cancellable_until": isoformat(MPP_WINDOW.cancellable_until(initiated))},
        {"product": "antom", "rule": ANTOM_CONTRACT.describe() + " (from the contract)",
         "initiated_at": isoformat(initiated),
         "cancellable_until": isoformat(ANTOM_CONTRACT.cancellable_until(initiated))},
    ]  # fmt: skip
    decisions = []
    for product, status, code in (
        (Product.ALIPAYPLUS_ACQP, ResultStatus.FAILED, "CANCEL_WINDOW_EXCEED"),
        (Product.ALIPAYPLUS_ACQP, ResultStatus.UNKNOWN, "REQUEST_TRAFFIC_EXCEED_LIMIT"),
        (Product.ANTOM, ResultStatus.FAILED, "MERCHANT_BALANCE_NOT_ENOUGH"),
        (Product.ANTOM, ResultStatus.FAILED, "SOME_NEW_CODE"),
        (Product.ALIPAYPLUS_MPP, ResultStatus.SUCCEEDED, "SUCCESS"),
    ):
        reading = interpret(product, Api.CANCEL, status, code)
        decisions.append(
            {"product": product.value, "result": f"{status.value}/{code}",
             "known": reading.known, "action": reading.action.value, "retry": reading.retry}
        )  # fmt: skip
    plan = plan_for(
        product=Product.ALIPAYPLUS_ACQP,
        initiated_at=initiated,
        first_unknown_at=DAY + dt.timedelta(minutes=30),
        jitter_key="acqp-after-cutoff",
    )
    plan_rows = [
        {"attempt": a.number, "at": isoformat(a.at.astimezone(UTC8)), "phase": a.phase,
         "after_cutoff": a.after_cutoff}
        for a in plan.attempts
    ]  # fmt: skip
    acqp = _acqp(FakeClock(DAY + dt.timedelta(minutes=10)))
    mpp = _mpp(FakeClock(DAY + dt.timedelta(minutes=20)))
    antom = _antom(FakeClock(DAY + dt.timedelta(minutes=10)))
    report = {
        "windows": windows,
        "decisions": decisions,
        "plan": {"attempts": plan_rows, "then": plan.then.value, "why": plan.describe_cutoff()},
        "acqp": acqp,
        "mpp": mpp,
        "antom": antom,
    }
    if json_output:
        print(json.dumps(report, indent=2))
        return 0
    print("paycancel demo: sample payments through the core (fake clock, scripted platforms)\n")
    print(_table("Cancel windows (end exclusive)", windows), end="\n\n")
    print(_table("Result-code decisions", decisions), end="\n\n")
    print(_table("Retry plan after a first U at 00:10 UTC+8 (ACQP, S0)", plan_rows))
    print(f"then: {plan.then.value}\n{plan.describe_cutoff()}\n")
    print(_table("Alipay+ ACQP: cancellations", acqp), end="\n\n")
    print(_table("Alipay+ MPP: cancelPayment received 3 times each", mpp), end="\n\n")
    print(_table("Antom: merchant cancels", antom))
    return 0
