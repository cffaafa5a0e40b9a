"""Smoke test of ``benchmarks/wire.py``: it runs and prints every row. Never a timing check.

The script runs in a subprocess, as the core benchmark's smoke test does: it imports
``cryptography`` (which warns on Python 3.8, and pytest turns warnings into errors) and may run
cProfile, which must not meet a profiler or tracer already active in the test process.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "wire.py"

#: Every row's label, in the printed order, with its target (None: reported, no target).
ROWS = [
    ("bare sign: cryptography RSA-2048 PKCS#1 v1.5 SHA-256 (baseline)", None),
    ("ours: encode_body + RequestSigner.headers", 1.1),
    ("  of which: encode_signature (base64 + percent-encoding)", None),
    ("bare verify of the request's bytes (baseline)", None),
    ("ours: RequestVerifier.verify (verify only)", 1.2),
    ("  of which: decode_signature (percent + base64 decoding)", None),
    ("bare verify of the answer's bytes (baseline)", None),
    ("ours: ResponseVerifier.verify (verify + parse answer)", 1.2),
    ("  of which: decode_body + decode_result (the JSON)", None),
    ("PrivateKey.load(PEM) (ours: once per process)", None),
    ("SDK style: load PEM + sign, every call", None),
    ("PublicKey.load(PEM) (ours: once per process)", None),
    ("SDK style: load public PEM + verify, every call", None),
]

# us/op, min..max us, ratio, per-round ratios, then the target and verdict (or nothing).
ROW = re.compile(
    r"\s+(?P<us>\d+\.\d+)\s+(?P<min>\d+\.\d+)\.\.(?P<max>\d+\.\d+)"
    r"\s+(?P<ratio>\d+\.\d+)x\s+\d+\.\d+\.\.\d+\.\d+"
    r"(?:\s+<=(?P<target>\d+(?:\.\d+)?)x\s+(?P<verdict>PASS|MISS))?\s*$"
)


def test_quick_run_prints_every_row_and_verdict() -> None:
    completed = subprocess.run(  # noqa: S603 - our own script, run with this interpreter
        # Two rounds: both interleaving orders run; the imports alone take about a second.
        [sys.executable, str(SCRIPT), "--quick", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()

    verdicts: dict[str, str] = {}
    for label, target in ROWS:
        found = [line for line in lines if line.startswith(label + " ")]
        assert len(found) == 1, (label, completed.stdout)
        match = ROW.match(found[0][len(label) :])
        assert match, found[0]
        us, low, high, ratio = (float(match[name]) for name in ("us", "min", "max", "ratio"))
        assert all(math.isfinite(x) and x > 0 for x in (us, low, high, ratio)), found[0]
        assert low <= us <= high, found[0]
        if target is None:
            assert match["verdict"] is None, found[0]
            if "(baseline)" in label:
                assert ratio == 1.0, found[0]
        else:
            assert float(match["target"]) == target, found[0]
            if abs(ratio - target) > 0.001:  # the printed ratio is rounded to 3 decimals
                assert match["verdict"] == ("PASS" if ratio <= target else "MISS"), found[0]
            verdicts[label] = match["verdict"]

    for summary in ("SIGN: ", "VERIFY: ", "VERIFY + PARSE ANSWER: "):
        assert any(re.match(re.escape(summary) + "(PASS|MISS) -- ", line) for line in lines), (
            summary
        )
    assert any(line.startswith("KEYS: PrivateKey.load = ") for line in lines)
    # A miss always comes with the hot spots of the row that missed.
    if "MISS" in verdicts.values():
        assert any(line.startswith("hot spots (cProfile") for line in lines), completed.stdout
    else:
        assert not any(line.startswith("hot spots") for line in lines)
