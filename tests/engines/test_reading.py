"""Source files of every supported shape read to the same trimmed text table."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c360.engines.duckdb.engine import DuckDBEngine
from c360.errors import SourceError
from c360.sources.files import SourceSpec, format_of, load_source

EXPECTED = [{"id": "1", "name": "José", "city": "Paris"}, {"id": "2", "name": "Ann", "city": None}]


def _rows(engine: DuckDBEngine, table: str) -> list[dict[str, object]]:
    return engine._arrow(f"SELECT * EXCLUDE (_row) FROM {table} ORDER BY _row").to_pylist()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.csv", "\ufeffid,name,city\n1,José,Paris\n2,Ann,\n".encode()),
        ("padded.csv", b"id, name, city\n1, Jos\xc3\xa9, Paris\n2, Ann, \n"),
        ("semicolon.csv", "id;name;city\n1;José;Paris\n2;Ann;\n".encode()),
        ("tabs.tsv", "id\tname\tcity\n1\tJosé\tParis\n2\tAnn\t\n".encode()),
        ("crlf.csv", "id,name,city\r\n1,José,Paris\r\n2,Ann,\r\n".encode()),
    ],
)
def test_csv_variants(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    engine = DuckDBEngine()
    loaded = load_source(engine, SourceSpec.from_path(path, id_column="id"), 0)
    assert loaded.columns == ["id", "name", "city"]
    assert _rows(engine, loaded.table) == EXPECTED


def test_parquet_with_typed_columns_reads_as_text(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table({"id": [1, 2], "name": ["José", "Ann"], "city": ["Paris", None]}), path)
    engine = DuckDBEngine()
    loaded = load_source(engine, SourceSpec.from_path(path, id_column="id"), 0)
    assert _rows(engine, loaded.table) == EXPECTED


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"id": 1, "name": "José", "city": "Paris"}, {"id": 2, "name": "Ann"}]
        ),
        encoding="utf-8",
    )
    engine = DuckDBEngine()
    loaded = load_source(engine, SourceSpec.from_path(path, id_column="id"), 0)
    assert _rows(engine, loaded.table) == EXPECTED


def test_broken_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text('{"id": 1}\n{"id": \n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"people\.jsonl: cannot read as jsonl"):
        load_source(DuckDBEngine(), SourceSpec.from_path(path, id_column="id"), 0)


def test_unknown_extension_is_an_error() -> None:
    with pytest.raises(SourceError, match="unknown file type"):
        format_of(Path("people.xlsx"))


def test_a_repeated_header_keeps_both_columns(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,name,name\n1,a,b\n", encoding="utf-8")
    engine = DuckDBEngine()
    loaded = load_source(engine, SourceSpec.from_path(path, id_column="id"), 0)
    assert len(loaded.columns) == 3
    assert _rows(engine, loaded.table)[0]["id"] == "1"
    assert sorted(_rows(engine, loaded.table)[0].values()) == ["1", "a", "b"]
