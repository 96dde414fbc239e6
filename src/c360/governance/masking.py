"""Masking: what a role whose policy says `mask` sees of a value, by the kind of field it is.

A masked value keeps just enough to recognise it by, and never enough to use it: an email keeps
its first letter and its domain, a phone its country code and last four digits, a birth date its
year. Every masking is documented by an example here, and each masks whatever it is given — a
standardised value or a raw one as a source spelled it — the same way.

>>> mask("email", "john.doe@example.com")
'j***@example.com'
>>> mask("phone", "+1 (201) 555-0199")
'+1 *** *** 0199'
>>> mask("birth_date", "1984-07-02")
'1984'
>>> mask("given_name", "John")
'J***'
>>> mask("national_id", "123-45-6789")
'*****6789'
>>> mask("street", "12 Main Street")
'***'
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

__all__ = ["MASKED", "field_kind", "mask"]

MASKED = "***"
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SUFFIX = re.compile(r"_\d+$")


def field_kind(field: str) -> str:
    """The shared-model kind a standardised field name stands for: `phone_2` is a phone,
    `other_loyalty_tier` an `other`."""
    if field.startswith("other_"):
        return "other"
    return _SUFFIX.sub("", field)


def _email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return MASKED
    return f"{local[0]}{MASKED}@{domain}"


def _phone(value: str) -> str:
    digits = "".join(_DIGITS.findall(value))
    if len(digits) < 6:
        return MASKED
    country = ""
    if value.strip().startswith("+"):
        try:
            country = f"+{phonenumbers.parse(value, None).country_code} "
        except phonenumbers.NumberParseException:
            country = ""
    return f"{country}{MASKED} {MASKED} {digits[-4:]}"


def _birth_date(value: str) -> str:
    year = _YEAR.search(value)
    return year.group(1) if year else MASKED


def _hidden(_value: str) -> str:
    return MASKED


def _initial(value: str) -> str:
    value = value.strip()
    return f"{value[0]}{MASKED}" if value else MASKED


def _identifier(value: str) -> str:
    kept = [c for c in value if c.isalnum()]
    return f"*****{''.join(kept[-4:])}" if len(kept) > 6 else MASKED


_BY_KIND: dict[str, Callable[[str], str]] = {
    "email": _email,
    "phone": _phone,
    "birth_date": _birth_date,
    "given_name": _initial,
    "family_name": _initial,
    "full_name": _initial,
    "company": _initial,
    "national_id": _identifier,
    "customer_id": _identifier,
}


def mask(kind: str, value: object) -> object:
    """The value as a masking role sees it (None stays None; a number or a date becomes text)."""
    if value is None:
        return None
    return _BY_KIND.get(kind, _hidden)(str(value))
