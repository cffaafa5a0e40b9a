"""Our AntomCancelGateway and the core's Antom flow against the local Antom gateway, over real
HTTPS on loopback, for every scripted fault; and ``paycancel antom cancel`` end to end."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import ssl
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from paycancel import (
    UTC8,
    Action,
    CancelConfig,
    Cancellation,
    CancellationState,
    InMemoryCancellationStore,
    InMemoryScheduler,
    PaymentId,
    PaymentOrder,
    PaymentRequestId,
    Product,
    SyncDriver,
    WindowPolicy,
)
from paycancel._cli import build_parser, main
from paycancel.cli import configure_logging
from paycancel.testing import FakeClock, drain
from paycancel_antom import AntomCancelGateway
from paycancel_antom._cli import run_cancel
from paycancel_antom.testing import (
    AntomPayment,
    DropAnswer,
    LocalAntomGateway,
    PaymentState,
    SlowAnswer,
    Throttle,
    UnknownStreak,
    UnsignedFailure,
    WrongSignature,
    self_signed_certificate,
    tls_context,
)
from paycancel_wire import KeyRing
from tests.adapters.keys import merchant, platform

CLIENT_ID = "MERCHANT_CLIENT_1"
START = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC8)
#: The gateway's contract window: until 23:59 UTC+8 on the initiation day.
CONTRACT = WindowPolicy(cutoff=dt.time(23, 59), day_offset=0, name="contract")
#: Ours is wider, so that the gateway's own CANCEL_WINDOW_EXCEED can be seen.
WIDE = WindowPolicy(cutoff=dt.time(23, 59), day_offset=6, name="wide")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def gateway(clock: FakeClock, tls_files: tuple[Path, Path]) -> Iterator[LocalAntomGateway]:
    ring = KeyRing()
    ring.add(CLIENT_ID, merchant().public)
    server = LocalAntomGateway(
        antom_private_key=platform().private,
        merchant_keys=ring,
        window=CONTRACT,
        clock=clock,
        tls=tls_context(*tls_files),
    )
    with server:
        yield server


@pytest.fixture
def client(tls_files: tuple[Path, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(tls_files[0]))) as c:
        yield c


class Rig:
    def __init__(self, gateway: LocalAntomGateway, client: httpx.Client, clock: FakeClock) -> None:
        self.gateway = gateway
        self.clock = clock
        self.store = InMemoryCancellationStore()
        self.scheduler = InMemoryScheduler()
        self.driver = SyncDriver(
            config=CancelConfig.for_product(Product.ANTOM, window=WIDE),
            store=self.store,
            clock=clock,
            cancel_gateway=AntomCancelGateway(
                client=client,
                client_id=CLIENT_ID,
                private_key=merchant().private,
                antom_public_key=platform().public,
                base_url=gateway.url,
                timeout=0.5,
                clock=clock,
            ),
            scheduler=self.scheduler,
        )

    def pay(self, name: str, state: PaymentState = PaymentState.PAID) -> PaymentOrder:
        self.gateway.add_payment(
            AntomPayment(
                payment_id=f"pay-{name}",
                payment_request_id=f"req-{name}",
                state=state,
                initiated_at=START - dt.timedelta(minutes=2),
            )
        )
        return PaymentOrder(
            product=Product.ANTOM,
            amount=None,
            initiated_at=START - dt.timedelta(minutes=2),
            payment_request_id=PaymentRequestId(f"req-{name}"),
        )

    def cancel(self, order: PaymentOrder) -> Cancellation:
        self.driver.cancel(order)
        drain(self.driver, self.clock, self.scheduler)
        record = self.store.get(key=order.key)
        assert record is not None
        return record


@pytest.fixture
def rig(gateway: LocalAntomGateway, client: httpx.Client, clock: FakeClock) -> Rig:
    return Rig(gateway, client, clock)


def bodies(gateway: LocalAntomGateway) -> set[bytes]:
    return {r.body for r in gateway.received}


def test_a_paid_payment_is_cancelled_with_antoms_ids_and_time(rig: Rig) -> None:
    record = rig.cancel(rig.pay("paid"))
    assert record.state is CancellationState.CANCELLED
    assert record.order is not None
    assert record.order.payment_id == PaymentId("pay-paid")
    assert record.cancelled_at == START
    assert len(record.attempts) == 1


@pytest.mark.parametrize(
    "fault",
    [UnknownStreak(count=3), Throttle(count=2), WrongSignature(count=2)],
    ids=["u-streak", "throttle", "wrong-signature"],
)
def test_unknown_answers_are_resent_with_the_same_body_until_success(
    rig: Rig, fault: UnknownStreak | Throttle | WrongSignature
) -> None:
    order = rig.pay("retried")
    rig.gateway.script(fault, payment_request_id="req-retried")
    record = rig.cancel(order)
    assert record.state is CancellationState.CANCELLED
    count = fault.count
    assert len(record.attempts) == count + 1
    assert len(bodies(rig.gateway)) == 1
    gaps = [
        (b.sent_at - a.sent_at).total_seconds()
        for a, b in zip(record.attempts, record.attempts[1:])
    ]
    assert all(5 <= gap <= 10 for gap in gaps), gaps  # the planned 5-10 s in the first minute


def test_a_dropped_answer_is_resent_and_confirmed_by_the_same_cancel_time(rig: Rig) -> None:
    order = rig.pay("dropped")
    rig.gateway.script(DropAnswer(apply=True), payment_request_id="req-dropped")
    record = rig.cancel(order)
    assert record.state is CancellationState.CANCELLED
    assert record.attempts[0].status is None  # no answer
    assert record.attempts[0].transport is not None
    assert record.cancelled_at == START  # the time the first, dropped, cancel took effect


def test_a_slow_answer_past_the_timeout_is_no_answer_then_resent(rig: Rig) -> None:
    order = rig.pay("slow")
    rig.gateway.script(SlowAnswer(delay=1.0), payment_request_id="req-slow")
    record = rig.cancel(order)
    assert record.state is CancellationState.CANCELLED
    assert record.attempts[0].status is None
    assert len(record.attempts) == 2


def test_an_unsigned_failure_is_final(rig: Rig) -> None:
    order = rig.pay("unsigned")
    rig.gateway.script(UnsignedFailure(code="PROCESS_FAIL"), payment_request_id="req-unsigned")
    record = rig.cancel(order)
    assert record.state is CancellationState.FAILED
    assert record.final_code == "PROCESS_FAIL"
    assert record.action is Action.CONTACT_SUPPORT


@pytest.mark.parametrize(
    ("state", "code"),
    [(PaymentState.REFUNDED, "PROCESS_FAIL"), (PaymentState.CAPTURED, "ORDER_STATUS_INVALID")],
)
def test_payments_antom_cannot_cancel_fail_with_its_code(
    rig: Rig, state: PaymentState, code: str
) -> None:
    record = rig.cancel(rig.pay("no", state))
    assert record.state is CancellationState.FAILED
    assert record.final_code == code


def test_an_unpaid_payment_is_cancelled_with_the_buyer_may_still_pay_warning(rig: Rig) -> None:
    record = rig.cancel(rig.pay("unpaid", PaymentState.UNPAID))
    assert record.state is CancellationState.CANCELLED
    assert any("may still" in w for w in record.warnings)


def test_past_the_contract_window_antom_answers_cancel_window_exceed(rig: Rig) -> None:
    order = rig.pay("late")
    rig.clock.set(dt.datetime(2026, 11, 23, 0, 5, tzinfo=UTC8))
    record = rig.cancel(order)
    assert record.state is CancellationState.FAILED
    assert record.final_code == "CANCEL_WINDOW_EXCEED"


def test_an_unknown_payment_is_order_not_exist(rig: Rig) -> None:
    order = PaymentOrder(
        product=Product.ANTOM,
        amount=None,
        initiated_at=START,
        payment_request_id=PaymentRequestId("nobody"),
    )
    assert rig.cancel(order).final_code == "ORDER_NOT_EXIST"


# --- paycancel antom cancel ---------------------------------------------------------------


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, Path]:
    files = {"private": tmp_path / "merchant.pem", "antom": tmp_path / "antom.pem"}
    files["private"].write_text(merchant().pkcs8_base64)  # the dashboards' form
    files["antom"].write_text(platform().public_pem)
    return files


def cli_args(gateway: LocalAntomGateway, keys: dict[str, Path], ca: Path, *extra: str) -> list[str]:
    return [
        "antom", "cancel", "--gateway", gateway.url, "--client-id", CLIENT_ID,
        "--private-key", str(keys["private"]), "--antom-public-key", str(keys["antom"]),
        "--ca-file", str(ca), *extra,
    ]  # fmt: skip


def run(argv: list[str], clock: FakeClock) -> int:
    configure_logging(logging.CRITICAL)  # as the command does: stdout holds only the result
    args: argparse.Namespace = build_parser().parse_args(argv)

    def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return run_cancel(args, clock=clock, sleep=sleep)


def test_cli_cancels_and_prints_the_result(
    gateway: LocalAntomGateway, key_files: dict[str, Path], tls_files: tuple[Path, Path],
    clock: FakeClock, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    Rig(gateway, httpx.Client(), clock).pay("cli")
    gateway.script(UnknownStreak(count=2), payment_request_id="req-cli")
    argv = cli_args(gateway, key_files, tls_files[0], "--payment-request-id", "req-cli", "--json")
    assert run(argv, clock) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["result_status"] == "S"
    assert out["result_code"] == "SUCCESS"
    assert out["outcome"] == "succeeded"
    assert out["action"] == "mark_cancelled"
    assert out["attempts"] == 3
    assert out["payment_id"] == "pay-cli"
    assert out["payment_request_id"] == "req-cli"
    assert START < dt.datetime.fromisoformat(out["cancel_time"]) < START + dt.timedelta(minutes=1)
    assert captured.err.count("next attempt at") == 2  # progress on stderr


def test_cli_no_retry_stops_at_the_first_unknown_result(
    gateway: LocalAntomGateway, key_files: dict[str, Path], tls_files: tuple[Path, Path],
    clock: FakeClock, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    Rig(gateway, httpx.Client(), clock).pay("once")
    gateway.script(UnknownStreak(count=1), payment_id="pay-once")
    argv = cli_args(gateway, key_files, tls_files[0], "--payment-id", "pay-once", "--no-retry")
    assert run(argv, clock) == 1
    out = capsys.readouterr().out
    assert "result_status: U" in out
    assert "result_code: UNKNOWN_EXCEPTION" in out
    assert "attempts: 1" in out
    assert len(gateway.received) == 1


def test_cli_failure_exits_1(
    gateway: LocalAntomGateway, key_files: dict[str, Path], tls_files: tuple[Path, Path],
    clock: FakeClock, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    Rig(gateway, httpx.Client(), clock).pay("refunded", PaymentState.REFUNDED)
    argv = cli_args(gateway, key_files, tls_files[0], "--payment-id", "pay-refunded")
    assert run(argv, clock) == 1
    out = capsys.readouterr().out
    assert "result_code: PROCESS_FAIL" in out
    assert "action: contact_support" in out


def exit_status(argv: list[str]) -> int:
    """``main``'s status; argparse itself exits (status 2) for what it checks."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    "change",
    [
        ["--payment-id", "a", "--payment-request-id", "b"],  # both ids
        [],  # no id
        ["--payment-id", "x" * 65],
        ["--payment-id", "a", "--merchant-account-id", "m" * 33],
    ],
    ids=["both-ids", "no-id", "long-id", "long-merchant-account"],
)
def test_cli_bad_arguments_exit_2(
    gateway: LocalAntomGateway, key_files: dict[str, Path], tls_files: tuple[Path, Path],
    change: list[str], capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert exit_status(cli_args(gateway, key_files, tls_files[0], *change)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert gateway.received == []


def test_cli_unreadable_key_and_insecure_gateway_exit_2(
    gateway: LocalAntomGateway, key_files: dict[str, Path], tls_files: tuple[Path, Path],
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    argv = cli_args(gateway, key_files, tls_files[0], "--payment-id", "a")
    argv[argv.index("--private-key") + 1] = str(garbage)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "private_key" in err
    assert "not a key" not in err
    argv = cli_args(gateway, key_files, tls_files[0], "--payment-id", "a")
    argv[argv.index("--gateway") + 1] = "http://open-sea-global.alipay.com"
    assert main(argv) == 2
    assert "https" in capsys.readouterr().err


def test_cli_through_main_against_a_system_clock_gateway(
    tls_files: tuple[Path, Path], key_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ring = KeyRing()
    ring.add(CLIENT_ID, merchant().public)
    with LocalAntomGateway(
        antom_private_key=platform().private, merchant_keys=ring, tls=tls_context(*tls_files)
    ) as server:
        server.add_payment(
            AntomPayment(
                payment_id="pay-main",
                payment_request_id="req-main",
                state=PaymentState.PAID,
                initiated_at=dt.datetime(2026, 1, 1, tzinfo=UTC8),
            )
        )
        status = main(cli_args(server, key_files, tls_files[0], "--payment-id", "pay-main"))
    out = capsys.readouterr().out
    assert status == 0, out
    result = out[out.index("result_status") :]  # the simulator's own start-up log comes first
    assert result.splitlines()[:5] == [
        "result_status: S",
        "result_code: SUCCESS",
        "outcome: succeeded",
        "action: mark_cancelled",
        "attempts: 1",
    ]
