"""The merchant's cancellation use case for Antom (S2, S4): local pre-checks, answers, retries."""

from __future__ import annotations

import datetime as dt

import pytest
from structlog.testing import capture_logs

from paycancel import (
    ANTOM_RETRY_POLICY,
    CATALOG,
    MPP_WINDOW,
    UTC8,
    Action,
    Answered,
    Api,
    Begin,
    CancelConfig,
    Cancellation,
    CancellationState,
    CodeRule,
    Money,
    PaymentId,
    PaymentMethodFamily,
    PaymentOrder,
    PaymentRequestId,
    Product,
    ResultStatus,
    WindowPolicy,
    decide,
)
from paycancel._flow_config import HOLD_ACTIONS
from paycancel.errors import PolicyError, UnsupportedProductError
from paycancel.testing import failed, no_answer, success, unknown
from tests.core._usecase_support import (
    ANTOM_CONTRACT_WINDOW,
    T0,
    acqp_order,
    antom_order,
    config_for,
    make_rig,
)

S = CancellationState
ANTOM = Product.ANTOM

ANTOM_F_RULES = [
    rule
    for rule in CATALOG
    if rule.product is ANTOM and rule.api is Api.CANCEL and rule.status is ResultStatus.FAILED
]


# -- pre-checks: answered locally, nothing sent ---------------------------------------------------


def test_s4_refunded_payment_fails_with_process_fail_without_calling() -> None:
    """S4: payments already refunded (fully or partly) cannot be cancelled; Antom would answer
    ``PROCESS_FAIL``, so the cancel is refused locally."""
    rig = make_rig(ANTOM)
    order = antom_order(refunded=True)
    record = rig.driver.cancel(order)
    assert record.state is S.FAILED
    assert record.final_code == "PROCESS_FAIL"
    assert record.action is Action.DO_NOT_RETRY
    assert record.attempts == ()
    assert rig.cancel.calls == []
    assert "refunded" in record.decisions[-1].rule


def test_s4_captured_card_payment_requires_a_refund_without_calling() -> None:
    """S4: card payments cannot be cancelled during or after capture: refund instead."""
    rig = make_rig(ANTOM)
    order = antom_order(method=PaymentMethodFamily.CARD, captured=True)
    record = rig.driver.cancel(order)
    assert record.state is S.REFUND_REQUIRED
    assert record.terminal
    assert record.action is Action.REFUND_INSTEAD
    assert rig.cancel.calls == []
    assert rig.refund.calls == []


def test_s4_a_captured_wallet_payment_is_still_cancelled() -> None:
    """The capture rule is about cards only (S4)."""
    rig = make_rig(ANTOM)
    record = rig.driver.cancel(antom_order(method=PaymentMethodFamily.WALLET, captured=True))
    assert record.state is S.CANCELLED
    assert len(rig.cancel.calls) == 1


def test_s4_already_cancelled_order_is_cancelled_without_calling() -> None:
    """S4: once cancelled the status stays CANCELLED; nothing to send."""
    rig = make_rig(ANTOM)
    record = rig.driver.cancel(antom_order(cancelled=True))
    assert record.state is S.CANCELLED
    assert record.final_code == "SUCCESS"
    assert rig.cancel.calls == []


@pytest.mark.parametrize(
    ("now", "closed"),
    [
        pytest.param(dt.datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC8), False, id="last-second"),
        pytest.param(dt.datetime(2026, 3, 10, 23, 0, tzinfo=UTC8), True, id="at-cutoff-exclusive"),
        pytest.param(dt.datetime(2026, 3, 11, 9, 0, tzinfo=UTC8), True, id="next-day"),
    ],
)
def test_s2_window_closed_per_the_contract_fails_without_calling(
    now: dt.datetime, closed: bool
) -> None:
    """S2/S4: cancel only within the contract's window (configured per acquirer; the end is
    exclusive); outside it the cancel fails with ``CANCEL_WINDOW_EXCEED`` and is not sent."""
    rig = make_rig(ANTOM, start=now)
    record = rig.driver.cancel(antom_order())
    if closed:
        assert record.state is S.FAILED
        assert record.final_code == "CANCEL_WINDOW_EXCEED"
        assert record.action is Action.DO_NOT_RETRY
        assert rig.cancel.calls == []
        assert record.decisions[-1].window == ANTOM_CONTRACT_WINDOW.describe()
    else:
        assert record.state is S.CANCELLED
        assert len(rig.cancel.calls) == 1


