"""``paycancel antom cancel`` and ``paycancel simulate antom`` (entry point ``paycancel.cli``).

``antom cancel`` runs the real use case: the core's Antom flow through
:class:`~paycancel.SyncDriver`, with :class:`AntomCancelGateway` over ``httpx`` and the retry plan
run in real time (unknown results are resent on the planned schedule unless ``--no-retry``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import ssl
import sys
import time
from pathlib import Path
from typing import Any, Callable

import httpx

from paycancel import (
    Api,
    CancelConfig,
    Cancellation,
    CancellationState,
    InMemoryCancellationStore,
    InMemoryScheduler,
    PaymentId,
    PaymentOrder,
    PaymentRequestId,
    Product,
    ResultStatus,
    SyncDriver,
    SystemClock,
    WindowPolicy,
    interpret,
)
from paycancel.cli import CliParser, UsageError, configure_logging, emit
from paycancel.typing import Clock
from paycancel_wire import PrivateKey, PublicKey

from ._gateway import AntomCancelGateway
from ._simulate_cli import register_simulate

__all__ = ["register", "run_cancel"]

#: The CLI knows neither when the payment was initiated nor your contract's window; Antom
#: enforces the window and answers CANCEL_WINDOW_EXCEED, so the local check is left open for
#: longer than any retry plan (two days from now).
_CLI_WINDOW = WindowPolicy(
    cutoff=dt.time(0, 0), day_offset=2, name="antom-cli (the contract window is enforced by Antom)"
)

Sleep = Callable[[float], None]


def register(subparsers: Any) -> None:
    """Add ``antom cancel`` and ``simulate antom`` to the ``paycancel`` CLI."""
    antom = subparsers.add_parser("antom", help="Antom merchant commands")
    commands = antom.add_subparsers(dest="antom_command", metavar="COMMAND", parser_class=CliParser)
    cancel = commands.add_parser(
        "cancel",
        help="cancel an Antom payment, retrying unknown results on the planned schedule",
        description="Cancel an Antom payment (POST /ams/api/v1/payments/cancel). Exit status: "
        "0 cancelled, 1 failed or unresolved, 2 bad arguments.",
    )
    cancel.add_argument("--gateway", required=True, help="Antom gateway URL (https://...)")
    cancel.add_argument("--client-id", required=True, help="your client id (SANDBOX_... = sandbox)")
    cancel.add_argument("--private-key", required=True, help="your private key file (PEM/base64)")
    cancel.add_argument("--antom-public-key", required=True, help="Antom's public key file")
    ids = cancel.add_mutually_exclusive_group(required=True)
    ids.add_argument("--payment-id", help="Antom's paymentId")
    ids.add_argument("--payment-request-id", help="your paymentRequestId")
    cancel.add_argument("--merchant-account-id", help="merchantAccountId (<= 32 characters)")
    cancel.add_argument(
        "--no-retry", action="store_true", help="send once; an unknown result exits 1"
    )
    cancel.add_argument("--ca-file", help="trust this CA certificate file (a local gateway)")
    cancel.add_argument("--json", action="store_true", help="print JSON")
    cancel.add_argument("--verbose", action="store_true", help="log every event to stderr")
    cancel.set_defaults(func=_cancel_command)
    register_simulate(subparsers)


def _client(ca_file: str | None) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if ca_file is not None:
        if not Path(ca_file).is_file():
            raise UsageError(f"--ca-file: no such file: {ca_file}")
        try:
            verify = ssl.create_default_context(cafile=ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise UsageError(f"--ca-file: not a PEM certificate file: {ca_file} ({exc})") from None
    return httpx.Client(verify=verify)


def _order(args: argparse.Namespace, now: dt.datetime) -> PaymentOrder:
    return PaymentOrder(
        product=Product.ANTOM,
        amount=None,
        initiated_at=now,
        payment_id=None if args.payment_id is None else PaymentId(args.payment_id),
        payment_request_id=(
            None if args.payment_request_id is None else PaymentRequestId(args.payment_request_id)
        ),
    )


def _progress(record: Cancellation, clock: Clock) -> None:
    last = record.attempts[-1] if record.attempts else None
    if last is None or record.next_attempt_at is None:
        return
    seen = last.code if last.status is not None else (last.transport or "no answer")
    wait = max(0.0, (record.next_attempt_at - clock.now()).total_seconds())
    print(
        f"paycancel antom cancel: attempt {last.number}: "
        f"{'U' if last.status is None else last.status.value} {seen}; "
        f"next attempt at {record.next_attempt_at.isoformat(timespec='seconds')} "
        f"(in {wait:.0f} s)",
        file=sys.stderr,
        flush=True,
    )


def _report(record: Cancellation) -> dict[str, Any]:
    attempts = record.attempts
    last = attempts[-1] if attempts else None
    status = "U" if last is None or last.status is None else last.status.value
    code = None if last is None else last.code
    reading = interpret(
        Product.ANTOM, Api.CANCEL, ResultStatus(status), code or "UNKNOWN_EXCEPTION"
    )
    payload: dict[str, Any] = {
        "result_status": status,
        "result_code": code,
        "outcome": reading.outcome.value,
        "action": (record.action or reading.action).value,
        "attempts": len(attempts),
        "state": record.state.value,
    }
    if last is not None and last.status is None:
        payload["transport"] = last.transport
    if record.state is CancellationState.CANCELLED:
        order = record.order
        assert order is not None
        payload["payment_id"] = None if order.payment_id is None else order.payment_id.value
        payload["payment_request_id"] = (
            None if order.payment_request_id is None else order.payment_request_id.value
        )
        payload["cancel_time"] = (
            None if record.cancelled_at is None else record.cancelled_at.isoformat()
        )
    if record.warnings:
        payload["warnings"] = list(record.warnings)
    return payload


def _cancel_command(args: argparse.Namespace) -> int:
    # Results on stdout; warnings (or every event with --verbose) on stderr.
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    return run_cancel(args)


def run_cancel(
    args: argparse.Namespace, *, clock: Clock | None = None, sleep: Sleep = time.sleep
) -> int:
    """Run ``paycancel antom cancel``; ``clock`` and ``sleep`` are for tests (a fake clock)."""
    clock = clock if clock is not None else SystemClock()
    private_key = PrivateKey.from_file(args.private_key)
    antom_key = PublicKey.from_file(args.antom_public_key)
    order = _order(args, clock.now())
    store = InMemoryCancellationStore()
    scheduler = InMemoryScheduler()
    with _client(args.ca_file) as client:
        gateway = AntomCancelGateway(
            client=client,
            client_id=args.client_id,
            private_key=private_key,
            antom_public_key=antom_key,
            base_url=args.gateway,
            merchant_account_id=args.merchant_account_id,
            clock=clock,
        )
        driver = SyncDriver(
            config=CancelConfig.for_product(Product.ANTOM, window=_CLI_WINDOW),
            store=store,
            clock=clock,
            cancel_gateway=gateway,
            scheduler=scheduler,
        )
        record = driver.cancel(order, reason="paycancel antom cancel")
        try:
            while not args.no_retry and not record.terminal:
                due = scheduler.next_due()
                if due is None:
                    break
                _progress(record, clock)
                wait = (due - clock.now()).total_seconds()
                if wait > 0:
                    sleep(wait)
                driver.run_due()
                stored = store.get(key=order.key)
                assert stored is not None
                record = stored
        except KeyboardInterrupt:
            print("paycancel antom cancel: interrupted; the cancel is unresolved",
                  file=sys.stderr)  # fmt: skip
    emit(args, _report(record))
    return 0 if record.state is CancellationState.CANCELLED else 1
