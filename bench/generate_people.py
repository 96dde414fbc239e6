"""Synthetic US people records with realistic duplicates, for entity-resolution benchmarks.

    python bench/generate_people.py --records 1000000 \
        --out bench/data/people_1000000.csv --truth bench/data/people_1000000_truth.csv --seed 7

Writes `id,first_name,last_name,email,phone,birth_date,street_address,city,postcode,state`
and a truth file `id,person_id`. About 30% of people get 1-4 extra records; each extra
record carries 1-3 independent corruptions (typos, nicknames, swapped day/month,
blanks, phone and email variants, a move, swapped names, postcode typos). On top of
that a few values are shared by unrelated records on purpose (a call-centre phone,
`test@example.com`, the `1900-01-01` placeholder birth date, family emails), because
real customer data has such hot keys and a resolver must not merge on them.

Names, streets and cities are drawn with Zipf-like weights so that "James Smith" in
"New York" is as over-represented as it is in real data. Everything derives from one
seed: the same seed gives a byte-identical file.

Also importable: `generate(records, seed) -> (people, truth)` as pyarrow tables.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
from nicknames import NickNamer
from people_data import (
    CITIES,
    COMPANY_DOMAINS,
    EMAIL_PROVIDERS,
    EMAIL_TAGS,
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    STREET_NAMES,
    STREET_SUFFIXES,
)

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]

COLUMNS = (
    "id", "first_name", "last_name", "email", "phone", "birth_date",
    "street_address", "city", "postcode", "state",
)  # fmt: skip

# Population shape: share of people with extra records, and how many extras they get.
# Most real duplicates are pairs, so the tail is thin: 1M rows hold about 730k people.
DUPLICATED_SHARE = 0.30
EXTRA_RECORDS = np.array([1, 2, 3, 4])
EXTRA_RECORDS_P = np.array([0.86, 0.09, 0.03, 0.02])
CORRUPTIONS_PER_DUPLICATE = np.array([1, 2, 3])
CORRUPTIONS_PER_DUPLICATE_P = np.array([0.50, 0.35, 0.15])

# Corruptions of duplicate records, with relative weights.
CORRUPTIONS: dict[str, float] = {
    "name_typo": 22,
    "nickname": 12,
    "birth_date": 8,
    "missing": 14,
    "phone": 12,
    "email": 14,
    "moved": 10,
    "name_swap": 1.5,
    "postcode_typo": 6.5,
}
# Which field a "missing" corruption blanks; "address" blanks all four address fields.
MISSING_FIELDS: dict[str, float] = {
    "email": 0.30, "phone": 0.30, "birth_date": 0.15, "address": 0.10,
    "postcode": 0.10, "first_name": 0.05,
}  # fmt: skip
EMAIL_VARIANTS: dict[str, float] = {
    "case": 0.20, "gmail_dots": 0.15, "plus_tag": 0.15, "provider": 0.20, "new": 0.30,
}  # fmt: skip

# Hot keys: shares of all records (not people) that carry a shared placeholder value.
CALL_CENTRE_SHARE = 0.003
TEST_EMAIL_SHARE = 0.002
DEFAULT_BIRTH_DATE_SHARE = 0.002
# Share of people who live with another person (same surname, address and email).
FAMILY_SHARE = 0.004

CALL_CENTRE = (877, 394, 2710)
TEST_EMAIL = "test@example.com"
DEFAULT_BIRTH_DATE = (1900, 1, 1)
US_DATE_SHARE = 0.10
COMPANY_EMAIL_SHARE = 0.12
UNIT_SHARE = 0.12
HOME_AREA_CODE_SHARE = 0.75  # the rest kept a mobile number from another city

BIRTH_FIRST = np.datetime64("1940-01-01")
BIRTH_LAST = np.datetime64("2005-12-31")

PHONE_FORMATS = (
    "({a}) {e}-{n}", "{a}-{e}-{n}", "+1 {a} {e} {n}", "{a}{e}{n}", "{a}.{e}.{n}",
)  # fmt: skip
PHONE_FORMATS_P = np.array([0.35, 0.30, 0.10, 0.15, 0.10])

# How people build the local part of an address from their name, with weights.
EMAIL_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{f}.{l}", 30), ("{f}{l}", 15), ("{fi}{l}", 15), ("{f}_{l}", 5), ("{l}{fi}", 5),
    ("{f}{li}", 5), ("{f}", 5), ("{l}.{f}", 5), ("{fi}.{l}", 5), ("{l}{f}", 5),
)  # fmt: skip

# QWERTY neighbours: substitution and insertion typos mostly hit an adjacent key.
KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh",
    "u": "yihj", "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz",
    "d": "serfcx", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn",
    "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb",
    "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip


def _normalised(weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(weights, dtype=np.float64)
    normalised: npt.NDArray[np.float64] = array / array.sum()
    return normalised


def _zipf(n: int, exponent: float, offset: float) -> npt.NDArray[np.float64]:
    """Probabilities for ranks 1..n; `offset` flattens the head so rank 1 is not absurd."""
    weights = (np.arange(1, n + 1, dtype=np.float64) + offset) ** -exponent
    return _normalised(weights)


def _name_key(name: str) -> str:
    """A name as it appears in an email local part: lower case ASCII letters only."""
    return re.sub(r"[^a-z]", "", name.lower())


FIRST_NAMES = np.array(MALE_FIRST_NAMES + FEMALE_FIRST_NAMES, dtype=object)
N_MALE = len(MALE_FIRST_NAMES)
# Offsets tuned so the top name has about its real share: James is ~3.5% of men,
# Smith ~2% of these surnames, New York ~9% of these cities' people.
MALE_P = _zipf(len(MALE_FIRST_NAMES), 1.0, 8.0)
FEMALE_P = _zipf(len(FEMALE_FIRST_NAMES), 1.0, 8.0)
LAST_P = _zipf(len(LAST_NAMES), 1.0, 10.0)
CITY_P = _zipf(len(CITIES), 1.0, 1.0)
STREET_P = _zipf(len(STREET_NAMES), 0.8, 2.0)
SUFFIX_P = _zipf(len(STREET_SUFFIXES), 1.2, 1.0)
LAST_NAME_ARRAY = np.array(LAST_NAMES, dtype=object)
FIRST_KEYS = [_name_key(name) for name in FIRST_NAMES]
LAST_KEYS = [_name_key(name) for name in LAST_NAMES]
CITY_NAMES = np.array([city for city, _, _, _ in CITIES], dtype=object)
CITY_STATES = np.array([state for _, state, _, _ in CITIES], dtype=object)
CITY_ZIP3 = np.array([int(zip3) for _, _, zip3, _ in CITIES])
CITY_AREA = np.array([int(area) for _, _, _, area in CITIES])
PROVIDERS = [domain for domain, _ in EMAIL_PROVIDERS]
PROVIDER_P = _normalised([share for _, share in EMAIL_PROVIDERS])
PATTERNS = [pattern for pattern, _ in EMAIL_PATTERNS]
PATTERN_P = _normalised([weight for _, weight in EMAIL_PATTERNS])
# Exchanges a real line can have: N11 codes are service numbers, 555 is fictional,
# 950/958/959/976 are reserved or carrier test ranges.
EXCHANGES = np.array(
    [e for e in range(200, 1000) if e % 100 != 11 and e not in (555, 950, 958, 959, 976)]
)


def _nickname_table() -> list[tuple[str, ...]]:
    """Per first name: its nicknames, or for a name that is itself a nickname
    (Johnny, Betty) the formal names it stands for. Sorted, because sets are not
    ordered and the output must not depend on hash seeds."""
    namer = NickNamer()
    table: list[tuple[str, ...]] = []
    for name in FIRST_NAMES:
        options = namer.nicknames_of(name) or namer.canonicals_of(name)
        table.append(tuple(sorted(o.title() for o in options if o != name.lower())))
    return table


@dataclass
class _People:
    """One entry per person: the true values every record of that person starts from."""

    first: IntArray  # index into FIRST_NAMES
    last: IntArray  # index into LAST_NAMES
    year: IntArray
    month: IntArray
    day: IntArray
    city: IntArray  # index into CITIES
    street_address: ObjArray
    postcode: ObjArray
    area: IntArray
    exchange: IntArray
    line: IntArray
    phone_format: IntArray
    email: ObjArray


def _cluster_sizes(records: int, rng: np.random.Generator) -> IntArray:
    """Records per person, summing to exactly `records`.

    Draws more people than can fit and keeps the prefix that fills `records`: people
    are independent, so cutting the list does not bend the distribution.
    """
    extra = rng.choice(EXTRA_RECORDS, size=records, p=EXTRA_RECORDS_P)
    sizes = 1 + np.where(rng.random(records) < DUPLICATED_SHARE, extra, 0)
    ends = np.cumsum(sizes)
    n_people = int(np.searchsorted(ends, records)) + 1
    sizes = sizes[:n_people].copy()
    sizes[-1] -= int(ends[n_people - 1]) - records
    return sizes.astype(np.int64)


def _split_dates(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Days since 1970-01-01 to (year, month, day) arrays, without a Python loop."""
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    years = dates.astype("datetime64[Y]")
    day = (dates - months).astype(np.int64) + 1
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    return years.astype(np.int64) + 1970, month, day


