"""A cache of standardised values, so that a rerun standardises only values it has not seen.

Standardising is a pure function of the raw value, the column's plan and the settings, so a
lookup table (`raw` → outputs) computed once stays right; the cache is keyed by all three and
by the c360 version. It is derived data in the project folder: losing it costs time, never
correctness, and each file is replaced atomically (write, then rename).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from c360.config import StandardizeConfig

__all__ = ["LookupCache"]

# Additions kept as separate files before they are merged into the base file.
_MAX_PARTS = 16


def _plan_key(plan: object) -> str:
    """What of a plan decides the output: not why its column was detected as what it is (that
    text follows the sampled values, which change with the data)."""
    mapping = getattr(plan, "mapping", None)
    if dataclasses.is_dataclass(plan) and mapping is not None and hasattr(mapping, "reason"):
        plan = dataclasses.replace(plan, mapping=dataclasses.replace(mapping, reason=""))  # type: ignore[type-var]
    return repr(plan)


class LookupCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def key(self, plan: object, settings: StandardizeConfig) -> str:
        """Plans with the same key share what is cached."""
        return self._path(plan, settings).stem

    def _path(self, plan: object, settings: StandardizeConfig) -> Path:
        from c360 import __version__

        key = json.dumps(
            {"plan": _plan_key(plan), "settings": settings.model_dump(mode="json"),
             "v": __version__},
            sort_keys=True,
        )  # fmt: skip
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.parquet"

    def get(
        self, plan: object, settings: StandardizeConfig, only: pa.Array | None = None
    ) -> pa.Table | None:
        """What is cached for this plan and settings (the base file and its additions);
        with `only`, just the entries for those raw values — the set hashed is the small
        one, so a rerun that asks for a few values does not pay for the whole cache."""
        base = self._path(plan, settings)
        parts = [base, *sorted(base.parent.glob(f"{base.stem}+*.parquet"))]
        tables = []
        for path in parts:
            try:
                table = pq.read_table(path)
            except (OSError, pa.ArrowInvalid):
                continue  # missing or damaged: those values are standardised again
            if only is not None:
                table = table.filter(pc.is_in(table.column("raw"), value_set=only))
            tables.append(table)
        return pa.concat_tables(tables) if tables else None

    def add(self, plan: object, settings: StandardizeConfig, table: pa.Table) -> None:
        """Cache newly standardised values: a small file beside the base one, so that a run
        that saw a few new values does not rewrite the whole cache; past `_MAX_PARTS` they
        are merged into the base file."""
        base = self._path(plan, settings)
        self.folder.mkdir(parents=True, exist_ok=True)
        parts = sorted(base.parent.glob(f"{base.stem}+*.parquet"))
        if len(parts) >= _MAX_PARTS:
            merged = self.get(plan, settings)
            self._write(base, table if merged is None else pa.concat_tables([merged, table]))
            for part in parts:
                part.unlink(missing_ok=True)
            return
        self._write(base.with_name(f"{base.stem}+{time.time_ns()}-{os.getpid()}.parquet"), table)

    def put(self, plan: object, settings: StandardizeConfig, table: pa.Table) -> None:
        """Replace what is cached for this plan and settings."""
        base = self._path(plan, settings)
        self.folder.mkdir(parents=True, exist_ok=True)
        for part in base.parent.glob(f"{base.stem}+*.parquet"):
            part.unlink(missing_ok=True)
        self._write(base, table)

    @staticmethod
    def _write(path: Path, table: pa.Table) -> None:
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        pq.write_table(table, partial)
        partial.replace(path)
