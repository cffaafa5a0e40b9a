"""The body codec (S1, S2): every value a JSON string, optional fields omitted, never ``""``;
received bodies are checked without being re-serialized, and refused with ``PARAM_ILLEGAL``."""

from __future__ import annotations

import json
from typing import Any, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel.errors import PaycancelError, ValidationError
from paycancel_wire import (
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
from paycancel_wire.errors import ParamIllegalError


def _refused(call: Any, *args: Any, **kwargs: Any) -> ParamIllegalError:
    with pytest.raises(ParamIllegalError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert error.result_code == "PARAM_ILLEGAL"
    assert isinstance(error.field, str)
    assert error.reason
    return error


# --- encode_body -------------------------------------------------------------------------------


def test_encode_body_is_compact_utf8_json_in_the_given_order() -> None:
    body = encode_body({"paymentRequestId": "réq-1", "amount": {"value": "100", "currency": "USD"}})

    assert body == '{"paymentRequestId":"réq-1","amount":{"value":"100","currency":"USD"}}'.encode()


def test_encode_body_drops_none_at_every_level() -> None:
    body = encode_body({"a": "1", "b": None, "c": {"d": None, "e": "2"}, "f": ["x"]})

    assert json.loads(body) == {"a": "1", "c": {"e": "2"}, "f": ["x"]}


def test_encode_body_of_nothing_is_an_empty_object() -> None:
    assert encode_body({}) == b"{}"
    assert encode_body({"a": None}) == b"{}"


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"paymentRequestId": ""}, "paymentRequestId", "empty"),
        ({"amount": 20}, "amount", "not_string"),
        ({"amount": 20.5}, "amount", "not_string"),
        ({"flag": True}, "flag", "not_string"),
        ({"flag": False}, "flag", "not_string"),
        ({"amount": {"value": 100}}, "amount.value", "not_string"),
        ({"amount": {"currency": ""}}, "amount.currency", "empty"),
        ({"items": ["a", 1]}, "items[1]", "not_string"),
        ({"items": [{"name": ""}]}, "items[0].name", "empty"),
        ({"blob": b"bytes"}, "blob", "not_string"),
    ],
)
def test_encode_body_refuses_non_strings_and_empty_strings(
    fields: dict[str, object], field: str, reason: str
) -> None:
    error = _refused(encode_body, fields)

    assert (error.field, error.reason) == (field, reason)
    assert field in error.message


def test_encode_body_refuses_non_string_keys() -> None:
    error = _refused(encode_body, {"outer": {1: "x"}})

    assert error.reason == "invalid"
    assert error.field == "outer"


def test_encode_body_refuses_a_lone_surrogate_with_param_illegal() -> None:
    received = decode_body(b'{"paymentRequestId":"\\ud800"}')

    error = _refused(encode_body, received)

    assert error.field == "paymentRequestId"


# --- Hypothesis: round trip --------------------------------------------------------------------

KEYS = st.text(max_size=8)
STRINGS = st.text(min_size=1, max_size=12)
VALUES = st.recursive(
    STRINGS,
    lambda children: st.one_of(
        st.dictionaries(KEYS, children, max_size=4),
        st.lists(children, max_size=3),
    ),
    max_leaves=8,
)
BODIES = st.dictionaries(KEYS, VALUES, max_size=5)


@settings(max_examples=60, deadline=None)
@given(BODIES)
def test_encode_then_decode_round_trips(fields: dict[str, Any]) -> None:
    body = encode_body(fields)

    assert decode_body(body) == fields
    assert encode_body(decode_body(body)) == body


@settings(max_examples=50, deadline=None)
@given(BODIES, st.dictionaries(KEYS, st.none(), max_size=3))
def test_none_values_are_dropped(fields: dict[str, Any], nones: dict[str, None]) -> None:
    merged: dict[str, Any] = dict(nones)
    merged.update(fields)

    assert decode_body(encode_body(merged)) == fields


# --- decode_body -------------------------------------------------------------------------------


def test_decode_body_reads_the_exact_bytes_in_any_layout() -> None:
    indented = json.dumps({"a": "1", "b": {"c": "2"}}, indent=3).encode()

    assert decode_body(indented) == {"a": "1", "b": {"c": "2"}}