def _street_addresses(
    house: IntArray, street: IntArray, suffix: IntArray, rng: np.random.Generator
) -> ObjArray:
    units = rng.random(len(house)) < UNIT_SHARE
    unit_no = rng.integers(1, 40, size=len(house))
    unit_kind = rng.integers(0, 4, size=len(house))
    letters = rng.integers(0, 6, size=len(house))
    unit_text = [
        ""
        if not has
        else (f" Apt {n}", f" Apt {n}{'ABCDEF'[letter]}", f" Unit {n}", f" # {n}")[kind]
        for has, n, kind, letter in zip(
            units.tolist(), unit_no.tolist(), unit_kind.tolist(), letters.tolist(), strict=True
        )
    ]
    return np.array(
        [
            f"{h} {STREET_NAMES[s]} {STREET_SUFFIXES[x]}{u}"
            for h, s, x, u in zip(
                house.tolist(), street.tolist(), suffix.tolist(), unit_text, strict=True
            )
        ],
        dtype=object,
    )


def _addresses(n: int, rng: np.random.Generator) -> tuple[IntArray, ObjArray, ObjArray]:
    """(city index, street address, postcode) for `n` households."""
    city = rng.choice(len(CITIES), size=n, p=CITY_P)
    # House numbers are roughly log-uniform: 2-digit and 4-digit numbers are both common.
    house = np.maximum(1, (10 ** rng.uniform(0.3, 4.2, size=n)).astype(np.int64))
    street = rng.choice(len(STREET_NAMES), size=n, p=STREET_P)
    suffix = rng.choice(len(STREET_SUFFIXES), size=n, p=SUFFIX_P)
    zips = CITY_ZIP3[city] * 100 + rng.integers(1, 100, size=n)
    postcode = np.array([f"{z:05d}" for z in zips.tolist()], dtype=object)
    return city, _street_addresses(house, street, suffix, rng), postcode


