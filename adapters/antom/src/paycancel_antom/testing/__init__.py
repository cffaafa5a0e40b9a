"""A local Antom gateway for tests: a real HTTP(S) server on loopback speaking the cancel API.

It verifies requests as Antom does, answers with signed envelopes (lowercase headers, HTTP 200),
keeps payments with their states (S4) and plays scripted faults: unknown results, throttling,
dropped and slow answers, unsigned failures, wrong signatures. The official Antom Python SDK works
against it unmodified; ``paycancel simulate antom`` runs it from the command line.

Example::

    from paycancel_antom.testing import AntomPayment, LocalAntomGateway, PaymentState

    with LocalAntomGateway(antom_private_key=antom_key, merchant_keys=ring) as gateway:
        gateway.add_payment(AntomPayment("P1", "R1", PaymentState.PAID, initiated_at))
        ...  # cancel through gateway.url, then look at gateway.payment(payment_id="P1")
"""

from __future__ import annotations

from ._faults import (
    DropAnswer,
    Fault,
    SlowAnswer,
    Throttle,
    UnknownStreak,
    UnsignedFailure,
    WrongSignature,
)
from ._payments import AntomPayment, PaymentsFileError, PaymentState, load_payments
from ._server import CANCEL_PATHS, LocalAntomGateway, ReceivedRequest
from ._tls import (
    CERT_FILE_NAME,
    KEY_FILE_NAME,
    TlsSetupError,
    self_signed_certificate,
    tls_context,
)

__all__ = [
    "CANCEL_PATHS",
    "CERT_FILE_NAME",
    "KEY_FILE_NAME",
    "AntomPayment",
    "DropAnswer",
    "Fault",
    "LocalAntomGateway",
    "PaymentState",
    "PaymentsFileError",
    "ReceivedRequest",
    "SlowAnswer",
    "Throttle",
    "TlsSetupError",
    "UnknownStreak",
    "UnsignedFailure",
    "WrongSignature",
    "load_payments",
    "self_signed_certificate",
    "tls_context",
]
