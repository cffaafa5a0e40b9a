"""The products and roles paycancel serves, and the small enums shared by all of them."""

from __future__ import annotations

import enum

from .errors import ValidationError

__all__ = [
    "Api",
    "PaymentFlow",
    "PaymentMethodFamily",
    "Product",
    "ResultStatus",
    "to_result_status",
]


class Product(str, enum.Enum):
    """A product and the role paycancel plays in it."""

    #: Alipay+ acquirer (ACQP): decides when to cancel and calls ``cancelPayment`` (S0).
    ALIPAYPLUS_ACQP = "alipayplus-acqp"
    #: Alipay+ wallet (MPP): receives ``cancelPayment`` from Alipay+ (S1, S3).
    ALIPAYPLUS_MPP = "alipayplus-mpp"
    #: Antom merchant: calls ``/v1/payments/cancel`` (S2, S4).
    ANTOM = "antom"

    def __str__(self) -> str:
        return self.value


class ResultStatus(str, enum.Enum):
    """``result.resultStatus`` as every Ant API returns it."""

    SUCCEEDED = "S"
    FAILED = "F"
    UNKNOWN = "U"

    def __str__(self) -> str:
        return self.value


def to_result_status(value: object) -> ResultStatus:
    """``value`` as a :class:`ResultStatus` (``"S"``, ``"F"``, ``"U"`` or a member).

    Raises:
        ValidationError: anything else.
    """
    try:
        return ResultStatus(value)
    except ValueError:
        raise ValidationError(
            message=f"resultStatus must be S, F or U, got {value!r}", field="status"
        ) from None


class Api(str, enum.Enum):
    """The APIs whose result codes paycancel interprets."""

    CANCEL = "cancel"
    #: The ``result`` of ``inquiryPayment``: did the inquiry itself work (S0).
    INQUIRY = "inquiry"
    #: ``paymentResult`` as carried by ``pay``, ``inquiryPayment`` and ``notifyPayment`` (S0).
    PAYMENT_RESULT = "payment-result"
    REFUND = "refund"

    def __str__(self) -> str:
        return self.value


class PaymentMethodFamily(str, enum.Enum):
    """The family of the payment method; cards follow other rules (S4: no cancel once captured)."""

    WALLET = "wallet"
    CARD = "card"
    BANK = "bank"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


class PaymentFlow(str, enum.Enum):
    """The Alipay+ payment product, which sets the default payment expiry (S0)."""

    #: Auto Debit: expires after 1 minute by default (S0 note).
    AUTO_DEBIT = "auto-debit"
    #: Cashier Payment (and the presented-code modes): 10 minutes by default.
    CASHIER = "cashier"

    def __str__(self) -> str:
        return self.value