def _email_local(first: int, last: int, pattern: int) -> str:
    f, l = FIRST_KEYS[first], LAST_KEYS[last]  # noqa: E741 - mirrors the pattern fields
    return PATTERNS[pattern].format(f=f, l=l, fi=f[:1], li=l[:1])


def _unique_email(local: str, domain: str, taken: set[str], py: random.Random) -> str:
    """`local@domain`, with digits appended until no other person holds it: two
    strangers sharing an address would be a hot key nobody asked for."""
    address = f"{local}@{domain}"
    while address in taken:
        address = f"{local}{py.randint(1, 9999)}@{domain}"
    taken.add(address)
    return address


def _random_domain(py: random.Random) -> str:
    if py.random() < COMPANY_EMAIL_SHARE:
        return py.choice(COMPANY_DOMAINS)
    return py.choices(PROVIDERS, weights=PROVIDER_P.tolist())[0]


def _emails(
    first: IntArray,
    last: IntArray,
    year: IntArray,
    rng: np.random.Generator,
    py: random.Random,
    taken: set[str],
) -> ObjArray:
    n = len(first)
    pattern = rng.choice(len(PATTERNS), size=n, p=PATTERN_P)
    # Suffix: none, two-digit birth year, full birth year, or a random number.
    suffix_kind = rng.choice(4, size=n, p=[0.55, 0.20, 0.08, 0.17])
    number = rng.integers(1, 1000, size=n)
    company = rng.random(n) < COMPANY_EMAIL_SHARE
    provider = rng.choice(len(PROVIDERS), size=n, p=PROVIDER_P)
    company_domain = rng.integers(0, len(COMPANY_DOMAINS), size=n)
    bare_first = pattern == PATTERNS.index("{f}")
    # A bare first name is never free at a big provider, so it always has a number.
    suffix_kind = np.where(bare_first & (suffix_kind == 0), 3, suffix_kind)
    emails = []
    for f, lst, p, kind, y, num, comp, prov, cdom in zip(
        first.tolist(), last.tolist(), pattern.tolist(), suffix_kind.tolist(),
        year.tolist(), number.tolist(), company.tolist(), provider.tolist(),
        company_domain.tolist(), strict=True,
    ):  # fmt: skip
        suffix = ("", f"{y % 100:02d}", str(y), str(num))[kind]
        domain = COMPANY_DOMAINS[cdom] if comp else PROVIDERS[prov]
        emails.append(_unique_email(_email_local(f, lst, p) + suffix, domain, taken, py))
    return np.array(emails, dtype=object)


