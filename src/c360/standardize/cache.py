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
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from c360.config import StandardizeConfig

__all__ = ["LookupCache"]


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

    def _path(self, plan: object, settings: StandardizeConfig) -> Path:
        from c360 import __version__

        key = json.dumps(
            {"plan": _plan_key(plan), "settings": settings.model_dump(mode="json"),
             "v": __version__},
            sort_keys=True,
        )  # fmt: skip
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.parquet"

    def get(self, plan: object, settings: StandardizeConfig) -> pa.Table | None:
        path = self._path(plan, settings)
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowInvalid):
            return None  # missing or damaged: recompute

    def put(self, plan: object, settings: StandardizeConfig, table: pa.Table) -> None:
        path = self._path(plan, settings)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        pq.write_table(table, partial)
        partial.replace(path)
