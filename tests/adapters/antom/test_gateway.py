"""AntomCancelGateway: the request it sends (S2) and how every documented answer is read.

The answers here come from ``httpx.MockTransport`` signed with a real RSA key, so every code of
S2's table can be played; the real-HTTP runs are in ``test_gateway_local.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Callable

import httpx
import pytest

from paycancel import (
    CATALOG,
    Action,
    Answered,
    Api,
    CancelConfig,
    CancellationState,
    InMemoryCancellationStore,
    InMemoryScheduler,
    Money,
    NoAnswer,
    PaymentId,
    PaymentOrder,
    PaymentRequestId,
    Product,
    ResultStatus,
    SyncDriver,
    WindowPolicy,
)
from paycancel.errors import UnsupportedProductError, ValidationError
from paycancel.testing import FakeClock
from paycancel.typing import AsyncCancelGateway, CancelGateway
from paycancel_antom import (
    CANCEL_PATH,
    SANDBOX_CANCEL_PATH,
    AntomCancelGateway,
    AsyncAntomCancelGateway,
)
from paycancel_wire import KeyRing, RequestVerifier, ResponseSigner, encode_body
from paycancel_wire.errors import InsecureTransportError
from tests.adapters.keys import merchant, platform, stranger

UTC8 = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC8)
WINDOW = WindowPolicy(cutoff=dt.time(23, 59), day_offset=6, name="contract")
GATEWAY = "https://open-sea-global.alipay.com"

ANTOM_CANCEL_ROWS = [r for r in CATALOG if r.product is Product.ANTOM and r.api is Api.CANCEL]


def order(**ids: str) -> PaymentOrder:
    return PaymentOrder(
        product=Product.ANTOM,
        amount=None,
        initiated_at=NOW - dt.timedelta(minutes=5),
        payment_id=PaymentId(ids["payment_id"]) if "payment_id" in ids else None,
        payment_request_id=(
            PaymentRequestId(ids["payment_request_id"]) if "payment_request_id" in ids else None
        ),
    )


class Antom:
    """A MockTransport handler that plays Antom: records requests, answers as scripted."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.result = {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "Success"}
        self.extra: dict[str, str] = {
            "paymentId": "2026112210000001",
            "paymentRequestId": "req-1",
            "cancelTime": "2026-11-22T10:00:01+08:00",
        }
        self.signing_key = platform().private
        self.signed = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = encode_body({"result": self.result, **self.extra})
        headers: list[tuple[str, str]] = [("content-type", "application/json; charset=UTF-8")]
        if self.signed:
            headers = ResponseSigner(private_key=self.signing_key).headers(
                method="POST",
                uri=request.url.raw_path.decode(),
                client_id=request.headers["client-id"],
                body=body,
                now=self.clock.now(),
            )
        return httpx.Response(200, headers=headers, content=body)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def antom(clock: FakeClock) -> Antom:
    return Antom(clock)


def gateway(antom: Antom, clock: FakeClock, **kwargs: object) -> AntomCancelGateway:
    client = httpx.Client(transport=httpx.MockTransport(antom))
    options: dict[str, object] = {"client_id": "CLIENT_1", "base_url": GATEWAY, **kwargs}
    return AntomCancelGateway(
        client=client,
        private_key=merchant().private,
        antom_public_key=platform().public,
        clock=clock,
        **options,  # type: ignore[arg-type]  # keyword overrides per test
    )


def test_gateways_conform_to_the_core_ports(antom: Antom, clock: FakeClock) -> None:
    sync: CancelGateway = gateway(antom, clock)
    client = httpx.AsyncClient(transport=httpx.MockTransport(antom))
    asynchronous: AsyncCancelGateway = AsyncAntomCancelGateway(
        client=client,
        client_id="CLIENT_1",
        private_key=merchant().private,
        antom_public_key=platform().public,
    )
    assert sync is not None
    assert asynchronous is not None
    asyncio.run(client.aclose())


