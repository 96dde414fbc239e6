"""The shared customer model: the kinds of party attribute c360 understands.

A source column is mapped onto one `FieldKind`; standardisation turns it into one or more
standardised columns with fixed names (`given_name`, `email`, `birth_date`, …) so that every
later stage — blocking, comparison, golden record — speaks of the same fields whatever the
source called them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ColumnMapping", "FieldKind", "RecordKey"]


class FieldKind(StrEnum):
    """What a source column holds, in the terms of the shared customer model."""

    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    FULL_NAME = "full_name"
    EMAIL = "email"
    PHONE = "phone"
    BIRTH_DATE = "birth_date"
    STREET = "street"
    HOUSE_NUMBER = "house_number"
    CITY = "city"
    POSTCODE = "postcode"
    REGION = "region"
    COUNTRY = "country"
    NATIONAL_ID = "national_id"
    CUSTOMER_ID = "customer_id"
    COMPANY = "company"
    # Derived: the parts of a postal address compared as one (moving changes them together).
    ADDRESS = "address"
    OTHER = "other"
    IGNORE = "ignore"

    @property
    def is_identifier(self) -> bool:
        return self in (FieldKind.NATIONAL_ID, FieldKind.CUSTOMER_ID)


@dataclass(frozen=True)
class ColumnMapping:
    """One source column mapped onto a field of the shared model.

    `field` is the standardised column name: the kind's name, suffixed `_2`, `_3`… when a source
    has several columns of one kind (two phone columns), or `other_<column>` for free columns.
    """

    column: str
    kind: FieldKind
    field: str
    reason: str = ""


@dataclass(frozen=True, order=True)
class RecordKey:
    """How a user names a record: the source (file stem) and the record's id in it."""

    source: str
    record_id: str

    def __str__(self) -> str:
        return f"{self.source}:{self.record_id}" if self.source else self.record_id
