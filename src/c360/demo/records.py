"""The four people systems: which persons each one knows, and how it writes them down.

Each system has its own columns, id scheme and formats, and its own kind of mess: the CRM holds
work addresses typed by sales reps, the service desk types whole names (sometimes "Last,
First") and the call-centre line, marketing often knows only an email and a first name, the
shop keeps whatever a customer typed at checkout. Records written before a person's email,
phone or address changed and never updated keep the old value. About one person in twelve has
a second record inside one system, written down again with the mess of a second entry.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from c360.demo.persons import DAY, REFERENCE, Address, Person, WeightedPool
from c360.demo.pools import CALL_CENTRE_PHONE
from c360.demo.record_ids import crm_ids, marketing_ids, service_ids, shop_ids
from c360.demo.variants import (
    birth_date_text,
    nicknames_of,
    phone_text,
    timestamp_text,
    typo,
)

__all__ = ["PEOPLE_SOURCES", "Issued", "Table", "write_people"]

# Share of persons each system knows; a person no system drew goes to one of them.
REACH: tuple[tuple[str, float], ...] = (
    ("crm", 0.58),
    ("service", 0.28),
    ("marketing", 0.48),
    ("shop", 0.48),
)
PEOPLE_SOURCES = tuple(name for name, _ in REACH)
DUPLICATED_SHARE = 0.08
# How far back each system's records go, in years.
HISTORY_YEARS = {"crm": 8, "service": 5, "marketing": 5, "shop": 6}
# Share of records someone kept up to date after the person's email, phone or address changed.
KEPT_UP_TO_DATE = 0.3
CALL_CENTRE_SHARE = 0.05
UNSUBSCRIBED_SHARE = 0.12
PLACEHOLDER_BIRTH_DATE = "1900-01-01"

_FALLBACK = WeightedPool(PEOPLE_SOURCES, tuple(share for _, share in REACH))
_SUFFIX_WORDS = {"St": "Street", "Ave": "Avenue", "Rd": "Road", "Dr": "Drive", "Ln": "Lane"}


@dataclass(frozen=True)
class Table:
    """One CSV file of one system; for people sources, whose record each row is."""

    name: str
    file_name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    person_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issued:
    """A people record as the event sources see it: the keys events can carry."""

    record_id: str
    person: Person
    written_at: int
    email: str
    via_call_centre: bool = False
    unsubscribed_at: int | None = None


@dataclass(frozen=True)
class _Entry:
    """One record to be written: whose, when, and whether it is the person's second one."""

    person: Person
    second: bool
    written_at: int
    updated_at: int
    kept_up_to_date: bool

    def email(self) -> str:
        return self.person.email.as_seen(self.written_at, self.kept_up_to_date)

    def mobile(self) -> str:
        return self.person.mobile.as_seen(self.written_at, self.kept_up_to_date)

    def address(self) -> Address:
        return self.person.address.as_seen(self.written_at, self.kept_up_to_date)


def _entry(person: Person, second: bool, years: int, rng: random.Random) -> _Entry:
    written = REFERENCE - rng.randrange(DAY, years * 365 * DAY)
    updated = written + int(rng.random() ** 2 * (REFERENCE - written))
    kept = rng.random() < KEPT_UP_TO_DATE
    if kept:
        # A record brought up to date was touched after the change it took in.
        changes = [person.email.changed_at, person.mobile.changed_at, person.address.changed_at]
        later = [c for c in changes if c > written]
        if later:
            updated = max(updated, min(REFERENCE - 60, max(later) + rng.randrange(30 * DAY)))
    return _Entry(person, second, written, updated, kept)


def _given(entry: _Entry, nickname: float, misspelt: float, rng: random.Random) -> str:
    name = entry.person.given_name
    odds = 2.5 if entry.second else 1.0  # a second record is a second chance to get it wrong
    options = nicknames_of(name)
    if options and rng.random() < nickname * odds:
        name = options[rng.randrange(len(options))]
    if rng.random() < misspelt * odds:
        name = typo(name, rng)
    return name


