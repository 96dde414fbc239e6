"""Postal addresses: folding, common abbreviations, house-number split, postcode cleaning.

The abbreviation table follows the USPS street-suffix and directional abbreviations (the
common ones), applied in the expanding direction so "Main St." and "main street" agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from c360.standardize.text import fold, fold_tokens

__all__ = ["StreetParts", "city", "house_number", "postcode", "region", "street"]

_ABBREVIATIONS = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue",
    "blvd": "boulevard", "dr": "drive", "ln": "lane", "ct": "court", "crt": "court",
    "pl": "place", "sq": "square", "ter": "terrace", "tce": "terrace", "hwy": "highway",
    "pkwy": "parkway", "cres": "crescent", "cr": "crescent", "cct": "circuit", "cir": "circle",
    "cl": "close", "pde": "parade", "esp": "esplanade", "gr": "grove", "gdns": "gardens",
    "mt": "mount", "apt": "apartment", "ste": "suite", "fl": "floor", "bldg": "building",
    "n": "north", "s": "south", "e": "east", "w": "west",
    "ne": "northeast", "nw": "northwest", "se": "southeast", "sw": "southwest",
}  # fmt: skip

# In place names "st" is a saint, not a street.
_PLACE_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort", "pt": "port"}

_HOUSE_NUMBER = re.compile(r"^(\d+[a-z]?)(?:\s+|$)(.*)$")


@dataclass(frozen=True)
class StreetParts:
    street: str | None
    house_number: str | None


def _expand(tokens: list[str]) -> list[str]:
    return [_ABBREVIATIONS.get(t, t) for t in tokens]


def street(value: str, *, split_house_number: bool) -> StreetParts:
    """>>> street("12B Main St.", split_house_number=True)
    StreetParts(street='main street', house_number='12b')
    """
    folded = fold(value)
    if folded is None:
        return StreetParts(None, None)
    number = None
    if split_house_number and (m := _HOUSE_NUMBER.match(folded)):
        number, folded = m.group(1), m.group(2)
    tokens = _expand(folded.split())
    return StreetParts(" ".join(tokens) or None, number)


def house_number(value: str) -> str | None:
    tokens = fold_tokens(value)
    return "".join(tokens) or None


def city(value: str) -> str | None:
    """>>> city("Mt. Eliza")
    'mount eliza'
    """
    tokens = [_PLACE_ABBREVIATIONS.get(t, t) for t in fold_tokens(value)]
    return " ".join(tokens) or None


def region(value: str) -> str | None:
    return fold(value)


def postcode(value: str) -> str | None:
    """>>> postcode(" sw1a-1aa ")
    'SW1A1AA'
    """
    cleaned = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return cleaned or None
