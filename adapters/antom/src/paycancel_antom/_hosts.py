"""Antom's regional gateways and the cancel path (PROTOCOL.md section 1)."""

from __future__ import annotations

__all__ = [
    "CANCEL_PATH",
    "EUROPE",
    "NORTH_AMERICA",
    "SANDBOX_CANCEL_PATH",
    "SANDBOX_PREFIX",
    "SOUTHEAST_ASIA",
    "UNITED_STATES",
    "cancel_path",
]

#: Asia (the default region).
SOUTHEAST_ASIA = "https://open-sea-global.alipay.com"
#: North America.
NORTH_AMERICA = "https://open-na-global.alipay.com"
#: Europe.
EUROPE = "https://open-de-global.alipay.com"
#: Merchants contracted with Antom in the United States.
UNITED_STATES = "https://open.antglobal-us.com"

CANCEL_PATH = "/ams/api/v1/payments/cancel"
SANDBOX_CANCEL_PATH = "/ams/sandbox/api/v1/payments/cancel"
#: A client id with this prefix belongs to the sandbox, whose paths read ``/ams/sandbox/api``.
SANDBOX_PREFIX = "SANDBOX_"


def cancel_path(client_id: str) -> str:
    """The cancel path for ``client_id``: the sandbox path for ``SANDBOX_`` ids (and that
    rewritten path is the one signed)."""
    return SANDBOX_CANCEL_PATH if client_id.startswith(SANDBOX_PREFIX) else CANCEL_PATH
