"""RSA256 signatures as Alipay+ and Antom define them (PROTOCOL.md section 2).

Content to sign, requests and responses alike::

    <METHOD> <URI>\\n<Client-Id>.<Time>.<Body>

The value is standard base64 with padding, then percent-encoded (``+`` ``/`` ``=`` escaped), as
every official SDK emits it. Decoding is liberal: percent-decoding without turning ``+`` into a
space, then standard base64, falling back to base64url.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from urllib.parse import unquote

import attrs

from ._keys import DEFAULT_KEY_VERSION, PrivateKey, PublicKey
from .errors import SignatureError

__all__ = [
    "ALGORITHM",
    "SignatureHeader",
    "content_to_sign",
    "decode_signature",
    "encode_signature",
    "sign",
    "verify",
]

#: The only algorithm Alipay+ and Antom use: RSA PKCS#1 v1.5 with SHA-256.
ALGORITHM = "RSA256"
_SDK_FORM = re.compile(r"^algorithm=RSA256,keyVersion=([^,=\s]*),signature=([^,\s]+)$")
_B64_CHARS = re.compile(r"^[A-Za-z0-9+/\-_]*={0,2}$")


def content_to_sign(*, method: str, uri: str, client_id: str, time: str, body: bytes) -> bytes:
    """The bytes that get signed.

    Args:
        method: the HTTP method, as sent (``POST``).
        uri: the request's path and query, without scheme and host (for a response: the
            request's URI).
        client_id: the ``Client-Id`` (``client-id`` in a response).
        time: the ``Request-Time`` (``response-time``) header value, byte for byte.
        body: the raw body bytes exactly as sent.
    """
    return f"{method} {uri}\n{client_id}.{time}.".encode() + body


def encode_signature(raw: bytes) -> str:
    """Standard base64, then percent-encoded (``%2B``, ``%2F``, ``%3D``)."""
    # Standard base64 has exactly three characters to escape; three replaces give what
    # ``quote(..., safe="")`` gives, about ten times faster.
    text = base64.b64encode(raw).decode("ascii")
    return text.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


if sys.version_info >= (3, 11):

    def _strict_b64decode(text: str) -> bytes:
        # The C decoder's strict mode: as strict as validate=True, several times faster.
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.8 to 3.10

    def _strict_b64decode(text: str) -> bytes:
        return base64.b64decode(text, validate=True)


def decode_signature(value: str) -> bytes:
    """Decode a signature value liberally (percent-encoded or not, base64 or base64url).

    Raises:
        SignatureError: the value is not base64 in any of these forms.
    """
    text = value.strip()
    if not text:
        raise SignatureError(message="signature value is empty")
    if "%" in text:
        # The three escapes the SDKs emit, replaced directly (several times faster than a
        # general unquote on this hot path); anything else percent-encoded falls through to it.
        text = (
            text.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
            .replace("%2b", "+").replace("%2f", "/").replace("%3d", "=")
        )  # fmt: skip
        if "%" in text:
            text = unquote(text)
    if "-" not in text and "_" not in text:
        try:
            return _strict_b64decode(text)
        except (binascii.Error, ValueError):
            pass
    compact = "".join(text.split())
    if not compact or not _B64_CHARS.match(compact):
        raise SignatureError(message="signature value is not base64")
    padded = compact.rstrip("=") + "=" * (-len(compact.rstrip("=")) % 4)
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(message="signature value is not base64") from None


def sign(key: PrivateKey, content: bytes) -> str:
    """The encoded RSA256 signature value of ``content``."""
    return encode_signature(key.sign(content))


def verify(key: PublicKey, content: bytes, value: str) -> bool:
    """Whether ``value`` (in any form :func:`decode_signature` takes) signs ``content``."""
    try:
        raw = decode_signature(value)
    except SignatureError:
        return False
    return key.verify(content, raw)


@attrs.frozen
class SignatureHeader:
    """The ``Signature`` header: ``algorithm=RSA256,keyVersion=1,signature=<value>``.

    ``render`` writes it as the SDKs do (no spaces, that order). ``parse`` takes the documented
    form with spaces too, in any order, with case-insensitive names.
    """

    value: str = attrs.field(repr=False)
    key_version: str = DEFAULT_KEY_VERSION
    algorithm: str = ALGORITHM

    def render(self) -> str:
        """The header value to send."""
        return f"algorithm={self.algorithm},keyVersion={self.key_version},signature={self.value}"

    @classmethod
    def parse(cls, text: str | None) -> SignatureHeader:
        """Parse a received header. A missing ``keyVersion`` means the SDK default ``1``.

        Raises:
            SignatureError: missing, without a ``signature`` part, or not ``RSA256``.
        """
        if not text or not text.strip():
            raise SignatureError(message="the Signature header is missing")
        quick = _SDK_FORM.match(text)
        if quick is not None:  # the form every SDK sends: no spaces, this order
            return cls(value=quick.group(2), key_version=quick.group(1) or DEFAULT_KEY_VERSION)
        value = None
        version = DEFAULT_KEY_VERSION
        algorithm = ALGORITHM
        for item in text.split(","):
            name, sep, val = item.partition("=")
            if not sep:
                continue
            name = name.strip().lower()
            if name == "signature":
                value = val.strip()
            elif name == "keyversion":
                version = val.strip() or DEFAULT_KEY_VERSION
            elif name == "algorithm":
                algorithm = val.strip()
        if not value:
            raise SignatureError(message="the Signature header has no signature value")
        if algorithm != ALGORITHM and algorithm.upper() != ALGORITHM:
            raise SignatureError(message=f"unsupported signature algorithm {algorithm!r}")
        return cls(value=value, key_version=version)
