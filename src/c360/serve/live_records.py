"""A write's rows as match records, built in Python exactly as a run builds them in SQL.

A run loads rows as trimmed text ('' as null), hashes each row's JSON to tell changed records
from unchanged ones, joins each mapped column to its standardised values, keeps the raw values,
joins the address parts into one composite, and looks up the frozen term frequencies
(`c360.pipeline`, `c360.engines.duckdb.records`). Real-time resolution needs the same record
for one row in microseconds, so this module does the same steps with the same functions
(`standardize_value`) on Python values. `tests/serve/test_resolver.py` holds both to the same
records, column for column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from c360.config import StandardizeConfig
from c360.engines.duckdb.reading import checked_columns
from c360.model import FieldKind
from c360.resolve.defaults import ADDRESS_PARTS
from c360.resolve.levels import raw_field, roots_field
from c360.standardize import ColumnPlan, output_fields, standardize_value
from c360.standardize.plan import field_kinds

__all__ = ["LiveRecords", "Record"]

Record = dict[str, Any]


def _text(value: object) -> str | None:
    """A value as the reader keeps it: text, trimmed of spaces, '' as null."""
    if value is None:
        return None
    return str(value).strip(" ") or None


class LiveRecords:
    """Builds the match records of one people source's written rows."""

    def __init__(
        self,
        source: str,
        plans: Sequence[ColumnPlan],
        id_column: str,
        updated_at: str | None,
        settings: StandardizeConfig,
        term_frequencies: Mapping[tuple[str, str], float],
        tf_fields: Sequence[str],
    ) -> None:
        self.source = source
        self.plans = list(plans)
        self.id_column = id_column
        self.updated_at = updated_at
        self.settings = settings
        self.tf = term_frequencies
        self.tf_fields = list(tf_fields)
        kinds = field_kinds(self.plans)
        self.fields = [*kinds, *(roots_field(f) for f, k in kinds.items()
                                 if k is FieldKind.GIVEN_NAME)]  # fmt: skip
        parts = [f for f in ADDRESS_PARTS if f in kinds]
        # The composite exists when the source itself holds two parts or more (as a run over
        # this source alone builds it).
        self.address_parts = parts if len(parts) >= 2 else []

    def build(self, rows: pa.Table, where: str) -> list[Record]:
        """One match record per row (`_row` is left to the caller: it depends on the store)."""
        names = checked_columns(rows.column_names, where)
        columns = [rows.column(i).to_pylist() for i in range(rows.num_columns)]
        return [self._record(dict(zip(names, map(_text, values), strict=True)))
                for values in zip(*columns, strict=True)]  # fmt: skip

    def _record(self, row: Mapping[str, str | None]) -> Record:
        content = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        record: Record = {
            "source": self.source,
            "_id": row.get(self.id_column),
            "_updated_at": row.get(self.updated_at) if self.updated_at else None,
            "_hash": hashlib.md5(content.encode()).hexdigest(),
        }
        record.update(dict.fromkeys(self.fields))
        for plan in self.plans:
            value = row.get(plan.mapping.column)
            outputs = output_fields(plan)
            if value is None:
                record.update(dict.fromkeys(outputs))
                continue
            standardised = standardize_value(plan, value, self.settings)
            for name in outputs:
                record[name] = standardised.get(name)
        for plan in self.plans:
            record[raw_field(plan.mapping.field)] = row.get(plan.mapping.column)
        if self.address_parts:
            joined = " | ".join(str(record[p]) for p in self.address_parts if record[p] is not None)
            record["address"] = joined or None
        for f in self.tf_fields:
            value = record.get(f)
            record[f + "__tf"] = None if value is None else self.tf.get((f, str(value)))
        return record
