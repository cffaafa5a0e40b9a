"""Wire benchmark: signing and verifying a cancel request against bare ``cryptography`` RSA.

The target (the issue): signing an Antom cancel request end to end -- the body, the headers and
the signature -- costs at most 1.1x a bare ``cryptography`` RSA-2048 sign of the same bytes with
the same loaded key; verifying one at most 1.2x a bare verify.

- **Sign** (``sign_e2e``, target 1.1x): ``encode_body`` of the cancel fields, then
  ``RequestSigner.headers`` (the wire time, the content to sign, the RSA256 signature, its base64
  and percent encoding, the ``Signature`` header). Baseline: ``rsa_key.sign(content, ...)`` over
  the same content bytes (``content_to_sign`` with the same time string).
- **Verify** (``verify_request``, target 1.2x): the receiving side, ``RequestVerifier.verify``
  (header lookup, ``Signature`` header parsing, key ring lookup, ``Request-Time`` parsing,
  percent and base64 decoding, the signature, the clock-skew check). Baseline: a bare
  ``public_key.verify(sig, content, ...)`` of the same bytes. This is the row the target is about.
- **Verify + parse the answer** (``verify_answer``, reported against the same 1.2x): the calling
  side, ``ResponseVerifier.verify`` on a signed answer. Besides what the receiving side does it
  decodes the JSON body and its ``result``, which the bare verify never does; a verify is only
  some 30-40 us, so any fixed Python cost weighs about 25 times more there than next to a sign.
  The JSON part alone is measured too (``parse_answer``), and so are the signature value's
  encoding and decoding (``encode_signature``, ``decode_signature``).
- **Keys** (no target): loading a PEM private key validates it (about 50 ms), which is why the
  envelope loads keys once; the official SDKs load the key on every call, shown here as "load
  PEM + sign" (and "load PEM + verify") measured with ``cryptography`` directly, the SDK itself
  is not installed.

Machines are shared and noisy, so every baseline is measured in the same run, the rounds are
interleaved (round 1 of everything, then round 2, ...; odd rounds run the operations in reverse
order so that neither side of a pair always goes first), and what counts is the ratio of the
medians, not the absolute microseconds. A missed target prints the hot spots of its row
(cProfile, after the timed rounds); ``--profile`` prints them for every targeted row.

Run::

    uv run --frozen python benchmarks/wire.py           # full run, table
    uv run --frozen python benchmarks/wire.py --quick   # a few short rounds (smoke test)
    uv run --frozen python benchmarks/wire.py --json    # machine-readable
    uv run --frozen python benchmarks/wire.py --rounds N --profile

The garbage collector stays enabled while timing (``timeit`` would switch it off), as in a
service. The script exits 0 whatever the verdicts (PASS/MISS per row are figures to read, not a
gate); it exits non-zero only when something fails, e.g. a signature that does not verify.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import os
import platform
import pstats
import statistics
import sys
import sysconfig
import time
import timeit
from typing import Callable, Sequence

import cryptography
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import paycancel as pc
import paycancel_wire as pw
from paycancel_wire.errors import SignatureError

#: Targets from the issue: ours at most this many times the bare ``cryptography`` call.
SIGN_TARGET = 1.1
VERIFY_TARGET = 1.2

#: Calibration stops growing the calls per round here (a guard against a broken timer).
MAX_CALLS_PER_ROUND = 10_000_000

#: An Antom cancel (``POST /ams/api/v1/payments/cancel``) at a fixed instant (no wall clock).
METHOD = "POST"
CANCEL_URI = "/ams/api/v1/payments/cancel"
CLIENT_ID = "SANDBOX_5YEZ1N2Z4N4P02345"
PAYMENT_ID = "20240528194010890100111880200001234"
PAYMENT_REQUEST_ID = "PAY_20240528121000_0000000001"
NOW = dt.datetime(2024, 5, 28, 12, 10, 5, tzinfo=pc.UTC8)
ANSWERED_AT = NOW + dt.timedelta(milliseconds=1350)
#: What the receiving side's clock reads when the request arrives (inside the 5 minute skew).
RECEIVED_AT = NOW + dt.timedelta(milliseconds=40)


def cancel_fields() -> dict[str, object]:
    return {"paymentId": PAYMENT_ID, "paymentRequestId": PAYMENT_REQUEST_ID}


def answer_fields() -> dict[str, object]:
    """A successful cancel answer as Antom sends it."""
    return {
        "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success."},
        "paymentId": PAYMENT_ID,
        "paymentRequestId": PAYMENT_REQUEST_ID,
        "cancelTime": "2024-05-28T12:10:06+08:00",
    }


# ---------------------------------------------------------------------------------------------
# The operations under test. Each is a zero-argument callable. The key is made once (not timed)
# and loaded once, as a service does; the cancel fields (a new dict per call, as a driver builds
# them), the body and the headers are built inside the timed call.
# ---------------------------------------------------------------------------------------------


class Scenario:
    """One key pair, one signed cancel request and one signed answer, checked before timing.

    One key pair plays both the caller's and the platform's key: a verify costs the same with
    any RSA-2048 key of exponent 65537.
    """

    def __init__(self) -> None:
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_public = self.rsa_key.public_key()
        none = serialization.NoEncryption()
        # The SDKs wrap the dashboard's key in ``BEGIN RSA PRIVATE KEY`` markers (PKCS#1).
        self.private_pem = self.rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, none
        )
        self.public_pem = self.rsa_public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.pkcs1v15 = padding.PKCS1v15()
        self.sha256 = hashes.SHA256()

        # Ours wraps the very same cryptography key objects: the same already-loaded key.
        self.private_key = pw.PrivateKey(self.rsa_key)
        self.public_key = pw.PublicKey(self.rsa_public)
        self.signer = pw.RequestSigner(client_id=CLIENT_ID, private_key=self.private_key)
        self.request_verifier = pw.RequestVerifier(
            key_ring=pw.KeyRing([(CLIENT_ID, "1", self.public_key)])
        )
        self.response_verifier = pw.ResponseVerifier(
            client_id=CLIENT_ID, public_key=self.public_key
        )

        # The request: its body, headers, content to sign and raw signature.
        self.body = pw.encode_body(cancel_fields())
        self.headers = self.signer.headers(method=METHOD, uri=CANCEL_URI, body=self.body, now=NOW)
        self.content = pw.content_to_sign(
            method=METHOD,
            uri=CANCEL_URI,
            client_id=CLIENT_ID,
            time=pw.format_time(NOW),
            body=self.body,
        )
        self.signature = self.rsa_key.sign(self.content, self.pkcs1v15, self.sha256)
        self.signature_value = pw.SignatureHeader.parse(self.headers["Signature"]).value

        # The answer, signed by the platform side (lowercase headers, as the SDKs expect).
        self.answer_body = pw.encode_body(answer_fields())
        self.answer_headers = pw.ResponseSigner(private_key=self.private_key).headers(
            method=METHOD,
            uri=CANCEL_URI,
            client_id=CLIENT_ID,
            body=self.answer_body,
            now=ANSWERED_AT,
        )
        self.answer_content = pw.content_to_sign(
            method=METHOD,
            uri=CANCEL_URI,
            client_id=CLIENT_ID,
            time=pw.format_time(ANSWERED_AT),
            body=self.answer_body,
        )
        self.answer_signature = self.rsa_key.sign(self.answer_content, self.pkcs1v15, self.sha256)

    def check(self) -> None:
        """Every operation does what the benchmark says it does, with the same bytes."""
        assert self.decode_signature() == self.signature, "ours signs other bytes"
        assert self.encode_signature() == self.signature_value
        assert self.headers["Request-Time"] == "2024-05-28T12:10:05+08:00", self.headers
        headers = self.sign_e2e()
        assert headers == self.headers, headers
        assert self.sign_bare() == self.signature
        assert self.sdk_sign() == self.signature
        self.verify_bare()  # raises InvalidSignature if not
        self.verify_answer_bare()
        self.sdk_verify()
        request = self.verify_request()
        assert request.client_id == CLIENT_ID, request
        assert request.uri == CANCEL_URI, request
        answer = self.verify_answer()
        assert answer.signed, answer
        assert answer.result == pw.Result(status="S", code="SUCCESS", message="success."), answer
        assert self.parse_answer().status == "S"
        assert self.load_private().fingerprint == self.private_key.fingerprint
        assert self.load_public() == self.public_key
        # A wrong signature is refused, so the verify rows time a real check.
        tampered = dict(self.headers, **{"Request-Time": "2024-05-28T12:10:06+08:00"})
        try:
            self.request_verifier.verify(
                method=METHOD, target=CANCEL_URI, headers=tampered, body=self.body, now=RECEIVED_AT
            )
        except SignatureError:
            pass
        else:
            raise AssertionError("a request signed for another time verified")

    # Signing.
    def sign_bare(self) -> bytes:
        return self.rsa_key.sign(self.content, self.pkcs1v15, self.sha256)

    def sign_e2e(self) -> dict[str, str]:
        body = pw.encode_body({"paymentId": PAYMENT_ID, "paymentRequestId": PAYMENT_REQUEST_ID})
        return self.signer.headers(method=METHOD, uri=CANCEL_URI, body=body, now=NOW)

    def encode_signature(self) -> str:
        return pw.encode_signature(self.signature)

    # Verifying a request (the receiving side).
    def verify_bare(self) -> None:
        self.rsa_public.verify(self.signature, self.content, self.pkcs1v15, self.sha256)

    def verify_request(self) -> pw.VerifiedRequest:
        return self.request_verifier.verify(
            method=METHOD, target=CANCEL_URI, headers=self.headers, body=self.body, now=RECEIVED_AT
        )

    def decode_signature(self) -> bytes:
        return pw.decode_signature(self.signature_value)

    # Verifying an answer (the calling side).
    def verify_answer_bare(self) -> None:
        self.rsa_public.verify(
            self.answer_signature, self.answer_content, self.pkcs1v15, self.sha256
        )

    def verify_answer(self) -> pw.VerifiedResponse:
        return self.response_verifier.verify(
            method=METHOD, uri=CANCEL_URI, headers=self.answer_headers, body=self.answer_body
        )

    def parse_answer(self) -> pw.Result:
        return pw.decode_result(pw.decode_body(self.answer_body))

    # Keys: once per process (ours) against once per call (the official SDKs).
    def load_private(self) -> pw.PrivateKey:
        return pw.PrivateKey.load(self.private_pem)

    def sdk_sign(self) -> bytes:
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(self.content, self.pkcs1v15, self.sha256)

    def load_public(self) -> pw.PublicKey:
        return pw.PublicKey.load(self.public_pem)

    def sdk_verify(self) -> None:
        key = serialization.load_pem_public_key(self.public_pem)
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(self.signature, self.content, self.pkcs1v15, self.sha256)


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


class Operation:
    """One timed operation, the baseline it is compared with, and its per-round samples (us)."""

    def __init__(
        self,
        key: str,
        label: str,
        func: Callable[[], object],
        *,
        baseline: str,
        group: str,
        target: float | None = None,
    ) -> None:
        self.key = key
        self.label = label
        self.func = func
        self.baseline = baseline
        self.group = group
        self.target = target
        self.number = 0
        self.samples_us: list[float] = []

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)

    def timer(self) -> timeit.Timer:
        # setup=gc.enable: timeit switches the collector off before running setup; keep it on.
        return timeit.Timer(self.func, setup=gc.enable, timer=time.perf_counter)

    def calibrate(self, round_seconds: float) -> None:
        """Pick the calls per round so that one round lasts about ``round_seconds``."""
        timer = self.timer()
        number = 1
        while True:
            elapsed = timer.timeit(number)
            if elapsed >= round_seconds / 10 or number >= MAX_CALLS_PER_ROUND:
                break
            number *= 10
        self.number = max(1, round(number * round_seconds / max(elapsed, 1e-9)))

    def run_round(self) -> None:
        elapsed = self.timer().timeit(self.number)
        self.samples_us.append(elapsed / self.number * 1e6)


def build_operations(s: Scenario) -> list[Operation]:
    return [
        Operation(
            "sign_bare",
            "bare sign: cryptography RSA-2048 PKCS#1 v1.5 SHA-256 (baseline)",
            s.sign_bare,
            baseline="sign_bare",
            group="sign",
        ),
        Operation(
            "sign_e2e",
            "ours: encode_body + RequestSigner.headers",
            s.sign_e2e,
            baseline="sign_bare",
            group="sign",
            target=SIGN_TARGET,
        ),
        Operation(
            "encode_signature",
            "  of which: encode_signature (base64 + percent-encoding)",
            s.encode_signature,
            baseline="sign_bare",
            group="sign",
        ),
        Operation(
            "verify_bare",
            "bare verify of the request's bytes (baseline)",
            s.verify_bare,
            baseline="verify_bare",
            group="verify",
        ),
        Operation(
            "verify_request",
            "ours: RequestVerifier.verify (verify only)",
            s.verify_request,
            baseline="verify_bare",
            group="verify",
            target=VERIFY_TARGET,
        ),
        Operation(
            "decode_signature",
            "  of which: decode_signature (percent + base64 decoding)",
            s.decode_signature,
            baseline="verify_bare",
            group="verify",
        ),
        Operation(
            "verify_answer_bare",
            "bare verify of the answer's bytes (baseline)",
            s.verify_answer_bare,
            baseline="verify_answer_bare",
            group="answer",
        ),
        Operation(
            "verify_answer",
            "ours: ResponseVerifier.verify (verify + parse answer)",
            s.verify_answer,
            baseline="verify_answer_bare",
            group="answer",
            target=VERIFY_TARGET,
        ),
        Operation(
            "parse_answer",
            "  of which: decode_body + decode_result (the JSON)",
            s.parse_answer,
            baseline="verify_answer_bare",
            group="answer",
        ),
        Operation(
            "load_private",
            "PrivateKey.load(PEM) (ours: once per process)",
            s.load_private,
            baseline="sign_bare",
            group="keys",
        ),
        Operation(
            "sdk_sign",
            "SDK style: load PEM + sign, every call",
            s.sdk_sign,
            baseline="sign_bare",
            group="keys",
        ),
        Operation(
            "load_public",
            "PublicKey.load(PEM) (ours: once per process)",
            s.load_public,
            baseline="verify_bare",
            group="keys",
        ),
        Operation(
            "sdk_verify",
            "SDK style: load public PEM + verify, every call",
            s.sdk_verify,
            baseline="verify_bare",
            group="keys",
        ),
    ]


def measure(operations: list[Operation], *, rounds: int, round_seconds: float) -> None:
    for op in operations:  # calibration doubles as warm-up
        op.calibrate(round_seconds)
    for index in range(rounds):  # interleaved, so noise hits every operation alike
        ordered = operations if index % 2 == 0 else operations[::-1]
        for op in ordered:
            op.run_round()


def profile_hot_spots(
    func: Callable[[], object], *, calls: int, top: int
) -> list[dict[str, object]]:
    """Top functions of ``func`` by own time (cProfile, outside the timed rounds)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        func()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows: list[dict[str, object]] = []
    # pstats keeps {(file, line, name): (primitive calls, calls, own time, cumulative, callers)}.
    entries = stats.stats.items()  # type: ignore[attr-defined]
    ranked = sorted(entries, key=lambda item: item[1][2], reverse=True)
    total = sum(value[2] for _, value in entries) or 1e-12
    for (filename, line, name), (_prim, ncalls, tottime, cumtime, _callers) in ranked[:top]:
        rows.append(
            {
                "function": f"{_short_path(filename)}:{line}({name})",
                "calls_per_op": ncalls / calls,
                "own_pct": 100.0 * tottime / total,
                "cumulative_pct": 100.0 * cumtime / total,
            }
        )
    return rows


