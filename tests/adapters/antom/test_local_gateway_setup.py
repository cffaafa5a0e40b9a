"""Setting the local Antom gateway up: HTTPS with a self-signed certificate, payments files, the
``paycancel simulate antom`` command, and the pinned public surface."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import structlog
from cryptography import x509

import paycancel_antom.testing
from paycancel import UTC8, SystemClock
from paycancel._cli import main
from paycancel.testing import FakeClock
from paycancel_antom._simulate_cli import register_simulate, run_simulate
from paycancel_antom.testing import (
    AntomPayment,
    PaymentsFileError,
    PaymentState,
    TlsSetupError,
    load_payments,
    self_signed_certificate,
    tls_context,
)
from paycancel_wire import RequestSigner, encode_body
from tests.adapters.antom.local_support import CLIENT, START, code, make_gateway, payment, post
from tests.adapters.keys import merchant, platform

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """``simulate antom`` configures structlog, as an application may; undo it afterwards."""
    yield
    structlog.reset_defaults()


# -- HTTPS -------------------------------------------------------------------------------------


def test_https_with_the_self_signed_certificate(tls_files: tuple[Path, Path]) -> None:
    clock = FakeClock(START)
    cert, _ = tls_files
    trust = ssl.create_default_context(cafile=str(cert))
    with make_gateway(clock, tls=tls_context(*tls_files)) as gateway:
        gateway.add_payment(payment("a"))
        assert gateway.url == f"https://127.0.0.1:{gateway.port}"
        # a client that does not trust the certificate fails its handshake ...
        with httpx.Client() as untrusting, pytest.raises(httpx.ConnectError):
            post(untrusting, gateway, clock, {"paymentId": "pay-a"})
        # ... plain HTTP to the TLS port gets nothing usable ...
        with httpx.Client() as plain, pytest.raises(httpx.HTTPError):
            plain.post(f"http://127.0.0.1:{gateway.port}/", content=b"{}", timeout=2)
        # ... and the server keeps serving, by IP address and by name.
        with httpx.Client(verify=trust) as client:
            assert code(post(client, gateway, clock, {"paymentId": "pay-a"})) == ("S", "SUCCESS")
            by_name = gateway.url.replace("127.0.0.1", "localhost")
            body = encode_body({"paymentId": "pay-a"})
            signer = RequestSigner(client_id=CLIENT, private_key=merchant().private)
            headers = signer.headers(
                method="POST", uri="/ams/api/v1/payments/cancel", body=body, now=clock.now()
            )
            response = client.post(
                by_name + "/ams/api/v1/payments/cancel", content=body, headers=headers
            )
            assert code(response) == ("S", "SUCCESS")


def test_the_certificate_is_its_own_ca_for_the_loopback_names(
    tls_files: tuple[Path, Path],
) -> None:
    cert_file, key_file = tls_files
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca
    assert constraints.critical
    validity = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert validity == dt.timedelta(days=2)
    assert key_file.stat().st_mode & 0o077 == 0


def test_tls_context_refuses_missing_or_mismatched_files(
    tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    cert, _ = tls_files
    with pytest.raises(TlsSetupError) as caught:
        tls_context(tmp_path / "nope.pem", cert)
    assert caught.value.field == "cert_file"
    other_cert, other_key = self_signed_certificate(tmp_path / "other")
    with pytest.raises(TlsSetupError):
        tls_context(cert, other_key)
    assert tls_context(other_cert, other_key).check_hostname is False


# -- payments files ----------------------------------------------------------------------------


def write(tmp_path: Path, data: Any, name: str = "payments.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_load_payments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {
                "paymentId": "pay-1",
                "paymentRequestId": "req-1",
                "state": "paid",
                "initiatedAt": "2026-11-22T10:00:00+08:00",
            },
            {
                "paymentId": "pay-2",
                "paymentRequestId": "req-2",
                "state": "CANCELLED",
                "initiatedAt": "2026-11-22T02:00:00Z",
                "clientId": "C1",
                "cancelTime": "2026-11-22T10:05:00+08:00",
            },
        ],
    )
    assert load_payments(path) == [
        AntomPayment("pay-1", "req-1", PaymentState.PAID, START),
        AntomPayment(
            "pay-2",
            "req-2",
            PaymentState.CANCELLED,
            START,
            client_id="C1",
            cancel_time=dt.datetime(2026, 11, 22, 10, 5, tzinfo=UTC8),
        ),
    ]


GOOD = {
    "paymentId": "pay-1",
    "paymentRequestId": "req-1",
    "state": "paid",
    "initiatedAt": "2026-11-22T10:00:00+08:00",
}


@pytest.mark.parametrize(
    ("data", "index", "field"),
    [
        ("[", None, "payments"),
        ({"paymentId": "pay-1"}, None, "payments"),
        (["pay-1"], 0, "payment"),
        ([GOOD, {**GOOD, "paymentId": "pay-2", "state": "settled"}], 1, "state"),
        ([{k: v for k, v in GOOD.items() if k != "initiatedAt"}], 0, "initiatedAt"),
        ([{**GOOD, "initiatedAt": "2026-11-22T10:00:00"}], 0, "initiatedAt"),
        ([{**GOOD, "initiatedAt": "yesterday"}], 0, "initiatedAt"),
        ([{**GOOD, "paymentID": "typo"}], 0, "paymentID"),
        ([{**GOOD, "paymentId": "x" * 65}], 0, "paymentId"),
        ([{**GOOD, "paymentRequestId": 7}], 0, "paymentRequestId"),
        ([{**GOOD, "clientId": ""}], 0, "clientId"),
        ([{**GOOD, "state": "cancelled"}], 0, "cancelTime"),
        ([GOOD, {**GOOD, "paymentRequestId": "req-2"}], 1, "paymentId"),
        ([GOOD, {**GOOD, "paymentId": "pay-2"}], 1, "paymentRequestId"),
    ],
)
def test_load_payments_names_the_bad_entry(
    tmp_path: Path, data: Any, index: int | None, field: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(PaymentsFileError) as caught:
        load_payments(path)
    assert (caught.value.index, caught.value.field, caught.value.path) == (index, field, str(path))
    assert str(path) in str(caught.value)
    if index is not None:
        assert f"payment {index}" in str(caught.value)


def test_load_payments_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PaymentsFileError) as caught:
        load_payments(tmp_path / "missing.json")
    assert caught.value.index is None


# -- paycancel simulate antom ------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    files = {
        "antom": (folder / "antom.pem", platform().pkcs1_pem),
        "merchant": (folder / "merchant.pub.pem", merchant().public_pem),
    }
    for path, text in files.values():
        path.write_text(text, encoding="ascii")
    return {name: path for name, (path, _) in files.items()}


def simulate_args(key_files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "simulate",
        "antom",
        "--antom-private-key",
        str(key_files["antom"]),
        "--merchant-public-key",
        str(key_files["merchant"]),
        "--client-id",
        CLIENT,
        *extra,
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--port", "0", "--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--port", "0", "--tls-key", "key.pem"], "--tls-cert and --tls-key go together"),
        (["--port", "70000"], "--port"),
        (["--port", "0", "--cutoff", "24:00"], "--cutoff"),
        (["--port", "0", "--day-offset", "1"], "--day-offset needs --cutoff"),
        (["--port", "0", "--cutoff", "00:15", "--day-offset", "-1"], "--day-offset"),
        (["--port", "0", "--payments", "/nonexistent.json"], "cannot read"),
        (["--port", "0", "--tls-cert", "/no.pem", "--tls-key", "/no.key"], "no such file"),
    ],
)
def test_simulate_refuses_bad_arguments_with_exit_2(
    capsys: pytest.CaptureFixture[str], key_files: dict[str, Path], extra: list[str], message: str
) -> None:
    assert main(simulate_args(key_files, *extra)) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_simulate_needs_a_port_and_a_readable_key(
    capsys: pytest.CaptureFixture[str], key_files: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(simulate_args(key_files))
    assert caught.value.code == 2
    missing = simulate_args(key_files, "--port", "0")
    missing[missing.index("--antom-private-key") + 1] = str(tmp_path / "none.pem")
    assert main(missing) == 2
    assert "private_key: cannot read" in capsys.readouterr().err


def test_simulate_serves_until_stopped(
    capsys: pytest.CaptureFixture[str], key_files: dict[str, Path], tmp_path: Path
) -> None:
    import argparse

    from paycancel.cli import CliParser

    payments = write(tmp_path, [{**GOOD, "initiatedAt": SystemClock().now().isoformat()}])
    parser = CliParser(prog="paycancel")
    register_simulate(parser.add_subparsers(dest="command", parser_class=CliParser))
    args = parser.parse_args(
        simulate_args(key_files, "--port", "0", "--payments", str(payments), "--cutoff", "00:15")
    )
    assert isinstance(args, argparse.Namespace)
    stop = threading.Event()
    status: list[int] = []
    runner = threading.Thread(target=lambda: status.append(run_simulate(args, stop=stop)))
    runner.start()
    try:
        url = _wait_for_url(capsys)
        clock_now = SystemClock().now()
        body = encode_body({"paymentId": "pay-1"})
        signer = RequestSigner(client_id=CLIENT, private_key=merchant().private)
        headers = signer.headers(
            method="POST", uri="/ams/api/v1/payments/cancel", body=body, now=clock_now
        )
        with httpx.Client() as client:
            response = client.post(
                url + "/ams/api/v1/payments/cancel", content=body, headers=headers
            )
        assert code(response) == ("S", "SUCCESS")
    finally:
        stop.set()
        runner.join(5)
    assert status == [0]


def _wait_for_url(capsys: pytest.CaptureFixture[str]) -> str:
    for _ in range(200):
        out = capsys.readouterr().out
        if out:
            line = out.strip()
            assert line.startswith("paycancel simulate antom: listening on http://127.0.0.1:")
            return line.split()[-1]
        threading.Event().wait(0.01)
    raise AssertionError("the simulator printed no URL")


def test_simulate_stops_on_sigint_with_exit_0(key_files: dict[str, Path]) -> None:
    command = [sys.executable, "-m", "paycancel._cli", *simulate_args(key_files, "--port", "0")]
    with subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "listening on http://127.0.0.1:" in line
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, err


# -- the public surface ------------------------------------------------------------------------


def test_testing_all_is_sorted_and_complete() -> None:
    exported = paycancel_antom.testing.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    public = {
        name
        for name in vars(paycancel_antom.testing)
        if not name.startswith("_") and name != "annotations"
    }
    assert set(exported) == public
