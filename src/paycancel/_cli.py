"""The ``paycancel`` command line (stdlib ``argparse``).

Adapters add subcommands through the ``paycancel.cli`` entry-point group: each entry point names
a callable ``register(subparsers)`` that adds its parsers and sets ``func`` on them, a callable
``(args) -> int`` run with the parsed arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from typing import Any, Callable, Sequence

from ._catalog import interpret
from ._clock import SystemClock
from ._product import Api, Product, ResultStatus
from ._retry import default_retry_policy, plan_retries
from ._time import UTC, UTC8, isoformat, parse_iso
from ._window import WindowPolicy, builtin_window
from .cli import ENTRY_POINT_GROUP, CliParser, UsageError, configure_logging, emit
from .errors import PaycancelError

__all__ = ["main"]

_LAST_HOUR, _LAST_MINUTE = 23, 59
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


_UsageError = UsageError
_Parser = CliParser


def _zone(text: str) -> dt.tzinfo:
    if text.upper() in ("UTC", "Z"):
        return UTC
    match = _OFFSET.match(text.upper())
    if match:
        sign, hours, minutes = match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if delta > dt.timedelta(hours=14):
            raise _UsageError(f"--zone: offset out of range: {text!r}")
        offset = delta if sign == "+" else -delta
        return UTC8 if offset == dt.timedelta(hours=8) else dt.timezone(offset)
    try:
        if sys.version_info >= (3, 9):
            import zoneinfo
        else:  # pragma: no cover - exercised by the Python 3.8 CI run
            from backports import zoneinfo
        return zoneinfo.ZoneInfo(text)
    except (ValueError, KeyError, OSError) as exc:
        raise _UsageError(f"--zone: unknown zone {text!r} (use +HH:MM or an IANA name)") from exc


def _cutoff(text: str) -> dt.time:
    match = re.match(r"^(\d{1,2}):(\d{2})$", text)
    if not match or int(match.group(1)) > _LAST_HOUR or int(match.group(2)) > _LAST_MINUTE:
        raise _UsageError(f"--cutoff: expected HH:MM, got {text!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _window(args: argparse.Namespace, product: Product) -> WindowPolicy:
    custom = args.cutoff is not None or args.day_offset is not None or args.zone is not None
    if product is Product.ANTOM and args.cutoff is None:
        raise _UsageError(
            "--cutoff HH:MM is required for antom: its cancel window comes from your contract "
            "with the acquirer and has no default"
        )
    if not custom:
        return builtin_window(product)
    base = builtin_window(product) if product is not Product.ANTOM else None
    return WindowPolicy(
        cutoff=_cutoff(args.cutoff) if args.cutoff is not None else base.cutoff,  # type: ignore[union-attr]  # base exists when cutoff is omitted
        day_offset=args.day_offset if args.day_offset is not None else 1,
        zone=_zone(args.zone) if args.zone is not None else UTC8,
        name=f"{product.value}-custom",
    )


_emit = emit


def _cmd_window(args: argparse.Namespace) -> int:
    product = Product(args.product)
    window = _window(args, product)
    initiated = parse_iso(args.initiated_at, "--initiated-at")
    now = parse_iso(args.now, "--now") if args.now else SystemClock().now()
    until = window.cancellable_until(initiated)
    _emit(
        args,
        {
            "product": product.value,
            "initiated_at": isoformat(initiated),
            "cancellable_until": isoformat(until),
            "open": window.is_open(initiated, now),
            "seconds_left": window.seconds_left(initiated, now),
        },
    )
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    product = Product(args.product)
    reading = interpret(product, Api(args.api), ResultStatus(args.status), args.code)
    _emit(
        args,
        {
            "product": product.value,
            "status": reading.status.value,
            "code": reading.code,
            "known": reading.known,
            "outcome": reading.outcome.value,
            "action": reading.action.value,
            "retry": reading.retry,
            "message": reading.message,
        },
    )
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    product = Product(args.product)
    policy = default_retry_policy(product)
    window = _window(args, product)
    initiated = parse_iso(args.initiated_at, "--initiated-at")
    first = parse_iso(args.first_unknown_at, "--first-unknown-at")
    if first < initiated:
        raise _UsageError("--first-unknown-at is before --initiated-at")
    cutoff = window.cancellable_until(initiated)
    plan = plan_retries(policy=policy, first_unknown_at=first, cutoff=cutoff, jitter_key=args.key)
    zone = window.zone
    _emit(
        args,
        {
            "product": product.value,
            "first_unknown_at": isoformat(first),
            "cancellable_until": isoformat(cutoff),
            "attempts": [
                {"at": isoformat(a.at.astimezone(zone)), "phase": a.phase} for a in plan.attempts
            ],
            "attempts_after_cutoff": sum(1 for a in plan.attempts if a.after_cutoff),
            "then": plan.then.value,
            "escalate_to": policy.escalate_to,
            "policy": {
                "name": policy.name,
                "phases": "; ".join(
                    f"{p.name}: gaps {p.min_gap.total_seconds():g}-{p.max_gap.total_seconds():g} s"
                    + (
                        f", {p.attempts} attempts"
                        if p.attempts is not None
                        else f", within {p.within.total_seconds():g} s"  # type: ignore[union-attr]  # one of the two is set
                    )
                    for p in policy.phases
                ),
                "jitter_key": args.key,
            },
            "around_cutoff": plan.describe_cutoff(),
        },
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import logging

    from ._demo import run_demo

    # The demo's events go to stderr, and only with --verbose.
    configure_logging(logging.INFO if args.verbose else logging.CRITICAL)
    status: int = run_demo(json_output=args.json)
    return status


def _add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cutoff", help="local cut-off HH:MM (required for antom)")
    parser.add_argument("--day-offset", type=int, help="closes on T+N (default 1)")
    parser.add_argument("--zone", help="+HH:MM or an IANA zone (default UTC+08:00)")


def build_parser() -> argparse.ArgumentParser:
    """The parser, with the adapters' subcommands added from the entry-point group."""
    parser = _Parser(prog="paycancel", description="Payment cancellation for Alipay+ and Antom.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    products = [p.value for p in Product]

    window = sub.add_parser("window", help="until when a payment can be cancelled")
    window.add_argument("--product", required=True, choices=products)
    window.add_argument("--initiated-at", required=True, help="ISO 8601 with offset")
    window.add_argument("--now", help="ISO 8601 with offset (default: the system clock)")
    _add_window_options(window)
    window.add_argument("--json", action="store_true")
    window.set_defaults(func=_cmd_window)

    explain = sub.add_parser("explain", help="what a result code means and what to do")
    explain.add_argument("--product", required=True, choices=products)
    explain.add_argument("--status", required=True, choices=[s.value for s in ResultStatus])
    explain.add_argument("--code", required=True)
    explain.add_argument("--api", default=Api.CANCEL.value, choices=[a.value for a in Api])
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=_cmd_explain)

    plan = sub.add_parser("plan", help="the retry plan after a first unknown result")
    plan.add_argument("--product", required=True, choices=products)
    plan.add_argument("--initiated-at", required=True, help="ISO 8601 with offset")
    plan.add_argument("--first-unknown-at", required=True, help="ISO 8601 with offset")
    plan.add_argument("--key", default="", help="jitter key (the payment request id)")
    _add_window_options(plan)
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=_cmd_plan)

    demo = sub.add_parser("demo", help="run sample payments of all three roles through the core")
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--verbose", action="store_true", help="log every event to stderr")
    demo.set_defaults(func=_cmd_demo)

    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[Any], None]]:
    from importlib import metadata

    found: Sequence[Any]
    eps = metadata.entry_points()
    if hasattr(eps, "select"):
        found = list(eps.select(group=ENTRY_POINT_GROUP))
    else:  # pragma: no cover - Python 3.8/3.9 return a dict
        found = list(eps.get(ENTRY_POINT_GROUP, ()))
    loaded = []
    for entry in sorted(found, key=lambda e: e.name):
        try:
            loaded.append(entry.load())
        except Exception as exc:
            print(f"paycancel: warning: cannot load {entry.name!r}: {exc}", file=sys.stderr)
    return loaded


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:  # argparse keeps its subcommands there, and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []  # pragma: no cover - build_parser always adds subcommands


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        commands = ", ".join(sorted(_command_names(parser)))
        print(f"paycancel: error: choose a command: {commands} (see paycancel --help)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        status: int = args.func(args)
    except (_UsageError, PaycancelError) as exc:
        print(f"paycancel {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OverflowError:
        print(f"paycancel {args.command}: error: a date falls outside the supported range "
              "(years 1 to 9999)", file=sys.stderr)  # fmt: skip
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