def _short_path(filename: str) -> str:
    stdlib = sysconfig.get_paths()["stdlib"] + os.sep
    for marker in ("site-packages" + os.sep, "src" + os.sep, stdlib):
        index = filename.rfind(marker)
        if index >= 0:
            return filename[index + len(marker) :]
    return filename


def missed(operations: list[Operation]) -> list[Operation]:
    """The operations with a target whose median ratio is over it."""
    by_key = {op.key: op for op in operations}
    return [
        op
        for op in operations
        if op.target is not None and op.median_us / by_key[op.baseline].median_us > op.target
    ]


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cryptography": cryptography.__version__,
        "openssl": openssl_backend.openssl_version_text(),
        "paycancel": pc.__version__,
    }


def _verdict(op: Operation, ratio: float) -> str | None:
    if op.target is None:
        return None
    return "PASS" if ratio <= op.target else "MISS"


def results(
    operations: list[Operation],
    *,
    rounds: int,
    quick: bool,
    hot_spots: dict[str, list[dict[str, object]]] | None,
) -> dict[str, object]:
    by_key = {op.key: op for op in operations}
    rows: list[dict[str, object]] = []
    for op in operations:
        base = by_key[op.baseline]
        ratio = op.median_us / base.median_us
        # The ratio per round too (both taken in the same round), to show how noisy it was.
        per_round = [mine / theirs for mine, theirs in zip(op.samples_us, base.samples_us)]
        rows.append(
            {
                "key": op.key,
                "label": op.label,
                "group": op.group,
                "baseline": op.baseline,
                "us_per_op": op.median_us,
                "min_us": min(op.samples_us),
                "max_us": max(op.samples_us),
                "ratio": ratio,
                "ratio_per_round": {"min": min(per_round), "max": max(per_round)},
                "target": op.target,
                "verdict": _verdict(op, ratio),
                "calls_per_round": op.number,
                "samples_us": op.samples_us,
            }
        )
    return {
        "benchmark": "paycancel-wire sign/verify of a cancel request vs bare cryptography RSA",
        "quick": quick,
        "rounds": rounds,
        "environment": environment(),
        "targets": {"sign": SIGN_TARGET, "verify": VERIFY_TARGET},
        "operations": rows,
        "hot_spots": hot_spots,
    }


