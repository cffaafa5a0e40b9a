"""Result codes as data: ``(product, api, status, code) -> outcome, action``.

The rows come from the seed documents; ``source`` names the seed each row is taken from. A code
that is not in the table inherits the behaviour of its status: ``U`` retries the same request,
``F`` goes to manual review, and an unknown ``S`` code is never taken as a silent success.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from typing import Iterator

import attrs

from ._product import Api, Product, ResultStatus

__all__ = [
    "CATALOG",
    "CATALOG_VERSION",
    "Action",
    "CodeRule",
    "Interpretation",
    "Outcome",
    "interpret",
]


class Outcome(str, enum.Enum):
    """What a result means for the thing asked for."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


class Action(str, enum.Enum):
    """The one vocabulary of next steps, shared by every product."""

    MARK_CANCELLED = "mark_cancelled"
    RETRY_SAME_REQUEST = "retry_same_request"
    REFUND_INSTEAD = "refund_instead"
    FIX_REQUEST = "fix_request"
    FIX_CREDENTIALS = "fix_credentials"
    RETRY_LATER = "retry_later"
    CONTACT_SUPPORT = "contact_support"
    MANUAL_REVIEW = "manual_review"
    DO_NOT_RETRY = "do_not_retry"

    def __str__(self) -> str:
        return self.value

    @property
    def retry(self) -> bool:
        """Whether the same request may be sent again (now, or later for ``retry_later``)."""
        return self in (Action.RETRY_SAME_REQUEST, Action.RETRY_LATER)


@attrs.frozen
class CodeRule:
    """One row of a result-code catalog."""

    product: Product
    api: Api
    status: ResultStatus
    code: str
    outcome: Outcome
    action: Action
    message: str
    source: str


@attrs.frozen
class Interpretation:
    """What paycancel makes of one ``(status, code)`` answer.

    Attributes:
        known: the pair is in the catalog; ``False`` when it was inherited from the status.
        retry: whether the same request may be sent again.
        rule: a stable id of the row or inheritance rule applied, for decision records.
    """

    product: Product
    api: Api
    status: ResultStatus
    code: str
    known: bool
    outcome: Outcome
    action: Action
    message: str
    source: str

    @property
    def retry(self) -> bool:
        return self.action.retry

    @property
    def rule(self) -> str:
        kind = "code" if self.known else "inherited"
        return f"{self.product.value}.{self.api.value}.{self.status.value}.{self.code}:{kind}"


_S = ResultStatus.SUCCEEDED
_F = ResultStatus.FAILED
_U = ResultStatus.UNKNOWN
_OK = Outcome.SUCCEEDED
_NO = Outcome.FAILED
_UNK = Outcome.UNKNOWN
_A = Action

_ACQP = Product.ALIPAYPLUS_ACQP
_MPP = Product.ALIPAYPLUS_MPP
_ANTOM = Product.ANTOM

# The Alipay+ envelope errors (S1's table) answer every Alipay+ API alike; S0 points the ACQP to
# the cancelPayment reference for them, so they are listed for the ACQP's cancel too.
_ALIPAYPLUS_COMMON: tuple[tuple[str, Action, str], ...] = (
    ("ACCESS_DENIED", _A.CONTACT_SUPPORT, "Access is denied."),
    ("INVALID_CLIENT", _A.FIX_CREDENTIALS, "The client is invalid."),
    ("INVALID_SIGNATURE", _A.FIX_CREDENTIALS, "The signature is invalid."),
    ("KEY_NOT_FOUND", _A.FIX_CREDENTIALS, "The key is not found."),
    (
        "MEDIA_TYPE_NOT_ACCEPTABLE",
        _A.FIX_REQUEST,
        "The server does not implement the media type that is acceptable to the client.",
    ),
    (
        "METHOD_NOT_SUPPORTED",
        _A.FIX_REQUEST,
        "The server does not implement the requested HTTPS method.",
    ),
    ("NO_INTERFACE_DEF", _A.FIX_REQUEST, "API is not defined."),
    (
        "PARAM_ILLEGAL",
        _A.FIX_REQUEST,
        "Illegal parameters. For example, non-numeric input, invalid date.",
    ),
    ("PROCESS_FAIL", _A.DO_NOT_RETRY, "A general business failure occurred. Do not retry."),
)

