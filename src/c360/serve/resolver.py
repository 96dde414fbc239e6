"""Real-time resolution in Python: a write's customers, known before the write is published.

A write is published by an exact incremental run over its neighbourhood (`c360.serve.writes`):
about a second of DuckDB statements, whatever the store's size. The answer does not wait for
it. The same resolution is done here in Python, in milliseconds, over the same neighbourhood
(`c360.project.neighbourhood.gather`, looked up in the match index), step for step as the run
does it:

1. the written rows become match records (`LiveRecords`); a row whose content hash equals the
   stored one changes nothing;
2. records are numbered as the run numbers them (source, then row), so that ties break alike;
3. each changed record is blocked against the neighbourhood by the run's rules, hot keys
   excluded by name, and every candidate pair is compared and scored by the model
   (`PairScorer`, held to the engine's weights by the tests); hard conflicts are marked;
4. the stored links between unchanged records come back, and the steward's decisions are laid
   over them;
5. the records whose customer may change are closed over the links, every stored pair among
   them is read, and they are clustered (`resolve.clustering.cluster`) and given IDs
   (`assign_customer_ids`), new ones drawn here. (Most stored pairs of a neighbourhood are not
   links: a big one has a thousand, of which fifty link, and its few re-clustered records a
   handful.)

The result is what the run will publish: the writer promises the new IDs to the run
(`RunContext.reserved`) and checks, once it has published, that the customers agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.engines.base import PairsWithin
from c360.model import FieldKind
from c360.project.config import PeopleSource, ProjectConfig
from c360.project.identity import Redirect, assign_customer_ids
from c360.project.neighbourhood import Flip, Key, Neighbourhood, gather, key_of
from c360.project.state import blocking_of
from c360.project.steps import job_config, plans_from_json
from c360.resolve.clustering import cluster
from c360.resolve.configure import auto_conflicts, complete_config
from c360.resolve.explain import PairScorer
from c360.resolve.fellegi_sunter import MatchModel
from c360.serve.live_records import LiveRecords, Record
from c360.serve.match_index import MatchIndex
from c360.serve.resolution import Resolution, Token
from c360.store import RunRecord
from c360.store.base import Decision

__all__ = ["Resolution", "Resolver", "Token"]


@dataclass
class _Pair:
    rule: int | None
    probability: float
    conflict: bool
    veto: bool = False


class Resolver:
    """Resolves writes with the model and settings of the store's last run."""

    def __init__(
        self,
        config: ProjectConfig,
        last: RunRecord,
        index: MatchIndex,
        term_frequencies: Mapping[tuple[str, str], float],
        decisions: Sequence[Decision],
    ) -> None:
        self.index = index
        self.names = [s.name for s in config.people]
        fields = {f: FieldKind(k) for f, k in last.metrics["fields"].items()}
        self.rules = blocking_of(last) or []
        self.model = MatchModel.from_json(last.model)
        jc = complete_config(job_config(config), dict(fields))
        assert jc.comparisons is not None
        self.scorer = PairScorer(self.model, jc.rules)
        self.rule_names = [r.name for r in jc.rules]
        conflicts = jc.conflicts if jc.conflicts is not None else auto_conflicts(self.model, fields)
        # A hard conflict: each of its fields at its 'else' level (by the fields' place in the
        # model, as `PairScorer.score` gives the levels).
        place = {c.field: n for n, c in enumerate(self.model.comparisons)}
        self.conflicts = [[(place[f], len(self.model.comparisons[place[f]].levels))
                           for f in c.fields] for c in conflicts]  # fmt: skip
        self.threshold = jc.clustering.threshold
        self.min_mean = jc.clustering.min_mean_probability
        self.cap = jc.blocking.max_block_size
        tf_fields = [c.field for c in jc.comparisons if c.term_frequency]
        plans = plans_from_json(last.metrics.get("plans", {}))
        self.live = {
            s.name: LiveRecords(s.name, plans.get(s.name, []), s.id, s.updated_at,
                                config.standardize, term_frequencies, tf_fields)
            for s in config.people if isinstance(s, PeopleSource)
        }  # fmt: skip
        self.decisions = [(d.left, d.right, d.decision) for d in decisions]

    def resolve(self, source: str, rows: pa.Table, deleted: Sequence[str]) -> Resolution:
        """The customers of a write to `source`: `rows` upserted (the source's raw columns),
        `deleted` ids removed.
        Everything is read from one snapshot of the match index."""
        with self.index.snapshot():
            return self._resolve_write(source, rows, deleted)

    def _resolve_write(self, source: str, rows: pa.Table, deleted: Sequence[str]) -> Resolution:
        fresh_all = self.live[source].build(rows, f"{source} (API)")
        written = [(source, str(r["_id"])) for r in fresh_all] + [(source, i) for i in deleted]
        stored = self.index.records(written)
        old = {(str(r["source"]), str(r["_id"])): r for r in stored}
        fresh = [
            r for r in fresh_all if old.get((source, str(r["_id"])), {}).get("_hash") != r["_hash"]
        ]
        gone = [(source, i) for i in deleted if (source, i) in old]
        changed = [(source, str(r["_id"])) for r in fresh] + gone
        existed = frozenset(k for k in written if k in old)
        if not changed:
            now = self.index.customers(written)
            return Resolution(
                source, {k: now.get(k) for k in written}, existed, frozenset(),
                reads=frozenset(("record", *k) for k in written),
                customer_ids=frozenset(now.values()),
            )  # fmt: skip
        rule_fields = sorted({f for r in self.rules for f in r.fields})
        fresh_table = pa.table(
            {f: pa.array([r.get(f) for r in fresh], pa.string()) for f in rule_fields}
        )
        # The stored versions of the changed records, looked up once (above).
        hood = gather(self.index, self.rules, self.cap, self.threshold, fresh_table, changed,
                      [source], old=[old[k] for k in changed if k in old],
                      with_pairs=False)  # fmt: skip
        return self._resolve(source, hood, fresh, old, changed, gone, written, existed)

    def _resolve(
        self,
        source: str,
        hood: Neighbourhood,
        fresh: list[Record],
        old: Mapping[Key, Record],
        changed: list[Key],
        gone: list[Key],
        written: list[Key],
        existed: frozenset[Key],
    ) -> Resolution:
        # 1-2. Every current record of the neighbourhood, numbered as the run numbers them.
        records: dict[Key, Record] = {(str(r["source"]), str(r["_id"])): r for r in hood.rows}
        for k in changed:
            records.pop(k, None)
        last_row = hood.max_row[source]
        for r in fresh:
            k = (source, str(r["_id"]))
            if k in old:
                r["_row"] = old[k]["_row"]
            else:
                last_row += 1
                r["_row"] = last_row
            records[k] = r
        order = sorted(records, key=lambda k: (self.names.index(k[0]), int(records[k]["_row"])))
        rid = {k: i for i, k in enumerate(order)}
        dirty = sorted(rid[(source, str(r["_id"]))] for r in fresh)

        # 3-4. Pairs: the changed records' candidates compared, the rest as stored (first
        # the links alone, which tell the records whose customer may change; then every
        # stored pair among those). A key the write moves across the cap changes the pairs
        # among its holders: every one is compared when it stops being hot; when it becomes
        # hot, those that share no other key (not hot) are no longer pairs.
        hot = [self._hot(hood, k) for k in range(len(self.rules))]
        found = self._candidates(order, records, dirty, hot)
        flipped: set[int] = set()
        dropped: set[tuple[int, int]] = set()
        for flip in hood.flips:
            held = self._holders(order, records, flip)
            flipped.update(held)
            within = {(a, b) for a in held for b in held if a < b}
            if not flip.hot:
                found |= within
            else:
                dropped |= within - self._still_selected(held, order, records, hot)
        compared = self._score(found, order, records)
        pairs = self._stored(compared, self.index.linked_within(order, self.threshold), rid,
                             dirty, dropped)  # fmt: skip

        # 5. The records whose customer may change (those of the changed records, and of the
        # holders of a flipped key), clustered; their IDs.
        before = hood.customer_of
        affected = self._affected(order, before, sorted({*dirty, *flipped}), gone, pairs)
        keys = [order[i] for i in affected.tolist()]
        pairs = self._stored(compared, self.index.pairs_within(keys), rid, dirty, dropped)
        labels = self._cluster(affected, pairs)
        previous = {k: before[k] for k in [*keys, *gone] if k in before}
        issued = self.index.issued(sorted(set(previous.values())))
        assignment = assign_customer_ids(dict(zip(keys, labels.tolist(), strict=True)),
                                         previous, issued)  # fmt: skip
        after = {k: assignment.customer_of[label] for k, label in zip(keys, labels.tolist(),
                                                                      strict=True)}  # fmt: skip
        fresh_ids = set(assignment.new_ids)
        reserved = {k: c for k, c in after.items() if c in fresh_ids}
        customers = {k: (None if k in gone else after.get(k, before.get(k))) for k in written}
        # Each blocking key the write moves: its stored holders, and how many the write adds.
        blocks: dict[Token, tuple[int, int]] = {}
        for n, blocking in enumerate(self.rules):
            for r, step in [*((r, 1) for r in fresh),
                            *((old[c], -1) for c in changed if c in old)]:  # fmt: skip
                key = key_of(r.get(f) for f in blocking.fields)
                if key is not None:
                    token = ("key", str(n), key)
                    stored, change = blocks.get(token, (hood.held.get((n, key), 0), 0))
                    blocks[token] = (stored, change + step)
        moved = set(blocks)
        customer_ids = frozenset({*previous.values(), *after.values()})
        # The answer rests on the blocks of the written keys, and on the records it
        # re-clusters with their customers. A record compared but not linked to a changed one
        # (not re-clustered) weighs nothing in it: a waiting write that changes it moves it
        # in or out of a block this write reads, and `pending.apart` judges that.
        reads = moved | {("record", *k) for k in [*keys, *changed]}
        reads |= {("customer", c) for c in previous.values()}
        writes = moved | {("record", *k) for k in [*keys, *changed]}
        writes |= {("customer", c) for c in customer_ids}
        return Resolution(
            source, customers, existed, frozenset(changed),
            changes=_changes(assignment.new_ids, assignment.redirects), reserved=reserved,
            reads=frozenset(reads), writes=frozenset(writes), customer_ids=customer_ids,
            fresh=tuple(fresh), blocks=blocks,
        )  # fmt: skip

    def _candidates(
        self,
        order: list[Key],
        records: Mapping[Key, Record],
        dirty: list[int],
        hot: Sequence[set[tuple[Any, ...]]],
    ) -> set[tuple[int, int]]:
        """Block the dirty records against the neighbourhood: their candidate pairs."""
        candidates: set[tuple[int, int]] = set()
        for k, rule in enumerate(self.rules):
            fields = rule.fields
            # The blocks of the dirty records' keys (a key with a null, or hot, selects none),
            # then who holds each.
            keys = {i: tuple(map(records[order[i]].get, fields)) for i in dirty}
            blocks: dict[tuple[Any, ...], list[int]] = {
                v: [] for v in keys.values() if None not in v and v not in hot[k]
            }
            if not blocks:
                continue
            for i, key in enumerate(order):
                block = blocks.get(tuple(map(records[key].get, fields)))
                if block is not None:
                    block.append(i)
            for i, v in keys.items():
                found = blocks.get(v)
                if found is None or len(found) > self.cap:
                    continue
                candidates.update((min(i, j), max(i, j)) for j in found if j != i)
        return candidates

    def _score(
        self, candidates: set[tuple[int, int]], order: list[Key], records: Mapping[Key, Record]
    ) -> dict[tuple[int, int], _Pair]:
        """Compare and score candidate pairs, marking hard conflicts."""
        return {(a, b): self._pair(records[order[a]], records[order[b]])
                for a, b in sorted(candidates)}  # fmt: skip

    def _pair(self, left: Record, right: Record) -> _Pair:
        """Two records compared and scored; the engine takes an exact agreement's term
        frequency from the left one."""
        name, levels, probability = self.scorer.score(left, right, partial(_tf, left))
        conflict = any(all(levels[f] == n for f, n in c) for c in self.conflicts)
        matched = self.rule_names.index(name) if name is not None else None
        return _Pair(matched, probability, conflict)

    def links(self, pairs: Sequence[tuple[Key, Record, Key, Record]]) -> bool:
        """Whether any of these pairs of records (each with its key) would be a link, scored
        either way round, or a steward's decision names it."""
        decided = {frozenset((left, right)) for left, right, _ in self.decisions}
        return any(
            frozenset((key_a, key_b)) in decided
            or self._linked(self._pair(a, b)) or self._linked(self._pair(b, a))
            for key_a, a, key_b, b in pairs
        )  # fmt: skip

    def _hot(self, hood: Neighbourhood, rule: int) -> set[tuple[Any, ...]]:
        """The hot key values of a rule (its fields' values), as `gather` named them."""
        table = hood.hot[rule]
        fields = self.rules[rule].fields
        return set(zip(*(table.column(f).to_pylist() for f in fields), strict=True))

    def _holders(self, order: list[Key], records: Mapping[Key, Record], flip: Flip) -> list[int]:
        """The records holding a flipped key after the write."""
        fields = self.rules[flip.rule].fields
        return [i for i, k in enumerate(order)
                if key_of(records[k].get(f) for f in fields) == flip.key]  # fmt: skip

    def _still_selected(
        self,
        held: list[int],
        order: list[Key],
        records: Mapping[Key, Record],
        hot: Sequence[set[tuple[Any, ...]]],
    ) -> set[tuple[int, int]]:
        """The pairs among `held` that some blocking rule selects: both records hold one of
        its keys, not hot."""
        selected: set[tuple[int, int]] = set()
        for k, rule in enumerate(self.rules):
            blocks: dict[tuple[Any, ...], list[int]] = {}
            for i in held:
                v = tuple(map(records[order[i]].get, rule.fields))
                if None not in v and v not in hot[k]:
                    blocks.setdefault(v, []).append(i)
            for block in blocks.values():
                selected.update((a, b) for a in block for b in block if a < b)
        return selected

    def _stored(
        self,
        compared: Mapping[tuple[int, int], _Pair],
        rows: Sequence[tuple[Any, ...]],
        rid: Mapping[Key, int],
        dirty: Sequence[int],
        dropped: set[tuple[int, int]],
    ) -> dict[tuple[int, int], _Pair]:
        """The pairs compared now, with the stored `rows` between records not compared again
        (less the `dropped` ones, no longer selected), the steward's decisions laid over them
        (on copies: `compared` serves both steps)."""
        pairs = {pair: replace(p) for pair, p in compared.items()}
        skip = set(dirty)
        for source_l, id_l, source_r, id_r, _, probability, rule, conflict in rows:
            a, b = rid.get((source_l, id_l)), rid.get((source_r, id_r))
            if a is None or b is None or a in skip or b in skip:
                continue
            pair = (min(a, b), max(a, b))
            if pair in dropped or pair in compared:
                continue
            n = self.rule_names.index(rule) if rule in self.rule_names else None
            pairs[pair] = _Pair(n, float(probability), bool(conflict))
        self._decide(pairs, rid)
        return pairs

    def _decide(self, pairs: dict[tuple[int, int], _Pair], rid: Mapping[Key, int]) -> None:
        """A steward's link is a rule's link; an unlink a veto (as `apply_decisions`)."""
        decided = []
        for left, right, decision in self.decisions:
            a, b = rid.get(left), rid.get(right)
            if a is not None and b is not None and a != b:
                decided.append(((min(a, b), max(a, b)), decision))
        for pair, _ in decided:
            pairs.setdefault(pair, _Pair(None, 0.5, False))
        for pair, decision in decided:
            if decision == "link":
                pairs[pair].rule = -1
        for pair, decision in decided:
            if decision != "link":
                p = pairs[pair]
                p.veto, p.rule, p.conflict = True, None, True

    def _linked(self, p: _Pair) -> bool:
        return (p.probability >= self.threshold and not p.conflict) or p.rule is not None

    def _affected(
        self,
        order: list[Key],
        before: Mapping[Key, str],
        dirty: list[int],
        gone: list[Key],
        pairs: Mapping[tuple[int, int], _Pair],
    ) -> npt.NDArray[np.int64]:
        """The changed records, every record of a customer that held one, closed over links."""
        held = {before[order[i]] for i in dirty if order[i] in before}
        held |= {before[k] for k in gone if k in before}
        affected = set(dirty) | {i for i, k in enumerate(order) if before.get(k) in held}
        neighbours: dict[int, list[int]] = {}
        for (a, b), p in pairs.items():
            if self._linked(p):
                neighbours.setdefault(a, []).append(b)
                neighbours.setdefault(b, []).append(a)
        frontier = list(affected)
        while frontier:
            frontier = [j for i in frontier for j in neighbours.get(i, []) if j not in affected]
            affected.update(frontier)
        return np.array(sorted(affected), dtype=np.int64)

    def _cluster(
        self, affected: npt.NDArray[np.int64], pairs: Mapping[tuple[int, int], _Pair]
    ) -> npt.NDArray[np.int64]:
        """Each affected record's cluster label (its smallest record number), as a run gives."""
        local = {int(r): i for i, r in enumerate(affected.tolist())}
        inside = sorted((a, b) for a, b in pairs if a in local and b in local)
        linked = [(local[a], local[b]) for a, b in inside if self._linked(pairs[(a, b)])]
        left = np.array([a for a, _ in linked], dtype=np.int64)
        right = np.array([b for _, b in linked], dtype=np.int64)

        def pairs_within(component: npt.NDArray[np.int64]) -> PairsWithin:
            rows = [(a, b) for a, b in inside
                    if component[local[a]] >= 0 and component[local[a]] == component[local[b]]]  # fmt: skip
            ps = [pairs[r] for r in rows]
            return PairsWithin(
                np.array([local[a] for a, _ in rows], dtype=np.int64),
                np.array([local[b] for _, b in rows], dtype=np.int64),
                np.array([p.probability for p in ps], dtype=np.float64),
                np.array([p.rule is not None for p in ps], dtype=np.bool_),
                np.array([p.conflict for p in ps], dtype=np.bool_),
                np.array([p.veto for p in ps], dtype=np.bool_),
            )

        cluster_of, _ = cluster(len(affected), (left, right), pairs_within, self.threshold,
                                self.min_mean, prior_weight=self.model.prior_weight)  # fmt: skip
        labels: npt.NDArray[np.int64] = affected[cluster_of]
        return labels


def _tf(record: Record, field_name: str, _value: str) -> float | None:
    tf = record.get(field_name + "__tf")
    return None if tf is None else float(tf)


def _changes(new_ids: Sequence[str], redirects: Sequence[Redirect]) -> list[dict[str, Any]]:
    """The identity entries of the change feed a publish of these IDs makes."""
    out: list[dict[str, Any]] = [{"kind": "new", "customer_id": c, "other_id": None}
                                 for c in new_ids]  # fmt: skip
    for r in redirects:
        if r.reason == "merge":
            out.append({"kind": "merge", "customer_id": r.new_id, "other_id": r.old_id})
        elif r.reason == "split":
            out.append({"kind": "split", "customer_id": r.new_id, "other_id": r.old_id})
        else:
            out.append({"kind": "retired", "customer_id": None, "other_id": r.old_id})
    return out
