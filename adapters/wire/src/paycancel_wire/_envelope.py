"""Signing and verifying both directions of a call: the envelope's four roles.

=======================  ==================================  ================================
who                      signs                               verifies
=======================  ==================================  ================================
caller (ACQP, merchant)  :class:`RequestSigner`              :class:`ResponseVerifier`
receiver (MPP, sims)     :class:`ResponseSigner`             :class:`RequestVerifier`
=======================  ==================================  ================================

Header names are matched case-insensitively on input; responses are sent with lowercase
``signature``, ``client-id`` and ``response-time`` because the official SDKs and the Alipay+ MCP
look them up in lowercase only.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Mapping, Tuple, Union
from urllib.parse import urlsplit

import attrs

from paycancel.errors import InvalidTimeError

from ._codec import Result, decode_body, decode_result
from ._keys import DEFAULT_KEY_VERSION, KeyRing, PrivateKey, PublicKey
from ._signature import SignatureHeader, content_to_sign, sign, verify
from ._wiretime import DEFAULT_SKEW, check_skew, format_time, parse_time
from .errors import (
    ParamIllegalError,
    SignatureError,
    UnknownClientError,
    UnsignedResponseError,
)

__all__ = [
    "CONTENT_TYPE",
    "RequestSigner",
    "RequestVerifier",
    "ResponseSigner",
    "ResponseVerifier",
    "VerifiedRequest",
    "VerifiedResponse",
    "header_map",
    "request_uri",
]

CONTENT_TYPE = "application/json; charset=UTF-8"
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
HeaderInput = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


def header_map(headers: HeaderInput) -> dict[str, str]:
    """Headers with lowercase names (the first value of a repeated name wins)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name.lower(), value)
    return out


def request_uri(target: str) -> str:
    """The URI that is signed: path and query of a request target in origin form
    (``/ams/api/...``) or absolute form (``https://127.0.0.1/ams/api/...``, as the SDK sends)."""
    if target.startswith("/"):
        return target
    parts = urlsplit(target)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


class RequestSigner:
    """Signs outgoing requests with the caller's private key.

    Args:
        client_id: the ``Client-Id`` issued to the caller.
        private_key: the caller's key, loaded once.
        key_version: the ``keyVersion`` to name (``1`` unless a rotation says otherwise).
    """

    __slots__ = ("client_id", "key_version", "private_key")

    def __init__(
        self, *, client_id: str, private_key: PrivateKey, key_version: str = DEFAULT_KEY_VERSION
    ) -> None:
        if not _CLIENT_ID.match(client_id):
            raise ParamIllegalError(
                message="client_id must be 1 to 128 printable ASCII characters without spaces",
                field="client_id",
                reason="invalid",
            )
        self.client_id = client_id
        self.private_key = private_key
        self.key_version = key_version

    def headers(self, *, method: str, uri: str, body: bytes, now: dt.datetime) -> dict[str, str]:
        """``Content-Type``, ``Client-Id``, ``Request-Time`` and ``Signature`` for ``body``."""
        time = format_time(now)
        content = content_to_sign(
            method=method, uri=uri, client_id=self.client_id, time=time, body=body
        )
        value = sign(self.private_key, content)
        return {
            "Content-Type": CONTENT_TYPE,
            "Client-Id": self.client_id,
            "Request-Time": time,
            "Signature": SignatureHeader(value=value, key_version=self.key_version).render(),
        }

    def __repr__(self) -> str:
        return f"RequestSigner(client_id={self.client_id!r}, key={self.private_key!r})"


@attrs.frozen
class VerifiedResponse:
    """An answer whose signature checked out (or an unsigned ``F``/``U``, ``signed=False``)."""

    result: Result
    body: Mapping[str, Any] = attrs.field(repr=False)
    signed: bool
    response_time: dt.datetime | None


