"""Money: integer minor units and an ISO 4217 currency, never a float."""

from __future__ import annotations

from typing import Any

import attrs

from .errors import InvalidMoneyError

__all__ = ["ISO_4217_CURRENCIES", "Money"]

_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
"""
#: Active ISO 4217 alphabetic codes (list one, 2025 edition); the fund and precious-metal codes,
#: which payment platforms never use, are left out.
ISO_4217_CURRENCIES = frozenset(_CODES.split())


def _check_value(_instance: object, _attribute: Any, value: Any) -> None:
    # bool is an int subclass; True is not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidMoneyError(
            message=f"amount must be an int of minor units, got {type(value).__name__}",
            field="value",
        )
    if value < 0:
        raise InvalidMoneyError(message=f"amount must not be negative: {value}", field="value")


def _check_currency(_instance: object, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or value not in ISO_4217_CURRENCIES:
        raise InvalidMoneyError(
            message=f"currency must be an ISO 4217 code such as 'USD', got {value!r}",
            field="currency",
        )


@attrs.frozen
class Money:
    """An amount in minor units (cents, fen, yen) of an ISO 4217 currency.

    Args:
        value: the amount in minor units, a non-negative ``int`` (``1050`` is USD 10.50).
        currency: the ISO 4217 alphabetic code, upper case.

    Raises:
        InvalidMoneyError: on a float, bool, negative amount or unknown currency.
    """

    value: int = attrs.field(validator=_check_value)
    currency: str = attrs.field(validator=_check_currency)

    def __str__(self) -> str:
        return f"{self.currency} {self.value} (minor units)"
