"""Sending signed requests over ``httpx`` and sorting what came back into three typed outcomes.

* :class:`WireAnswer`: the platform answered with a verified ``result`` (or an unsigned
  ``F``/``U``).
* :class:`paycancel.NotSent`: the request never left (no connection, TLS handshake refused):
  safe to resend, nothing happened.
* :class:`paycancel.NoAnswer`: it may have arrived but no usable answer came back (timeout,
  reset, HTTP error, malformed or badly signed answer). The core treats it exactly like ``U``.

No hidden retries: one call, one request. The ``httpx.Client`` is the caller's (connection reuse,
proxies, TLS trust), with verification on unless they turned it off themselves.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from typing import Any, Mapping, Union

import attrs
import httpx
import structlog

from paycancel import NoAnswer, NotSent, SystemClock
from paycancel.errors import PaycancelError
from paycancel.typing import Clock

from ._codec import Result
from ._envelope import RequestSigner, ResponseVerifier
from .errors import InsecureTransportError, ParamIllegalError

__all__ = ["AsyncHttpTransport", "HttpTransport", "WireAnswer", "WireOutcome", "check_base_url"]

logger = structlog.get_logger(__name__)

_LOOPBACK_NAMES = ("localhost",)
_OK = 200


@attrs.frozen
class WireAnswer:
    """A usable answer: the verified ``result`` and the parsed body (wire names)."""

    result: Result
    body: Mapping[str, Any] = attrs.field(repr=False)
    signed: bool
    http_status: int
    elapsed: dt.timedelta


WireOutcome = Union[WireAnswer, NotSent, NoAnswer]


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> httpx.URL:
    """Parse a gateway URL: ``https://`` anywhere, ``http://`` only to a loopback address.

    Raises:
        InsecureTransportError: plain HTTP to another host, or not an HTTP(S) URL.
    """
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InsecureTransportError(message=f"not a URL: {base_url!r}", url=base_url) from exc
    if url.scheme == "https" and url.host:
        return url
    if url.scheme == "http" and url.host and _is_loopback(url.host):
        return url
    raise InsecureTransportError(
        message=f"{base_url!r}: use https:// (plain http is allowed to loopback only)",
        url=base_url,
    )


class _Base:
    def __init__(
        self,
        *,
        base_url: str,
        signer: RequestSigner,
        verifier: ResponseVerifier,
        clock: Clock | None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.signer = signer
        self.verifier = verifier
        self.clock: Clock = clock if clock is not None else SystemClock()

    def _prepare(self, path: str, body: bytes) -> tuple[str, str, dict[str, str]]:
        if not path.startswith("/") or path.startswith("//") or "://" in path:
            # Only a path: the checked scheme and host must stay the ones requests go to.
            raise ParamIllegalError(
                message=f"path must be an absolute path like /ams/api/...: {path!r}",
                field="path",
                reason="invalid",
            )
        # Appended, not joined: a base URL's own path prefix is kept.
        url = self.base_url.copy_with(raw_path=self.base_url.raw_path.rstrip(b"/") + path.encode())
        uri = url.raw_path.decode("ascii")
        headers = self.signer.headers(method="POST", uri=uri, body=body, now=self.clock.now())
        return str(url), uri, headers

    def _sort(self, uri: str, response: httpx.Response, started: float, api: str) -> WireOutcome:
        elapsed = dt.timedelta(seconds=time.perf_counter() - started)
        log = logger.bind(api=api, uri=uri, http_status=response.status_code)
        if response.status_code != _OK:
            log.warning("wire.answer_rejected", reason="http_status")
            return NoAnswer(reason=f"HTTP {response.status_code}")
        try:
            verified = self.verifier.verify(
                method="POST",
                uri=uri,
                headers=response.headers.multi_items(),
                body=response.content,
            )
        except PaycancelError as exc:
            log.warning("wire.answer_rejected", reason=type(exc).__name__, detail=exc.message)
            return NoAnswer(reason=f"answer rejected: {exc.message}")
        log.info(
            "wire.answer_received",
            result_status=verified.result.status,
            result_code=verified.result.code,
            signed=verified.signed,
            elapsed_ms=round(elapsed.total_seconds() * 1000, 1),
        )
        return WireAnswer(
            result=verified.result,
            body=verified.body,
            signed=verified.signed,
            http_status=response.status_code,
            elapsed=elapsed,
        )

    @staticmethod
    def _failed(exc: httpx.HTTPError, uri: str, api: str) -> NotSent | NoAnswer:
        # Connecting (DNS, refused, TLS handshake, pool exhausted) happens before any byte of
        # the request is written: nothing reached the platform. Everything after may have.
        kind = type(exc).__name__
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            logger.warning("wire.request_not_sent", api=api, uri=uri, error=kind)
            return NotSent(reason=f"{kind}: {exc}")
        if isinstance(exc, httpx.UnsupportedProtocol):
            logger.warning("wire.request_not_sent", api=api, uri=uri, error=kind)
            return NotSent(reason=f"{kind}: {exc}")
        logger.warning("wire.answer_missing", api=api, uri=uri, error=kind)
        return NoAnswer(reason=f"{kind}: {exc}" if str(exc) else kind)


class HttpTransport(_Base):
    """Signed ``POST`` over a caller's ``httpx.Client``.

    Args:
        client: the caller's client (its TLS settings, pool and proxies are used as they are).
        base_url: the gateway, e.g. ``https://open-sea-global.alipay.com``.
        signer: signs requests with the caller's key.
        verifier: checks answers with the platform's key.
        clock: where ``Request-Time`` comes from (the system clock by default).
    """

    def __init__(
        self,
        *,
        client: httpx.Client,
        base_url: str,
        signer: RequestSigner,
        verifier: ResponseVerifier,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(base_url=base_url, signer=signer, verifier=verifier, clock=clock)
        self.client = client

    def post(self, *, path: str, body: bytes, timeout: float, api: str = "") -> WireOutcome:
        """Send ``body`` (the exact bytes signed) to ``path``; never raises for transport
        failures. ``timeout`` bounds each phase (connect, write, read) in seconds."""
        url, uri, headers = self._prepare(path, body)
        started = time.perf_counter()
        try:
            response = self.client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            return self._failed(exc, uri, api)
        return self._sort(uri, response, started, api)

    def __repr__(self) -> str:
        return f"HttpTransport({str(self.base_url)!r}, {self.signer!r})"


class AsyncHttpTransport(_Base):
    """The asyncio form of :class:`HttpTransport`, over a caller's ``httpx.AsyncClient``."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        signer: RequestSigner,
        verifier: ResponseVerifier,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(base_url=base_url, signer=signer, verifier=verifier, clock=clock)
        self.client = client

    async def post(self, *, path: str, body: bytes, timeout: float, api: str = "") -> WireOutcome:
        """See :meth:`HttpTransport.post`."""
        url, uri, headers = self._prepare(path, body)
        started = time.perf_counter()
        try:
            response = await self.client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            return self._failed(exc, uri, api)
        return self._sort(uri, response, started, api)

    def __repr__(self) -> str:
        return f"AsyncHttpTransport({str(self.base_url)!r}, {self.signer!r})"