def test_s2_a_wider_contract_window_keeps_the_cancel_open() -> None:
    """The window is the contract's, not a built-in: T+2 at 12:00 local keeps it open."""
    wide = WindowPolicy(cutoff=dt.time(12, 0), day_offset=2, zone=UTC8, name="wide")
    rig = make_rig(ANTOM, config=config_for(ANTOM, window=wide), start=T0 + dt.timedelta(days=1))
    assert rig.driver.cancel(antom_order()).state is S.CANCELLED


def test_s4_antom_config_needs_the_contract_window() -> None:
    """S4: the cancel window depends on the acquirer; there is no default to fall back to."""
    with pytest.raises(PolicyError) as caught:
        CancelConfig.for_product(ANTOM)
    assert caught.value.field == "contract"


# -- answers --------------------------------------------------------------------------------------


def test_s4_success_cancels_with_the_buyer_may_still_pay_warning() -> None:
    """S4: ``S`` -> cancelled; the buyer may still complete a payment that was not submitted
    when cancel was called, which is surfaced as a warning on the result."""
    rig = make_rig(ANTOM)
    order = antom_order()
    with capture_logs() as logs:
        record = rig.driver.cancel(order)
    assert record.state is S.CANCELLED
    assert record.final_code == "SUCCESS"
    [warning] = record.warnings
    assert "may still" in warning
    assert "S4" in warning
    assert any(e["event"] == "cancellation.buyer_may_still_pay_warned" for e in logs)
    assert record.order is not None
    assert record.order.cancelled
    # Antom keeps the payment's own result: only the ACQP rewrites it (S0).
    assert record.order.payment_status is order.payment_status


def test_s2_success_fills_in_the_payment_id_antom_returns() -> None:
    """S2: the success body carries ``paymentId``; an order known by request id learns it."""
    rig = make_rig(ANTOM)
    order = PaymentOrder(
        product=ANTOM,
        amount=Money(100, "USD"),
        initiated_at=T0,
        payment_request_id=PaymentRequestId("antom-only-request-id"),
    )
    rig.cancel.script(
        order.key,
        Answered(status=ResultStatus.SUCCEEDED, code="SUCCESS", payment_id=PaymentId("2019X")),
    )
    record = rig.driver.cancel(order)
    assert record.order is not None
    assert record.order.payment_id == PaymentId("2019X")


@pytest.mark.parametrize("rule", [pytest.param(r, id=r.code) for r in ANTOM_F_RULES])
def test_s2_every_antom_failure_code_ends_failed_with_the_catalog_action(rule: CodeRule) -> None:
    """S2: ``F`` -> the cancellation failed; act on the code (the catalog's action). A code to
    "call again later" (``MERCHANT_BALANCE_NOT_ENOUGH``) is held until the caller cancels again
    and ends failed when the window closes; nothing is resent on its own."""
    rig = make_rig(ANTOM)
    order = antom_order()
    rig.cancel.script(order.key, failed(rule.code))

    answered = rig.driver.cancel(order)

    assert answered.final_code == rule.code
    assert answered.action is rule.action
    if rule.action in HOLD_ACTIONS:
        assert answered.state is S.ON_HOLD
        assert rig.scheduler.next_due() == ANTOM_CONTRACT_WINDOW.cancellable_until(T0)
    else:
        assert answered.state is S.FAILED
        assert len(rig.scheduler) == 0
    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.FAILED
    assert record.terminal
    assert record.final_code == rule.code
    assert len(rig.cancel.calls) == 1
    assert rig.refund.calls == []
    assert len(rig.scheduler) == 0


def test_s2_merchant_balance_not_enough_is_resent_once_the_caller_cancels_again() -> None:
    """S2 ``MERCHANT_BALANCE_NOT_ENOUGH``: "call the interface again after the merchant has
    sufficient balance": cancelling again resends with the next attempt number."""
    rig = make_rig(ANTOM)
    order = antom_order()
    rig.cancel.script(order.key, failed("MERCHANT_BALANCE_NOT_ENOUGH"), success())
    held = rig.driver.cancel(order)
    assert held.state is S.ON_HOLD
    rig.clock.advance(dt.timedelta(hours=1))

    record = rig.driver.cancel(order, reason="balance topped up")

    assert record.state is S.CANCELLED
    assert [c.attempt for c in rig.cancel.calls] == [1, 2]
    assert record.final_code == "SUCCESS"
    assert len(rig.scheduler) == 0


@pytest.mark.parametrize(
    ("status", "warned"),
    [(None, True), (ResultStatus.UNKNOWN, True), (ResultStatus.SUCCEEDED, False)],
)
def test_s4_the_buyer_warning_is_only_for_payments_not_yet_submitted(
    status: ResultStatus | None, warned: bool
) -> None:
    """S4 warns about a buyer who had *not yet submitted* the payment; a payment already known
    to have succeeded was submitted, so cancelling it carries no such warning."""
    rig = make_rig(ANTOM)
    record = rig.driver.cancel(antom_order(status=status))
    assert record.state is S.CANCELLED
    assert bool(record.warnings) is warned