def _family(entry: _Entry, misspelt: float, rng: random.Random) -> str:
    odds = 2.5 if entry.second else 1.0
    name = entry.person.family_name
    return typo(name, rng) if rng.random() < misspelt * odds else name


def _household_or_own(entry: _Entry, shared: float, spare: float, rng: random.Random) -> str:
    """A partner's address for some household members, a sign-up address for some persons
    (most second records: a new account because the old password was lost), else their own."""
    p = entry.person
    if p.household_email is not None and rng.random() < shared:
        return p.household_email
    if rng.random() < (0.25 if entry.second else spare):
        return p.spare_email
    return entry.email()


def _crm_email(entry: _Entry, rng: random.Random) -> str:
    p = entry.person
    if p.work_email is not None and rng.random() < 0.6:
        return p.work_email
    return _household_or_own(entry, 0.1, 0.0, rng)


def _service_email(entry: _Entry, rng: random.Random) -> str:
    p = entry.person
    if entry.second and rng.random() < 0.25:  # wrote in from another address
        return p.work_email or p.spare_email
    return entry.email()


def _marketing_email(entry: _Entry, rng: random.Random) -> str:
    return _household_or_own(entry, 0.15, 0.03, rng)


def _shop_email(entry: _Entry, rng: random.Random) -> str:
    return _household_or_own(entry, 0.5, 0.05, rng)


@dataclass(frozen=True)
class _Written:
    """A rendered record (without its id) and what its events need to know."""

    row: tuple[str, ...]
    email: str
    via_call_centre: bool = False
    unsubscribed_at: int | None = None


def _crm(entry: _Entry, email: str, rng: random.Random) -> _Written:
    p = entry.person
    if rng.random() < 0.1:  # typed with a capital, as sales reps do
        email = email[:1].upper() + email[1:]
    email = "" if rng.random() < 0.04 else email
    phone = p.landline if p.landline and rng.random() < 0.7 else entry.mobile()
    phone_col = "" if rng.random() < 0.12 else phone_text(phone, "us")
    # The mobile column: the new number beside a landline or beside the old number a rep
    # never removed, or the same number again in another style.
    mobile = ""
    if phone != p.mobile.current and rng.random() < 0.6:
        mobile = p.mobile.current
    elif rng.random() < 0.2:
        mobile = phone
    mobile_col = phone_text(mobile, "dotted") if mobile else ""
    home = entry.address()
    street, city, state, zip_ = home.line(), home.city, home.state, home.postcode
    if rng.random() < 0.15:
        street = city = state = zip_ = ""
    elif rng.random() < 0.1:
        zip_ = f"{zip_}-{rng.randrange(10_000):04d}"
    company = p.employer if p.employer is not None and rng.random() < 0.8 else ""
    row = (
        _given(entry, 0.06, 0.03, rng), _family(entry, 0.02, rng), email, phone_col, mobile_col,
        company, street, city, state, zip_,
        timestamp_text(entry.written_at, "zulu"), timestamp_text(entry.updated_at, "zulu"),
    )  # fmt: skip
    return _Written(row, email)


def _service(entry: _Entry, email: str, rng: random.Random) -> _Written:
    given, family = _given(entry, 0.10, 0.04, rng), _family(entry, 0.03, rng)
    full_name = f"{family}, {given}" if rng.random() < 0.35 else f"{given} {family}"
    case = rng.random()
    if case < 0.08:
        full_name = full_name.upper()
    elif case < 0.13:
        full_name = full_name.lower()
    phone = "" if rng.random() < 0.45 else phone_text(entry.mobile(), "international")
    via_call_centre = rng.random() < CALL_CENTRE_SHARE
    if via_call_centre:
        phone = CALL_CENTRE_PHONE
    row = (full_name, email, phone, timestamp_text(entry.updated_at, "space"))
    return _Written(row, email, via_call_centre=via_call_centre)


