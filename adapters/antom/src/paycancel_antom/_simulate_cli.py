"""``paycancel simulate antom``: run the local Antom gateway until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import signal
import sys
import threading
from typing import Any

import structlog

from paycancel import UTC8, WindowPolicy
from paycancel.cli import UsageError, command_group
from paycancel_wire import KeyRing, PrivateKey, PublicKey

__all__ = ["register_simulate", "run_simulate"]

_CUTOFF = re.compile(r"^(\d{1,2}):(\d{2})$")
_LAST_HOUR, _LAST_MINUTE, _MAX_PORT, _MAX_DAY_OFFSET = 23, 59, 65535, 366


def register_simulate(subparsers: Any) -> None:
    """Add ``simulate antom`` under the shared ``simulate`` group."""
    group = command_group(subparsers, "simulate", help="run a local simulator of a platform")
    antom = group.add_parser(
        "antom",
        help="a local Antom gateway (the cancel API) for tests and demos",
        description="Serve Antom's cancel API (POST /ams/api/v1/payments/cancel and the sandbox "
        "path) on this machine until interrupted. Requests are verified with the merchant's "
        "public key, answers signed with the given Antom private key. The official Antom SDK "
        "connects to port 443 with TLS: use --port 443 with --tls-cert/--tls-key and trust "
        "the certificate (SSL_CERT_FILE).",
    )
    antom.add_argument("--port", type=int, required=True, help="port to listen on (0: any)")
    antom.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    antom.add_argument("--tls-cert", help="certificate PEM (with --tls-key): serve HTTPS")
    antom.add_argument("--tls-key", help="its private key PEM (with --tls-cert)")
    antom.add_argument(
        "--antom-private-key", required=True, help="the key the answers are signed with"
    )
    antom.add_argument(
        "--merchant-public-key", required=True, help="the merchant's public key (verifies requests)"
    )
    antom.add_argument("--client-id", required=True, help="the merchant's client id")
    antom.add_argument(
        "--payments",
        help="JSON list of payments: paymentId, paymentRequestId, state "
        "(unpaid|paid|refunded|captured|cancelled), initiatedAt, optional clientId, cancelTime",
    )
    antom.add_argument("--cutoff", help="cancel window cut-off HH:MM, UTC+8 (default: no window)")
    antom.add_argument(
        "--day-offset", type=int, help="the window closes on T+N at the cut-off (default 1)"
    )
    antom.set_defaults(func=run_simulate)


def _window(args: argparse.Namespace) -> WindowPolicy | None:
    if args.cutoff is None:
        if args.day_offset is not None:
            raise UsageError("--day-offset needs --cutoff")
        return None
    match = _CUTOFF.match(args.cutoff)
    if not match or int(match.group(1)) > _LAST_HOUR or int(match.group(2)) > _LAST_MINUTE:
        raise UsageError(f"--cutoff: expected HH:MM, got {args.cutoff!r}")
    day_offset = 1 if args.day_offset is None else args.day_offset
    if not 0 <= day_offset <= _MAX_DAY_OFFSET:
        raise UsageError(f"--day-offset: expected 0 to {_MAX_DAY_OFFSET}, got {day_offset}")
    return WindowPolicy(
        cutoff=dt.time(int(match.group(1)), int(match.group(2))),
        day_offset=day_offset,
        zone=UTC8,
        name="antom-simulator",
    )


def _check(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= _MAX_PORT:
        raise UsageError(f"--port: expected 0 to {_MAX_PORT}, got {args.port}")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together (give both or neither)")
    if not args.client_id:
        raise UsageError("--client-id must not be empty")


def run_simulate(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Run ``paycancel simulate antom``: serve until SIGINT/SIGTERM (or ``stop`` is set, for
    tests), then stop cleanly. Prints one line with the URL when serving.

    Raises:
        UsageError: bad arguments.
        PaycancelError: a key, certificate or payments file that cannot be used.
    """
    from paycancel_antom.testing import LocalAntomGateway, load_payments, tls_context

    _check(args)
    window = _window(args)
    antom_key = PrivateKey.from_file(args.antom_private_key)
    ring = KeyRing()
    ring.add(args.client_id, PublicKey.from_file(args.merchant_public_key))
    payments = [] if args.payments is None else load_payments(args.payments)
    tls = None if args.tls_cert is None else tls_context(args.tls_cert, args.tls_key)
    # An application may configure structlog (the library never does): one event per request
    # on stderr, while stdout carries only the URL line.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    gateway = LocalAntomGateway(
        antom_private_key=antom_key,
        merchant_keys=ring,
        window=window,
        host=args.host,
        port=args.port,
        tls=tls,
    )
    for payment in payments:
        gateway.add_payment(payment)
    done = stop if stop is not None else threading.Event()
    previous = _install_handlers(done)
    try:
        try:
            gateway.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        print(f"paycancel simulate antom: listening on {gateway.url}", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        gateway.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _install_handlers(done: threading.Event) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``done`` (only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(_signum: int, _frame: Any) -> None:
        done.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, on_signal)
    return previous
