"""``AntomCancelGateway``: the core's cancel port over Antom's ``/v1/payments/cancel`` (S2, S4)."""

from __future__ import annotations

import httpx
import structlog

from paycancel import GatewayOutcome, PaymentOrder, Product
from paycancel.errors import UnsupportedProductError, ValidationError
from paycancel.typing import Clock
from paycancel_wire import (
    DEFAULT_KEY_VERSION,
    AsyncHttpTransport,
    HttpTransport,
    PrivateKey,
    PublicKey,
    RequestSigner,
    ResponseVerifier,
    WireAnswer,
    WireOutcome,
)

from ._codec import cancel_body, check_merchant_account_id, read_cancel_answer
from ._hosts import SOUTHEAST_ASIA, cancel_path

__all__ = ["CANCEL_TIMEOUT", "AntomCancelGateway", "AsyncAntomCancelGateway"]

logger = structlog.get_logger(__name__)

#: Seconds to wait for Antom's answer before treating the attempt as unanswered (``U``).
CANCEL_TIMEOUT = 8.0


class _Settings:
    def __init__(
        self,
        *,
        client_id: str,
        private_key: PrivateKey,
        antom_public_key: PublicKey,
        merchant_account_id: str | None,
        key_version: str,
        timeout: float,
    ) -> None:
        if not timeout > 0:
            raise ValidationError(message="timeout must be a positive number", field="timeout")
        self.client_id = client_id
        self.path = cancel_path(client_id)
        self.signer = RequestSigner(
            client_id=client_id, private_key=private_key, key_version=key_version
        )
        self.verifier = ResponseVerifier(client_id=client_id, public_key=antom_public_key)
        self.merchant_account_id = merchant_account_id
        self.timeout = timeout
        check_merchant_account_id(merchant_account_id)  # now, not at the first cancel

    def body(self, order: PaymentOrder) -> bytes:
        if order.product is not Product.ANTOM:
            raise UnsupportedProductError(
                message=f"AntomCancelGateway cancels Antom orders, not {order.product.value}",
                product=order.product.value,
                operation="antom cancel",
            )
        return cancel_body(order, merchant_account_id=self.merchant_account_id)

    def outcome(self, order: PaymentOrder, attempt: int, wire: WireOutcome) -> GatewayOutcome:
        if isinstance(wire, WireAnswer):
            answered = read_cancel_answer(wire)
            logger.info(
                "antom.cancel_answered",
                key=order.key,
                attempt=attempt,
                result_status=answered.status.value,
                result_code=answered.code,
            )
            return answered
        logger.info("antom.cancel_unanswered", key=order.key, attempt=attempt, reason=wire.reason)
        return wire


class AntomCancelGateway:
    """Cancels Antom payments; implements :class:`paycancel.typing.CancelGateway`.

    Every attempt sends the same body; the answer is verified with Antom's public key.
    Transport failures come back as :class:`~paycancel.NotSent` / :class:`~paycancel.NoAnswer`
    (never raised), and there are no hidden retries: the core's plan does the retrying.

    Args:
        client: your ``httpx.Client`` (TLS verification on; reuse it across calls).
        client_id: the client id from Antom Dashboard (``SANDBOX_...`` selects the sandbox path).
        private_key: your private key, loaded once.
        antom_public_key: Antom's public key, loaded once.
        base_url: the regional gateway (see :data:`SOUTHEAST_ASIA` and the other constants).
        merchant_account_id: sent as ``merchantAccountId`` when one client id serves several
            locations (<= 32 characters).
        key_version: the ``keyVersion`` of your key.
        timeout: seconds to wait for the answer (8 by default).
        clock: where ``Request-Time`` comes from (the system clock by default).

    Raises:
        InsecureTransportError: ``base_url`` is plain HTTP to a host that is not loopback.
        ValidationError: ``merchant_account_id`` longer than 32 characters.
    """

    def __init__(
        self,
        *,
        client: httpx.Client,
        client_id: str,
        private_key: PrivateKey,
        antom_public_key: PublicKey,
        base_url: str = SOUTHEAST_ASIA,
        merchant_account_id: str | None = None,
        key_version: str = DEFAULT_KEY_VERSION,
        timeout: float = CANCEL_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self._settings = _Settings(
            client_id=client_id,
            private_key=private_key,
            antom_public_key=antom_public_key,
            merchant_account_id=merchant_account_id,
            key_version=key_version,
            timeout=timeout,
        )
        self._transport = HttpTransport(
            client=client,
            base_url=base_url,
            signer=self._settings.signer,
            verifier=self._settings.verifier,
            clock=clock,
        )

    def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        """Send the cancel for ``order`` (attempt numbers are for the log only)."""
        body = self._settings.body(order)
        wire = self._transport.post(
            path=self._settings.path, body=body, timeout=self._settings.timeout, api="cancel"
        )
        return self._settings.outcome(order, attempt, wire)

    def __repr__(self) -> str:
        return f"AntomCancelGateway({self._transport!r})"


class AsyncAntomCancelGateway:
    """The asyncio form of :class:`AntomCancelGateway`, over an ``httpx.AsyncClient``;
    implements :class:`paycancel.typing.AsyncCancelGateway`. Same arguments."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        client_id: str,
        private_key: PrivateKey,
        antom_public_key: PublicKey,
        base_url: str = SOUTHEAST_ASIA,
        merchant_account_id: str | None = None,
        key_version: str = DEFAULT_KEY_VERSION,
        timeout: float = CANCEL_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self._settings = _Settings(
            client_id=client_id,
            private_key=private_key,
            antom_public_key=antom_public_key,
            merchant_account_id=merchant_account_id,
            key_version=key_version,
            timeout=timeout,
        )
        self._transport = AsyncHttpTransport(
            client=client,
            base_url=base_url,
            signer=self._settings.signer,
            verifier=self._settings.verifier,
            clock=clock,
        )

    async def cancel(self, *, order: PaymentOrder, attempt: int) -> GatewayOutcome:
        """See :meth:`AntomCancelGateway.cancel`."""
        body = self._settings.body(order)
        wire = await self._transport.post(
            path=self._settings.path, body=body, timeout=self._settings.timeout, api="cancel"
        )
        return self._settings.outcome(order, attempt, wire)

    def __repr__(self) -> str:
        return f"AsyncAntomCancelGateway({self._transport!r})"