def _marketing(entry: _Entry, email: str, rng: random.Random) -> _Written:
    given = _given(entry, 0.12, 0.02, rng)
    given = given.lower() if rng.random() < 0.12 else given
    given = "" if rng.random() < 0.05 else given
    family = _family(entry, 0.02, rng) if rng.random() < 0.7 else ""
    email = email.lower()  # mailing tools keep addresses in lower case
    opted_in, updated_at, unsubscribed_at = "true", entry.updated_at, None
    if rng.random() < UNSUBSCRIBED_SHARE:
        # Opting out is the record's last change.
        unsubscribed_at = entry.written_at + int(rng.random() * (REFERENCE - entry.written_at))
        opted_in, updated_at = "false", unsubscribed_at
    row = (email, given, family, opted_in, timestamp_text(updated_at, "offset"))
    return _Written(row, email, unsubscribed_at=unsubscribed_at)


def _shop(entry: _Entry, email: str, rng: random.Random) -> _Written:
    p = entry.person
    name = f"{_given(entry, 0.05, 0.03, rng)} {_family(entry, 0.02, rng)}"
    if rng.random() < 0.08:
        name = name.lower()
    phone = ""
    if rng.random() < 0.7:
        phone = phone_text(entry.mobile(), "digits" if rng.random() < 0.7 else "e164")
    born = ""
    if rng.random() < 0.005:  # the form's default, accepted unchanged
        born = PLACEHOLDER_BIRTH_DATE
    elif rng.random() < 0.65:
        born = birth_date_text(p.birth_date, rng)
    home = entry.address()
    line, city, postcode = home.line(), home.city, home.postcode
    if rng.random() < 0.15:
        words = _SUFFIX_WORDS.get(home.suffix, home.suffix)
        line = line.replace(f" {home.suffix}", f" {words}", 1)
    if rng.random() < 0.1:
        line = city = postcode = ""
    row = (
        name, email, phone, born, line, city, postcode,
        timestamp_text(entry.updated_at, "local"),
    )  # fmt: skip
    return _Written(row, email)


@dataclass(frozen=True)
class _System:
    name: str
    file_name: str
    header: tuple[str, ...]
    new_ids: Callable[[int, random.Random], list[str]]
    pick_email: Callable[[_Entry, random.Random], str]
    render: Callable[[_Entry, str, random.Random], _Written]
    # Systems that sign people in or mail them by address hold one record per address.
    one_record_per_email: bool


_CRM_COLUMNS = (
    "contact_id", "first_name", "last_name", "email", "phone", "mobile", "company", "street",
    "city", "state", "zip", "created_at", "modified_at",
)  # fmt: skip
_SERVICE_COLUMNS = ("requester_id", "full_name", "email", "phone", "updated")
_MARKETING_COLUMNS = ("subscriber_id", "email", "first_name", "last_name", "opted_in", "updated_at")
_SHOP_COLUMNS = (
    "customer_no", "name", "email", "phone", "birth_date", "address", "city", "postcode",
    "last_login",
)  # fmt: skip
_SYSTEMS = (
    _System(
        "crm", "crm_contacts.csv", _CRM_COLUMNS, crm_ids, _crm_email, _crm,
        one_record_per_email=False,
    ),
    _System(
        "service", "service_requesters.csv", _SERVICE_COLUMNS, service_ids, _service_email,
        _service, one_record_per_email=True,
    ),
    _System(
        "marketing", "marketing_subscribers.csv", _MARKETING_COLUMNS, marketing_ids,
        _marketing_email, _marketing, one_record_per_email=True,
    ),
    _System(
        "shop", "shop_customers.csv", _SHOP_COLUMNS, shop_ids, _shop_email, _shop,
        one_record_per_email=True,
    ),
)  # fmt: skip


