"""The ``paycancel`` CLI: names, JSON keys and exit statuses are part of the contract."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
import structlog

from paycancel._cli import main


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """``paycancel demo`` configures structlog, as an application may; undo it afterwards."""
    yield
    structlog.reset_defaults()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def test_window_acqp_builtin_is_0015_utc8_on_t_plus_1_s0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(
        capsys, "window", "--product", "alipayplus-acqp",
        "--initiated-at", "2026-11-21T15:59:59Z", "--now", "2026-11-22T00:10:00+08:00",
    )  # fmt: skip
    assert data == {
        "product": "alipayplus-acqp",
        "initiated_at": "2026-11-21T15:59:59+00:00",
        "cancellable_until": "2026-11-22T00:15:00+08:00",
        "open": True,
        "seconds_left": 300,
    }


def test_window_mpp_builtin_is_0030_and_closed_after_s3(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "window", "--product", "alipayplus-mpp",
        "--initiated-at", "2026-11-21T23:59:00+08:00", "--now", "2026-11-22T00:30:00+08:00",
    )  # fmt: skip
    assert data["cancellable_until"] == "2026-11-22T00:30:00+08:00"
    assert data["open"] is False  # the end is exclusive
    assert data["seconds_left"] == 0


def test_window_antom_without_cutoff_is_exit_2_with_one_line_s4(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(
        capsys, "window", "--product", "antom", "--initiated-at", "2026-11-21T10:00:00Z"
    )
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--cutoff" in err
    assert "Traceback" not in err


def test_window_antom_contract_in_a_named_zone(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "window", "--product", "antom", "--initiated-at", "2026-11-21T10:00:00Z",
        "--cutoff", "23:00", "--day-offset", "2", "--zone", "Europe/Berlin",
        "--now", "2026-11-21T10:00:00Z",
    )  # fmt: skip
    assert data["cancellable_until"] == "2026-11-23T23:00:00+01:00"
    assert data["seconds_left"] == int(
        (
            dt.datetime(2026, 11, 23, 22, 0, tzinfo=dt.timezone.utc)
            - dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.timezone.utc)
        ).total_seconds()
    )


def test_window_text_output_lists_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "window", "--product", "alipayplus-acqp",
        "--initiated-at", "2026-11-21T12:00:00+08:00", "--now", "2026-11-22T01:00:00+08:00",
    )  # fmt: skip
    assert status == 0
    assert "cancellable_until: 2026-11-22T00:15:00+08:00" in out
    assert "open: false" in out
    assert "seconds_left: 0" in out


def test_explain_known_and_unknown_codes(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "explain", "--product", "alipayplus-acqp", "--status", "F",
        "--code", "CANCEL_WINDOW_EXCEED",
    )  # fmt: skip
    assert set(data) == {
        "product", "status", "code", "known", "outcome", "action", "retry", "message"
    }  # fmt: skip
    assert {k: data[k] for k in ("product", "status", "code", "known", "outcome", "action")} == {
        "product": "alipayplus-acqp",
        "status": "F",
        "code": "CANCEL_WINDOW_EXCEED",
        "known": True,
        "outcome": "failed",
        "action": "refund_instead",
    }
    assert data["retry"] is False
    assert data["message"]
    unknown = run_json(capsys, "explain", "--product", "antom", "--status", "S", "--code", "ODD")
    assert unknown["known"] is False
    assert unknown["outcome"] != "succeeded"  # never a silent success
    assert unknown["action"] == "manual_review"


def test_plan_acqp_json_shape_and_schedule_s0(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "plan", "--product", "alipayplus-acqp",
        "--initiated-at", "2026-11-21T23:50:00+08:00",
        "--first-unknown-at", "2026-11-22T00:10:00+08:00",
    )  # fmt: skip
    assert data["then"] == "escalate"
    assert data["policy"]["name"] == "alipayplus-acqp-s0"
    assert "CANCEL_WINDOW_EXCEED" in data["around_cutoff"]
    times = [dt.datetime.fromisoformat(a["at"]) for a in data["attempts"]]
    assert all(a["at"].endswith("+08:00") for a in data["attempts"])
    assert times == sorted(times)
    slow = [a for a in data["attempts"] if a["phase"] == "every_5_minutes"]
    assert len(slow) == 10
    first = dt.datetime(2026, 11, 22, 0, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert all(t - first <= dt.timedelta(seconds=60) for t, a in zip(times, data["attempts"])
               if a["phase"] == "first_minute")  # fmt: skip
    cutoff = dt.datetime.fromisoformat(data["cancellable_until"])
    assert all(set(a) == {"at", "phase"} for a in data["attempts"])
    assert data["attempts_after_cutoff"] == sum(1 for t in times if t >= cutoff)


@pytest.mark.parametrize(
    "argv",
    [
        ["window", "--product", "nope", "--initiated-at", "2026-11-21T10:00:00Z"],
        ["window", "--product", "antom"],
        ["window", "--product", "alipayplus-acqp", "--initiated-at", "2026-11-21T10:00:00"],
        ["window", "--product", "alipayplus-acqp", "--initiated-at", "yesterday"],
        ["window", "--product", "antom", "--initiated-at", "2026-11-21T10:00:00Z",
         "--cutoff", "25:00"],
        ["window", "--product", "antom", "--initiated-at", "2026-11-21T10:00:00Z",
         "--cutoff", "23:00", "--zone", "Mars/Olympus"],
        ["explain", "--product", "antom", "--status", "X", "--code", "SUCCESS"],
        ["plan", "--product", "alipayplus-mpp", "--initiated-at", "2026-11-21T10:00:00Z",
         "--first-unknown-at", "2026-11-21T10:00:05Z"],
        ["plan", "--product", "alipayplus-acqp", "--initiated-at", "2026-11-21T10:00:00Z",
         "--first-unknown-at", "2026-11-21T09:00:00Z"],
        ["window", "--product", "alipayplus-acqp", "--initiated-at", "9999-12-31T23:00:00+08:00"],
        ["plan", "--product", "alipayplus-acqp", "--initiated-at", "9999-12-31T23:00:00+08:00",
         "--first-unknown-at", "9999-12-31T23:50:00+08:00"],
        ["no-such-command"],
        [],
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_clear_line(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse exits for its own errors
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0]
    assert "Traceback" not in err


def test_demo_runs_all_three_roles(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "demo")
    assert {"windows", "decisions", "plan", "acqp", "mpp", "antom"} <= set(report)
    acqp = {row["payment"]: row for row in report["acqp"]}
    assert acqp["acqp-after-cutoff"]["state"] == "refunded"
    assert acqp["acqp-never-resolves"]["state"] == "escalated"
    assert acqp["acqp-u-streak"]["notes"] == "late success recorded"
    mpp = {row["payment"]: row for row in report["mpp"]}
    assert mpp["mpp-in-process"]["answers"].split() == [
        "U/UNKNOWN_EXCEPTION",
        "S/SUCCESS",
        "S/SUCCESS",
    ]
    assert mpp["mpp-paid"]["reversed"] == 8800
    assert mpp["mpp-not-seen-yet"]["later_payment_allowed"] is False
    antom = {row["payment"]: row["state"] for row in report["antom"]}
    assert antom["antom-card-captured"] == "refund_required"
    assert antom["antom-refunded"] == "failed"


def test_demo_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "demo")
    assert status == 0
    for title in ("Cancel windows", "Alipay+ ACQP", "Alipay+ MPP", "Antom"):
        assert title in out


def test_adapters_add_subcommands_through_the_entry_point_group(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution registering ``paycancel.cli`` gets its subcommand into ``paycancel``."""
    (tmp_path / "paycancel_fakeplugin.py").write_text(
        textwrap.dedent(
            """
            def register(subparsers):
                parser = subparsers.add_parser("hello", help="a plugin command")
                parser.add_argument("--name", required=True)
                parser.set_defaults(func=lambda args: print("hello " + args.name) or 0)
            """
        )
    )
    dist = tmp_path / "paycancel_fakeplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: paycancel-fakeplugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[paycancel.cli]\nhello = paycancel_fakeplugin:register\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out, _ = run(capsys, "hello", "--name", "wallet")
    assert status == 0
    assert out.strip() == "hello wallet"