_ALIPAYPLUS_UNKNOWN: tuple[tuple[str, str], ...] = (
    ("REQUEST_TRAFFIC_EXCEED_LIMIT", "The request traffic exceeds the limit."),
    ("UNKNOWN_EXCEPTION", "An API call failed, which is caused by unknown reasons."),
)


def _rows() -> Iterator[CodeRule]:
    # --- Alipay+ ACQP cancelPayment (S0) ----------------------------------------------------
    yield CodeRule(
        _ACQP, Api.CANCEL, _S, "SUCCESS", _OK, _A.MARK_CANCELLED,
        "Cancellation succeeds; the merchant can reinitiate a payment request.", "S0",
    )  # fmt: skip
    yield CodeRule(
        _ACQP, Api.CANCEL, _F, "CANCEL_WINDOW_EXCEED", _NO, _A.REFUND_INSTEAD,
        "Past 00:15 UTC+8 on T+1: call refund for the full amount instead.", "S0",
    )  # fmt: skip
    for code, action, message in _ALIPAYPLUS_COMMON:
        source = "S0" if code in ("ACCESS_DENIED", "KEY_NOT_FOUND") else "S0 via S1"
        yield CodeRule(_ACQP, Api.CANCEL, _F, code, _NO, action, message, source)
    for code, message in _ALIPAYPLUS_UNKNOWN:
        yield CodeRule(
            _ACQP, Api.CANCEL, _U, code, _UNK, _A.RETRY_SAME_REQUEST,
            message + " Resend with the same parameters on the mandated schedule.", "S0",
        )  # fmt: skip

    # --- Alipay+ ACQP: the results that decide *when* to cancel (S0) -------------------------
    yield CodeRule(
        _ACQP, Api.INQUIRY, _S, "SUCCESS", _OK, _A.DO_NOT_RETRY,
        "The inquiry worked; read paymentResult.", "S0",
    )  # fmt: skip
    yield CodeRule(
        _ACQP, Api.INQUIRY, _F, "ORDER_NOT_EXIST", _UNK, _A.RETRY_SAME_REQUEST,
        "Alipay+ does not know the order yet: keep inquiring until expiry, then cancel "
        "(scenario 2).", "S0",
    )  # fmt: skip
    for code, message in _ALIPAYPLUS_UNKNOWN:
        yield CodeRule(
            _ACQP, Api.INQUIRY, _U, code, _UNK, _A.RETRY_SAME_REQUEST,
            message + " Keep inquiring until expiry, then cancel (scenario 1).", "S0",
        )  # fmt: skip
    yield CodeRule(
        _ACQP, Api.PAYMENT_RESULT, _S, "SUCCESS", _OK, _A.DO_NOT_RETRY,
        "The payment succeeded; nothing to cancel unless the merchant closes it.", "S0",
    )  # fmt: skip
    yield CodeRule(
        _ACQP, Api.PAYMENT_RESULT, _F, "ORDER_IS_CLOSED", _NO, _A.DO_NOT_RETRY,
        "The payment is closed or cancelled (a cancelled success reads F/ORDER_IS_CLOSED).", "S0",
    )  # fmt: skip
    yield CodeRule(
        _ACQP, Api.PAYMENT_RESULT, _U, "PAYMENT_IN_PROCESS", _UNK, _A.RETRY_SAME_REQUEST,
        "The payment is in process: keep inquiring until expiry, then cancel (scenario 1).", "S0",
    )  # fmt: skip

    # --- Alipay+ ACQP refund, the fallback after CANCEL_WINDOW_EXCEED (S0) --------------------
    yield CodeRule(
        _ACQP, Api.REFUND, _S, "SUCCESS", _OK, _A.DO_NOT_RETRY,
        "The full amount is refunded.", "S0",
    )  # fmt: skip
    for code, message in _ALIPAYPLUS_UNKNOWN:
        yield CodeRule(
            _ACQP, Api.REFUND, _U, code, _UNK, _A.RETRY_SAME_REQUEST,
            message + " Resend with the same refundRequestId.", "S0",
        )  # fmt: skip

    # --- Alipay+ MPP cancelPayment, as the wallet answers it (S1, S3) -------------------------
    yield CodeRule(
        _MPP, Api.CANCEL, _S, "SUCCESS", _OK, _A.MARK_CANCELLED,
        "Success: the cancel succeeded whatever the payment status; funds go back.", "S1",
    )  # fmt: skip
    yield CodeRule(
        _MPP, Api.CANCEL, _F, "CANCEL_WINDOW_EXCEED", _NO, _A.DO_NOT_RETRY,
        "Exceed Cancel window (past 00:30 UTC+8 on T+1).", "S1",
    )  # fmt: skip
    for code, action, message in _ALIPAYPLUS_COMMON:
        yield CodeRule(_MPP, Api.CANCEL, _F, code, _NO, action, message, "S1")
    for code, message in _ALIPAYPLUS_UNKNOWN:
        yield CodeRule(
            _MPP, Api.CANCEL, _U, code, _UNK, _A.RETRY_SAME_REQUEST,
            message + " Alipay+ retries the same request.", "S1",
        )  # fmt: skip

    # --- Antom cancel (S2, S4) ----------------------------------------------------------------
    antom: tuple[tuple[ResultStatus, str, Outcome, Action, str], ...] = (
        (_S, "SUCCESS", _OK, _A.MARK_CANCELLED,
         ("The order is canceled. A buyer who had not yet submitted the payment may still "
          "complete it (S4).")),
        (_F, "ACCESS_DENIED", _NO, _A.CONTACT_SUPPORT,
         "Access is denied. Contact Antom technical support."),
        (_F, "INVALID_API", _NO, _A.CONTACT_SUPPORT,
         "The called API is invalid or not active. Contact Antom technical support."),
        (_F, "CANCEL_WINDOW_EXCEED", _NO, _A.DO_NOT_RETRY,
         "Past the cancellable period agreed in the contract; it cannot be canceled any more."),
        (_F, "KEY_NOT_FOUND", _NO, _A.FIX_CREDENTIALS,
         "The private or public key is not found: check and upload it."),
        (_F, "MERCHANT_BALANCE_NOT_ENOUGH", _NO, _A.RETRY_LATER,
         "The merchant balance is insufficient: call again once it is funded."),
        (_F, "NO_INTERFACE_DEF", _NO, _A.FIX_REQUEST,
         "API is not defined: check the URL against the documented endpoint."),
        (_F, "ORDER_NOT_EXIST", _NO, _A.FIX_REQUEST,
         "The order does not exist: check the paymentId; if correct, contact support."),
        (_F, "ORDER_STATUS_INVALID", _NO, _A.MANUAL_REVIEW,
         "The order status does not allow it: check the order status or contact support."),
        (_F, "PARAM_ILLEGAL", _NO, _A.FIX_REQUEST,
         "Required parameters missing or illegal: check header and body fields."),
        (_F, "PROCESS_FAIL", _NO, _A.CONTACT_SUPPORT,
         ("A general business failure (also the answer for a refunded payment, S4). Do not "
          "retry; human intervention is usually needed.")),
        (_F, "SYSTEM_ERROR", _NO, _A.CONTACT_SUPPORT,
         "A system error occurred. Do not retry; contact Antom technical support."),
        (_F, "PAYMENT_METHOD_NOT_SUPPORTED", _NO, _A.DO_NOT_RETRY,
         "The payment method does not support canceling a successful payment. Do not retry."),
        (_F, "USER_NOT_EXIST", _NO, _A.CONTACT_SUPPORT,
         "The user does not exist on the wallet side."),
        (_F, "USER_STATUS_ABNORMAL", _NO, _A.CONTACT_SUPPORT,
         "The user status is abnormal on the wallet side."),
        (_U, "REQUEST_TRAFFIC_EXCEED_LIMIT", _UNK, _A.RETRY_SAME_REQUEST,
         "The request traffic exceeds the limit: call again with the same id."),
        (_U, "UNKNOWN_EXCEPTION", _UNK, _A.RETRY_SAME_REQUEST,
         "Unknown failure: call again with the same paymentId or paymentRequestId."),
    )  # fmt: skip
    for status, code, outcome, action, message in antom:
        yield CodeRule(_ANTOM, Api.CANCEL, status, code, outcome, action, message, "S2")


