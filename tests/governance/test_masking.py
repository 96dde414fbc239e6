"""Masking: each kind of value keeps just enough to recognise it by."""

from __future__ import annotations

import doctest

import pytest

from c360.governance import masking
from c360.governance.masking import MASKED, field_kind, mask


def test_documented_examples_hold() -> None:
    assert doctest.testmod(masking).failed == 0


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("email", "JOHN.SMITH@EXAMPLE.ORG", "J***@EXAMPLE.ORG"),
        ("email", "not an address", MASKED),
        ("phone", "+44 20 7946 0958", "+44 *** *** 0958"),
        ("phone", "(415) 555-2671", "*** *** 2671"),  # no country code written: none shown
        ("phone", "12", MASKED),
        ("birth_date", "14/03/1980", "1980"),
        ("birth_date", "unknown", MASKED),
        ("family_name", " Garcia", "G***"),
        ("full_name", "SMITH, Johnny", "S***"),
        ("national_id", "AB 12 34", MASKED),  # too short to keep four characters of
        ("street", "12 Main St", MASKED),
        ("other", 120.5, MASKED),
        ("email", None, None),
    ],
)
def test_each_kind_masks_as_documented(kind: str, value: object, masked: object) -> None:
    assert mask(kind, value) == masked


def test_field_names_are_read_as_their_kind() -> None:
    assert field_kind("phone_2") == "phone"
    assert field_kind("other_loyalty_tier") == "other"
    assert field_kind("given_name") == "given_name"