def test_decode_body_does_not_judge_value_types() -> None:
    # Value rules are the field readers' job (required_string etc.), not the parser's.
    assert decode_body(b'{"n":1,"b":true,"x":null}') == {"n": 1, "b": True, "x": None}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a":"\xff"}', "not_json"),
        (b"\xef\xbb\xbf{}", "not_json"),  # a UTF-8 byte order mark
        (b"", "not_json"),
        (b"{", "not_json"),
        (b"{'a': 'b'}", "not_json"),
        (b'{"a":"b"} trailing', "not_json"),
        (b"[" * 100_000, "not_json"),
        (b"[]", "not_object"),
        (b'"text"', "not_object"),
        (b"1", "not_object"),
        (b"null", "not_object"),
        (b"true", "not_object"),
    ],
    ids=[
        "not-utf8",
        "bom",
        "empty",
        "truncated",
        "single-quotes",
        "trailing",
        "deeply-nested",
        "array",
        "string",
        "number",
        "null",
        "bool",
    ],
)
def test_decode_body_refuses_what_is_not_a_json_object(body: bytes, reason: str) -> None:
    error = _refused(decode_body, body)

    assert (error.field, error.reason) == ("body", reason)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"a":"1","a":"2"}', "a"),
        (b'{"result":{"resultCode":"X","resultCode":"Y"}}', "resultCode"),
    ],
)
def test_decode_body_refuses_duplicate_keys(body: bytes, field: str) -> None:
    error = _refused(decode_body, body)

    assert (error.field, error.reason) == (field, "duplicate")


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(alphabet='{}[]":,.-+0123456789eEtrufalsn \\\u00e9', max_size=60).map(
            lambda s: s.encode("utf-8")
        ),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
            lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=3), c)),
            max_leaves=8,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_decode_body_returns_a_dict_or_raises_param_illegal(body: bytes) -> None:
    try:
        decoded: object = decode_body(body)
    except ParamIllegalError as error:
        decoded = error
    assert isinstance(decoded, (dict, ParamIllegalError))


# --- field readers -----------------------------------------------------------------------------


def test_required_string_returns_the_value() -> None:
    assert required_string({"id": "abc"}, "id", max_length=MAX_ID_LENGTH) == "abc"


def test_ids_may_be_64_characters_not_65() -> None:
    assert MAX_ID_LENGTH == 64
    assert required_string({"id": "x" * 64}, "id", max_length=MAX_ID_LENGTH) == "x" * 64

    error = _refused(required_string, {"id": "x" * 65}, "id", max_length=MAX_ID_LENGTH)

    assert (error.field, error.reason) == ("id", "too_long")


def test_length_counts_characters_not_bytes() -> None:
    assert required_string({"id": "é" * 64}, "id", max_length=MAX_ID_LENGTH) == "é" * 64


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({}, "missing"),
        ({"id": None}, "missing"),
        ({"id": ""}, "empty"),
        ({"id": 12}, "not_string"),
        ({"id": True}, "not_string"),
        ({"id": ["a"]}, "not_string"),
        ({"id": {"a": "b"}}, "not_string"),
    ],
)
def test_required_string_refusals(obj: Mapping[str, Any], reason: str) -> None:
    error = _refused(required_string, obj, "id", max_length=MAX_ID_LENGTH)

    assert (error.field, error.reason) == ("id", reason)


@pytest.mark.parametrize("obj", [{}, {"id": None}])
def test_optional_string_absent_or_null_is_none(obj: Mapping[str, Any]) -> None:
    assert optional_string(obj, "id", max_length=MAX_ID_LENGTH) is None


@pytest.mark.parametrize(
    ("obj", "reason"),
    [({"id": ""}, "empty"), ({"id": 1}, "not_string"), ({"id": "x" * 65}, "too_long")],
)
def test_optional_string_refusals(obj: Mapping[str, Any], reason: str) -> None:
    error = _refused(optional_string, obj, "id", max_length=MAX_ID_LENGTH)

    assert (error.field, error.reason) == ("id", reason)


def test_optional_object() -> None:
    assert optional_object({}, "amount") is None
    assert optional_object({"amount": None}, "amount") is None
    assert optional_object({"amount": {"value": "1"}}, "amount") == {"value": "1"}

    error = _refused(optional_object, {"amount": "1"}, "amount")

    assert (error.field, error.reason) == ("amount", "not_object")


