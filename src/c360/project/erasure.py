"""Erasure (the right to be forgotten): a person's personal data removed from every file c360
keeps, and kept out.

1. **Their records are deleted by the exact incremental run**, as a delete through the API
   would be: links, golden record, contact points, pairs and the matching state go, and every
   ID they had is retired with a redirect (an issued ID always resolves, invariant 2).
2. **What the run leaves is cleared**: their events stay as counts (type, time, amount) but lose
   every personal field (how they were tied, their attributes); term frequencies of values only
   they held, quarantined rows holding their identifiers, and steward decisions about their
   records are deleted.
3. **Suppressed**: each record's source and id are kept only as a keyed hash
   (`c360.governance.suppression`), so that the next sync of the same source records drops them.
4. **No trace on disk**: the store is rewritten into a new file (DuckDB does not overwrite the
   blocks of deleted rows; a fresh copy holds none of them), and the files derived from it —
   the read model, the match index and the standardisation cache — are deleted, to be rebuilt
   from the erased store (at the next `c360 serve`, and the next run).

The answer lists the source systems that still hold the person's records, with their ids: c360
cannot delete them there.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.errors import C360Error
from c360.governance.suppression import contact_key, project_secret, suppression, suppression_key
from c360.project.config import ProjectConfig
from c360.project.events import CACHE_DIR
from c360.project.state import RunContext, SourceWrite
from c360.project.subject import subject_ids
from c360.resolve.fellegi_sunter import MatchModel
from c360.sources.files import SourceSpec
from c360.store import DuckDBStore, Store
from c360.store.erasing import ErasingMethods

__all__ = ["DERIVED_FILES", "Erasure", "drop_derived", "erase_subject", "with_suppression"]

# Files rebuilt from the store, which hold copies of its values.
DERIVED_FILES = (".c360-views.sqlite", ".c360-match.sqlite")


@dataclass(frozen=True)
class Erasure:
    customer_id: str
    ids: list[str]  # every ID the person had: each now redirects to nobody
    # The records the source systems still hold, by source: delete them there.
    records: dict[str, list[str]]
    events_cleared: int


def _values(store: DuckDBStore, keys: list[tuple[str, str]]) -> set[str]:
    """Every value the person's records hold, raw and standardised."""
    found: set[str] = set()
    for source, record_id in keys:
        for row in store.query(
            "SELECT raw, std FROM records WHERE source = ? AND record_id = ?", [source, record_id]
        ):
            for text in (row["raw"], row["std"]):
                for v in (json.loads(text) if text else {}).values():
                    for item in v if isinstance(v, list) else [v]:
                        if item is not None and str(item).strip():
                            found.add(str(item))
    return found


def _empty_rows(store: DuckDBStore, config: ProjectConfig, source: str) -> pa.Table:
    """A write of no rows to `source`, with its columns (a delete)."""
    last = store.last_run()
    plans = (last.metrics.get("plans", {}) if last else {}).get(source, [])
    people = next(p for p in config.people if p.name == source)
    columns = dict.fromkeys([people.id, *(p["column"] for p in plans), *people.fields])
    if people.updated_at:
        columns[people.updated_at] = None
    return pa.table({c: pa.array([], pa.string()) for c in columns})


