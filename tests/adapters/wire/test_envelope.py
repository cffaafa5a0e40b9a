"""Both sides of the envelope: requests signed by the caller and verified by the receiver (each
failure mapped to its code, in order), answers signed by the receiver and verified by the caller
(unsigned ``F``/``U`` only, exact bytes)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Callable, Dict

import pytest

from paycancel_wire import (
    CONTENT_TYPE,
    KeyRing,
    RequestSigner,
    RequestVerifier,
    ResponseSigner,
    ResponseVerifier,
    Result,
    SignatureHeader,
    VerifiedRequest,
    content_to_sign,
    encode_body,
    header_map,
    request_uri,
    sign,
)
from paycancel_wire.errors import (
    ClockSkewError,
    KeyNotFoundError,
    ParamIllegalError,
    SignatureError,
    UnknownClientError,
    UnsignedResponseError,
    WireError,
)
from tests.adapters.keys import merchant, platform, stranger

UTC8 = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC8)
CLIENT = "SANDBOX_5YBZ1234"
PATH = "/ams/api/v1/payments/cancel"
BODY = encode_body({"paymentRequestId": "req-20261122-0001"})

Headers = Dict[str, str]


def _signer(key_version: str = "1") -> RequestSigner:
    return RequestSigner(client_id=CLIENT, private_key=merchant().private, key_version=key_version)


def _verifier(skew: dt.timedelta = dt.timedelta(minutes=5)) -> RequestVerifier:
    ring = KeyRing()
    ring.add(CLIENT, merchant().public)
    ring.add(CLIENT, stranger().public, key_version="2")
    return RequestVerifier(key_ring=ring, skew=skew)


def _signed(body: bytes = BODY, uri: str = PATH, key_version: str = "1") -> Headers:
    return _signer(key_version).headers(method="POST", uri=uri, body=body, now=NOW)


def _check(
    headers: Headers | list[tuple[str, str]],
    *,
    body: bytes = BODY,
    target: str = PATH,
    now: dt.datetime = NOW,
) -> VerifiedRequest:
    return _verifier().verify(method="POST", target=target, headers=headers, body=body, now=now)


# --- requests: signer ---------------------------------------------------------------------------


def test_request_signer_sends_the_four_headers() -> None:
    headers = _signed()

    assert list(headers) == ["Content-Type", "Client-Id", "Request-Time", "Signature"]
    assert headers["Content-Type"] == CONTENT_TYPE == "application/json; charset=UTF-8"
    assert headers["Client-Id"] == CLIENT
    assert headers["Request-Time"] == "2026-11-22T10:00:00+08:00"
    header = SignatureHeader.parse(headers["Signature"])
    assert headers["Signature"].startswith("algorithm=RSA256,keyVersion=1,signature=")
    content = content_to_sign(
        method="POST", uri=PATH, client_id=CLIENT, time=headers["Request-Time"], body=BODY
    )
    assert header.value == sign(merchant().private, content)


def test_request_signer_names_its_key_version() -> None:
    assert SignatureHeader.parse(_signed(key_version="2")["Signature"]).key_version == "2"


@pytest.mark.parametrize("client_id", ["", "two words", "caf\u00e9", "a\r\nb", "x" * 129])
def test_request_signer_needs_a_printable_ascii_client_id(client_id: str) -> None:
    with pytest.raises(ParamIllegalError) as caught:
        RequestSigner(client_id=client_id, private_key=merchant().private)
    assert caught.value.field == "client_id"


def test_request_signer_repr_shows_no_key_material() -> None:
    text = repr(_signer())

    assert CLIENT in text
    assert merchant().private.fingerprint in text
    assert "BEGIN" not in text


# --- requests: verifier round trip -------------------------------------------------------------


def test_request_round_trip() -> None:
    verified = _check(_signed())

    assert verified == VerifiedRequest(
        client_id=CLIENT, key_version="1", request_time=NOW, uri=PATH
    )


@pytest.mark.parametrize(
    ("target", "uri"),
    [
        ("https://127.0.0.1/ams/api/v1/payments/cancel", PATH),
        ("https://127.0.0.1:8443/ams/api/v1/payments/cancel", PATH),
        ("http://open-sea-global.alipay.com/ams/api/v1/payments/cancel", PATH),
        ("https://127.0.0.1/ams/api/v1/payments/cancel?x=1", PATH + "?x=1"),
        ("/ams/api/v1/payments/cancel?x=1", PATH + "?x=1"),
    ],
)
def test_request_round_trip_with_origin_or_absolute_form_target(target: str, uri: str) -> None:
    verified = _check(_signed(uri=uri), target=target)

    assert verified.uri == uri


def test_request_uri() -> None:
    assert request_uri(PATH) == PATH
    assert request_uri("https://127.0.0.1" + PATH) == PATH
    assert request_uri("https://127.0.0.1") == "/"
    assert request_uri("https://h/p?q=1#frag") == "/p?q=1"


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title, lambda s: s])
def test_request_header_names_in_any_case(case: Callable[[str], str]) -> None:
    headers = {case(name): value for name, value in _signed().items()}

    assert _check(headers).client_id == CLIENT
    assert _check(list(headers.items())).client_id == CLIENT


def test_header_map_lowercases_and_keeps_the_first_value() -> None:
    assert header_map([("Signature", "a"), ("SIGNATURE", "b"), ("X", "c")]) == {
        "signature": "a",
        "x": "c",
    }
    assert header_map({"Client-Id": "c"}) == {"client-id": "c"}


def test_a_second_key_version_verifies_during_rotation() -> None:
    headers = RequestSigner(
        client_id=CLIENT, private_key=stranger().private, key_version="2"
    ).headers(method="POST", uri=PATH, body=BODY, now=NOW)

    assert _check(headers).key_version == "2"


def test_a_key_version_names_the_key_to_use() -> None:
    # Signed with the version-1 key but claiming version 2: checked against the wrong key.
    headers = _signed()
    headers["Signature"] = headers["Signature"].replace("keyVersion=1", "keyVersion=2")

    with pytest.raises(SignatureError):
        _check(headers)


def test_epoch_millisecond_request_time_is_accepted_when_signed_as_sent() -> None:
    millis = "1795312800000"  # 2026-11-22T10:00:00+08:00
    content = content_to_sign(method="POST", uri=PATH, client_id=CLIENT, time=millis, body=BODY)
    headers = {
        "Client-Id": CLIENT,
        "Request-Time": millis,
        "Signature": SignatureHeader(value=sign(merchant().private, content)).render(),
    }

    verified = _check(headers)

    assert verified.request_time == NOW


def test_a_request_is_verified_on_the_exact_body_bytes() -> None:
    indented = json.dumps({"paymentRequestId": "req-1"}, indent=3).encode()
    headers = _signed(body=indented)

    assert _check(headers, body=indented).client_id == CLIENT
    with pytest.raises(SignatureError):
        _check(headers, body=encode_body(json.loads(indented)))


# --- requests: failures, each with its code, in order ------------------------------------------


def _without(headers: Headers, name: str) -> Headers:
    return {k: v for k, v in headers.items() if k != name}


def _expect(
    error: type[WireError],
    code: str,
    headers: Headers,
    *,
    body: bytes = BODY,
    now: dt.datetime = NOW,
) -> WireError:
    with pytest.raises(error) as caught:
        _check(headers, body=body, now=now)
    assert type(caught.value) is error
    assert caught.value.result_code == code
    return caught.value


def test_no_client_id_is_invalid_client() -> None:
    error = _expect(UnknownClientError, "INVALID_CLIENT", _without(_signed(), "Client-Id"))

    assert isinstance(error, UnknownClientError)
    assert error.client_id is None


def test_empty_client_id_is_invalid_client() -> None:
    _expect(UnknownClientError, "INVALID_CLIENT", dict(_signed(), **{"Client-Id": ""}))


def test_unknown_client_is_invalid_client() -> None:
    error = _expect(UnknownClientError, "INVALID_CLIENT", dict(_signed(), **{"Client-Id": "X"}))

    assert isinstance(error, UnknownClientError)
    assert error.client_id == "X"


def test_unknown_client_is_checked_before_the_signature_header() -> None:
    headers = {"Client-Id": "X", "Signature": "garbage"}

    _expect(UnknownClientError, "INVALID_CLIENT", headers)


@pytest.mark.parametrize(
    "signature",
    [None, "", "garbage", "algorithm=RSA256,keyVersion=1", "algorithm=SHA1,signature=x"],
)
def test_a_bad_signature_header_is_invalid_signature(signature: str | None) -> None:
    headers = _without(_signed(), "Signature")
    if signature is not None:
        headers["Signature"] = signature

    _expect(SignatureError, "INVALID_SIGNATURE", headers)


def test_a_bad_signature_header_is_checked_before_the_key_version() -> None:
    headers = dict(_signed(), Signature="algorithm=SHA1,keyVersion=9,signature=x")

    _expect(SignatureError, "INVALID_SIGNATURE", headers)


def test_unknown_key_version_is_key_not_found() -> None:
    headers = _signed(key_version="9")

    error = _expect(KeyNotFoundError, "KEY_NOT_FOUND", headers)

    assert isinstance(error, KeyNotFoundError)
    assert (error.client_id, error.key_version) == (CLIENT, "9")


def test_unknown_key_version_is_checked_before_the_request_time() -> None:
    headers = _without(_signed(key_version="9"), "Request-Time")

    _expect(KeyNotFoundError, "KEY_NOT_FOUND", headers)


@pytest.mark.parametrize("request_time", [None, "", "yesterday", "2026-11-22T10:00:00"])
def test_missing_or_garbled_request_time_is_invalid_signature(request_time: str | None) -> None:
    headers = _without(_signed(), "Request-Time")
    if request_time is not None:
        headers["Request-Time"] = request_time

    _expect(SignatureError, "INVALID_SIGNATURE", headers)


@pytest.mark.parametrize(
    "change",
    ["body", "uri", "time", "client", "method", "stranger-key"],
)
def test_anything_changed_after_signing_is_invalid_signature(change: str) -> None:
    headers = _signed()
    body, target, method = BODY, PATH, "POST"
    if change == "body":
        body = BODY.replace(b"0001", b"0002")
    elif change == "uri":
        target = PATH + "?"
    elif change == "time":
        headers["Request-Time"] = "2026-11-22T10:00:01+08:00"
    elif change == "method":
        method = "PUT"
    elif change == "client":
        other = "OTHER_CLIENT"
        ring = KeyRing([(CLIENT, "1", merchant().public), (other, "1", merchant().public)])
        with pytest.raises(SignatureError):
            RequestVerifier(key_ring=ring).verify(
                method=method,
                target=target,
                headers=dict(headers, **{"Client-Id": other}),
                body=body,
                now=NOW,
            )
        return
    else:
        headers = RequestSigner(client_id=CLIENT, private_key=stranger().private).headers(
            method="POST", uri=PATH, body=BODY, now=NOW
        )

    with pytest.raises(SignatureError) as caught:
        _verifier().verify(method=method, target=target, headers=headers, body=body, now=NOW)

    assert type(caught.value) is SignatureError


def test_a_bad_signature_is_checked_before_the_clock_skew() -> None:
    # Tampered and late: the answer is about the signature, not the clock.
    late = NOW + dt.timedelta(hours=1)

    _expect(SignatureError, "INVALID_SIGNATURE", _signed(), body=b"{}", now=late)


@pytest.mark.parametrize(
    "offset",
    [dt.timedelta(minutes=5, seconds=1), -dt.timedelta(minutes=5, seconds=1)],
    ids=["request-from-the-past", "request-from-the-future"],
)
def test_request_time_outside_the_skew_is_clock_skew(offset: dt.timedelta) -> None:
    with pytest.raises(ClockSkewError) as caught:
        _check(_signed(), now=NOW + offset)

    assert isinstance(caught.value, SignatureError)
    assert caught.value.result_code == "INVALID_SIGNATURE"
    assert caught.value.skew_seconds == pytest.approx(-offset.total_seconds())


@pytest.mark.parametrize("offset", [dt.timedelta(minutes=5), -dt.timedelta(minutes=5)])
def test_request_time_at_the_skew_is_accepted(offset: dt.timedelta) -> None:
    assert _check(_signed(), now=NOW + offset).request_time == NOW


def test_skew_is_configurable() -> None:
    strict = _verifier(skew=dt.timedelta(seconds=1))

    with pytest.raises(ClockSkewError):
        strict.verify(
            method="POST",
            target=PATH,
            headers=_signed(),
            body=BODY,
            now=NOW + dt.timedelta(seconds=2),
        )


# --- responses: signer -------------------------------------------------------------------------

ANSWER = encode_body(
    {
        "result": {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "Success"},
        "paymentId": "2026112210000001",
    }
)


def _answer_headers(body: bytes = ANSWER, client_id: str = CLIENT) -> list[tuple[str, str]]:
    return ResponseSigner(private_key=platform().private).headers(
        method="POST", uri=PATH, client_id=client_id, body=body, now=NOW
    )


def _body(status: str, code: str = "CODE") -> bytes:
    return encode_body({"result": {"resultStatus": status, "resultCode": code}})


def _read(
    headers: list[tuple[str, str]] | Headers, body: bytes = ANSWER, uri: str = PATH
) -> object:
    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)
    return verifier.verify(method="POST", uri=uri, headers=headers, body=body)


def test_response_signer_headers_are_exactly_the_four_lowercase_names() -> None:
    headers = _answer_headers()

    assert [name for name, _ in headers] == [
        "content-type",
        "client-id",
        "response-time",
        "signature",
    ]
    values = dict(headers)
    assert values["content-type"] == CONTENT_TYPE
    assert values["client-id"] == CLIENT
    assert values["response-time"] == "2026-11-22T10:00:00+08:00"
    assert values["signature"].startswith("algorithm=RSA256,keyVersion=1,signature=")


def test_response_signature_covers_the_request_uri_and_response_time() -> None:
    values = dict(_answer_headers())
    content = content_to_sign(
        method="POST", uri=PATH, client_id=CLIENT, time=values["response-time"], body=ANSWER
    )

    assert SignatureHeader.parse(values["signature"]).value == sign(platform().private, content)


def test_response_signer_names_its_key_version() -> None:
    signer = ResponseSigner(private_key=platform().private, key_version="3")
    headers = dict(signer.headers(method="POST", uri=PATH, client_id=CLIENT, body=b"{}", now=NOW))

    assert SignatureHeader.parse(headers["signature"]).key_version == "3"
    assert "BEGIN" not in repr(signer)


# --- responses: verifier -----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["S", "F", "U"])
def test_signed_answers_verify(status: str) -> None:
    body = _body(status)
    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)

    verified = verifier.verify(method="POST", uri=PATH, headers=_answer_headers(body), body=body)

    assert verified.signed is True
    assert verified.result == Result(status=status, code="CODE")
    assert verified.response_time == NOW
    assert verified.body == json.loads(body)


def test_response_header_names_in_any_case() -> None:
    headers = [(name.upper(), value) for name, value in _answer_headers()]
    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)

    assert verifier.verify(method="POST", uri=PATH, headers=headers, body=ANSWER).signed


@pytest.mark.parametrize("status", ["F", "U"])
def test_unsigned_f_and_u_are_accepted_as_unsigned(status: str) -> None:
    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)

    verified = verifier.verify(
        method="POST", uri=PATH, headers={"content-type": CONTENT_TYPE}, body=_body(status)
    )

    assert verified.signed is False
    assert verified.response_time is None
    assert verified.result.status == status


@pytest.mark.parametrize(("status", "accepted"), [("F", True), ("U", True), ("S", False)])
def test_empty_signature_headers_count_as_unsigned(status: str, accepted: bool) -> None:
    # The SDKs' form of "unsigned": both headers present, with empty values.
    headers = {
        "signature": "algorithm=RSA256,keyVersion=1,signature=",
        "response-time": "",
    }
    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)

    if not accepted:
        with pytest.raises(UnsignedResponseError):
            verifier.verify(method="POST", uri=PATH, headers=headers, body=_body(status))
        return
    verified = verifier.verify(method="POST", uri=PATH, headers=headers, body=_body(status))
    assert verified.signed is False


def test_an_empty_signature_value_with_a_response_time_is_refused() -> None:
    headers = {
        "signature": "algorithm=RSA256,keyVersion=1,signature=",
        "response-time": "2026-11-22T10:00:00+08:00",
    }

    with pytest.raises(SignatureError) as caught:
        _read(headers, body=_body("F"))

    assert not isinstance(caught.value, UnsignedResponseError)


def test_unsigned_s_is_refused() -> None:
    with pytest.raises(UnsignedResponseError) as caught:
        _read({"content-type": CONTENT_TYPE}, body=_body("S", "SUCCESS"))

    assert caught.value.status == "S"
    assert isinstance(caught.value, SignatureError)
    assert caught.value.result_code == "INVALID_SIGNATURE"


@pytest.mark.parametrize("kept", ["signature", "response-time"])
@pytest.mark.parametrize("status", ["S", "F"])
def test_only_one_of_signature_and_response_time_is_refused(kept: str, status: str) -> None:
    body = _body(status)
    headers = [(n, v) for n, v in _answer_headers(body) if n not in {"signature", "response-time"}]
    headers += [(n, v) for n, v in _answer_headers(body) if n == kept]

    with pytest.raises(SignatureError) as caught:
        _read(headers, body=body)

    assert not isinstance(caught.value, UnsignedResponseError)


def test_an_answer_for_another_client_is_refused() -> None:
    with pytest.raises(SignatureError):
        _read(_answer_headers(client_id="SOMEONE_ELSE"))


def test_an_answer_signed_with_another_key_is_refused() -> None:
    headers = ResponseSigner(private_key=stranger().private).headers(
        method="POST", uri=PATH, client_id=CLIENT, body=ANSWER, now=NOW
    )

    with pytest.raises(SignatureError):
        _read(headers)


def test_an_answer_to_another_uri_is_refused() -> None:
    with pytest.raises(SignatureError):
        _read(_answer_headers(), uri="/ams/api/v1/payments/refund")


def test_a_tampered_answer_is_refused() -> None:
    tampered = ANSWER.replace(b"2026112210000001", b"2026112210000002")

    with pytest.raises(SignatureError):
        _read(_answer_headers(), body=tampered)


def test_the_exact_answer_bytes_are_verified() -> None:
    # The SDKs sign indented JSON as sent; re-serializing before verifying would break it.
    indented = json.dumps(json.loads(ANSWER), indent=3).encode()
    headers = _answer_headers(indented)

    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)
    verified = verifier.verify(method="POST", uri=PATH, headers=headers, body=indented)
    assert verified.signed
    assert verified.result.code == "SUCCESS"

    reserialized = encode_body(json.loads(indented))
    assert reserialized == ANSWER
    with pytest.raises(SignatureError):
        _read(headers, body=reserialized)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"paymentId":"1"}', _body("X")])
def test_a_malformed_answer_is_param_illegal(body: bytes) -> None:
    with pytest.raises(ParamIllegalError):
        _read(_answer_headers(body), body=body)


def test_an_odd_response_time_that_was_signed_is_kept_as_unknown() -> None:
    body = _body("S")
    odd = "22/11/2026 10:00"
    content = content_to_sign(method="POST", uri=PATH, client_id=CLIENT, time=odd, body=body)
    headers = {
        "client-id": CLIENT,
        "response-time": odd,
        "signature": SignatureHeader(value=sign(platform().private, content)).render(),
    }
    verifier = ResponseVerifier(client_id=CLIENT, public_key=platform().public)

    verified = verifier.verify(method="POST", uri=PATH, headers=headers, body=body)

    assert verified.signed
    assert verified.response_time is None


def test_verifier_reprs_show_no_key_material() -> None:
    ring = KeyRing([(CLIENT, "1", merchant().public)])
    texts = [
        repr(RequestVerifier(key_ring=ring)),
        repr(ResponseVerifier(client_id=CLIENT, public_key=platform().public)),
    ]

    assert all("BEGIN" not in text for text in texts)
    assert platform().public.fingerprint in texts[1]