def test_s2_a_hold_that_outlives_the_window_ends_failed_do_not_retry() -> None:
    """Once the window has closed the held cancel can never be sent again (S2:
    ``CANCEL_WINDOW_EXCEED``), so the terminal record must not keep telling the caller to
    "retry later"; the logged ``cancellation.failed`` event already says ``do_not_retry``."""
    rig = make_rig(ANTOM)
    order = antom_order()
    rig.cancel.script(order.key, failed("MERCHANT_BALANCE_NOT_ENOUGH"))
    rig.driver.cancel(order)

    with capture_logs() as logs:
        rig.drain()

    record = rig.record(order.key)
    assert record.state is S.FAILED
    [event] = [e for e in logs if e["event"] == "cancellation.failed"]
    assert event["action"] == "do_not_retry"
    assert record.action is Action.DO_NOT_RETRY, (
        f"terminal record says {record.action}, its event says {event['action']}"
    )


def test_s2_all_documented_failure_codes_are_covered() -> None:
    """The parametrization above really covers S2's fifteen ``F`` codes."""
    assert {r.code for r in ANTOM_F_RULES} == {
        "ACCESS_DENIED",
        "INVALID_API",
        "CANCEL_WINDOW_EXCEED",
        "KEY_NOT_FOUND",
        "MERCHANT_BALANCE_NOT_ENOUGH",
        "NO_INTERFACE_DEF",
        "ORDER_NOT_EXIST",
        "ORDER_STATUS_INVALID",
        "PARAM_ILLEGAL",
        "PROCESS_FAIL",
        "SYSTEM_ERROR",
        "PAYMENT_METHOD_NOT_SUPPORTED",
        "USER_NOT_EXIST",
        "USER_STATUS_ABNORMAL",
    }


def test_s2_unknown_is_resent_with_the_same_id_and_then_cancelled() -> None:
    """S2/S4: ``U`` or no answer -> resend with the same ``paymentId``/``paymentRequestId``."""
    rig = make_rig(ANTOM)
    order = antom_order()
    rig.cancel.script(order.key, unknown("REQUEST_TRAFFIC_EXCEED_LIMIT"), no_answer(), success())
    rig.driver.cancel(order)
    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.CANCELLED
    assert [c.attempt for c in rig.cancel.calls] == [1, 2, 3]
    assert all(sent == order for sent, _ in rig.recorder.sent)


def test_s4_unknown_until_the_plan_ends_escalates_to_antom_support() -> None:
    """S4: "please contact APO technical support if the problem persists"."""
    rig = make_rig(ANTOM)
    order = antom_order()
    rig.cancel.script(order.key, unknown())
    rig.driver.cancel(order)
    rig.drain()
    record = rig.record(order.key)
    assert record.state is S.ESCALATED
    assert record.plan is not None
    assert record.plan.policy == ANTOM_RETRY_POLICY
    assert len(rig.cancel.calls) == 1 + len(record.plan.attempts)
    [escalation] = rig.escalations
    assert escalation.to == "Antom technical support"
    assert len(rig.scheduler) == 0


def test_s4_a_success_notification_after_cancel_leaves_it_cancelled() -> None:
    """S4: "even if a successful payment asynchronous notification is received after the
    transaction is canceled, the transaction status in your system will remain as CANCELLED"."""
    rig = make_rig(ANTOM)
    order = antom_order()
    cancelled = rig.driver.cancel(order)
    late = rig.driver.payment_notified(order.key, ResultStatus.SUCCEEDED, "SUCCESS")
    assert isinstance(late, Cancellation)
    assert late.state is S.CANCELLED
    assert late.order == cancelled.order
    assert [(r.status, r.code) for r in late.late_results] == [(ResultStatus.SUCCEEDED, "SUCCESS")]
    assert len(rig.cancel.calls) == 1


def test_mpp_config_is_rejected() -> None:
    """The MPP receives cancels (S1, S3); the calling role's ``decide`` refuses its config."""
    with pytest.raises(UnsupportedProductError):
        CancelConfig.for_product(Product.ALIPAYPLUS_MPP)
    config = CancelConfig(
        product=Product.ALIPAYPLUS_MPP,
        window=MPP_WINDOW,
        retry_policy=ANTOM_RETRY_POLICY,
        refund_retry_policy=ANTOM_RETRY_POLICY,
    )
    with pytest.raises(UnsupportedProductError) as caught:
        decide(None, Begin(acqp_order()), now=T0, config=config)
    assert caught.value.product == Product.ALIPAYPLUS_MPP.value
    assert caught.value.operation == "decide"
