"""The payment order a cancellation is about."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import attrs

from ._identifier import AcquirerId, PaymentId, PaymentRequestId, PspId
from ._money import Money
from ._product import PaymentFlow, PaymentMethodFamily, Product, ResultStatus
from ._time import aware_validator, optional_aware_validator
from .errors import InvalidOrderError

__all__ = ["PaymentOrder", "mpp_key"]


def mpp_key(acquirer_id: str, psp_id: str, payment_request_id: str) -> str:
    """The MPP's idempotency key (S1): the three ids, each percent-encoded so that no two
    different triples give the same key (``ACQ/1`` + ``PSP`` is not ``ACQ`` + ``1/PSP``)."""
    parts = (quote(part, safe="") for part in (acquirer_id, psp_id, payment_request_id))
    return f"{Product.ALIPAYPLUS_MPP.value}:" + "/".join(parts)


@attrs.frozen
class PaymentOrder:
    """A payment as the cancelling side knows it.

    At least one of ``payment_request_id`` and ``payment_id`` is required. The MPP role also needs
    ``acquirer_id`` and ``psp_id`` (its idempotency key is the triple).

    Args:
        product: the product and role.
        amount: the full payment amount; cancels are always for the full amount (S0, S3, S4).
            Required for the ACQP (refund fallback) and the MPP (reversal); ``None`` is allowed
            for Antom, whose cancel carries no amount.
        initiated_at: when the payment was initiated (aware; it fixes the cancel window).
        payment_request_id: the merchant's / ACQP's request id.
        payment_id: the platform's payment id.
        acquirer_id: Alipay+ acquirer id (MPP role).
        psp_id: Alipay+ wallet id (MPP role).
        payment_status: the last final or unknown payment result seen (``S``, ``F``, ``U``),
            ``None`` when no result has been seen yet.
        payment_code: the ``resultCode`` that came with ``payment_status``.
        method: the payment method family.
        flow: the Alipay+ payment product (ACQP), which sets the default expiry.
        expires_at: the ``paymentExpiryTime`` the ACQP asked for in ``pay``, if any.
        captured: a card payment whose capture started or succeeded (Antom: refund instead).
        refunded: a refund, full or partial, was made (Antom: cannot be cancelled).
        cancelled: the order is already known to be cancelled.

    Raises:
        InvalidOrderError: no identifier, an amount of zero, or an MPP order without both ids.
        InvalidTimeError: a naive datetime.
    """

    product: Product = attrs.field(validator=attrs.validators.instance_of(Product))
    amount: Money | None = attrs.field(
        validator=attrs.validators.optional(attrs.validators.instance_of(Money))
    )
    initiated_at: dt.datetime = attrs.field(validator=aware_validator)
    payment_request_id: PaymentRequestId | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(PaymentRequestId)),
    )
    payment_id: PaymentId | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(PaymentId))
    )
    acquirer_id: AcquirerId | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(AcquirerId))
    )
    psp_id: PspId | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(PspId))
    )
    payment_status: ResultStatus | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(ResultStatus)),
    )
    payment_code: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    method: PaymentMethodFamily = attrs.field(
        default=PaymentMethodFamily.WALLET,
        validator=attrs.validators.instance_of(PaymentMethodFamily),
    )
    flow: PaymentFlow = attrs.field(
        default=PaymentFlow.CASHIER, validator=attrs.validators.instance_of(PaymentFlow)
    )
    expires_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_validator)
    captured: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    refunded: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    cancelled: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.payment_request_id is None and self.payment_id is None:
            raise InvalidOrderError(
                message="a payment order needs payment_request_id or payment_id (or both)",
                field="payment_request_id",
            )
        if self.amount is None:
            if self.product is not Product.ANTOM:
                raise InvalidOrderError(
                    message=f"a {self.product.value} order needs its amount (the ACQP refunds "
                    "it after CANCEL_WINDOW_EXCEED, the MPP reverses it)",
                    field="amount",
                )
        elif self.amount.value == 0:
            raise InvalidOrderError(message="a payment amount must be positive", field="amount")
        if self.product is Product.ALIPAYPLUS_MPP:
            for name in ("acquirer_id", "psp_id", "payment_request_id"):
                if getattr(self, name) is None:
                    raise InvalidOrderError(
                        message=f"an MPP order needs {name} (with acquirer_id, psp_id and "
                        "payment_request_id together the idempotency key, S1)",
                        field=name,
                    )
        if self.expires_at is not None and self.expires_at <= self.initiated_at:
            raise InvalidOrderError(
                message="expires_at must be after initiated_at", field="expires_at"
            )

    @property
    def full_amount(self) -> Money:
        """The amount, for the roles that need it (refund, reversal).

        Raises:
            InvalidOrderError: an Antom order built without one.
        """
        if self.amount is None:
            raise InvalidOrderError(message="this order has no amount", field="amount")
        return self.amount

    @property
    def key(self) -> str:
        """The idempotency key of a cancellation of this order, unique per product.

        MPP: ``acquirerId/pspId/paymentRequestId``, each part percent-encoded (S1). ACQP and
        Antom: the payment request id when known, else the payment id.
        """
        if self.product is Product.ALIPAYPLUS_MPP:
            return mpp_key(str(self.acquirer_id), str(self.psp_id), str(self.payment_request_id))
        if self.payment_request_id is not None:
            return f"{self.product.value}:request:{self.payment_request_id}"
        return f"{self.product.value}:payment:{self.payment_id}"
