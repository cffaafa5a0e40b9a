"""paycancel-antom: cancel Antom payments (``POST /ams/api/v1/payments/cancel``, S2 and S4).

:class:`AntomCancelGateway` and :class:`AsyncAntomCancelGateway` implement the core's cancel
port; run them through :class:`paycancel.SyncDriver` / :class:`paycancel.AsyncDriver` with
``CancelConfig.for_product(Product.ANTOM, window=<your contract's window>)``. The local gateway
for tests is in :mod:`paycancel_antom.testing`.
"""

from __future__ import annotations

from ._codec import (
    MAX_MERCHANT_ACCOUNT_ID_LENGTH,
    cancel_body,
    check_merchant_account_id,
    read_cancel_answer,
)
from ._gateway import CANCEL_TIMEOUT, AntomCancelGateway, AsyncAntomCancelGateway
from ._hosts import (
    CANCEL_PATH,
    EUROPE,
    NORTH_AMERICA,
    SANDBOX_CANCEL_PATH,
    SANDBOX_PREFIX,
    SOUTHEAST_ASIA,
    UNITED_STATES,
    cancel_path,
)

__all__ = [
    "CANCEL_PATH",
    "CANCEL_TIMEOUT",
    "EUROPE",
    "MAX_MERCHANT_ACCOUNT_ID_LENGTH",
    "NORTH_AMERICA",
    "SANDBOX_CANCEL_PATH",
    "SANDBOX_PREFIX",
    "SOUTHEAST_ASIA",
    "UNITED_STATES",
    "AntomCancelGateway",
    "AsyncAntomCancelGateway",
    "cancel_body",
    "cancel_path",
    "check_merchant_account_id",
    "read_cancel_answer",
]
