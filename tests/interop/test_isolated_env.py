"""The Antom SDK's isolated env builds, is sane, and its worker signs and verifies.

The first run builds the env (needs PyPI); later runs reuse it from ``.cache/isolated-envs/``.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from tests.interop.isolated_env import SdkWorker, antom_sdk_python, sdk_python, sdk_skip_reason

METHOD = "POST"
PATH = "/ams/api/v1/payments/cancel"
CLIENT_ID = "SANDBOX_5YC1YZ2Z2Y0B02000"
REQUEST_TIME = "2024-01-01T12:00:00+00:00"
BODY = '{\n   "paymentRequestId": "pr-0001"\n}'


@pytest.fixture(scope="module")
def env_python() -> Path:
    """The SDK env's python; every SDK test depends on it, so on Python < 3.9.2 they skip."""
    if sdk_python() is None:
        pytest.skip(sdk_skip_reason())
    return antom_sdk_python()


@pytest.fixture(scope="module")
def worker(env_python: Path) -> Iterator[SdkWorker]:
    with SdkWorker(env_python) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    """A fresh RSA-2048 key: (PKCS#1 PEM private, SubjectPublicKeyInfo PEM public).

    ``cryptography`` is imported here, not at the top: on Python 3.8 it warns on import, and the
    whole module is skipped there anyway.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private_pem, public_pem


def _run_in_env(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the isolated env's python, a fixed snippet
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_env_has_no_enum34(env_python: Path) -> None:
    result = _run_in_env(env_python, "import importlib.metadata as m; m.version('enum34')")
    assert result.returncode != 0
    assert "PackageNotFoundError" in result.stderr


def test_env_has_the_pinned_cryptography_and_the_sdk(env_python: Path) -> None:
    result = _run_in_env(
        env_python,
        "import importlib.metadata as m; "
        "print(m.version('cryptography')); print(m.version('global-open-sdk-python'))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["44.0.3", "1.7.1"]


def test_ping(worker: SdkWorker, env_python: Path) -> None:
    answer = worker.call("ping")
    assert answer["pong"] is True
    assert answer["sdk"] == "1.7.1"
    expected = _run_in_env(env_python, "import sys; print(sys.version)").stdout.strip()
    assert answer["python"] == expected


def test_sign_verify_round_trip(worker: SdkWorker, keypair: tuple[str, str]) -> None:
    private_pem, public_pem = keypair
    fields = {"method": METHOD, "path": PATH, "client_id": CLIENT_ID, "time": REQUEST_TIME}

    signed = worker.call("sign", body=BODY, private_key=private_pem, **fields)
    signature = signed["signature"]
    assert isinstance(signature, str)
    # percent-encoded standard base64 of a 2048-bit signature
    assert len(base64.b64decode(urllib.parse.unquote(signature), validate=True)) == 256

    good = worker.call("verify", body=BODY, signature=signature, public_key=public_pem, **fields)
    assert good == {"ok": True}

    tampered_body = BODY.replace("0001", "0002")
    assert len(tampered_body) == len(BODY)
    assert sum(a != b for a, b in zip(BODY, tampered_body)) == 1
    bad = worker.call(
        "verify", body=tampered_body, signature=signature, public_key=public_pem, **fields
    )
    assert bad["ok"] is False
    assert bad["error"]


def test_bad_requests_do_not_kill_the_worker(worker: SdkWorker) -> None:
    assert worker.call("no-such-op") == {"error": "unknown op"}
    assert "error" in worker.call("sign")  # fields missing
    assert worker.call("ping")["pong"] is True


def test_a_closed_worker_refuses_calls(env_python: Path) -> None:
    sdk = SdkWorker(env_python)
    assert sdk.call("ping")["pong"] is True
    sdk.close()
    sdk.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        sdk.call("ping")


def test_a_dead_worker_reports_its_stderr(tmp_path: Path) -> None:
    script = tmp_path / "dies.py"
    script.write_text("import sys\nsys.stderr.write('boom: no SDK here')\nsys.exit(3)\n")
    with SdkWorker(sys.executable, script=script) as sdk, pytest.raises(RuntimeError) as info:
        sdk.call("ping")
    assert "exit code 3" in str(info.value)
    assert "boom: no SDK here" in str(info.value)
