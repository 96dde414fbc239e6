"""The parallel path gives exactly the serial path's lookup tables."""

from __future__ import annotations

import pytest

import c360.standardize as standardize
from c360.config import StandardizeConfig
from c360.model import ColumnMapping, FieldKind
from c360.standardize import ColumnPlan, standardize_columns


def test_parallel_standardisation_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    phones = [f"(212) {200 + i % 700:03d}-{i % 10_000:04d}" for i in range(2_000)] + ["bad"]
    names = ["Dr. Bill", "JOSÉ", "ann-marie", ""]
    tasks = [
        (ColumnPlan(ColumnMapping("phone", FieldKind.PHONE, "phone")), phones),
        (ColumnPlan(ColumnMapping("first", FieldKind.GIVEN_NAME, "given_name")), names),
    ]
    settings = StandardizeConfig()
    serial = standardize_columns(tasks, settings, workers=1)
    monkeypatch.setattr(standardize, "PARALLEL_MIN_VALUES", 0)
    monkeypatch.setattr(standardize, "_CHUNK", 300)
    seen: list[int] = []
    parallel = standardize_columns(tasks, settings, seen.append, workers=2)
    assert [t.to_pylist() for t in parallel] == [t.to_pylist() for t in serial]
    assert sum(seen) == len(phones) + len(names)
    assert serial[0].column("flag").to_pylist()[-1].startswith("invalid phone")


def test_the_cache_gives_the_same_tables_and_only_standardises_new_values(tmp_path: object) -> None:
    from pathlib import Path

    from c360.standardize.cache import LookupCache

    cache = LookupCache(Path(str(tmp_path)) / "cache")
    plan = ColumnPlan(ColumnMapping("first", FieldKind.GIVEN_NAME, "given_name"))
    settings = StandardizeConfig()
    first = standardize_columns([(plan, ["Bill", "Ann"])], settings, cache=cache)
    plain = standardize_columns([(plan, ["Bill", "Ann"])], settings)
    assert first[0].to_pylist() == plain[0].to_pylist()
    seen: list[int] = []
    second = standardize_columns([(plan, ["Ann", "Zoë"])], settings, seen.append, cache=cache)
    assert sorted(r["raw"] for r in second[0].to_pylist()) == ["Ann", "Zoë"]
    assert {r["raw"]: r["given_name"] for r in second[0].to_pylist()} == {
        "Ann": "ann",
        "Zoë": "zoe",
    }
    assert sum(seen) == 2  # both counted: one from the cache, one standardised
    assert len(cache.get(plan, settings) or []) == 3
