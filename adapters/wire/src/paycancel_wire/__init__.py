"""paycancel-wire: the signed envelope that Alipay+ and Antom share (PROTOCOL.md section 2).

Keys loaded once (:class:`PrivateKey`, :class:`PublicKey`, :class:`KeyRing`), RSA256 signatures
(:func:`sign`, :func:`verify`, :class:`SignatureHeader`), wire times, the all-strings body codec,
both sides of the envelope (:class:`RequestSigner`/:class:`ResponseVerifier` for callers,
:class:`RequestVerifier`/:class:`ResponseSigner` for receivers) and an ``httpx`` transport with
typed outcomes.
"""

from __future__ import annotations

from ._codec import (
    MAX_CODE_LENGTH,
    MAX_ID_LENGTH,
    MAX_MESSAGE_LENGTH,
    Result,
    decode_body,
    decode_result,
    encode_body,
    one_of,
    optional_object,
    optional_string,
    required_string,
)
from ._envelope import (
    CONTENT_TYPE,
    RequestSigner,
    RequestVerifier,
    ResponseSigner,
    ResponseVerifier,
    VerifiedRequest,
    VerifiedResponse,
    header_map,
    request_uri,
)
from ._keys import DEFAULT_KEY_VERSION, KeyRing, PrivateKey, PublicKey
from ._signature import (
    ALGORITHM,
    SignatureHeader,
    content_to_sign,
    decode_signature,
    encode_signature,
    sign,
    verify,
)
from ._transport import AsyncHttpTransport, HttpTransport, WireAnswer, WireOutcome, check_base_url
from ._wiretime import DEFAULT_SKEW, check_skew, format_time, parse_time

__all__ = [
    "ALGORITHM",
    "CONTENT_TYPE",
    "DEFAULT_KEY_VERSION",
    "DEFAULT_SKEW",
    "MAX_CODE_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "AsyncHttpTransport",
    "HttpTransport",
    "KeyRing",
    "PrivateKey",
    "PublicKey",
    "RequestSigner",
    "RequestVerifier",
    "ResponseSigner",
    "ResponseVerifier",
    "Result",
    "SignatureHeader",
    "VerifiedRequest",
    "VerifiedResponse",
    "WireAnswer",
    "WireOutcome",
    "check_base_url",
    "check_skew",
    "content_to_sign",
    "decode_body",
    "decode_result",
    "decode_signature",
    "encode_body",
    "encode_signature",
    "format_time",
    "header_map",
    "one_of",
    "optional_object",
    "optional_string",
    "parse_time",
    "request_uri",
    "required_string",
    "sign",
    "verify",
]
