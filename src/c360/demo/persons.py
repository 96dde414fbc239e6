"""The demo company's true persons: who they are before any system writes them down.

Every record in every system starts from one of these and drifts from it the way real records
do (see `records`). A person's email, mobile number or address may have changed once in the
last few years; a system that wrote the person down before the change and was never updated
still holds the old value, which is why the newest record is worth preferring. Partners in a
household share a surname, an address, a landline and sometimes one email address.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

from c360.demo.pools import (
    CITIES,
    EMAIL_PROVIDERS,
    EMPLOYERS,
    FAMILY_NAMES,
    FEMALE_GIVEN_NAMES,
    MALE_GIVEN_NAMES,
    STREET_NAMES,
    STREET_SUFFIXES,
)

__all__ = ["DAY", "REFERENCE", "Address", "History", "Person", "WeightedPool", "draw_persons"]

# The demo's "now": fixed, so that the same seed writes the same bytes on any day.
REFERENCE = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
DAY = 86_400

EMPLOYED_SHARE = 0.35
EMAIL_CHANGED_SHARE = 0.25
MOBILE_CHANGED_SHARE = 0.15
MOVED_SHARE = 0.12
HOUSEHOLD_SHARE = 0.05  # persons who share a home with the person drawn just before them
LANDLINE_SHARE = 0.5  # households that still have a landline
UNIT_SHARE = 0.10
HOME_AREA_CODE_SHARE = 0.75  # the rest kept a mobile number from another city
CHANGES_WITHIN_DAYS = 4 * 365

# How people build the local part of an address from their name, with weights.
EMAIL_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{f}.{l}", 30), ("{f}{l}", 15), ("{fi}{l}", 15), ("{f}_{l}", 5), ("{l}{fi}", 5),
    ("{f}{li}", 5), ("{l}.{f}", 5), ("{fi}.{l}", 5), ("{l}{f}", 5),
)  # fmt: skip
# N11 exchanges are service numbers and 555 is reserved for fiction: neither is a real line.
EXCHANGES = tuple(e for e in range(200, 1000) if e % 100 != 11 and e != 555)

T = TypeVar("T")


class WeightedPool(Generic[T]):
    """Values drawn by weight with one bisect each; `random.choices` would rebuild the
    cumulative weights of a few hundred names on every one of some 200,000 draws."""

    def __init__(self, values: tuple[T, ...], weights: tuple[float, ...]) -> None:
        self._values = values
        self._cumulative = tuple(accumulate(weights))

    @classmethod
    def zipf(cls, values: tuple[T, ...], offset: float) -> WeightedPool[T]:
        """Rank-based weights; `offset` flattens the head so rank 1 is not absurdly common."""
        return cls(values, tuple(1.0 / (rank + offset) for rank in range(1, len(values) + 1)))

    def draw(self, rng: random.Random) -> T:
        return self._values[bisect(self._cumulative, rng.random() * self._cumulative[-1])]


@dataclass(frozen=True)
class History(Generic[T]):
    """A value that may have changed once: systems written to before `changed_at` may lag."""

    current: T
    previous: T | None = None
    changed_at: int = 0  # epoch seconds; meaningful only with a previous value

    def as_seen(self, written_at: int, kept_up_to_date: bool) -> T:
        """The value a record written at `written_at` holds today."""
        if self.previous is None or written_at >= self.changed_at or kept_up_to_date:
            return self.current
        return self.previous


@dataclass(frozen=True)
class Address:
    house: int
    street: str
    suffix: str
    unit: str  # "Apt 4B", or empty
    city: str
    state: str
    postcode: str

    def line(self) -> str:
        """The street line as most systems keep it: `12 Main St Apt 4B`."""
        return f"{self.house} {self.street} {self.suffix}" + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class Person:
    person_id: str
    given_name: str
    family_name: str
    birth_date: date
    email: History[str]
    mobile: History[str]  # ten digits, no formatting
    address: History[Address]
    landline: str | None  # a household line, shared with a partner
    employer: str | None
    work_email: str | None
    spare_email: str  # an address kept for sign-ups, given to shops and newsletters
    household_email: str | None  # a partner's address this person also uses


_MALE = WeightedPool.zipf(MALE_GIVEN_NAMES, 8.0)
_FEMALE = WeightedPool.zipf(FEMALE_GIVEN_NAMES, 8.0)
_FAMILY = WeightedPool.zipf(FAMILY_NAMES, 10.0)
_CITY = WeightedPool.zipf(CITIES, 1.0)
_STREET = WeightedPool.zipf(STREET_NAMES, 2.0)
_SUFFIX = WeightedPool.zipf(STREET_SUFFIXES, 1.0)
_PROVIDER = WeightedPool(tuple(d for d, _ in EMAIL_PROVIDERS), tuple(s for _, s in EMAIL_PROVIDERS))
_PATTERN = WeightedPool(tuple(p for p, _ in EMAIL_PATTERNS), tuple(w for _, w in EMAIL_PATTERNS))
_NOT_LETTERS = re.compile(r"[^a-z]")
_AREA_CODE = {(city, state): area for city, state, _, area in CITIES}
_BIRTH_FIRST = date(1945, 1, 1)
_BIRTH_LAST = date(2006, 12, 31)
_BIRTH_DAYS = (_BIRTH_LAST - _BIRTH_FIRST).days


def _mailbox(address: str) -> str:
    """The mailbox an address reaches: Gmail ignores dots, so a.lewis@ and alewis@ are one."""
    local, _, domain = address.lower().partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"{local}@{domain}"


class _Issuer:
    """Hands out emails and phone numbers no other person holds: two strangers sharing one
    by accident would be a hot key nobody asked for; the shared ones are made on purpose."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._emails: set[str] = set()
        self._phones: set[str] = set()

    def email(self, given: str, family: str, domain: str | None = None) -> str:
        rng = self._rng
        f, l = _NOT_LETTERS.sub("", given.lower()), _NOT_LETTERS.sub("", family.lower())  # noqa: E741
        local = _PATTERN.draw(rng).format(f=f, l=l, fi=f[:1], li=l[:1])
        suffix = rng.random() if domain is None else 1.0  # employers hand out plain names
        if suffix < 0.25:
            local += str(rng.randrange(1, 100))
        elif suffix < 0.35:
            local += str(rng.randrange(1950, 2007))
        domain = domain or _PROVIDER.draw(rng)
        address = f"{local}@{domain}"
        while _mailbox(address) in self._emails:
            address = f"{local}{rng.randrange(1, 10_000)}@{domain}"
        self._emails.add(_mailbox(address))
        return address

    def phone(self, area: str) -> str:
        number = ""
        while not number or number in self._phones:
            line = self._rng.randrange(10_000)
            number = f"{area}{self._rng.choice(EXCHANGES)}{line:04d}"
        self._phones.add(number)
        return number


