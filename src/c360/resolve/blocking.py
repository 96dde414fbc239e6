"""Choosing blocking rules: which record pairs are compared at all.

Without configuration, rules come from `BLOCKING_CANDIDATES` for the fields the data has; a rule
whose pairs (after capping hot keys) would exceed the pair budget is left out and reported. The
exact criteria of deterministic match rules always block too, so a rule can never miss a pair
because blocking did not propose it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from c360.config import BlockingConfig, MatchRule
from c360.engines.base import BlockingRule
from c360.errors import ConfigError
from c360.resolve.defaults import BLOCKING_CANDIDATES

__all__ = ["BlockingChoice", "choose_blocking"]


@dataclass(frozen=True)
class BlockingChoice:
    rules: list[BlockingRule]
    skipped: list[tuple[BlockingRule, int]]  # (rule, pairs it would have selected)
    budget: int


def choose_blocking(
    config: BlockingConfig,
    match_rules: Sequence[MatchRule],
    fields: set[str],
    n_records: int,
    estimate_pairs: Callable[[BlockingRule], int],
    pairs_per_record: int = 2,
) -> BlockingChoice:
    """Blocking rules for a job: the configured ones, or automatic ones within a pair budget."""
    rule_keys = [
        tuple(c.field for c in r.all if c.match != "fuzzy")
        for r in match_rules
        if any(c.match != "fuzzy" for c in r.all)
    ]
    # Per rule, not in total: a rule that pairs every record with many others (same first
    # name and city) costs more to compare than the few duplicates it alone would find.
    budget = max(pairs_per_record * n_records, 100_000)
    if config.rules is not None:
        for i, configured_keys in enumerate(config.rules):
            unknown = [f for f in configured_keys if f not in fields]
            if unknown:
                raise ConfigError(
                    f"blocking.rules.{i}: unknown field(s) {', '.join(unknown)}",
                    hint=f"fields in this job: {', '.join(sorted(fields))}",
                )
        configured = [BlockingRule(tuple(r)) for r in config.rules]
        return BlockingChoice(_dedupe([*(BlockingRule(k) for k in rule_keys), *configured]), [], 0)

    chosen = [BlockingRule(k) for k in rule_keys]
    skipped: list[tuple[BlockingRule, int]] = []
    for keys in BLOCKING_CANDIDATES:
        if not all(k in fields for k in keys):
            continue
        rule = BlockingRule(keys)
        pairs = estimate_pairs(rule)
        if pairs > budget:
            skipped.append((rule, pairs))
        else:
            chosen.append(rule)
    if not chosen:
        raise ConfigError(
            "no blocking rule fits this data: every candidate selects too many pairs",
            hint="set blocking.rules in a config file (see --show-config)",
        )
    return BlockingChoice(_dedupe(chosen), skipped, budget)


def _dedupe(rules: list[BlockingRule]) -> list[BlockingRule]:
    seen, out = set(), []
    for r in rules:
        if r.fields not in seen:
            seen.add(r.fields)
            out.append(r)
    return out
