"""RSA256 signatures: the content to sign, the encoding of the value, liberal decoding, the
``Signature`` header, and (Hypothesis) that any change of a signed field breaks verification."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel_wire import (
    ALGORITHM,
    SignatureHeader,
    content_to_sign,
    decode_signature,
    encode_signature,
    sign,
    verify,
)
from paycancel_wire.errors import SignatureError
from tests.adapters.keys import merchant, stranger

CONTENT = b'POST /ams/api/v1/payments/cancel\nCLIENT.2026-11-22T10:00:00+08:00.{"a":"b"}'


# --- content to sign ---------------------------------------------------------------------------


def test_content_to_sign_is_method_uri_lf_then_dotted_fields() -> None:
    content = content_to_sign(
        method="POST", uri="/path", client_id="client", time="time", body=b"body"
    )

    assert content == b"POST /path\nclient.time.body"


def test_content_to_sign_keeps_the_body_bytes_and_encodes_text_as_utf8() -> None:
    body = '{\n   "paymentRequestId": "Zahlung-ä"\n}'.encode()
    content = content_to_sign(
        method="POST", uri="/a?b=c", client_id="Ü", time="1685599933871", body=body
    )

    assert content == b"POST /a?b=c\n\xc3\x9c.1685599933871." + body


# --- the encoded value -------------------------------------------------------------------------


def test_encoded_value_is_percent_encoded_standard_base64() -> None:
    assert encode_signature(bytes([0xFB, 0xFF, 0xBF])) == "%2B%2F%2B%2F"
    assert encode_signature(b"\x00") == "AA%3D%3D"


def test_signed_value_has_no_raw_base64_punctuation() -> None:
    value = sign(merchant().private, CONTENT)

    assert re.fullmatch(r"[A-Za-z0-9%]+", value)
    assert value.endswith("%3D%3D")  # 256 bytes: two padding characters
    raw = base64.b64decode(unquote(value), validate=True)
    assert len(raw) == 256
    assert raw == merchant().private.sign(CONTENT)


def test_signing_is_deterministic() -> None:
    assert sign(merchant().private, CONTENT) == sign(merchant().private, CONTENT)
    assert sign(merchant().private, CONTENT) != sign(stranger().private, CONTENT)


RAW = bytes(range(256)) + b"\xfb\xff\xbf"


@pytest.mark.parametrize(
    "value",
    [
        encode_signature(RAW),
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("="),
        base64.urlsafe_b64encode(RAW).decode(),
        "  " + encode_signature(RAW) + "\n",
        "\t" + base64.b64encode(RAW).decode() + " ",
        encode_signature(RAW).replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d"),
    ],
    ids=[
        "percent-encoded",
        "raw-standard-padded",
        "base64url-unpadded",
        "base64url-padded",
        "percent-encoded-spaces",
        "raw-standard-spaces",
        "percent-encoded-lowercase-escapes",
    ],
)
def test_decode_signature_is_liberal(value: str) -> None:
    assert decode_signature(value) == RAW


def test_a_plus_is_not_read_as_a_space() -> None:
    raw = bytes([0xFB, 0xEF, 0xBE])  # "++++"
    assert base64.b64encode(raw) == b"++++"
    assert decode_signature("++++") == raw


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        "abcd!",
        "ab!cd",
        "abc$def=",
        "%%%",
        "a=bc",
        "ab==cd",
        "A",
        "abcde",
        "%ZZ",
        "é",
        "a\x00b",
    ],
)
def test_decode_signature_rejects_what_is_not_base64(value: str) -> None:
    with pytest.raises(SignatureError) as caught:
        decode_signature(value)

    assert caught.value.result_code == "INVALID_SIGNATURE"


def test_verify_accepts_every_decodable_form_and_rejects_garbage() -> None:
    raw = merchant().private.sign(CONTENT)
    public = merchant().public

    assert verify(public, CONTENT, encode_signature(raw))
    assert verify(public, CONTENT, base64.b64encode(raw).decode())
    assert verify(public, CONTENT, base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert not verify(public, CONTENT, "not base64!")
    assert not verify(public, CONTENT, "")
    assert not verify(public, CONTENT, "   ")
    assert not verify(public, CONTENT, encode_signature(raw[:-1]))
    assert not verify(stranger().public, CONTENT, encode_signature(raw))


# --- Hypothesis: round trip and one-byte changes -----------------------------------------------

HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)
URIS = HEADER_TEXT.map(lambda s: "/" + s)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
)


def _other_char(text: str, index: int) -> str:
    replacement = "a" if text[index] != "a" else "b"
    return text[:index] + replacement + text[index + 1 :]


@settings(max_examples=80, deadline=None)
@given(
    body=BODIES,
    time=HEADER_TEXT,
    uri=URIS,
    client_id=HEADER_TEXT,
    position=st.integers(min_value=0),
)
def test_sign_verify_round_trip_and_any_one_byte_change_fails(
    body: bytes, time: str, uri: str, client_id: str, position: int
) -> None:
    private, public = merchant().private, merchant().public
    fields = {"uri": uri, "client_id": client_id, "time": time}

    def content(body: bytes, fields: dict[str, str]) -> bytes:
        return content_to_sign(
            method="POST",
            uri=fields["uri"],
            client_id=fields["client_id"],
            time=fields["time"],
            body=body,
        )

    value = sign(private, content(body, fields))

    assert verify(public, content(body, fields), value)
    assert not verify(stranger().public, content(body, fields), value)

    if body:
        index = position % len(body)
        changed_body = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    else:
        changed_body = b"\x00"
    assert not verify(public, content(changed_body, fields), value)

    for name in ("uri", "client_id", "time"):
        text = fields[name]
        changed = dict(fields, **{name: _other_char(text, position % len(text))})
        assert not verify(public, content(body, changed), value), name


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_every_encoding_of_a_value_decodes_back(raw: bytes) -> None:
    assert decode_signature(encode_signature(raw)) == raw
    assert decode_signature(base64.b64encode(raw).decode()) == raw
    assert decode_signature(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_decode_signature_returns_bytes_or_raises_signature_error(value: str) -> None:
    try:
        decoded = decode_signature(value)
    except SignatureError:
        return
    assert isinstance(decoded, bytes)


# --- the Signature header ----------------------------------------------------------------------


def test_render_matches_the_sdk_form() -> None:
    header = SignatureHeader(value="abc%3D%3D")

    assert header.render() == "algorithm=RSA256,keyVersion=1,signature=abc%3D%3D"
    assert SignatureHeader(value="x", key_version="2").render() == (
        "algorithm=RSA256,keyVersion=2,signature=x"
    )
    assert ALGORITHM == "RSA256"


def test_header_repr_hides_the_value() -> None:
    assert "abc" not in repr(SignatureHeader(value="abcdefgh"))


@pytest.mark.parametrize(
    ("text", "version", "value"),
    [
        ("algorithm=RSA256,keyVersion=1,signature=x", "1", "x"),
        ("algorithm=RSA256, keyVersion=2, signature=x", "2", "x"),
        ("  algorithm = RSA256 ,  keyVersion = 2 ,  signature = x  ", "2", "x"),
        ("signature=x,keyVersion=2,algorithm=RSA256", "2", "x"),
        ("keyVersion=3, signature=x, algorithm=RSA256", "3", "x"),
        ("ALGORITHM=rsa256,KEYVERSION=2,SIGNATURE=x", "2", "x"),
        ("Algorithm=RSA256,KeyVersion=20240101,Signature=x", "20240101", "x"),
        ("algorithm=RSA256,signature=x", "1", "x"),
        ("algorithm=RSA256,signature=abc==", "1", "abc=="),
        ("algorithm=RSA256,keyVersion=1,signature=ab%2Bc%3D%3D", "1", "ab%2Bc%3D%3D"),
    ],
)
def test_parse_takes_every_documented_spelling(text: str, version: str, value: str) -> None:
    header = SignatureHeader.parse(text)

    assert (header.key_version, header.value, header.algorithm) == (version, value, "RSA256")


def test_parse_then_render_is_the_sdk_form() -> None:
    parsed = SignatureHeader.parse("signature=x , keyVersion=2 , algorithm=RSA256")

    assert parsed.render() == "algorithm=RSA256,keyVersion=2,signature=x"
    assert SignatureHeader.parse(parsed.render()) == parsed


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "algorithm=RSA256,keyVersion=1",
        "algorithm=RSA256,keyVersion=1,signature=",
        "algorithm=RSA256,keyVersion=1,signature",
        "garbage",
        "algorithm=RSA512,keyVersion=1,signature=x",
        "algorithm=HmacSHA256,signature=x",
    ],
)
def test_parse_rejects_missing_or_foreign_headers(text: str | None) -> None:
    with pytest.raises(SignatureError) as caught:
        SignatureHeader.parse(text)

    assert caught.value.result_code == "INVALID_SIGNATURE"