def test_request_is_signed_and_carries_both_ids(antom: Antom, clock: FakeClock) -> None:
    gw = gateway(antom, clock, merchant_account_id="store-7")
    gw.cancel(order=order(payment_id="p-1", payment_request_id="req-1"), attempt=1)
    (request,) = antom.requests
    assert request.method == "POST"
    assert request.url.path == CANCEL_PATH
    assert json.loads(request.content) == {
        "paymentId": "p-1",
        "paymentRequestId": "req-1",
        "merchantAccountId": "store-7",
    }
    ring = KeyRing()
    ring.add("CLIENT_1", merchant().public)
    verified = RequestVerifier(key_ring=ring).verify(
        method="POST",
        target=str(request.url),
        headers=request.headers.multi_items(),
        body=request.content,
        now=clock.now(),
    )
    assert verified.client_id == "CLIENT_1"


def test_every_attempt_sends_the_same_body(antom: Antom, clock: FakeClock) -> None:
    gw = gateway(antom, clock)
    the_order = order(payment_request_id="req-9")
    gw.cancel(order=the_order, attempt=1)
    clock.advance(seconds=7)
    gw.cancel(order=the_order, attempt=2)
    assert antom.requests[0].content == antom.requests[1].content == b'{"paymentRequestId":"req-9"}'


def test_sandbox_client_ids_use_the_sandbox_path(antom: Antom, clock: FakeClock) -> None:
    gw = gateway(antom, clock, client_id="SANDBOX_5Y")
    outcome = gw.cancel(order=order(payment_id="p-1"), attempt=1)
    assert antom.requests[0].url.path == SANDBOX_CANCEL_PATH
    assert isinstance(outcome, Answered)
    assert outcome.status is ResultStatus.SUCCEEDED


def test_success_fields_are_parsed(antom: Antom, clock: FakeClock) -> None:
    outcome = gateway(antom, clock).cancel(order=order(payment_request_id="req-1"), attempt=1)
    assert isinstance(outcome, Answered)
    assert outcome.code == "SUCCESS"
    assert outcome.payment_id == PaymentId("2026112210000001")
    assert outcome.payment_request_id == PaymentRequestId("req-1")
    assert outcome.cancel_time == dt.datetime(2026, 11, 22, 10, 0, 1, tzinfo=UTC8)


def test_a_malformed_cancel_time_does_not_undo_a_confirmed_cancel(
    antom: Antom, clock: FakeClock
) -> None:
    antom.extra["cancelTime"] = "yesterday"
    outcome = gateway(antom, clock).cancel(order=order(payment_request_id="req-1"), attempt=1)
    assert isinstance(outcome, Answered)
    assert outcome.status is ResultStatus.SUCCEEDED
    assert outcome.cancel_time is None


def test_unsigned_success_is_no_answer_and_unsigned_failure_is_an_answer(
    antom: Antom, clock: FakeClock
) -> None:
    antom.signed = False
    gw = gateway(antom, clock)
    assert isinstance(gw.cancel(order=order(payment_id="p"), attempt=1), NoAnswer)
    antom.result = {"resultStatus": "F", "resultCode": "PROCESS_FAIL"}
    outcome = gw.cancel(order=order(payment_id="p"), attempt=2)
    assert isinstance(outcome, Answered)
    assert outcome.code == "PROCESS_FAIL"


def test_an_answer_signed_by_someone_else_is_no_answer(antom: Antom, clock: FakeClock) -> None:
    antom.signing_key = stranger().private
    outcome = gateway(antom, clock).cancel(order=order(payment_id="p"), attempt=1)
    assert isinstance(outcome, NoAnswer)
    assert "signature" in outcome.reason


def _drive(antom: Antom, clock: FakeClock) -> SyncDriver:
    return SyncDriver(
        config=CancelConfig.for_product(Product.ANTOM, window=WINDOW),
        store=InMemoryCancellationStore(),
        clock=clock,
        cancel_gateway=gateway(antom, clock),
        scheduler=InMemoryScheduler(),
    )


