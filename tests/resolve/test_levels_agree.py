"""One definition of each comparison: DuckDB SQL and Python give the same level for a pair."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.config import ComparisonConfig
from c360.engines.duckdb.render import vector_sql
from c360.model import FieldKind
from c360.resolve.defaults import default_comparison
from c360.resolve.levels import evaluate
from c360.standardize.names import name_roots

FIELDS = {
    "given_name": FieldKind.GIVEN_NAME,
    "family_name": FieldKind.FAMILY_NAME,
    "email": FieldKind.EMAIL,
    "phone": FieldKind.PHONE,
    "birth_date": FieldKind.BIRTH_DATE,
    "street": FieldKind.STREET,
    "postcode": FieldKind.POSTCODE,
    "national_id": FieldKind.NATIONAL_ID,
}
COMPARISONS: list[ComparisonConfig] = [
    c for f, k in FIELDS.items() if (c := default_comparison(f, k, FIELDS)) is not None
]

names = st.sampled_from(["jon", "john", "johnny", "bill", "william", "will", "smith", "smyth"])
texts = st.one_of(st.none(), names, st.text(alphabet="abcdeé", min_size=1, max_size=8))
dates = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    given_name = draw(st.one_of(st.none(), names))
    return {
        "given_name": given_name,
        "given_name__roots": name_roots(given_name) if given_name else None,
        "family_name": draw(st.one_of(st.none(), names)),
        "email": draw(texts),
        "phone": draw(st.one_of(st.none(), st.text(alphabet="+0123", min_size=1, max_size=5))),
        "birth_date": draw(dates),
        "street": draw(texts),
        "postcode": draw(texts),
        "national_id": draw(texts),
    }


def _sql_levels(pairs: list[tuple[dict[str, object], dict[str, object]]]) -> list[tuple[int, ...]]:
    con = duckdb.connect()
    schema = pa.schema(
        [
            pa.field(k, pa.list_(pa.string()) if k.endswith("__roots") else pa.string())
            for k in pairs[0][0]
        ]
    )
    for side, idx in (("lt", 0), ("rt", 1)):
        table = pa.Table.from_pylist([p[idx] for p in pairs], schema=schema)
        table = table.append_column("i", pa.array(range(len(pairs)), pa.int64()))
        con.register(side, table)
    cols = ", ".join(vector_sql(c) for c in COMPARISONS)
    rows = con.sql(f"SELECT {cols} FROM lt l JOIN rt r USING (i) ORDER BY i").fetchall()
    return [tuple(int(v) for v in row) for row in rows]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(records(), records()), min_size=1, max_size=40))
def test_python_and_duckdb_agree_on_every_level(
    pairs: list[tuple[dict[str, object], dict[str, object]]],
) -> None:
    expected = [tuple(evaluate(c, left, right) for c in COMPARISONS) for left, right in pairs]
    assert _sql_levels(pairs) == expected


def test_levels_on_known_pairs() -> None:
    given_name = next(c for c in COMPARISONS if c.field == "given_name")
    left = {"given_name": "bill", "given_name__roots": name_roots("bill"), "family_name": "x"}
    right = {
        "given_name": "william",
        "given_name__roots": name_roots("william"),
        "family_name": "y",
    }
    assert given_name.levels[evaluate(given_name, left, right)].type == "nickname"
    birth = next(c for c in COMPARISONS if c.field == "birth_date")
    level = evaluate(birth, {"birth_date": "1980-03-14"}, {"birth_date": "1980-14-03"})
    assert birth.levels[level].type in ("day_month_swapped", "damerau_levenshtein")
    assert evaluate(birth, {"birth_date": None}, {"birth_date": "1980-03-14"}) == -1
