"""The result-code catalogs: every code of the seeds, and what an unknown code inherits."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from typing import Iterable

import attrs
import pytest

from paycancel import (
    CATALOG,
    CATALOG_VERSION,
    Action,
    Api,
    CodeRule,
    Outcome,
    Product,
    ResultStatus,
    interpret,
)

S = ResultStatus.SUCCEEDED
F = ResultStatus.FAILED
U = ResultStatus.UNKNOWN
ACQP = Product.ALIPAYPLUS_ACQP
MPP = Product.ALIPAYPLUS_MPP
ANTOM = Product.ANTOM

#: S1, "Result/Error codes": the whole table, code -> status.
S1_MPP_CODES = {
    "SUCCESS": S,
    "ACCESS_DENIED": F,
    "CANCEL_WINDOW_EXCEED": F,
    "INVALID_CLIENT": F,
    "INVALID_SIGNATURE": F,
    "KEY_NOT_FOUND": F,
    "MEDIA_TYPE_NOT_ACCEPTABLE": F,
    "METHOD_NOT_SUPPORTED": F,
    "NO_INTERFACE_DEF": F,
    "PARAM_ILLEGAL": F,
    "PROCESS_FAIL": F,
    "REQUEST_TRAFFIC_EXCEED_LIMIT": U,
    "UNKNOWN_EXCEPTION": U,
}

#: S2, "Result/Error codes": the whole table, code -> status.
S2_ANTOM_CODES = {
    "SUCCESS": S,
    "ACCESS_DENIED": F,
    "INVALID_API": F,
    "CANCEL_WINDOW_EXCEED": F,
    "KEY_NOT_FOUND": F,
    "MERCHANT_BALANCE_NOT_ENOUGH": F,
    "NO_INTERFACE_DEF": F,
    "ORDER_NOT_EXIST": F,
    "ORDER_STATUS_INVALID": F,
    "PARAM_ILLEGAL": F,
    "PROCESS_FAIL": F,
    "SYSTEM_ERROR": F,
    "REQUEST_TRAFFIC_EXCEED_LIMIT": U,
    "PAYMENT_METHOD_NOT_SUPPORTED": F,
    "UNKNOWN_EXCEPTION": U,
    "USER_NOT_EXIST": F,
    "USER_STATUS_ABNORMAL": F,
}

#: S0's cancelPayment result table (the F codes it names by example included).
S0_ACQP_CANCEL_CODES = {
    "SUCCESS": S,
    "ACCESS_DENIED": F,
    "KEY_NOT_FOUND": F,
    "CANCEL_WINDOW_EXCEED": F,
    "REQUEST_TRAFFIC_EXCEED_LIMIT": U,
    "UNKNOWN_EXCEPTION": U,
}

#: The outcome every cancel answer must map to, by its status.
OUTCOME_OF_STATUS = {S: Outcome.SUCCEEDED, F: Outcome.FAILED, U: Outcome.UNKNOWN}


def rows(product: Product, api: Api) -> dict[str, CodeRule]:
    return {r.code: r for r in CATALOG if r.product is product and r.api is api}


# --- every seed code is present with its status -----------------------------------------------


def test_s1_mpp_table_is_complete_and_nothing_else() -> None:
    table = rows(MPP, Api.CANCEL)
    assert len(S1_MPP_CODES) == 13
    assert {code: r.status for code, r in table.items()} == S1_MPP_CODES


def test_s2_antom_table_is_complete_and_nothing_else() -> None:
    table = rows(ANTOM, Api.CANCEL)
    assert len(S2_ANTOM_CODES) == 17
    assert {code: r.status for code, r in table.items()} == S2_ANTOM_CODES


def test_s0_acqp_cancel_codes_are_present() -> None:
    table = rows(ACQP, Api.CANCEL)
    for code, status in S0_ACQP_CANCEL_CODES.items():
        assert table[code].status is status, code


def test_s0_acqp_cancel_success_marks_the_order_cancelled() -> None:
    answer = interpret(ACQP, Api.CANCEL, S, "SUCCESS")
    assert answer.known
    assert answer.outcome is Outcome.SUCCEEDED
    assert answer.action is Action.MARK_CANCELLED
    assert not answer.retry


def test_s0_acqp_cancel_window_exceed_means_refund_instead() -> None:
    answer = interpret(ACQP, Api.CANCEL, F, "CANCEL_WINDOW_EXCEED")
    assert answer.known
    assert answer.outcome is Outcome.FAILED
    assert answer.action is Action.REFUND_INSTEAD
    assert not answer.retry


@pytest.mark.parametrize("code", ["REQUEST_TRAFFIC_EXCEED_LIMIT", "UNKNOWN_EXCEPTION"])
def test_s0_acqp_cancel_u_codes_resend_the_same_request(code: str) -> None:
    answer = interpret(ACQP, Api.CANCEL, U, code)
    assert answer.known
    assert answer.outcome is Outcome.UNKNOWN
    assert answer.action is Action.RETRY_SAME_REQUEST
    assert answer.retry


def test_s0_acqp_inquiry_order_not_exist_is_not_a_final_failure() -> None:
    """S0 scenario 2: ORDER_NOT_EXIST on inquiry means keep inquiring, then cancel."""
    answer = interpret(ACQP, Api.INQUIRY, F, "ORDER_NOT_EXIST")
    assert answer.known
    assert answer.outcome is Outcome.UNKNOWN
    assert answer.retry


def test_s0_acqp_payment_in_process_is_unknown() -> None:
    answer = interpret(ACQP, Api.PAYMENT_RESULT, U, "PAYMENT_IN_PROCESS")
    assert answer.known
    assert answer.outcome is Outcome.UNKNOWN
    assert answer.retry


def test_s0_acqp_order_is_closed_is_a_final_payment_failure() -> None:
    """S0: a cancelled successful payment reads F/ORDER_IS_CLOSED."""
    answer = interpret(ACQP, Api.PAYMENT_RESULT, F, "ORDER_IS_CLOSED")
    assert answer.known
    assert answer.outcome is Outcome.FAILED
    assert not answer.retry


def test_s0_acqp_payment_success_is_a_success() -> None:
    answer = interpret(ACQP, Api.PAYMENT_RESULT, S, "SUCCESS")
    assert answer.known
    assert answer.outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize("code", ["REQUEST_TRAFFIC_EXCEED_LIMIT", "UNKNOWN_EXCEPTION"])
def test_s0_acqp_refund_u_codes_resend_with_the_same_refund_request_id(code: str) -> None:
    answer = interpret(ACQP, Api.REFUND, U, code)
    assert answer.known
    assert answer.action is Action.RETRY_SAME_REQUEST


# --- actions, spot checks against the seeds' "further action" ---------------------------------


@pytest.mark.parametrize(
    ("product", "code", "action"),
    [
        (ANTOM, "SUCCESS", Action.MARK_CANCELLED),
        (ANTOM, "MERCHANT_BALANCE_NOT_ENOUGH", Action.RETRY_LATER),
        (ANTOM, "KEY_NOT_FOUND", Action.FIX_CREDENTIALS),
        (ANTOM, "PARAM_ILLEGAL", Action.FIX_REQUEST),
        (ANTOM, "NO_INTERFACE_DEF", Action.FIX_REQUEST),
        (ANTOM, "ACCESS_DENIED", Action.CONTACT_SUPPORT),
        (MPP, "SUCCESS", Action.MARK_CANCELLED),
        (MPP, "INVALID_SIGNATURE", Action.FIX_CREDENTIALS),
        (MPP, "INVALID_CLIENT", Action.FIX_CREDENTIALS),
        (MPP, "KEY_NOT_FOUND", Action.FIX_CREDENTIALS),
        (MPP, "PARAM_ILLEGAL", Action.FIX_REQUEST),
        (ACQP, "KEY_NOT_FOUND", Action.FIX_CREDENTIALS),
    ],
)
def test_actions_follow_the_seeds(product: Product, code: str, action: Action) -> None:
    status = S2_ANTOM_CODES[code] if product is ANTOM else S1_MPP_CODES[code]
    assert interpret(product, Api.CANCEL, status, code).action is action


def test_s2_merchant_balance_not_enough_is_the_one_f_code_to_retry() -> None:
    """S2: "Call the interface again after the merchant has sufficient balance"."""
    answer = interpret(ANTOM, Api.CANCEL, F, "MERCHANT_BALANCE_NOT_ENOUGH")
    assert answer.outcome is Outcome.FAILED
    assert answer.retry
    retried = [
        c for c, s in S2_ANTOM_CODES.items() if s is F and interpret(ANTOM, Api.CANCEL, F, c).retry
    ]
    assert retried == ["MERCHANT_BALANCE_NOT_ENOUGH"]


@pytest.mark.parametrize(
    ("product", "code"),
    [
        (ANTOM, "PROCESS_FAIL"),
        (ANTOM, "SYSTEM_ERROR"),
        (ANTOM, "PAYMENT_METHOD_NOT_SUPPORTED"),
        (ANTOM, "CANCEL_WINDOW_EXCEED"),
        (MPP, "PROCESS_FAIL"),
        (MPP, "CANCEL_WINDOW_EXCEED"),
        (ACQP, "PROCESS_FAIL"),
    ],
)
def test_do_not_retry_codes_are_not_retried(product: Product, code: str) -> None:
    """S1/S2: "Do not retry" (PROCESS_FAIL, SYSTEM_ERROR, ...), "cannot be canceled anymore"."""
    answer = interpret(product, Api.CANCEL, F, code)
    assert answer.known
    assert answer.outcome is Outcome.FAILED
    assert not answer.retry
    assert answer.action not in (Action.RETRY_SAME_REQUEST, Action.RETRY_LATER)


def test_s2_antom_cancel_window_exceed_does_not_refund_automatically() -> None:
    """Only S0 (ACQP) prescribes the refund fallback; for Antom the window is simply over."""
    assert interpret(ANTOM, Api.CANCEL, F, "CANCEL_WINDOW_EXCEED").action is not (
        Action.REFUND_INSTEAD
    )
    assert interpret(MPP, Api.CANCEL, F, "CANCEL_WINDOW_EXCEED").action is not (
        Action.REFUND_INSTEAD
    )


@pytest.mark.parametrize(
    ("product", "table"), [(MPP, S1_MPP_CODES), (ANTOM, S2_ANTOM_CODES)], ids=["S1", "S2"]
)
def test_cancel_outcome_follows_the_status(
    product: Product, table: dict[str, ResultStatus]
) -> None:
    for code, status in table.items():
        answer = interpret(product, Api.CANCEL, status, code)
        assert answer.known, code
        assert answer.outcome is OUTCOME_OF_STATUS[status], code
        if status is U:
            assert answer.action is Action.RETRY_SAME_REQUEST, code


def test_only_s_rows_can_be_a_success() -> None:
    for row in CATALOG:
        if row.outcome is Outcome.SUCCEEDED:
            assert row.status is S, row
        if row.status is U:
            assert row.outcome is Outcome.UNKNOWN, row
            assert row.action.retry, row


def test_every_row_cites_a_seed_and_explains_itself() -> None:
    for row in CATALOG:
        assert re.search(r"\bS[0-4]\b", row.source), row
        assert row.message.strip(), row
        assert row.code == row.code.upper(), row


# --- unknown codes inherit from their status --------------------------------------------------


@pytest.mark.parametrize("product", list(Product))
@pytest.mark.parametrize("api", list(Api))
def test_unknown_u_code_retries_the_same_request(product: Product, api: Api) -> None:
    answer = interpret(product, api, U, "SOMETHING_NEW")
    assert not answer.known
    assert answer.outcome is Outcome.UNKNOWN
    assert answer.action is Action.RETRY_SAME_REQUEST
    assert answer.retry


@pytest.mark.parametrize("product", list(Product))
@pytest.mark.parametrize("api", list(Api))
def test_unknown_f_code_goes_to_manual_review(product: Product, api: Api) -> None:
    answer = interpret(product, api, F, "SOMETHING_NEW")
    assert not answer.known
    assert answer.outcome is Outcome.FAILED
    assert answer.action is Action.MANUAL_REVIEW
    assert not answer.retry


@pytest.mark.parametrize("product", list(Product))
@pytest.mark.parametrize("code", ["SOMETHING_NEW", "success", "Success", " SUCCESS", ""])
def test_s_with_an_unknown_code_is_never_a_silent_success(product: Product, code: str) -> None:
    answer = interpret(product, Api.CANCEL, S, code)
    assert not answer.known
    assert answer.outcome is not Outcome.SUCCEEDED
    assert answer.action is Action.MANUAL_REVIEW
    assert not answer.retry


@pytest.mark.parametrize(
    ("status", "code"),
    [(F, "SUCCESS"), (U, "SUCCESS"), (S, "CANCEL_WINDOW_EXCEED"), (S, "UNKNOWN_EXCEPTION")],
)
def test_a_known_code_under_the_wrong_status_is_not_known(status: ResultStatus, code: str) -> None:
    answer = interpret(ANTOM, Api.CANCEL, status, code)
    assert not answer.known
    assert answer.outcome is not Outcome.SUCCEEDED


def test_a_code_of_another_product_is_not_borrowed() -> None:
    """MERCHANT_BALANCE_NOT_ENOUGH is Antom's; an Alipay+ F with it is unknown: manual review."""
    answer = interpret(ACQP, Api.CANCEL, F, "MERCHANT_BALANCE_NOT_ENOUGH")
    assert not answer.known
    assert answer.action is Action.MANUAL_REVIEW