def _draw_people(
    n: int, rng: np.random.Generator, py: random.Random, taken_emails: set[str]
) -> _People:
    male = rng.random(n) < 0.5
    first = np.where(
        male,
        rng.choice(N_MALE, size=n, p=MALE_P),
        N_MALE + rng.choice(len(FEMALE_FIRST_NAMES), size=n, p=FEMALE_P),
    )
    last = rng.choice(len(LAST_NAMES), size=n, p=LAST_P)
    span = int((BIRTH_LAST - BIRTH_FIRST).astype(np.int64))
    birth_days = BIRTH_FIRST.astype(np.int64) + rng.integers(0, span + 1, size=n)
    city, street_address, postcode = _addresses(n, rng)

    # Families: a member moves in with a head of household, taking the surname and
    # address; their email is copied below, once every address has been made unique.
    n_families = int(n * FAMILY_SHARE)
    pairs = rng.permutation(n)[: 2 * n_families]
    heads, members = pairs[:n_families], pairs[n_families:]
    last[members] = last[heads]
    city[members] = city[heads]
    street_address[members] = street_address[heads]
    postcode[members] = postcode[heads]
    # Partners are usually of an age. A gap that leaves the birth range is turned
    # around rather than clipped, which would pile people onto the range's end dates.
    age_gap = rng.integers(-8 * 365, 8 * 365 + 1, size=n_families)
    partner = birth_days[heads] + age_gap
    outside = (partner < BIRTH_FIRST.astype(np.int64)) | (partner > BIRTH_LAST.astype(np.int64))
    partner[outside] = birth_days[heads][outside] - age_gap[outside]
    birth_days[members] = partner
    year, month, day = _split_dates(birth_days)

    home_area = rng.random(n) < HOME_AREA_CODE_SHARE
    area = np.where(
        home_area, CITY_AREA[city], CITY_AREA[rng.choice(len(CITIES), size=n, p=CITY_P)]
    )
    exchange = EXCHANGES[rng.integers(0, len(EXCHANGES), size=n)]
    line = rng.integers(0, 10_000, size=n)
    # Numbers drawn at random collide now and then; give the later holder a new line so
    # that only the deliberate hot keys are shared between people.
    seen: set[int] = set()
    full = (area * 10_000_000 + exchange * 10_000 + line).tolist()
    for i, number in enumerate(full):
        while number in seen:
            line[i] = py.randrange(10_000)
            number = int(area[i]) * 10_000_000 + int(exchange[i]) * 10_000 + int(line[i])
        seen.add(number)
    phone_format = rng.choice(len(PHONE_FORMATS), size=n, p=PHONE_FORMATS_P)

    email = _emails(first, last, year, rng, py, taken_emails)
    email[members] = email[heads]
    return _People(
        first=first, last=last, year=year, month=month, day=day, city=city,
        street_address=street_address, postcode=postcode, area=area, exchange=exchange,
        line=line, phone_format=phone_format, email=email,
    )  # fmt: skip