def print_report(report: dict[str, object]) -> None:
    env = report["environment"]
    rows = report["operations"]
    assert isinstance(env, dict)
    assert isinstance(rows, list)
    print(
        f"paycancel-wire benchmark: Python {env['python']}, cryptography {env['cryptography']}, "
        f"{env['openssl']}, {env['cpu_count']} CPUs"
    )
    print(
        f"median of {report['rounds']} interleaved rounds; GC enabled; "
        "ratios to the baseline of the same run are what count\n"
    )
    width = max(len(row["label"]) for row in rows)
    header = (
        f"{'operation':<{width}}  {'us/op':>10}  {'min..max us':>21}  {'x base':>8}  "
        f"{'per round':>13}  {'target':>6}  verdict"
    )
    print(header)
    print("-" * len(header))
    group = ""
    for row in rows:
        if group and row["group"] != group:
            print()
        group = row["group"]
        spread = f"{row['min_us']:.2f}..{row['max_us']:.2f}"
        per_round = row["ratio_per_round"]
        rounds = f"{per_round['min']:.2f}..{per_round['max']:.2f}"
        target = "" if row["target"] is None else f"<={row['target']:g}x"
        verdict = row["verdict"] or ""
        print(
            f"{row['label']:<{width}}  {row['us_per_op']:>10.2f}  {spread:>21}  "
            f"{row['ratio']:>7.3f}x  {rounds:>13}  {target:>6}  {verdict}"
        )
    by_key = {row["key"]: row for row in rows}
    sign, request, answer = by_key["sign_e2e"], by_key["verify_request"], by_key["verify_answer"]
    print(
        f"\nSIGN: {sign['verdict']} -- signing end to end = {sign['ratio']:.3f}x a bare sign "
        f"(target <= {SIGN_TARGET:g}x)"
    )
    print(
        f"VERIFY: {request['verdict']} -- RequestVerifier.verify = {request['ratio']:.3f}x a bare "
        f"verify (target <= {VERIFY_TARGET:g}x; the target's row)"
    )
    print(
        f"VERIFY + PARSE ANSWER: {answer['verdict']} -- ResponseVerifier.verify = "
        f"{answer['ratio']:.3f}x a bare verify (also parses the JSON answer, "
        f"{by_key['parse_answer']['us_per_op']:.1f} us, which the bare verify does not)"
    )
    print(
        f"KEYS: PrivateKey.load = {by_key['load_private']['ratio']:.0f}x a sign "
        f"({by_key['load_private']['us_per_op'] / 1000:.1f} ms), so keys are loaded once; "
        f"loading per call as the SDKs do = {by_key['sdk_sign']['ratio']:.0f}x a sign"
    )
    hot_spots = report["hot_spots"]
    if isinstance(hot_spots, dict) and hot_spots:
        print("\nhot spots (cProfile, own time; profiler overhead inflates")
        print("small functions, so read the ranking, not the absolute shares):")
        for key, spots in hot_spots.items():
            print(f"  {by_key[key]['label'].strip()}:")
            for spot in spots:
                print(
                    f"    {spot['own_pct']:5.1f}% own  {spot['cumulative_pct']:5.1f}% cum  "
                    f"{spot['calls_per_op']:5.1f} calls/op  {spot['function']}"
                )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 15, quick 3)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print the hot spots of every targeted row, even those that meet their target",
    )
    args = parser.parse_args(argv)
    rounds: int = args.rounds if args.rounds is not None else (3 if args.quick else 15)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    round_seconds = 0.005 if args.quick else 0.15

    # Not timed: making the key, the signed request and answer, and checking them.
    scenario = Scenario()
    scenario.check()
    operations = build_operations(scenario)
    measure(operations, rounds=rounds, round_seconds=round_seconds)

    # A miss always comes with its hot spots (profiled after the timed rounds).
    profiled = [op for op in operations if op.target is not None] if args.profile else []
    profiled = profiled or missed(operations)
    hot_spots = None
    if profiled:
        hot_spots = {
            op.key: profile_hot_spots(op.func, calls=20 if args.quick else 1000, top=8)
            for op in profiled
        }
    report = results(operations, rounds=rounds, quick=args.quick, hot_spots=hot_spots)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