def test_interpretation_names_the_rule_applied() -> None:
    known = interpret(ANTOM, Api.CANCEL, F, "PROCESS_FAIL")
    assert known.rule == "antom.cancel.F.PROCESS_FAIL:code"
    assert known.source == "S2"
    inherited = interpret(MPP, Api.CANCEL, U, "NEW_CODE")
    assert inherited.rule == "alipayplus-mpp.cancel.U.NEW_CODE:inherited"
    assert inherited.code == "NEW_CODE"
    assert inherited.status is U


# --- the action vocabulary and the table itself -----------------------------------------------


def test_action_vocabulary_is_exactly_nine_words() -> None:
    assert {a.value for a in Action} == {
        "mark_cancelled",
        "retry_same_request",
        "refund_instead",
        "fix_request",
        "fix_credentials",
        "retry_later",
        "contact_support",
        "manual_review",
        "do_not_retry",
    }
    assert str(Action.RETRY_LATER) == "retry_later"


def test_only_the_two_retry_actions_retry() -> None:
    assert {a for a in Action if a.retry} == {Action.RETRY_SAME_REQUEST, Action.RETRY_LATER}


def test_catalog_has_no_duplicate_keys() -> None:
    keys = [(r.product, r.api, r.status, r.code) for r in CATALOG]
    assert len(keys) == len(set(keys))
    codes = [(r.product, r.api, r.code) for r in CATALOG]
    assert len(codes) == len(set(codes)), "one code must not mean two statuses for one API"