#: Every row, in a stable order (the docs tables are generated from it).
CATALOG: tuple[CodeRule, ...] = tuple(_rows())

_INDEX: dict[tuple[Product, Api, ResultStatus, str], CodeRule] = {
    (r.product, r.api, r.status, r.code): r for r in CATALOG
}
if len(_INDEX) != len(CATALOG):  # pragma: no cover - guards the data above
    raise AssertionError("duplicate rows in the result-code catalog")

#: A content hash of the catalog's decisions (product, API, status, code, outcome, action);
#: stored in each decision record so a later reader knows which table decided. Messages and
#: sources are not part of it: rewording a message changes no decision.
CATALOG_VERSION = (
    "1+"
    + hashlib.sha256(
        "\n".join(
            "|".join((r.product.value, r.api.value, r.status.value, r.code, r.outcome, r.action))
            for r in CATALOG
        ).encode()
    ).hexdigest()[:12]
)

_INHERITED = {
    ResultStatus.UNKNOWN: (
        Outcome.UNKNOWN,
        Action.RETRY_SAME_REQUEST,
        "Unlisted U code: the result is unknown, so the same request is retried.",
    ),
    ResultStatus.FAILED: (
        Outcome.FAILED,
        Action.MANUAL_REVIEW,
        "Unlisted F code: failed with a code paycancel does not know; needs manual review.",
    ),
    ResultStatus.SUCCEEDED: (
        Outcome.UNKNOWN,
        Action.MANUAL_REVIEW,
        "S with an unlisted code: not taken as a success without review.",
    ),
}


