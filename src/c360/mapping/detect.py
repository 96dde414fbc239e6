"""Detect what each source column holds, from its name and a sample of its values.

Names decide first (`surname`, `e_mail`, `zip`, `soc_sec_id`…); values confirm them or decide
for columns whose names say nothing. Every decision carries a reason, printed to the user and
overridable in the config's `fields:` mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from unidecode import unidecode

from c360.model import ColumnMapping, FieldKind

__all__ = ["ColumnProfile", "detect_columns"]

K = FieldKind

# Ordered: the first pattern that matches the normalised column name wins.
_NAME_PATTERNS: list[tuple[re.Pattern[str], FieldKind]] = [
    (re.compile(p), k)
    for p, k in [
        (r"^(e_?mail|mail)(_?addr(ess)?)?(_?\d)?$|email", K.EMAIL),
        (r"phone|^tel(ephone)?(_?\d)?$|mobile|^cell|^fax", K.PHONE),
        (r"^(dob|d_o_b)$|birth|^born$|^bday$", K.BIRTH_DATE),
        (r"^(first|given|fore|christian)_?names?$|^f_?name$|^first$|^vorname$|^prenom$", K.GIVEN_NAME),
        (r"^(last|family|sur)_?names?$|^l_?name$|^last$|^surname$|^nachname$", K.FAMILY_NAME),
        (r"^(full_?)?name$|^(customer|contact|person|client)_?name$", K.FULL_NAME),
        (r"soc_?sec|^ssn$|social_?security|national_?(id|number|no)|^nin$|^tax_?(id|number|no)$|passport|^sin$", K.NATIONAL_ID),
        (r"(customer|client|account|member|loyalty|crm)_?(id|number|no|num)$", K.CUSTOMER_ID),
        (r"^(street|house|building)_?(number|no|num|nr)$|^(house_?)?number$|^no$", K.HOUSE_NUMBER),
        (r"^(street|address|addr)(_?(line)?_?1)?$|^street_?(address|name)$|^address_?line$", K.STREET),
        (r"^(city|town|suburb|locality|municipality|place)$", K.CITY),
        (r"^(post_?code|postal_?code|zip(_?code)?|plz|zip5)$", K.POSTCODE),
        (r"^(state|region|province|county|territory)(_?code)?$", K.REGION),
        (r"^country(_?code)?$", K.COUNTRY),
        (r"^(company|organi[sz]ation|employer|org|business)(_?name)?$", K.COMPANY),
    ]
]  # fmt: skip

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,20}$")
# Shapes the date standardiser reads: ISO, yyyymmdd, dd/mm/yyyy and mm/dd/yyyy.
_DATE = re.compile(
    r"^(1[89]|20)\d\d([-/.]?)(0?[1-9]|1[0-2])\2(0?[1-9]|[12]\d|3[01])([ T].*)?$"
    r"|^(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|[12]\d|3[01])[-/.](1[89]|20)\d\d$"
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ColumnProfile:
    """What the detector knows about a column: its name, sample values and null share."""

    name: str
    sample: Sequence[str]
    null_share: float


def _normalise(name: str) -> str:
    """`E-Mail Address` → `e_mail_address`."""
    return _NON_ALNUM.sub("_", unidecode(name).lower()).strip("_")


def _share(values: Sequence[str], test: re.Pattern[str]) -> float:
    return sum(1 for v in values if test.match(v)) / len(values) if values else 0.0


def _date_share(values: Sequence[str]) -> float:
    return _share(values, _DATE)


def _phone_share(values: Sequence[str]) -> float:
    if not values:
        return 0.0
    hits = sum(1 for v in values if _PHONE.match(v) and 7 <= sum(ch.isdigit() for ch in v) <= 15)
    return hits / len(values)


def _by_name(name: str) -> FieldKind | None:
    normal = _normalise(name)
    for pattern, kind in _NAME_PATTERNS:
        if pattern.search(normal):
            return kind
    return None


def _detect_one(profile: ColumnProfile) -> tuple[FieldKind, str]:
    values = [v for v in profile.sample if v]
    if not values:
        return K.IGNORE, "no values"
    kind = _by_name(profile.name)
    emails, dates, phones = _share(values, _EMAIL), _date_share(values), _phone_share(values)
    if kind is K.EMAIL and emails < 0.5:
        return K.OTHER, f"named like an email but only {emails:.0%} of values look like one"
    if kind is K.BIRTH_DATE and dates < 0.5:
        return K.OTHER, f"named like a birth date but only {dates:.0%} of values parse as dates"
    if kind is K.PHONE and phones < 0.5:
        return K.OTHER, f"named like a phone but only {phones:.0%} of values look like one"
    if kind is not None:
        return kind, "column name"
    if emails >= 0.8:
        return K.EMAIL, f"{emails:.0%} of values are email addresses"
    if dates >= 0.8:
        return K.IGNORE, "values are dates, but the name does not say birth date"
    if phones >= 0.8 and any(not ch.isdigit() for v in values for ch in v):
        return K.PHONE, f"{phones:.0%} of values look like phone numbers"
    distinct = len(set(values))
    if distinct == 1 and len(values) > 10:
        return K.IGNORE, "a single repeated value"
    if sum(len(v) for v in values) / len(values) > 80:
        return K.IGNORE, "long free text"
    return K.OTHER, "compared as text"


def detect_columns(
    profiles: Sequence[ColumnProfile],
    skip: Sequence[str],
    overrides: Mapping[str, FieldKind],
) -> list[ColumnMapping]:
    """Map every column of one source onto a field of the model, except the `skip` columns
    (the record id, the updated-at stamp: bookkeeping, not evidence)."""
    mappings: list[ColumnMapping] = []
    used: dict[str, int] = {}
    for profile in profiles:
        if profile.name in skip:
            continue
        if profile.name in overrides:
            kind, reason = overrides[profile.name], "config"
        elif profile.null_share >= 1.0:
            kind, reason = K.IGNORE, "all values empty"
        else:
            kind, reason = _detect_one(profile)
        if kind is K.OTHER:
            field = f"other_{_normalise(profile.name)}"
        else:
            used[kind.value] = used.get(kind.value, 0) + 1
            n = used[kind.value]
            field = kind.value if n == 1 else f"{kind.value}_{n}"
        mappings.append(ColumnMapping(profile.name, kind, field, reason))
    return mappings
