"""Planning how each mapped column is standardised, given its source's other columns."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from c360.config import JobConfig
from c360.model import ColumnMapping, FieldKind
from c360.standardize import ColumnPlan, output_fields
from c360.standardize.dates import infer_date_order

__all__ = ["field_kinds", "plan_columns"]


def plan_columns(
    mappings: Sequence[ColumnMapping],
    config: JobConfig,
    distinct_values: Callable[[str], list[str]],
) -> list[ColumnPlan]:
    """One plan per used column: split a full name only when the source has no given/family
    name columns, a house number only when it has no house-number column, and read dates in the
    order the column's own values show (or the config says)."""
    kinds = {m.kind for m in mappings}
    plans = []
    for m in mappings:
        if m.kind is FieldKind.IGNORE:
            continue
        order = "mdy" if config.standardize.default_region == "US" else "dmy"
        if m.kind is FieldKind.BIRTH_DATE:
            if config.standardize.date_order != "auto":
                order = config.standardize.date_order
            else:
                order = infer_date_order(distinct_values(m.column), default=order)
        plans.append(
            ColumnPlan(
                mapping=m,
                split_full_name=(
                    m.kind is FieldKind.FULL_NAME
                    and not kinds & {FieldKind.GIVEN_NAME, FieldKind.FAMILY_NAME}
                    and m.field == "full_name"
                ),
                split_house_number=(
                    m.kind is FieldKind.STREET
                    and FieldKind.HOUSE_NUMBER not in kinds
                    and m.field == "street"
                ),
                date_order=order,
            )
        )
    return plans


def field_kinds(plans: Sequence[ColumnPlan]) -> dict[str, FieldKind]:
    """The kind of every standardised field the plans produce."""
    kinds: dict[str, FieldKind] = {}
    for p in plans:
        for f in output_fields(p):
            if f.endswith("__roots"):
                continue
            if p.split_full_name:
                kinds[f] = FieldKind.GIVEN_NAME if f == "given_name" else FieldKind.FAMILY_NAME
            elif f == "house_number":
                kinds[f] = FieldKind.HOUSE_NUMBER
            else:
                kinds[f] = p.mapping.kind
    return kinds