def _from_row(row: CodeRule) -> Interpretation:
    return Interpretation(
        product=row.product,
        api=row.api,
        status=row.status,
        code=row.code,
        known=True,
        outcome=row.outcome,
        action=row.action,
        message=row.message,
        source=row.source,
    )


# Interpretations are frozen values: build each known one once.
_KNOWN: dict[tuple[Product, Api, ResultStatus, str], Interpretation] = {
    key: _from_row(row) for key, row in _INDEX.items()
}


@functools.lru_cache(maxsize=1024)  # bounded: codes come off the wire
def _inherited(product: Product, api: Api, status: ResultStatus, code: str) -> Interpretation:
    outcome, action, message = _INHERITED[status]
    return Interpretation(
        product=product,
        api=api,
        status=status,
        code=code,
        known=False,
        outcome=outcome,
        action=action,
        message=message,
        source="inherited from status",
    )


def interpret(product: Product, api: Api, status: ResultStatus, code: str) -> Interpretation:
    """Look an answer up in the catalog, inheriting from its status when the code is unlisted.

    Args:
        product: the product and role.
        api: which API answered.
        status: ``result.resultStatus``.
        code: ``result.resultCode`` (compared exactly; codes are upper case).

    Returns:
        The interpretation; ``known`` tells whether the row was found or inherited.
    """
    known = _KNOWN.get((product, api, status, code))
    return known if known is not None else _inherited(product, api, status, code)
