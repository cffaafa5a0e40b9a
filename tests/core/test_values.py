"""Value objects: typed identifiers, Money, PaymentOrder, and the error tree they raise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Type, Union

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paycancel import (
    MAX_ID_LENGTH,
    UTC8,
    AcquirerId,
    Money,
    PaymentId,
    PaymentOrder,
    PaymentRequestId,
    Product,
    PspId,
    RefundRequestId,
    WindowPolicy,
)
from paycancel.errors import (
    ConcurrentUpdateError,
    IllegalTransitionError,
    InvalidIdentifierError,
    InvalidMoneyError,
    InvalidOrderError,
    InvalidTimeError,
    NotFoundError,
    PaycancelError,
    PolicyError,
    UnsupportedProductError,
    ValidationError,
)

ID_TYPES = (PaymentId, PaymentRequestId, AcquirerId, PspId, RefundRequestId)
IdType = Type[Union[PaymentId, PaymentRequestId, AcquirerId, PspId, RefundRequestId]]

INITIATED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC8)
USD_10 = Money(1050, "USD")


def acqp_order(**overrides: Any) -> PaymentOrder:
    fields: dict[str, Any] = {
        "product": Product.ALIPAYPLUS_ACQP,
        "amount": USD_10,
        "initiated_at": INITIATED,
        "payment_request_id": PaymentRequestId("req-1"),
    }
    fields.update(overrides)
    return PaymentOrder(**fields)


def mpp_order(**overrides: Any) -> PaymentOrder:
    fields: dict[str, Any] = {
        "product": Product.ALIPAYPLUS_MPP,
        "amount": USD_10,
        "initiated_at": INITIATED,
        "payment_request_id": PaymentRequestId("20200101234567890132"),
        "acquirer_id": AcquirerId("1022188000000000001"),
        "psp_id": PspId("1022172000000000001"),
    }
    fields.update(overrides)
    return PaymentOrder(**fields)


# --- typed identifiers ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ID_TYPES)
def test_identifier_keeps_its_text(kind: IdType) -> None:
    ident = kind("20200101234567890132")
    assert ident.value == "20200101234567890132"
    assert str(ident) == "20200101234567890132"
    assert ident == kind("20200101234567890132")


@pytest.mark.parametrize("kind", ID_TYPES)
def test_identifier_of_exactly_64_characters_is_accepted(kind: IdType) -> None:
    text = "9" * MAX_ID_LENGTH
    assert MAX_ID_LENGTH == 64  # S1, S2: "Maximum length: 64 characters"
    assert kind(text).value == text


@pytest.mark.parametrize("kind", ID_TYPES)
def test_identifier_of_65_characters_is_rejected(kind: IdType) -> None:
    text = "9" * 65
    with pytest.raises(InvalidIdentifierError) as info:
        kind(text)
    assert info.value.field == kind.__name__
    assert info.value.value == text


@pytest.mark.parametrize("kind", ID_TYPES)
def test_empty_identifier_is_rejected(kind: IdType) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        kind("")
    assert info.value.field == kind.__name__
    assert info.value.value == ""


@pytest.mark.parametrize("kind", ID_TYPES)
@pytest.mark.parametrize("value", [123, None, b"abc", 1.5])
def test_non_string_identifier_is_rejected(kind: IdType, value: Any) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        kind(value)
    assert info.value.field == kind.__name__
    assert info.value.value == value


@pytest.mark.parametrize("kind", ID_TYPES)
@pytest.mark.parametrize(
    "value",
    [
        " abc",
        "abc ",
        "\tabc",
        "abc\n",
        "\u00a0abc",  # no-break space around the id
        "ab\tc",
        "ab\nc",
        "ab\x00c",
        "ab\x1bc",
        "ab\x7fc",
    ],
)
def test_whitespace_and_control_characters_are_rejected(kind: IdType, value: str) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        kind(value)
    assert info.value.field == kind.__name__
    assert info.value.value == value


@pytest.mark.parametrize("value", ["ab\x85c", "ab\x9bc", "ab\x80c"])
def test_c1_control_characters_are_rejected(value: str) -> None:
    """U+0080..U+009F are control characters too (Unicode category Cc), like U+0000..U+001F."""
    with pytest.raises(InvalidIdentifierError) as info:
        PaymentRequestId(value)
    assert info.value.value == value


def test_payment_id_is_not_a_payment_request_id_with_the_same_text() -> None:
    """Mixing the two up is the bug the typed identifiers exist to catch (STYLE 1)."""
    text = "20190608114010800100188820200350000"
    payment_id: object = PaymentId(text)
    request_id: object = PaymentRequestId(text)
    assert payment_id != request_id
    assert request_id != payment_id
    acquirer: object = AcquirerId("1022")
    psp: object = PspId("1022")
    assert acquirer != psp
    assert len({PaymentId("x"), PaymentRequestId("x"), RefundRequestId("x")}) == 3


def test_order_refuses_an_identifier_of_the_wrong_type() -> None:
    with pytest.raises(TypeError):
        acqp_order(payment_request_id=PaymentId("req-1"))


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
        min_size=1,
        max_size=MAX_ID_LENGTH,
    )
)
def test_any_printable_ascii_identifier_up_to_64_chars_round_trips(text: str) -> None:
    assert str(PaymentRequestId(text)) == text


@settings(max_examples=50, deadline=None)
@given(text=st.text(min_size=MAX_ID_LENGTH + 1, max_size=200))
def test_any_identifier_over_64_chars_is_rejected(text: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        PaymentId(text)


# --- Money -----------------------------------------------------------------------------------


def test_money_is_integer_minor_units_and_a_currency() -> None:
    money = Money(1050, "USD")
    assert money.value == 1050
    assert money.currency == "USD"
    assert money == Money(value=1050, currency="USD")
    assert money != Money(1050, "HKD")
    assert money != Money(1051, "USD")
    assert Money(0, "JPY").value == 0


@pytest.mark.parametrize("value", [10.5, 10.0, True, False, "1050", None])
def test_money_rejects_anything_but_an_int_amount(value: object) -> None:
    with pytest.raises(InvalidMoneyError) as info:
        Money(value, "USD")  # type: ignore[arg-type]  # the wrong type is the point
    assert info.value.field == "value"


def test_money_rejects_a_decimal_amount() -> None:
    with pytest.raises(InvalidMoneyError) as info:
        Money(Decimal("10.50"), "USD")  # type: ignore[arg-type]  # the wrong type is the point
    assert info.value.field == "value"


def test_money_rejects_a_negative_amount() -> None:
    with pytest.raises(InvalidMoneyError) as info:
        Money(-1, "USD")
    assert info.value.field == "value"


@pytest.mark.parametrize("currency", ["usd", "Usd", "US", "USDT", "XXX", "ABC", "", " USD"])
def test_money_rejects_an_unknown_or_lower_case_currency(currency: str) -> None:
    with pytest.raises(InvalidMoneyError) as info:
        Money(100, currency)
    assert info.value.field == "currency"


def test_money_rejects_a_non_string_currency() -> None:
    with pytest.raises(InvalidMoneyError) as info:
        Money(100, 840)  # type: ignore[arg-type]  # the wrong type is the point
    assert info.value.field == "currency"


@pytest.mark.parametrize("currency", ["USD", "CNY", "HKD", "JPY", "KRW", "PHP", "IDR", "EUR"])
def test_money_accepts_the_currencies_of_the_wallets(currency: str) -> None:
    assert Money(1, currency).currency == currency


# --- PaymentOrder ----------------------------------------------------------------------------


def test_order_with_only_a_payment_id_is_valid() -> None:
    order = acqp_order(payment_request_id=None, payment_id=PaymentId("2019061218401080"))
    assert order.payment_id == PaymentId("2019061218401080")
    assert order.payment_request_id is None


def test_order_needs_one_identifier() -> None:
    with pytest.raises(InvalidOrderError) as info:
        acqp_order(payment_request_id=None, payment_id=None)
    assert info.value.field == "payment_request_id"


def test_order_rejects_a_zero_amount() -> None:
    with pytest.raises(InvalidOrderError) as info:
        acqp_order(amount=Money(0, "USD"))
    assert info.value.field == "amount"


def test_order_rejects_a_naive_initiation_time() -> None:
    with pytest.raises(InvalidTimeError) as info:
        acqp_order(initiated_at=INITIATED.replace(tzinfo=None))
    assert info.value.field == "initiated_at"


def test_order_rejects_a_naive_expiry_time() -> None:
    naive = (INITIATED + dt.timedelta(minutes=10)).replace(tzinfo=None)
    with pytest.raises(InvalidTimeError) as info:
        acqp_order(expires_at=naive)
    assert info.value.field == "expires_at"


def test_order_accepts_any_offset_for_its_times() -> None:
    order = acqp_order(
        initiated_at=dt.datetime(2024, 5, 1, 4, 0, tzinfo=dt.timezone.utc),
        expires_at=dt.datetime(2024, 5, 1, 12, 10, tzinfo=UTC8),
    )
    assert order.expires_at is not None
    assert order.expires_at - order.initiated_at == dt.timedelta(minutes=10)


@pytest.mark.parametrize(
    "expires_at",
    [INITIATED, INITIATED - dt.timedelta(seconds=1), INITIATED.astimezone(dt.timezone.utc)],
)
def test_order_expiry_must_be_after_initiation(expires_at: dt.datetime) -> None:
    with pytest.raises(InvalidOrderError) as info:
        acqp_order(expires_at=expires_at)
    assert info.value.field == "expires_at"


def test_mpp_order_with_the_three_ids_of_s1_is_valid() -> None:
    order = mpp_order()
    assert order.acquirer_id == AcquirerId("1022188000000000001")
    assert order.psp_id == PspId("1022172000000000001")


@pytest.mark.parametrize(
    ("missing", "extra"),
    [
        ("acquirer_id", {}),
        ("psp_id", {}),
        ("payment_request_id", {"payment_id": PaymentId("2019061218401080")}),
    ],
)
def test_mpp_order_needs_acquirer_psp_and_request_id(missing: str, extra: dict[str, Any]) -> None:
    """S1: acquirerId, pspId and paymentRequestId are all REQUIRED; the error names the gap."""
    with pytest.raises(InvalidOrderError) as info:
        mpp_order(**{missing: None}, **extra)
    assert info.value.field == missing


def test_acqp_and_antom_orders_do_not_need_the_mpp_ids() -> None:
    assert acqp_order().acquirer_id is None
    assert acqp_order(product=Product.ANTOM).psp_id is None


def test_order_defaults_describe_an_unpaid_wallet_payment() -> None:
    order = acqp_order()
    assert order.payment_status is None
    assert not order.captured
    assert not order.refunded
    assert not order.cancelled


def test_mpp_key_is_the_s1_triple() -> None:
    assert mpp_order().key == (
        "alipayplus-mpp:1022188000000000001/1022172000000000001/20200101234567890132"
    )


def test_mpp_key_tells_two_acquirers_apart() -> None:
    other = mpp_order(acquirer_id=AcquirerId("1022188000000000002"))
    assert other.key != mpp_order().key


@pytest.mark.parametrize(
    ("product", "prefix"),
    [(Product.ALIPAYPLUS_ACQP, "alipayplus-acqp"), (Product.ANTOM, "antom")],
)
def test_caller_key_prefers_the_request_id(product: Product, prefix: str) -> None:
    both = acqp_order(product=product, payment_id=PaymentId("2019061218401080"))
    assert both.key == f"{prefix}:request:req-1"
    only_payment = acqp_order(
        product=product, payment_request_id=None, payment_id=PaymentId("2019061218401080")
    )
    assert only_payment.key == f"{prefix}:payment:2019061218401080"


def test_keys_differ_between_products_for_the_same_request_id() -> None:
    assert acqp_order().key != acqp_order(product=Product.ANTOM).key


def test_request_id_and_payment_id_with_the_same_text_give_different_keys() -> None:
    by_request = acqp_order(payment_request_id=PaymentRequestId("X1"))
    by_payment = acqp_order(payment_request_id=None, payment_id=PaymentId("X1"))
    assert by_request.key != by_payment.key


# --- immutability ----------------------------------------------------------------------------


def test_value_objects_are_frozen() -> None:
    ident = PaymentId("p-1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ident.value = "p-2"  # type: ignore[misc]  # assigning to a frozen attribute is the point
    money = Money(1, "USD")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        money.value = 2  # type: ignore[misc]  # assigning to a frozen attribute is the point
    order = acqp_order()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        order.cancelled = True  # type: ignore[misc]  # assigning to a frozen attribute is the point
    assert ident.value == "p-1"
    assert money.value == 1
    assert order.cancelled is False


def test_state_changes_return_new_orders() -> None:
    order = acqp_order()
    cancelled = attrs.evolve(order, cancelled=True)
    assert cancelled.cancelled
    assert not order.cancelled


def test_evolve_validates_like_the_constructor() -> None:
    with pytest.raises(InvalidOrderError):
        attrs.evolve(acqp_order(), payment_request_id=None)


# --- the error tree --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ValidationError,
        InvalidIdentifierError,
        InvalidMoneyError,
        InvalidOrderError,
        InvalidTimeError,
        PolicyError,
        UnsupportedProductError,
        IllegalTransitionError,
        ConcurrentUpdateError,
        NotFoundError,
    ],
)
def test_every_error_is_a_paycancel_error(error: type[Exception]) -> None:
    assert issubclass(error, PaycancelError)


@pytest.mark.parametrize(
    "error",
    [InvalidIdentifierError, InvalidMoneyError, InvalidOrderError, InvalidTimeError, PolicyError],
)
def test_validation_errors_are_value_errors(error: type[Exception]) -> None:
    """Callers that catch ValueError around input parsing keep working."""
    assert issubclass(error, ValidationError)
    assert issubclass(error, ValueError)


def test_errors_carry_their_fields_and_print_their_message() -> None:
    with pytest.raises(PaycancelError) as info:
        PspId("x" * 65)
    error = info.value
    assert isinstance(error, InvalidIdentifierError)
    assert (error.field, error.value) == ("PspId", "x" * 65)
    assert str(error) == error.message
    assert "64" in error.message


def test_policy_error_names_the_offending_setting() -> None:
    with pytest.raises(PolicyError) as info:
        WindowPolicy(cutoff=dt.time(0, 15), day_offset=-1)
    assert info.value.field == "day_offset"


def test_raised_errors_accept_a_traceback() -> None:
    """Errors are not frozen: Python writes __traceback__ onto them when raised."""
    with pytest.raises(NotFoundError) as info:
        raise NotFoundError(message="no such cancellation", key="antom:request:r1")
    assert info.value.__traceback__ is not None
    assert info.value.key == "antom:request:r1"
    assert isinstance(info.value, LookupError)