class ResponseVerifier:
    """Verifies answers with the platform's public key (Alipay+ or Antom).

    An answer without both ``signature`` and ``response-time`` (absent, or present and empty, as
    the official SDK expects them) is accepted only when its ``result.resultStatus`` is ``F`` or
    ``U`` (as the SDKs do since 1.6.1).
    """

    __slots__ = ("client_id", "public_key")

    def __init__(self, *, client_id: str, public_key: PublicKey) -> None:
        self.client_id = client_id
        self.public_key = public_key

    def verify(
        self, *, method: str, uri: str, headers: HeaderInput, body: bytes
    ) -> VerifiedResponse:
        """Check one answer to a request sent to ``uri``.

        Raises:
            UnsignedResponseError: unsigned and not ``F``/``U``.
            SignatureError: half the signature headers, a different ``client-id``, or a
                signature that does not verify.
            ParamIllegalError: the body or its ``result`` is malformed.
        """
        names = header_map(headers)
        raw_signature = names.get("signature", "").strip()
        raw_time = names.get("response-time", "").strip()
        if raw_signature and "signature=" in raw_signature:
            # The SDKs' form of "unsigned": the header present with an empty value
            # (``algorithm=RSA256,keyVersion=1,signature=``) and an empty response-time.
            tail = raw_signature.rsplit("signature=", 1)[1].split(",", 1)[0].strip()
            if not tail and not raw_time:
                raw_signature = ""
        fields = decode_body(body)
        result = decode_result(fields)
        if not raw_signature and not raw_time:
            if result.status in ("F", "U"):
                return VerifiedResponse(
                    result=result, body=fields, signed=False, response_time=None
                )
            raise UnsignedResponseError(
                message=f"unsigned answer with resultStatus={result.status} refused",
                status=result.status,
            )
        if not raw_signature or not raw_time:
            raise SignatureError(message="answer carries only one of signature / response-time")
        client_id = names.get("client-id")
        if not client_id:
            raise SignatureError(message="signed answer without a client-id header")
        if client_id != self.client_id:
            raise SignatureError(message=f"answer is for client id {client_id!r}, not ours")
        header = SignatureHeader.parse(raw_signature)
        content = content_to_sign(
            method=method, uri=uri, client_id=client_id, time=raw_time, body=body
        )
        if not verify(self.public_key, content, header.value):
            raise SignatureError(message="answer signature does not verify")
        try:
            response_time: dt.datetime | None = parse_time(raw_time, "response-time")
        except InvalidTimeError:
            response_time = None  # signed as sent; an odd format is not a reason to drop an answer
        return VerifiedResponse(
            result=result, body=fields, signed=True, response_time=response_time
        )

    def __repr__(self) -> str:
        return f"ResponseVerifier(client_id={self.client_id!r}, key={self.public_key!r})"


@attrs.frozen
class VerifiedRequest:
    """A received request whose signature checked out."""

    client_id: str
    key_version: str
    request_time: dt.datetime
    uri: str


class RequestVerifier:
    """Verifies received requests against a :class:`KeyRing` (the receiving side: the MPP, the
    local gateways).

    Checks, in this order, each mapped to its protocol code: ``Client-Id`` known
    (``INVALID_CLIENT``), ``Signature`` header well-formed (``INVALID_SIGNATURE``), ``keyVersion``
    known (``KEY_NOT_FOUND``), ``Request-Time`` readable and the signature valid, then the
    request time within ``skew`` of now (``INVALID_SIGNATURE``).

    Args:
        key_ring: the callers' public keys.
        skew: the clock difference tolerated on ``Request-Time``.
    """

    __slots__ = ("key_ring", "skew")

    def __init__(self, *, key_ring: KeyRing, skew: dt.timedelta = DEFAULT_SKEW) -> None:
        self.key_ring = key_ring
        self.skew = skew

    def verify(
        self, *, method: str, target: str, headers: HeaderInput, body: bytes, now: dt.datetime
    ) -> VerifiedRequest:
        """Verify one request. ``target`` may be origin-form or absolute-form.

        Raises:
            UnknownClientError, KeyNotFoundError, SignatureError, ClockSkewError: as above.
        """
        names = header_map(headers)
        client_id = names.get("client-id")
        if not client_id or not self.key_ring.knows(client_id):
            raise UnknownClientError(
                message=f"unknown client id {client_id!r}", client_id=client_id or None
            )
        header = SignatureHeader.parse(names.get("signature"))
        key = self.key_ring.lookup(client_id, header.key_version)
        raw_time = names.get("request-time")
        try:
            sent_at = parse_time(raw_time, "Request-Time")
        except InvalidTimeError as exc:
            raise SignatureError(message=exc.message) from None
        uri = request_uri(target)
        content = content_to_sign(
            method=method, uri=uri, client_id=client_id, time=raw_time or "", body=body
        )
        if not verify(key, content, header.value):
            raise SignatureError(message="request signature does not verify")
        check_skew(sent_at, now, self.skew)
        return VerifiedRequest(
            client_id=client_id, key_version=header.key_version, request_time=sent_at, uri=uri
        )

    def __repr__(self) -> str:
        return f"RequestVerifier({self.key_ring!r}, skew={self.skew})"


class ResponseSigner:
    """Signs answers with the receiver's private key, headers in lowercase.

    Args:
        private_key: the receiver's key (the MPP's, a simulator's).
        key_version: the ``keyVersion`` to name.
    """

    __slots__ = ("key_version", "private_key")

    def __init__(self, *, private_key: PrivateKey, key_version: str = DEFAULT_KEY_VERSION) -> None:
        self.private_key = private_key
        self.key_version = key_version

    def headers(
        self, *, method: str, uri: str, client_id: str, body: bytes, now: dt.datetime
    ) -> list[tuple[str, str]]:
        """``content-type``, ``client-id``, ``response-time`` and ``signature`` for an answer
        to a request for ``uri`` from ``client_id``."""
        time = format_time(now)
        content = content_to_sign(method=method, uri=uri, client_id=client_id, time=time, body=body)
        value = sign(self.private_key, content)
        return [
            ("content-type", CONTENT_TYPE),
            ("client-id", client_id),
            ("response-time", time),
            ("signature", SignatureHeader(value=value, key_version=self.key_version).render()),
        ]

    def __repr__(self) -> str:
        return f"ResponseSigner(key={self.private_key!r})"
