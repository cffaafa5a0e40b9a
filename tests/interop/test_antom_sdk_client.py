"""The official Antom SDK's own client, unmodified, against our local Antom gateway.

The SDK connects to port 443 with TLS whatever the URL says and checks the certificate
(``SSL_CERT_FILE`` points at one this test makes), sends an absolute-form request target and
reads the answer's headers in lowercase only. Outside CI, when 127.0.0.1:443 cannot be bound,
these tests skip with that reason; under ``CI=true`` they must run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from paycancel import SystemClock
from paycancel_antom.testing import (
    AntomPayment,
    DropAnswer,
    LocalAntomGateway,
    PaymentState,
    UnknownStreak,
    UnsignedFailure,
    WrongSignature,
    self_signed_certificate,
    tls_context,
)
from paycancel_wire import KeyRing
from tests.adapters.keys import merchant, platform
from tests.interop.isolated_env import SdkWorker, antom_sdk_python, sdk_python, sdk_skip_reason

CLIENT_ID = "MERCHANT_CLIENT_1"
SANDBOX_ID = "SANDBOX_5Y"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def certificate(tls_files: tuple[Path, Path]) -> Path:
    return tls_files[0]


@pytest.fixture(scope="module")
def gateway(tls_files: tuple[Path, Path]) -> Iterator[LocalAntomGateway]:
    if sdk_python() is None:
        pytest.skip(sdk_skip_reason())
    ring = KeyRing()
    ring.add(CLIENT_ID, merchant().public)
    ring.add(SANDBOX_ID, merchant().public)
    context = tls_context(*tls_files)
    server = LocalAntomGateway(
        antom_private_key=platform().private, merchant_keys=ring, port=443, tls=context
    )
    try:
        server.start()
    except OSError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"cannot bind 127.0.0.1:443 ({exc}); the official SDK only connects to 443")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sdk(certificate: Path, gateway: LocalAntomGateway) -> Iterator[SdkWorker]:
    with SdkWorker(antom_sdk_python(), extra_env={"SSL_CERT_FILE": str(certificate)}) as worker:
        yield worker


def cancel(sdk: SdkWorker, *, client_id: str = CLIENT_ID, **ids: str) -> dict[str, Any]:
    return sdk.call(
        "cancel",
        gateway_url="https://127.0.0.1",
        client_id=client_id,
        private_key=merchant().pkcs1_pem,
        public_key=platform().public_pem,
        **ids,
    )


def add(gateway: LocalAntomGateway, name: str, state: PaymentState) -> AntomPayment:
    payment = AntomPayment(
        payment_id=f"pay-{name}",
        payment_request_id=f"req-{name}",
        state=state,
        initiated_at=SystemClock().now() - dt.timedelta(minutes=3),
    )
    gateway.add_payment(payment)
    return payment


def test_the_sdk_cancels_a_paid_payment_and_verifies_our_signed_answer(
    sdk: SdkWorker, gateway: LocalAntomGateway
) -> None:
    add(gateway, "paid", PaymentState.PAID)
    answer = cancel(sdk, payment_id="pay-paid")
    assert answer["ok"], answer
    body = json.loads(answer["body"])
    assert body["result"] == {
        "resultStatus": "S",
        "resultCode": "SUCCESS",
        "resultMessage": "Success",
    }
    assert body["paymentId"] == "pay-paid"
    assert body["paymentRequestId"] == "req-paid"
    assert dt.datetime.fromisoformat(body["cancelTime"]).utcoffset() == dt.timedelta(hours=8)
    received = gateway.received[-1]
    assert received.target.startswith("https://127.0.0.1")  # absolute form, as the SDK sends
    assert received.uri == "/ams/api/v1/payments/cancel"
    assert gateway.payment(payment_id="pay-paid").state is PaymentState.CANCELLED  # type: ignore[union-attr]


def test_the_sdk_gets_the_same_answer_again(sdk: SdkWorker, gateway: LocalAntomGateway) -> None:
    add(gateway, "twice", PaymentState.UNPAID)
    first = cancel(sdk, payment_request_id="req-twice")
    second = cancel(sdk, payment_request_id="req-twice")
    assert first["ok"]
    assert second["ok"]
    assert first["body"] == second["body"]


def test_the_sdk_sandbox_path_is_served(sdk: SdkWorker, gateway: LocalAntomGateway) -> None:
    add(gateway, "sandbox", PaymentState.PAID)
    answer = cancel(sdk, client_id=SANDBOX_ID, payment_id="pay-sandbox")
    assert answer["ok"], answer
    assert gateway.received[-1].uri == "/ams/sandbox/api/v1/payments/cancel"


def test_the_sdk_reads_a_refunded_payments_process_fail(
    sdk: SdkWorker, gateway: LocalAntomGateway
) -> None:
    add(gateway, "refunded", PaymentState.REFUNDED)
    answer = cancel(sdk, payment_id="pay-refunded")
    assert answer["ok"], answer
    assert json.loads(answer["body"])["result"]["resultCode"] == "PROCESS_FAIL"


def test_the_sdk_under_faults(sdk: SdkWorker, gateway: LocalAntomGateway) -> None:
    add(gateway, "faults", PaymentState.PAID)
    gateway.script(
        UnknownStreak(count=1),
        UnsignedFailure(code="PROCESS_FAIL", blank_headers=True),  # the SDK's form
        WrongSignature(),
        DropAnswer(apply=False),
        payment_id="pay-faults",
    )
    unknown = cancel(sdk, payment_id="pay-faults")
    assert json.loads(unknown["body"])["result"]["resultStatus"] == "U"
    unsigned = cancel(sdk, payment_id="pay-faults")  # the SDK accepts an unsigned F
    assert unsigned["ok"], unsigned
    assert json.loads(unsigned["body"])["result"]["resultStatus"] == "F"
    forged = cancel(sdk, payment_id="pay-faults")
    assert not forged["ok"]
    assert "verify" in forged["error"]
    dropped = cancel(sdk, payment_id="pay-faults")
    assert not dropped["ok"]
    done = cancel(sdk, payment_id="pay-faults")
    assert json.loads(done["body"])["result"]["resultStatus"] == "S"