# A person who signs up again mostly gives an address they already used somewhere; the rest
# bring a new one, and are found (or not) by what else their record shares.
BRIDGED_SHARE = 0.85


def _memberships(persons: Sequence[Person], rng: random.Random) -> dict[str, list[_Entry]]:
    entries: dict[str, list[_Entry]] = {name: [] for name in PEOPLE_SOURCES}
    for person in persons:
        systems = [name for name, share in REACH if rng.random() < share]
        if not systems:
            systems = [_FALLBACK.draw(rng)]
        if rng.random() < DUPLICATED_SHARE:
            systems.append(systems[rng.randrange(len(systems))])
        for i, name in enumerate(systems):
            second = name in systems[:i]
            entries[name].append(_entry(person, second, HISTORY_YEARS[name], rng))
    return entries


_PLUS_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "icloud.com")


def _unused(preferred: str, entry: _Entry, taken: set[str], tag: str, rng: random.Random) -> str:
    """`preferred`, or the first of the person's other addresses no record here holds yet:
    where one address is one account, signing up again takes another address — often the
    same mailbox with a "+tag", where the provider allows it."""
    p = entry.person
    own = {e.lower() for e in (p.spare_email, p.email.current, p.email.previous, p.work_email) if e}
    if preferred.lower() in taken and preferred.lower() in own and rng.random() < 0.7:
        local, _, domain = preferred.lower().partition("@")
        if domain in _PLUS_DOMAINS and "+" not in local:
            alias = f"{local}+{tag}{rng.randrange(100)}@{domain}"
            if alias not in taken:
                taken.add(alias)
                return alias
    options = (preferred, p.spare_email, p.email.current, p.email.previous, p.work_email)
    for email in options:
        if email is not None and email.lower() not in taken:
            taken.add(email.lower())
            return email
    # All taken (a partner signed up with this person's address first): a "+tag" alias
    # reaches the same mailbox and is unique to the person.
    local, domain = p.spare_email.split("@")
    alias = f"{local}+{tag}@{domain}"
    taken.add(alias)
    return alias


def write_people(
    persons: Sequence[Person], rng: random.Random
) -> tuple[list[Table], dict[str, list[Issued]]]:
    """Every people system's table, and its records as the event sources will see them."""
    entries = _memberships(persons, rng)
    used: dict[str, list[str]] = {}  # person → emails their earlier records carry
    tables: list[Table] = []
    issued: dict[str, list[Issued]] = {}
    for system in _SYSTEMS:
        # Systems number records in the order they were written.
        ordered = sorted(entries[system.name], key=lambda e: (e.written_at, e.person.person_id))
        ids = system.new_ids(len(ordered), rng)
        taken: set[str] = set()
        rows: list[tuple[str, ...]] = []
        keys: list[Issued] = []
        for record_id, entry in zip(ids, ordered, strict=True):
            email = system.pick_email(entry, rng)
            known = used.setdefault(entry.person.person_id, [])
            if known and email.lower() not in known and rng.random() < BRIDGED_SHARE:
                email = known[rng.randrange(len(known))]
            if system.one_record_per_email:
                email = _unused(email, entry, taken, system.name, rng)
            written = system.render(entry, email, rng)
            if written.email and written.email.lower() not in known:
                known.append(written.email.lower())
            rows.append((record_id, *written.row))
            keys.append(
                Issued(
                    record_id, entry.person, entry.written_at, written.email,
                    written.via_call_centre, written.unsubscribed_at,
                )
            )  # fmt: skip
        # Exports list records by id, not in the order they were written.
        order = sorted(range(len(rows)), key=lambda i: rows[i][0])
        tables.append(
            Table(
                system.name,
                system.file_name,
                system.header,
                tuple(rows[i] for i in order),
                tuple(ordered[i].person.person_id for i in order),
            )
        )
        issued[system.name] = keys
    return tables, issued
