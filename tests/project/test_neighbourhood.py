"""The neighbourhood of a write: which stored records it loads, what a key crossing the cap
brings, and when the write must widen."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest

from c360.engines.base import BlockingRule
from c360.engines.duckdb.engine import DuckDBEngine
from c360.project.neighbourhood import Flip, Key, Widen, gather, key_of, sharing_after

EMAIL = BlockingRule(("email",))
RULES = [EMAIL]
PHONE = BlockingRule(("phone",))


class FakeStore:
    """The lookups of a neighbourhood over a few records held in dicts."""

    def __init__(
        self,
        emails: dict[Key, str | None],
        customers: dict[Key, str],
        pairs: list[tuple[Key, Key, float, str | None, bool]],
        phones: dict[Key, str] | None = None,
    ) -> None:
        self.emails, self.customer_of, self._pairs = emails, customers, pairs
        self.phones = phones or {}
        self.rules = [EMAIL, PHONE]  # what `key_holders` numbers a rule by

    def record_schema(self) -> pa.Schema:
        return pa.schema([("source", pa.string()), ("_id", pa.string()), ("_row", pa.int64()),
                          ("email", pa.string()), ("phone", pa.string())])  # fmt: skip

    def records(self, keys: Sequence[Key]) -> list[dict[str, Any]]:
        found = sorted(k for k in set(keys) if k in self.emails)
        return [{"source": k[0], "_id": k[1], "_row": int(k[1][1:]), "email": self.emails[k],
                 "phone": self.phones.get(k)} for k in found]  # fmt: skip

    def key_holders(self, rule: int, keys: Sequence[str], limit: int) -> dict[str, list[Key]]:
        held = self.emails if self.rules[rule] == EMAIL else self.phones
        values = {key: json.loads(key)[0] for key in keys}
        return {key: sorted(k for k, e in held.items() if e == v)[:limit]
                for key, v in values.items()}  # fmt: skip

    def customers(self, keys: Sequence[Key]) -> dict[Key, str]:
        return {k: self.customer_of[k] for k in keys if k in self.customer_of}

    def members(self, customers: Sequence[str]) -> dict[Key, str]:
        return {k: c for k, c in self.customer_of.items() if c in customers}

    def partners(self, keys: Sequence[Key], threshold: float) -> set[Key]:
        linked = [(a, b) for a, b, p, rule, conflict in self._pairs
                  if rule is not None or (p >= threshold and not conflict)]  # fmt: skip
        return {b for a, b in linked if a in keys} | {a for a, b in linked if b in keys}

    def pairs_within(self, keys: Sequence[Key]) -> list[tuple[Any, ...]]:
        return [(*a, *b, 0.0, p, rule, conflict) for a, b, p, rule, conflict in self._pairs
                if a in keys and b in keys]  # fmt: skip

    def customers_holding(self, field: str, values: Sequence[str]) -> dict[str, int]:
        out: dict[str, set[str]] = {}
        for k, e in self.emails.items():
            if e in values and k in self.customer_of:
                out.setdefault(e, set()).add(self.customer_of[k])
        return {v: len(c) for v, c in out.items()}

    def record_count(self) -> int:
        return len(self.emails)

    def max_row(self, source: str) -> int:
        return max((int(i[1:]) for s, i in self.emails if s == source), default=-1)


def _fresh(emails: list[str | None]) -> pa.Table:
    return pa.table({"email": pa.array(emails, pa.string())})


def k(i: int) -> Key:
    return ("crm", f"r{i}")


def test_loads_key_holders_their_customers_and_what_links_them() -> None:
    store = FakeStore(
        emails={k(1): "a@x", k(2): "a@x", k(3): "b@x", k(4): "c@x", k(5): "d@x", k(6): "e@x"},
        customers={k(1): "C1", k(2): "C1", k(3): "C1", k(4): "C4", k(5): "C5", k(6): "C6"},
        # r3–r4 is a link (over the threshold); r4–r5 is a weak pair: not followed.
        pairs=[
            (k(3), k(4), 0.99, None, False),
            (k(4), k(5), 0.2, None, False),
            (k(5), k(6), 0.99, None, True),
        ],
    )
    hood = gather(store, RULES, 50, 0.9, _fresh(["a@x"]), [k(9)], ["crm"])
    got = set(zip(hood.records.column("_id").to_pylist(), hood.records.column("source").to_pylist(),
                  strict=True))  # fmt: skip
    # Holders r1, r2 → customer C1 brings r3 → its link brings r4; r5 is only weakly paired.
    assert {i for i, _ in got} == {"r1", "r2", "r3", "r4"}
    pairs = hood.pairs.to_pylist()
    assert [(p["record_id_l"], p["record_id_r"]) for p in pairs] == [("r3", "r4")]
    assert dict(zip(hood.links.column("record_id").to_pylist(),
                    hood.links.column("customer_id").to_pylist(), strict=True)) == {
        "r1": "C1", "r2": "C1", "r3": "C1", "r4": "C4"}  # fmt: skip
    assert hood.store_records == 6 and hood.max_row == {"crm": 6}
    assert all(t.num_rows == 0 for t in hood.hot)


def test_a_hot_key_is_named_not_loaded() -> None:
    store = FakeStore(emails={k(i): "hot@x" for i in range(1, 5)},
                      customers={k(i): f"C{i}" for i in range(1, 5)}, pairs=[])  # fmt: skip
    hood = gather(store, RULES, 3, 0.9, _fresh(["hot@x"]), [k(9)], ["crm"])
    assert hood.records.num_rows == 0 and hood.flips == []
    assert hood.hot[0].column("email").to_pylist() == ["hot@x"]


def _crossing() -> FakeStore:
    """Three holders of one email, the cap at three; r1 and r2 share a phone, r3 shares its
    phone with r5 (no email) and r4 (a hot phone key, with r6 and r7)."""
    return FakeStore(
        emails={k(1): "e@x", k(2): "e@x", k(3): "e@x", k(4): "o@x", k(5): None, k(6): None,
                k(7): None},
        customers={k(i): f"C{i}" for i in range(1, 8)},
        pairs=[],
        phones={k(1): "11", k(2): "11", k(3): "33", k(4): "33", k(5): "33", k(6): "33",
                k(7): "33"},
    )  # fmt: skip


def test_a_key_crossing_the_cap_brings_its_holders_to_compare_again() -> None:
    store = _crossing()
    store.phones = {k(1): "11", k(2): "11", k(3): "33", k(5): "33"}  # no hot phone
    # A fourth holder makes the email hot: its three holders are compared again, with every
    # holder of their other keys (r5 shares r3's phone).
    hood = gather(store, [EMAIL, PHONE], 3, 0.9, _fresh(["e@x"]).append_column(
        "phone", pa.array([None], pa.string())), [k(9)], ["crm"])  # fmt: skip
    assert hood.flips == [Flip(0, key_of(["e@x"]) or "", [k(1), k(2), k(3)], True)]
    assert hood.flipped == [k(1), k(2), k(3)]
    assert set(hood.records.column("_id").to_pylist()) == {"r1", "r2", "r3", "r5"}
    assert hood.hot[0].column("email").to_pylist() == ["e@x"]
    assert hood.hot[1].num_rows == 0
    # A holder changing its email away makes a hot key cool down: the same, the other way.
    store.emails[k(4)] = "e@x"
    hood = gather(store, [EMAIL, PHONE], 3, 0.9, _fresh(["new@x"]).append_column(
        "phone", pa.array([None], pa.string())), [k(4)], ["crm"])  # fmt: skip
    assert [(f.rule, f.hot) for f in hood.flips] == [(0, False)]
    assert hood.flipped == [k(1), k(2), k(3), k(4)]
    assert hood.hot[0].num_rows == 0


def test_a_crossing_names_the_other_hot_keys_of_its_holders() -> None:
    store = _crossing()
    fresh = _fresh(["e@x"]).append_column("phone", pa.array([None], pa.string()))
    # Compared again, r3's hot phone is named, and only its not-hot keys' holders are loaded.
    hood = gather(store, [EMAIL, PHONE], 3, 0.9, fresh, [k(9)], ["crm"])
    assert hood.hot[1].column("phone").to_pylist() == ["33"]
    assert set(hood.records.column("_id").to_pylist()) == {"r1", "r2", "r3"}
    # Without pairs (the resolver keeps the stored ones), only the keys two holders share are
    # looked up: r1 and r2's phone, which is not hot.
    hood = gather(store, [EMAIL, PHONE], 3, 0.9, fresh, [k(9)], ["crm"], with_pairs=False)
    assert hood.hot[1].num_rows == 0
    assert set(hood.records.column("_id").to_pylist()) == {"r1", "r2", "r3"}


def test_sharing_after_counts_over_the_whole_store() -> None:
    store = FakeStore(emails={k(i): "desk@x" for i in range(1, 4)},
                      customers={k(i): f"C{i}" for i in range(1, 4)}, pairs=[])  # fmt: skip
    none = pa.table({"value": pa.array([], pa.string()), "customer_id": pa.array([], pa.string())})
    one = pa.table({"value": ["desk@x"], "customer_id": ["C9"]})
    with pytest.raises(Widen, match="sharing limit"):  # 3 customers → 4, limit 3
        sharing_after(store, "email", none, one, 3)
    assert sharing_after(store, "email", none, one, 5).num_rows == 0
    assert sharing_after(store, "email", none, one, 2).column("value").to_pylist() == ["desk@x"]


def test_key_of_needs_every_field() -> None:
    assert key_of(["a", "b"]) == '["a", "b"]'
    # No two keys share a lookup text, whatever their values hold.
    assert key_of(["a\x1fb", "c"]) != key_of(["a", "b\x1fc"])
    assert key_of(["a", None]) is None


def test_block_dirty_skips_keys_named_hot() -> None:
    engine = DuckDBEngine()
    try:
        engine._con.execute(
            "CREATE TABLE records AS SELECT * FROM (VALUES (0, 0, true, true, 'hot@x'),"
            " (1, 0, false, false, 'hot@x')) t(_rid, _src, _dirty, _changed, email)"
        )
        engine.key_records(RULES)
        assert engine.block_dirty(RULES, 50, False) == 1
        engine.key_records(RULES)
        assert engine.block_dirty(RULES, 50, False, [pa.table({"email": ["hot@x"]})]) == 0
    finally:
        engine.close()