def erase_subject(
    root: Path, config: ProjectConfig, store: DuckDBStore, customer_id: str, reporter: Any
) -> Erasure:
    """Erase the person whose current ID is `customer_id` from the store (open for writing,
    under the project lock); `rewrite_store` and `drop_derived` finish the job on disk."""
    from c360.project.incremental import run_incremental
    from c360.project.run import matching_fingerprint

    ids = subject_ids(store, customer_id)
    links = store.query(
        "SELECT source, record_id FROM links WHERE customer_id = ? ORDER BY source, record_id",
        [customer_id],
    )
    keys = [(str(r["source"]), str(r["record_id"])) for r in links]
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, record_id in keys:
        by_source[source].append(record_id)
    values = _values(store, keys)
    last = store.last_run()
    if last is None or last.model is None:
        raise C360Error("the project has no published run to erase from",
                        hint="`c360 run` first")  # fmt: skip

    # 1. The records, deleted by the exact run.
    writes = {
        s: SourceWrite(_empty_rows(store, config, s), deleted=r) for s, r in by_source.items()
    }
    ctx = RunContext(root, config, store, last, MatchModel.from_json(last.model),
                     matching_fingerprint(config), reporter, None, writes=writes)  # fmt: skip
    if run_incremental(ctx) is None:
        raise C360Error("the person's records could not be deleted by an incremental run",
                        hint="run `c360 run` once, then erase again")  # fmt: skip

    # 2. What the run leaves behind, and 3. the keyed hashes that keep them out: at once.
    erasing = ErasingMethods(store)
    marks = ", ".join("?" for _ in ids)
    # An event is theirs by their customer ID, by one of their records, or by one of their
    # emails or phones: a record id alone could be another source's record.
    records = [f"{s}:{i}" for s, i in keys]
    contacts = sorted(values)
    where_events = (
        f"customer_id IN ({marks})"
        f" OR (tie_kind = 'record' AND tie_value IN ({', '.join('?' for _ in records) or 'NULL'}))"
        f" OR (tie_kind IN ('email', 'phone') AND (tie_value IN ({', '.join('?' for _ in contacts) or 'NULL'})"
        f" OR person IN ({', '.join('?' for _ in contacts) or 'NULL'})))"
    )
    event_params = [*ids, *records, *contacts, *contacts]
    # Quarantined rows are found by what identifies a person in any row: emails and phones.
    identifying = [v for v in values if "@" in v or sum(c.isdigit() for c in v) >= 7]
    secret = project_secret(root)
    with erasing.transaction():
        cleared = store.query(f"SELECT count(*) AS n FROM events WHERE {where_events}",
                              event_params)[0]["n"]  # fmt: skip
        erasing.execute(
            f"UPDATE events SET customer_id = NULL, person = NULL, tie_value = NULL,"
            f" attributes = NULL WHERE {where_events}",
            event_params,
        )
        for value in sorted(values):
            # As a whole JSON string, so that `smit` is not found inside `smith`.
            text = json.dumps(value, ensure_ascii=False)
            if not store.query("SELECT 1 AS x FROM records WHERE contains(std, ?)"
                               " OR contains(raw, ?) LIMIT 1", [text, text]):  # fmt: skip
                erasing.execute("DELETE FROM term_frequencies WHERE value = ?", [value])
        for value in identifying:
            erasing.execute("DELETE FROM quarantine WHERE contains(raw, ?) OR contains(reason, ?)",
                            [json.dumps(value)[1:-1], value])  # fmt: skip
        for source, record_id in keys:
            for table in ("decisions", "pairs"):
                erasing.execute(
                    f"DELETE FROM {table} WHERE (source_l = ? AND record_id_l = ?)"
                    " OR (source_r = ? AND record_id_r = ?)",
                    [source, record_id, source, record_id],
                )
        erasing.execute(f"DELETE FROM consent WHERE customer_id IN ({marks})", ids)
        erasing.suppress([suppression_key(secret, s, i) for s, i in keys]
                         + [contact_key(secret, v) for v in identifying])  # fmt: skip
    return Erasure(customer_id, ids, dict(by_source), int(cleared))


def drop_derived(root: Path) -> list[Path]:
    """Delete the files derived from the store (each is rebuilt when next needed)."""
    gone = []
    for name in DERIVED_FILES:
        for suffix in ("", "-wal", "-shm"):
            path = root / f"{name}{suffix}"
            if path.exists():
                path.unlink()
                gone.append(path)
    cache = root / CACHE_DIR
    if cache.exists():
        shutil.rmtree(cache)
        gone.append(cache)
    return gone


def with_suppression(root: Path, store: Store, specs: list[SourceSpec]) -> list[SourceSpec]:
    """The sources to read, each told which of its records belong to erased people."""
    keys, secret = suppression(root, store)
    if not keys:
        return specs
    return [replace(s, suppressed=keys, secret=secret) for s in specs]
