"""The store's tables: their columns, and the key that names a row of each replaced table."""

from __future__ import annotations

from c360.store import changes

__all__ = ["REPLACED", "SCHEMA", "SCHEMA_COLUMNS"]

SCHEMA = {
    "records": "source VARCHAR, record_id VARCHAR, content_hash VARCHAR, updated_at VARCHAR,"
    " raw VARCHAR, std VARCHAR",
    "links": "source VARCHAR, record_id VARCHAR, customer_id VARCHAR, evidence VARCHAR",
    "customers": "customer_id VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, records INTEGER",
    "golden": "customer_id VARCHAR, field VARCHAR, value VARCHAR, source VARCHAR,"
    " record_id VARCHAR, updated_at VARCHAR, rule VARCHAR",
    "contact_points": "customer_id VARCHAR, kind VARCHAR, value VARCHAR, preferred BOOLEAN,"
    " sources VARCHAR",
    "redirects": "old_id VARCHAR, new_id VARCHAR, reason VARCHAR, redirected_at TIMESTAMP,"
    " run_id VARCHAR",
    "decisions": "source_l VARCHAR, record_id_l VARCHAR, source_r VARCHAR, record_id_r VARCHAR,"
    " decision VARCHAR, decided_at TIMESTAMP, note VARCHAR",
    "pairs": "source_l VARCHAR, record_id_l VARCHAR, source_r VARCHAR, record_id_r VARCHAR,"
    " match_weight DOUBLE, match_probability DOUBLE, rule VARCHAR, conflict BOOLEAN",
    "events": "source VARCHAR, event_id VARCHAR, type VARCHAR, department VARCHAR,"
    " occurred_at VARCHAR, status VARCHAR, amount DOUBLE, attributes VARCHAR,"
    " customer_id VARCHAR, person VARCHAR, tie_kind VARCHAR, tie_value VARCHAR",
    "term_frequencies": "field VARCHAR, value VARCHAR, tf DOUBLE",
    "quarantine": "run_id VARCHAR, source VARCHAR, line BIGINT, row_number BIGINT,"
    " reason VARCHAR, raw VARCHAR",
    "runs": "run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, kind VARCHAR,"
    " fingerprint VARCHAR, model VARCHAR, metrics VARCHAR",
    "changes": changes.CHANGES_SCHEMA,
    # Consent statements set through the API or the command line (`c360.governance.consent`).
    "consent": "customer_id VARCHAR, purpose VARCHAR, granted BOOLEAN, stated_at TIMESTAMP,"
    " source VARCHAR, actor VARCHAR, note VARCHAR",
    # Records of erased people, as keyed hashes of source and id: a run drops them unread.
    "suppressed": "key VARCHAR, erased_at TIMESTAMP",
}
SCHEMA_COLUMNS = {
    name: [part.strip().split()[0] for part in columns.split(",")]
    for name, columns in SCHEMA.items()
}

# Replaced by each publish (the others only grow), each with the key that names a row: a publish
# writes only the rows whose content changed, so a rerun on mostly unchanged data writes little.
REPLACED = {
    "records": ("source", "record_id"),
    "links": ("source", "record_id"),
    "customers": ("customer_id",),
    "golden": ("customer_id", "field"),
    "contact_points": ("customer_id", "kind", "value"),
    "pairs": ("source_l", "record_id_l", "source_r", "record_id_r"),
    "events": ("source", "event_id"),
    "term_frequencies": ("field", "value"),
}
