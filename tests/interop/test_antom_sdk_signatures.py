"""Our signatures and the official Antom SDK's are the same bytes (the SDK is the oracle).

For random bodies, times, paths and client ids (Hypothesis), ``paycancel_wire.sign`` and the
SDK's ``signature_tool.sign`` give byte-identical values; each side verifies the other's; a
one-byte change fails on both sides. The SDK runs in its own venv (``isolated_env.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.interop.isolated_env import SdkWorker, antom_sdk_python, sdk_python, sdk_skip_reason

# No surrogates: the SDK encodes the content as UTF-8, like we do, and they have no UTF-8 form.
TEXT = st.characters(blacklist_categories=["Cs"])
BODIES = st.text(TEXT, max_size=300)
TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.replace(microsecond=0).isoformat()),
    st.integers(min_value=10**12, max_value=10**13 - 1).map(str),
)
PATHS = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12),
    min_size=1,
    max_size=5,
).map(lambda parts: "/" + "/".join(parts))
CLIENT_IDS = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=32)

SETTINGS = settings(
    max_examples=40,
    deadline=None,  # each example makes SDK round trips that load a PEM key (~50 ms)
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def worker() -> Iterator[SdkWorker]:
    if sdk_python() is None:
        pytest.skip(sdk_skip_reason())
    python: Path = antom_sdk_python()
    with SdkWorker(python) as sdk:
        yield sdk


def _content(method: str, path: str, client_id: str, time: str, body: str) -> bytes:
    from paycancel_wire import content_to_sign

    return content_to_sign(
        method=method, uri=path, client_id=client_id, time=time, body=body.encode("utf-8")
    )


@SETTINGS
@given(body=BODIES, time=TIMES, path=PATHS, client_id=CLIENT_IDS)
def test_signatures_are_byte_identical(
    worker: SdkWorker, *, body: str, time: str, path: str, client_id: str
) -> None:
    from paycancel_wire import sign
    from tests.adapters.keys import merchant

    keys = merchant()
    ours = sign(keys.private, _content("POST", path, client_id, time, body))
    theirs = worker.call(
        "sign",
        method="POST",
        path=path,
        client_id=client_id,
        time=time,
        body=body,
        private_key=keys.pkcs1_pem,
    )["signature"]
    assert ours == theirs


@SETTINGS
@given(body=BODIES, time=TIMES, path=PATHS, client_id=CLIENT_IDS, flip=st.integers(0, 10**6))
def test_each_side_verifies_the_other_and_a_one_byte_change_fails_both(
    worker: SdkWorker, *, body: str, time: str, path: str, client_id: str, flip: int
) -> None:
    from paycancel_wire import sign, verify
    from tests.adapters.keys import merchant

    keys = merchant()
    fields = {"method": "POST", "path": path, "client_id": client_id, "time": time}
    theirs = worker.call("sign", body=body, private_key=keys.pkcs1_pem, **fields)["signature"]
    ours = sign(keys.private, _content("POST", path, client_id, time, body))
    assert verify(keys.public, _content("POST", path, client_id, time, body), theirs)
    assert worker.call("verify", body=body, signature=ours, public_key=keys.public_pem, **fields)[
        "ok"
    ]

    # Change one character of the body (append one when it is empty).
    if body:
        at = flip % len(body)
        changed = body[:at] + ("a" if body[at] != "a" else "b") + body[at + 1 :]
    else:
        changed = "x"
    assert not verify(keys.public, _content("POST", path, client_id, time, changed), theirs)
    assert not worker.call(
        "verify", body=changed, signature=ours, public_key=keys.public_pem, **fields
    )["ok"]


def test_the_sdk_accepts_every_private_key_form_we_document_for_it(worker: SdkWorker) -> None:
    """PKCS#1 PEM and bare base64 (PKCS#1 or PKCS#8) sign identically in the SDK and in ours;
    the SDK cannot read a PKCS#8 PEM, which is why the docs say to hand it PKCS#1."""
    from paycancel_wire import PrivateKey, sign
    from tests.adapters.keys import merchant

    keys = merchant()
    fields = {
        "method": "POST",
        "path": "/p",
        "client_id": "C",
        "time": "1700000000000",
        "body": "{}",
    }
    expected = sign(
        PrivateKey.load(keys.pkcs8_pem), _content("POST", "/p", "C", "1700000000000", "{}")
    )
    for form in (keys.pkcs1_pem, keys.pkcs1_base64, keys.pkcs8_base64):
        assert worker.call("sign", private_key=form, **fields)["signature"] == expected
