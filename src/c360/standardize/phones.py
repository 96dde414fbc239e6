"""Phone numbers: parsed and validated by phonenumbers, written as E.164."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

__all__ = ["StandardPhone", "phone"]


@dataclass(frozen=True)
class StandardPhone:
    value: str | None
    flag: str | None = None


def phone(value: str, *, default_region: str = "US") -> StandardPhone:
    """E.164 for a valid number; None with a flag otherwise.

    >>> phone("(201) 555-0123 ext. 4").value
    '+12015550123'
    """
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as e:
        return StandardPhone(None, f"invalid phone: {e}")
    if not phonenumbers.is_valid_number(number):
        return StandardPhone(None, "invalid phone: not a valid number for its region")
    return StandardPhone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