HOLD = {Action.RETRY_LATER, Action.FIX_CREDENTIALS, Action.FIX_REQUEST}


@pytest.mark.parametrize("row", ANTOM_CANCEL_ROWS, ids=lambda r: f"{r.status.value}-{r.code}")
def test_every_documented_code_ends_as_the_catalog_says(
    row: object, antom: Antom, clock: FakeClock
) -> None:
    from paycancel import CodeRule

    assert isinstance(row, CodeRule)
    antom.result = {"resultStatus": row.status.value, "resultCode": row.code}
    record = _drive(antom, clock).cancel(order(payment_request_id="req-1"))
    assert record.attempts[-1].code == row.code
    if row.status is ResultStatus.SUCCEEDED:
        assert record.state is CancellationState.CANCELLED
        assert record.cancelled_at == dt.datetime(2026, 11, 22, 10, 0, 1, tzinfo=UTC8)
    elif row.status is ResultStatus.UNKNOWN:
        assert record.state is CancellationState.RETRY_SCHEDULED
        assert record.next_attempt_at is not None
    elif row.action in HOLD:
        assert record.state is CancellationState.ON_HOLD
        assert record.action is row.action
    else:
        assert record.state is CancellationState.FAILED
        assert record.action is row.action


def test_the_s2_codes_are_all_in_the_catalog() -> None:
    s2 = {
        "SUCCESS", "ACCESS_DENIED", "INVALID_API", "CANCEL_WINDOW_EXCEED", "KEY_NOT_FOUND",
        "MERCHANT_BALANCE_NOT_ENOUGH", "NO_INTERFACE_DEF", "ORDER_NOT_EXIST",
        "ORDER_STATUS_INVALID", "PARAM_ILLEGAL", "PROCESS_FAIL", "SYSTEM_ERROR",
        "REQUEST_TRAFFIC_EXCEED_LIMIT", "PAYMENT_METHOD_NOT_SUPPORTED", "UNKNOWN_EXCEPTION",
        "USER_NOT_EXIST", "USER_STATUS_ABNORMAL",
    }  # fmt: skip
    assert s2 <= {r.code for r in ANTOM_CANCEL_ROWS}


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda a, c: gateway(a, c, merchant_account_id="x" * 33), ValidationError),
        (lambda a, c: gateway(a, c, merchant_account_id=""), ValidationError),
        (
            lambda a, c: gateway(a, c, base_url="http://open-sea-global.alipay.com"),
            InsecureTransportError,
        ),
        (lambda a, c: gateway(a, c, timeout=0), ValidationError),
    ],
)
def test_bad_settings_are_refused_up_front(
    make: Callable[[Antom, FakeClock], object], error: type[Exception], antom: Antom,
    clock: FakeClock
) -> None:  # fmt: skip
    with pytest.raises(error):
        make(antom, clock)


def test_an_order_of_another_product_is_refused(antom: Antom, clock: FakeClock) -> None:
    acqp = PaymentOrder(
        product=Product.ALIPAYPLUS_ACQP,
        amount=Money(100, "USD"),
        initiated_at=NOW,
        payment_request_id=PaymentRequestId("r"),
    )
    with pytest.raises(UnsupportedProductError):
        gateway(antom, clock).cancel(order=acqp, attempt=1)
    assert antom.requests == []


def test_the_async_gateway_reads_answers_the_same_way(antom: Antom, clock: FakeClock) -> None:
    async def run() -> Answered | object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(antom)) as client:
            gw = AsyncAntomCancelGateway(
                client=client,
                client_id="CLIENT_1",
                private_key=merchant().private,
                antom_public_key=platform().public,
                base_url=GATEWAY,
                clock=clock,
            )
            return await gw.cancel(order=order(payment_id="p-1"), attempt=1)

    outcome = asyncio.run(run())
    assert isinstance(outcome, Answered)
    assert outcome.cancel_time is not None
    assert json.loads(antom.requests[0].content) == {"paymentId": "p-1"}