def _address(rng: random.Random) -> Address:
    city, state, zip3, _ = _CITY.draw(rng)
    unit = ""
    if rng.random() < UNIT_SHARE:
        unit = f"Apt {rng.randrange(1, 40)}{rng.choice(('', '', 'A', 'B', 'C'))}"
    return Address(
        # Log-uniform: two-digit and four-digit house numbers are both common.
        house=max(1, int(10 ** rng.uniform(0.3, 4.2))),
        street=_STREET.draw(rng),
        suffix=_SUFFIX.draw(rng),
        unit=unit,
        city=city,
        state=state,
        postcode=f"{zip3}{rng.randrange(1, 100):02d}",
    )


def _changed(rng: random.Random, share: float, draw: Callable[[], T]) -> History[T]:
    """A value that changed with probability `share` at some point in the last few years."""
    current = draw()
    if rng.random() >= share:
        return History(current)
    return History(current, draw(), REFERENCE - rng.randrange(30, CHANGES_WITHIN_DAYS) * DAY)


def _draw_person(
    number: int, rng: random.Random, issuer: _Issuer, partner: Person | None
) -> Person:
    given = (_MALE if rng.random() < 0.5 else _FEMALE).draw(rng)
    family = _FAMILY.draw(rng)
    born = _BIRTH_FIRST + timedelta(days=rng.randrange(_BIRTH_DAYS))
    if partner is None:
        address = _changed(rng, MOVED_SHARE, lambda: _address(rng))
    else:
        # Partners share a home, usually a surname, and are usually of an age.
        address = partner.address
        family = partner.family_name if rng.random() < 0.75 else family
        gap = timedelta(days=rng.randrange(-2500, 2500))
        # A gap that would make a minor is turned around rather than clipped, which would
        # pile partners onto the last birth date.
        born = partner.birth_date + (gap if partner.birth_date + gap <= _BIRTH_LAST else -gap)
    home = address.current
    area = _AREA_CODE[home.city, home.state]
    if rng.random() > HOME_AREA_CODE_SHARE:
        area = _CITY.draw(rng)[3]
    employer, domain = EMPLOYERS[rng.randrange(len(EMPLOYERS))]
    employed = rng.random() < EMPLOYED_SHARE
    return Person(
        person_id=f"P{number:06d}",
        given_name=given,
        family_name=family,
        birth_date=born,
        email=_changed(rng, EMAIL_CHANGED_SHARE, lambda: issuer.email(given, family)),
        mobile=_changed(rng, MOBILE_CHANGED_SHARE, lambda: issuer.phone(area)),
        address=address,
        landline=None,
        employer=employer if employed else None,
        work_email=issuer.email(given, family, domain) if employed else None,
        spare_email=issuer.email(given, family),
        household_email=partner.email.current if partner is not None else None,
    )


def draw_persons(count: int, rng: random.Random) -> list[Person]:
    """`count` persons, numbered P000001…; a few live with the person drawn just before them."""
    issuer = _Issuer(rng)
    persons: list[Person] = []
    partnered = False  # whether the last person already shares a home
    for number in range(1, count + 1):
        partner = persons[-1] if persons and not partnered else None
        if partner is not None and rng.random() >= HOUSEHOLD_SHARE:
            partner = None
        person = _draw_person(number, rng, issuer, partner)
        if partner is not None and rng.random() < LANDLINE_SHARE:
            landline = issuer.phone(partner.mobile.current[:3])
            persons[-1] = replace(partner, landline=landline)
            person = replace(person, landline=landline)
        persons.append(person)
        partnered = partner is not None
    return persons