def test_catalog_rows_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        CATALOG[0].action = Action.MANUAL_REVIEW  # type: ignore[misc]  # frozen is the point


def version_of(catalog: Iterable[CodeRule]) -> str:
    """The content hash of the decision-relevant columns, as stored in decision records."""
    text = "\n".join(
        "|".join(
            (r.product.value, r.api.value, r.status.value, r.code, r.outcome.value, r.action.value)
        )
        for r in catalog
    )
    return "1+" + hashlib.sha256(text.encode()).hexdigest()[:12]


def test_catalog_version_is_formatted() -> None:
    assert re.fullmatch(r"1\+[0-9a-f]{12}", CATALOG_VERSION)


def test_catalog_version_is_the_hash_of_the_rows() -> None:
    assert version_of(CATALOG) == CATALOG_VERSION


def test_catalog_version_changes_when_a_decision_changes() -> None:
    first = CATALOG[0]
    changed = [
        (attrs.evolve(first, action=Action.MANUAL_REVIEW), *CATALOG[1:]),
        (attrs.evolve(first, outcome=Outcome.UNKNOWN), *CATALOG[1:]),
        (attrs.evolve(first, code="SUCCESS_2"), *CATALOG[1:]),
        CATALOG[1:],
        (*CATALOG, attrs.evolve(first, api=Api.REFUND, code="NEW")),
    ]
    versions = {version_of(catalog) for catalog in changed}
    assert CATALOG_VERSION not in versions
    assert len(versions) == len(changed)


def test_catalog_version_is_stable_across_processes() -> None:
    """Decision records store it: it must not depend on hash randomisation."""
    script = "import paycancel; print(paycancel.CATALOG_VERSION)"
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # this process runs with a random seed
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == CATALOG_VERSION