def _typo(value: str, py: random.Random) -> str:
    """One keystroke error: insert, delete, substitute or transpose a character.

    The first character is left alone: misspellings rarely hit the first letter, and
    name data shows the same.
    """
    if len(value) < 2:
        return value + py.choice("aeiou")
    op = py.choices(("insert", "delete", "substitute", "transpose"), (25, 20, 40, 15))[0]
    if op == "delete" and len(value) < 4:
        op = "substitute"
    if op == "transpose":
        spots = [i for i in range(1, len(value) - 1) if value[i] != value[i + 1]]
        if spots:
            i = py.choice(spots)
            return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
        op = "substitute"
    i = py.randrange(1, len(value) + (op == "insert"))
    if op == "delete":
        return value[:i] + value[i + 1 :]
    near = KEYBOARD_NEIGHBOURS.get(value[i - 1 if op == "insert" else i].lower(), "etaoin")
    char = py.choice(near)
    if op == "insert":
        return value[:i] + char + value[i:]
    if value[i].isupper():
        char = char.upper()
    return value[:i] + char + value[i + 1 :]


def _postcode_typo(value: str, py: random.Random) -> str:
    """A wrong digit or two neighbouring digits swapped."""
    if py.random() < 0.35:
        spots = [i for i in range(len(value) - 1) if value[i] != value[i + 1]]
        if spots:
            i = py.choice(spots)
            return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    i = py.randrange(len(value))
    digit = py.choice([d for d in "0123456789" if d != value[i]])
    return value[:i] + digit + value[i + 1 :]


def _email_variant(email: str, first: int, last: int, py: random.Random, taken: set[str]) -> str:
    local, _, domain = email.partition("@")
    kind = py.choices(list(EMAIL_VARIANTS), list(EMAIL_VARIANTS.values()))[0]
    if kind == "gmail_dots" and domain != "gmail.com":
        # Dots only fold together at Gmail; elsewhere they make a different mailbox.
        kind = "provider"
    if kind == "case":
        return email.upper() if py.random() < 0.5 else f"{local.title()}@{domain.title()}"
    if kind == "gmail_dots":
        if "." in local and py.random() < 0.5:
            return f"{local.replace('.', '')}@{domain}"
        spots = [i for i in range(1, len(local)) if "." not in local[i - 1 : i + 1]]
        if spots:
            i = py.choice(spots)
            return f"{local[:i]}.{local[i:]}@{domain}"
        return f"{local.replace('.', '')}@{domain}"
    if kind == "plus_tag":
        return f"{local}+{py.choice(EMAIL_TAGS)}@{domain}"
    if kind == "provider":
        other = py.choice([p for p in PROVIDERS if p != domain])
        return _unique_email(local, other, taken, py)
    pattern = py.choices(range(len(PATTERNS)), PATTERN_P.tolist())[0]
    new_local = _email_local(first, last, pattern)
    if py.random() < 0.6 or PATTERNS[pattern] == "{f}":
        new_local += str(py.randint(1, 999))
    return _unique_email(new_local, _random_domain(py), taken, py)


def _format_phones(area: IntArray, exchange: IntArray, line: IntArray, fmt: IntArray) -> ObjArray:
    return np.array(
        [
            PHONE_FORMATS[f].format(a=a, e=e, n=f"{n:04d}")
            for a, e, n, f in zip(
                area.tolist(), exchange.tolist(), line.tolist(), fmt.tolist(), strict=True
            )
        ],
        dtype=object,
    )