def test_one_of_needs_at_least_one() -> None:
    one_of({"paymentId": "p"}, "paymentId", "paymentRequestId")
    one_of({"paymentRequestId": "r"}, "paymentId", "paymentRequestId")
    one_of({"paymentId": "p", "paymentRequestId": "r"}, "paymentId", "paymentRequestId")

    for obj in ({}, {"paymentId": None, "paymentRequestId": None}):
        error = _refused(one_of, obj, "paymentId", "paymentRequestId")
        assert (error.field, error.reason) == ("paymentId", "both_null")
        assert "paymentRequestId" in error.message


# --- result ------------------------------------------------------------------------------------


def _result(**fields: object) -> dict[str, object]:
    return {"result": fields}


@pytest.mark.parametrize("status", ["S", "F", "U"])
def test_decode_result_reads_each_status(status: str) -> None:
    result = decode_result(_result(resultStatus=status, resultCode="CODE", resultMessage="m"))

    assert result == Result(status=status, code="CODE", message="m")


def test_decode_result_message_is_optional() -> None:
    assert decode_result(_result(resultStatus="S", resultCode="SUCCESS")).message is None


def test_message_may_be_256_characters_not_257() -> None:
    assert MAX_MESSAGE_LENGTH == 256
    ok = decode_result(_result(resultStatus="F", resultCode="X", resultMessage="m" * 256))
    assert ok.message == "m" * 256

    error = _refused(
        decode_result, _result(resultStatus="F", resultCode="X", resultMessage="m" * 257)
    )

    assert (error.field, error.reason) == ("result.resultMessage", "too_long")


def test_code_may_be_64_characters_not_65() -> None:
    assert MAX_CODE_LENGTH == 64
    assert decode_result(_result(resultStatus="F", resultCode="C" * 64)).code == "C" * 64

    error = _refused(decode_result, _result(resultStatus="F", resultCode="C" * 65))

    assert (error.field, error.reason) == ("result.resultCode", "too_long")


@pytest.mark.parametrize(
    ("obj", "field", "reason"),
    [
        ({}, "result", "missing"),
        ({"result": None}, "result", "missing"),
        ({"result": "S"}, "result", "not_object"),
        (_result(resultStatus="X", resultCode="C"), "result.resultStatus", "invalid"),
        (_result(resultStatus="s", resultCode="C"), "result.resultStatus", "invalid"),
        (_result(resultStatus="S"), "result.resultCode", "missing"),
        (_result(resultStatus="S", resultCode=""), "result.resultCode", "empty"),
        (_result(resultStatus="S", resultCode=0), "result.resultCode", "not_string"),
        (
            _result(resultStatus="F", resultCode="C", resultMessage=""),
            "result.resultMessage",
            "empty",
        ),
    ],
)
def test_decode_result_refusals(obj: Mapping[str, Any], field: str, reason: str) -> None:
    error = _refused(decode_result, obj)

    assert (error.field, error.reason) == (field, reason)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(None, "missing"), ("", "empty"), ("SS", "too_long"), (1, "not_string")],
)
def test_decode_result_names_a_bad_status_with_its_dotted_path(status: object, reason: str) -> None:
    error = _refused(decode_result, _result(resultStatus=status, resultCode="C"))

    assert (error.field, error.reason) == ("result.resultStatus", reason)


def test_result_to_wire() -> None:
    assert Result(status="S", code="SUCCESS").to_wire() == {
        "resultStatus": "S",
        "resultCode": "SUCCESS",
    }
    long = Result(status="F", code="X", message="m" * 300).to_wire()
    assert long["resultMessage"] == "m" * MAX_MESSAGE_LENGTH


def test_result_round_trips_through_the_codec() -> None:
    result = Result(status="U", code="UNKNOWN_EXCEPTION", message="try again")

    assert decode_result(decode_body(encode_body({"result": result.to_wire()}))) == result


def test_param_illegal_is_a_validation_error() -> None:
    error = _refused(required_string, {}, "id", max_length=1)

    assert isinstance(error, ValidationError)
    assert isinstance(error, ValueError)
    assert isinstance(error, PaycancelError)
