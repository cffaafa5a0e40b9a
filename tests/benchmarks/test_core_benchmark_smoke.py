"""Smoke test of ``benchmarks/core.py``: it runs and reports what it should. Never a timing check.

The script runs in a subprocess: it imports ``cryptography`` (which warns on Python 3.8, and
pytest turns warnings into errors) and may run cProfile, which must not meet a profiler or
tracer already active in the test process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "core.py"

OPERATION_KEYS = {
    "signature",
    "window",
    "catalog",
    "transition",
    "plan",
    "decision_path",
    "step_begin",
    "step_unknown",
    "step_retry_due",
    "step_success",
    "full_path",
    "cheapest_path",
}


def _positive(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_json_run_reports_every_operation() -> None:
    completed = subprocess.run(  # noqa: S603 - our own script, run with this interpreter
        [sys.executable, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)

    assert report["quick"] is True
    assert report["rounds"] >= 1
    assert _positive(report["baseline_us"])
    assert _positive(report["decision_path_pct"])
    assert _positive(report["cheapest_path_pct"])
    assert _positive(report["use_case_path_pct"])
    assert report["target_pct"] == 2.0
    assert report["verdict"] in {"PASS", "MISS"}
    assert (report["verdict"] == "PASS") == (report["decision_path_pct"] < report["target_pct"])
    per_round = report["decision_path_pct_per_round"]
    assert _positive(per_round["min"])
    assert per_round["min"] <= per_round["max"]

    env = report["environment"]
    for key in ("python", "cryptography", "openssl", "paycancel", "cpu_count"):
        assert env[key], key

    operations = {op["key"]: op for op in report["operations"]}
    assert set(operations) == OPERATION_KEYS
    for key, op in operations.items():
        assert _positive(op["us_per_op"]), key
        assert _positive(op["pct_of_signature"]), key
        assert op["calls_per_round"] >= 1, key
        assert len(op["samples_us"]) == report["rounds"], key
        assert all(_positive(sample) for sample in op["samples_us"]), key
        assert op["min_us"] <= op["us_per_op"] <= op["max_us"], key
    assert math.isclose(operations["signature"]["pct_of_signature"], 100.0)

    hot_spots = report["hot_spots"]
    if report["verdict"] == "MISS":  # the profile is printed whenever the target is missed
        assert hot_spots, "a MISS must come with the hot spots"
        assert all(row["function"] and _positive(row["own_pct"]) for row in hot_spots)
    else:
        assert hot_spots is None  # --profile was not asked for