def _format_dates(
    year: IntArray, month: IntArray, day: IntArray, us: npt.NDArray[np.bool_]
) -> ObjArray:
    return np.array(
        [
            f"{m:02d}/{d:02d}/{y:04d}" if u else f"{y:04d}-{m:02d}-{d:02d}"
            for y, m, d, u in zip(
                year.tolist(), month.tolist(), day.tolist(), us.tolist(), strict=True
            )
        ],
        dtype=object,
    )


def _choose_corruptions(n: int, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """(n, kinds) mask: each duplicate gets 1-3 distinct corruptions, drawn by weight.

    Sampling without replacement via the Gumbel top-k trick keeps it vectorised.
    """
    weights = np.array(list(CORRUPTIONS.values()), dtype=np.float64)
    keys = np.log(weights) - np.log(-np.log(rng.random((n, len(weights)))))
    order = np.argsort(-keys, axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(len(weights))[None, :].repeat(n, axis=0), axis=1)
    k = rng.choice(CORRUPTIONS_PER_DUPLICATE, size=n, p=CORRUPTIONS_PER_DUPLICATE_P)
    return rank < k[:, None]


def generate(records: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """`records` people records and their truth (`id`, `person_id`), deterministic in `seed`."""
    if records < 1:
        raise ValueError("records must be at least 1")
    rng = np.random.default_rng(seed)
    # Scalar draws inside per-record loops are cheaper from Python's own generator.
    py = random.Random(int(rng.integers(2**62)))
    taken_emails: set[str] = {TEST_EMAIL}

    sizes = _cluster_sizes(records, rng)
    people = _draw_people(len(sizes), rng, py, taken_emails)
    person = np.repeat(np.arange(len(sizes)), sizes)
    duplicate = np.ones(records, dtype=bool)
    duplicate[np.cumsum(sizes) - sizes] = False  # each person's first record: uncorrupted

    # Every record starts as a copy of its person.
    first = FIRST_NAMES[people.first[person]]
    last = LAST_NAME_ARRAY[people.last[person]]
    email = people.email[person]
    street_address = people.street_address[person]
    city_index = people.city[person]
    postcode = people.postcode[person]
    year, month, day = people.year[person], people.month[person], people.day[person]
    area, exchange = people.area[person], people.exchange[person]
    line, phone_format = people.line[person], people.phone_format[person]

    dup_rows = np.flatnonzero(duplicate)
    chosen = _choose_corruptions(len(dup_rows), rng)
    kinds = list(CORRUPTIONS)

    def rows_with(kind: str) -> IntArray:
        return dup_rows[chosen[:, kinds.index(kind)]]

    # Numeric corruptions first, while values are still numbers.
    moved = rows_with("moved")
    city_index[moved], street_address[moved], postcode[moved] = _addresses(len(moved), rng)

    phone_rows = rows_with("phone")
    new_number = rng.random(len(phone_rows)) < 0.4
    reformat = phone_rows[~new_number]
    phone_format[reformat] = (
        phone_format[reformat] + rng.integers(1, len(PHONE_FORMATS), size=len(reformat))
    ) % len(PHONE_FORMATS)
    renumber = phone_rows[new_number]
    keep_area = rng.random(len(renumber)) < 0.6
    area[renumber] = np.where(
        keep_area, area[renumber], CITY_AREA[rng.choice(len(CITIES), size=len(renumber), p=CITY_P)]
    )
    exchange[renumber] = EXCHANGES[rng.integers(0, len(EXCHANGES), size=len(renumber))]
    line[renumber] = rng.integers(0, 10_000, size=len(renumber))

    # A day/month swap only shows when the day could be a month; other dates get the
    # neighbouring year, the other common slip when a birth date is keyed in.
    date_rows = rows_with("birth_date")
    swappable = (day[date_rows] <= 12) & (day[date_rows] != month[date_rows])
    swap, shift = date_rows[swappable], date_rows[~swappable]
    month[swap], day[swap] = day[swap], month[swap]
    year[shift] += rng.choice([-1, 1], size=len(shift))
    day[shift[(month[shift] == 2) & (day[shift] == 29)]] = 28  # no 29 February a year away

    # Hot keys land on any record, clean or not.
    call_centre = np.flatnonzero(rng.random(records) < CALL_CENTRE_SHARE)
    area[call_centre], exchange[call_centre], line[call_centre] = CALL_CENTRE
    default_birth = np.flatnonzero(rng.random(records) < DEFAULT_BIRTH_DATE_SHARE)
    year[default_birth], month[default_birth], day[default_birth] = DEFAULT_BIRTH_DATE
    test_email = rng.random(records) < TEST_EMAIL_SHARE

    phone = _format_phones(area, exchange, line, phone_format)
    birth_date = _format_dates(year, month, day, rng.random(records) < US_DATE_SHARE)
    city = CITY_NAMES[city_index]
    state = CITY_STATES[city_index]

    # String corruptions, one record at a time.
    nicknames = _nickname_table()
    for i in rows_with("nickname").tolist():
        options = nicknames[people.first[person[i]]]
        first[i] = py.choice(options) if options else _typo(first[i], py)
    for i in rows_with("name_typo").tolist():
        if py.random() < 0.55:
            first[i] = _typo(first[i], py)
        else:
            last[i] = _typo(last[i], py)
    swapped = rows_with("name_swap")
    first[swapped], last[swapped] = last[swapped], first[swapped]
    for i in rows_with("email").tolist():
        p = person[i]
        email[i] = _email_variant(email[i], people.first[p], people.last[p], py, taken_emails)
    for i in rows_with("postcode_typo").tolist():
        postcode[i] = _postcode_typo(postcode[i], py)
    # After the email variants, so a variant never rewrites the shared test address.
    email[test_email] = TEST_EMAIL

    missing_rows = rows_with("missing")
    blank = rng.choice(len(MISSING_FIELDS), size=len(missing_rows), p=list(MISSING_FIELDS.values()))
    fields = list(MISSING_FIELDS)
    for name, column in (
        ("email", email), ("phone", phone), ("birth_date", birth_date),
        ("postcode", postcode), ("first_name", first),
    ):  # fmt: skip
        column[missing_rows[blank == fields.index(name)]] = None
    no_address = missing_rows[blank == fields.index("address")]
    for column in (street_address, city, postcode, state):
        column[no_address] = None

    # Shuffle so that a person's records are not adjacent, and give each record an id
    # that says nothing about its person.
    order = rng.permutation(records)
    width = len(str(records))
    ids = [f"P{n:0{width}d}" for n in (rng.permutation(records) + 1).tolist()]
    values = (first, last, email, phone, birth_date, street_address, city, postcode, state)
    people_table = pa.table(
        {"id": pa.array(ids, type=pa.string())}
        | {
            name: pa.array(column[order], type=pa.string())
            for name, column in zip(COLUMNS[1:], values, strict=True)
        }
    )
    truth = pa.table({"id": people_table["id"], "person_id": pa.array(person[order])})
    return people_table, truth


def _write_csv(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No value holds a comma or quote, so plain unquoted CSV; Arrow raises if one ever
    # does. Arrow always quotes its header, so the header is written by hand.
    with path.open("wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        pacsv.write_csv(table, handle, options)


def _summary(truth: pa.Table) -> str:
    sizes = Counter(Counter(truth["person_id"].to_numpy().tolist()).values())
    people = sum(sizes.values())
    spread = ", ".join(f"{k}: {sizes[k]}" for k in sorted(sizes))
    return f"{truth.num_rows} records, {people} people; records per person {{{spread}}}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    people, truth = generate(args.records, args.seed)
    generated = time.perf_counter()
    _write_csv(people, args.out)
    _write_csv(truth, args.truth)
    done = time.perf_counter()
    print(_summary(truth))
    print(
        f"generated in {generated - started:.1f}s, written in {done - generated:.1f}s "
        f"-> {args.out}, {args.truth}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
