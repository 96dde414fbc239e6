"""Zero-configuration choices: the comparison for each kind of field, and blocking candidates.

These are what `c360 dedupe --show-config` prints when no config is given; every one can be
overridden in the config file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from c360.config import (
    ComparisonConfig,
    DateWithinLevel,
    DayMonthSwappedLevel,
    EditDistanceLevel,
    ExactLevel,
    JaroWinklerLevel,
    LevelConfig,
    NicknameLevel,
    SameLevel,
    SwappedLevel,
)
from c360.model import FieldKind

__all__ = ["ADDRESS_PARTS", "BLOCKING_CANDIDATES", "address_comparison", "default_comparison"]

# The parts of a postal address, most specific first.
ADDRESS_PARTS = ("street", "house_number", "postcode", "city", "region")


def address_comparison(parts: Sequence[str]) -> ComparisonConfig:
    """One comparison for the whole address, from the same house down to the same region.

    Compared one by one, the parts would count a move five times over (street, number,
    postcode, city and region all disagree together) and a shared home five times over
    (which is how a family looks like one person). As levels of one comparison, the model
    learns how much "same house", "same postcode" or "same city" is worth once.
    """
    present = set(parts)
    levels: list[LevelConfig] = []
    if {"street", "house_number"} <= present:
        area = next((p for p in ("postcode", "city") if p in present), None)
        if area:
            levels.append(SameLevel(fields=["street", "house_number", area]))
        levels.append(SameLevel(fields=["street", "house_number"]))
    elif "street" in present:
        area = next((p for p in ("postcode", "city") if p in present), None)
        levels.append(SameLevel(fields=["street", *([area] if area else [])]))
    if "street" in present:
        levels.append(JaroWinklerLevel(at_least=0.9, on="street"))
    levels += [SameLevel(fields=[p]) for p in ("postcode", "city", "region") if p in present]
    return ComparisonConfig(field="address", levels=levels)


K = FieldKind


def _jw(t: float) -> JaroWinklerLevel:
    return JaroWinklerLevel(at_least=t)


def _dl(k: int) -> EditDistanceLevel:
    return EditDistanceLevel(type="damerau_levenshtein", at_most=k)


def default_comparison(
    field: str, kind: FieldKind, present: Mapping[str, FieldKind]
) -> ComparisonConfig | None:
    """The default comparison for a field, or None if the kind is not compared by default.

    `present` maps every standardised field of the job to its kind, so that a name comparison
    can look for swapped given and family names only when both exist.
    """
    levels: list[LevelConfig]
    tf = False
    match kind:
        case K.GIVEN_NAME:
            levels = [ExactLevel(), _jw(0.92), NicknameLevel()]
            if "family_name" in present and field == "given_name":
                levels.append(SwappedLevel(other="family_name", at_least=0.9))
            # One edit in a short name ("amy" / "ay") is a typo Jaro-Winkler scores low.
            levels += [_dl(1), _jw(0.8)]
            tf = True
        case K.FAMILY_NAME:
            levels = [ExactLevel(), _jw(0.92)]
            if "given_name" in present and field == "family_name":
                levels.append(SwappedLevel(other="given_name", at_least=0.9))
            levels += [_dl(1), _jw(0.8)]
            tf = True
        case K.FULL_NAME | K.COMPANY:
            levels, tf = [ExactLevel(), _jw(0.92), _jw(0.8)], True
        case K.EMAIL:
            # No looser level: emails are built from names, so a fuzzy email level would
            # count the name evidence twice (aaronwilliams@ ~ aaronwilliamson@).
            levels = [ExactLevel(), _dl(1)]
        case K.PHONE:
            levels = [ExactLevel(), _dl(1)]  # one mistyped digit
        case K.BIRTH_DATE:
            levels = [ExactLevel(), _dl(1), DayMonthSwappedLevel(), DateWithinLevel(days=366)]
        case K.STREET:
            levels, tf = [ExactLevel(), _jw(0.9), _jw(0.75)], True
        case K.HOUSE_NUMBER | K.REGION | K.COUNTRY:
            levels = [ExactLevel()]
        case K.CITY:
            levels, tf = [ExactLevel(), _jw(0.9)], True
        case K.POSTCODE:
            levels, tf = [ExactLevel(), _dl(1)], True
        case K.NATIONAL_ID | K.CUSTOMER_ID:
            levels = [ExactLevel(), _dl(1)]
        case K.OTHER:
            levels, tf = [ExactLevel(), _jw(0.9)], True
        case _:
            return None
    return ComparisonConfig(field=field, levels=levels, term_frequency=tf)


# Blocking rules tried in order when the config gives none; a rule is used when its fields
# exist and it does not select too many pairs. Strong keys first, then pairs of weaker fields,
# so that a record with a typo in any one field still meets its duplicates through another rule.
BLOCKING_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("phone",),
    ("national_id",),
    ("customer_id",),
    ("given_name", "family_name"),
    ("family_name", "birth_date"),
    ("given_name", "birth_date"),
    ("birth_date", "postcode"),
    ("family_name", "postcode"),
    ("given_name", "postcode"),
    ("street", "house_number"),
    ("street", "postcode"),
    ("family_name", "city"),
    ("given_name", "city"),
    ("birth_date", "city"),
    ("full_name",),
    ("full_name", "birth_date"),
)
