"""Training a match model on a job's data, with the engine doing the pair work."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.config import ComparisonConfig, ExactLevel, JobConfig
from c360.engines.base import BlockingRule, Engine
from c360.errors import ConfigError
from c360.resolve.fellegi_sunter import (
    FieldParameters,
    MatchModel,
    estimate_m,
    estimate_prior,
    estimate_u,
)
from c360.resolve.labels import LabelledPairs

__all__ = ["check_model", "load_model", "train", "training_sessions"]


def _vectors(table: pa.Table, n_fields: int) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    if table.num_rows == 0:
        return np.zeros((0, n_fields), dtype=np.int8), np.zeros(0, dtype=np.int64)
    g = np.column_stack([table.column(f"g{i}").to_numpy().astype(np.int8) for i in range(n_fields)])
    return g, table.column("n").to_numpy().astype(np.int64)


_ADDRESS_FIELDS = frozenset({"street", "house_number", "city", "postcode", "region", "country"})


def training_sessions(
    comparisons: Sequence[ComparisonConfig], blocking: Sequence[BlockingRule]
) -> list[tuple[str, ...]]:
    """EM sessions: the blocking rules on people's own keys (not where they live).

    Pairs at one address are mostly families and neighbours; EM over them learns "same
    household", not "same person". Rules on an id, email, phone, name or birth date do not
    have that failure.
    """
    exact = {c.field for c in comparisons if isinstance(c.levels[0], ExactLevel)}
    sessions = [
        rule.fields
        for rule in blocking
        if all(f in exact for f in rule.fields)
        and not any(f in _ADDRESS_FIELDS for f in rule.fields)
    ]
    return sessions or [()]


def train(
    engine: Engine,
    config: JobConfig,
    blocking: Sequence[BlockingRule],
    n_records: int,
    across_only: bool,
    labelled: LabelledPairs | None = None,
) -> MatchModel:
    """u from random pairs and value frequencies, m by EM sessions, λ by fixed point."""
    comparisons = config.comparisons or []
    t = config.training
    random_counts = engine.random_pair_level_counts(
        comparisons, t.max_random_pairs, t.seed, across_only
    )
    exact_fields = [c.field for c in comparisons if isinstance(c.levels[0], ExactLevel)]
    agreement = engine.exact_agreement(exact_fields, across_only)
    u = estimate_u(comparisons, *_vectors(random_counts, len(comparisons)), agreement)
    vectors, counts = _vectors(engine.vector_counts(comparisons), len(comparisons))
    m, sessions = estimate_m(
        comparisons,
        vectors,
        counts,
        u,
        training_sessions(comparisons, blocking),
        labelled_vectors=labelled.vectors if labelled else None,
        labels=labelled.labels if labelled else None,
        max_iterations=t.em_max_iterations,
        tolerance=t.em_tolerance,
    )
    if across_only:
        sizes = engine.source_sizes()
        total_pairs = (sum(sizes) ** 2 - sum(s * s for s in sizes)) / 2
    else:
        total_pairs = n_records * (n_records - 1) / 2
    # Value frequencies count every agreeing pair, the true duplicates' too: noise at a million
    # records, most of the agreement in a small file or where systems share identifiers. An EM
    # session keyed on the field itself says how many of its agreeing pairs are matches; the
    # rest, and every pair in a capped hot key, are the chance agreements u is about.
    own = {s.fixed[0]: s for s in sessions if len(s.fixed) == 1}
    for i, c in enumerate(comparisons):
        if c.field in own and c.field in agreement:
            session = own[c.field]
            matched = session.match_share * session.pairs / total_pairs
            chance = max(agreement[c.field] - matched, 0.5 / total_pairs)
            u[i] = _with_exact(u[i], chance)
    prior = estimate_prior(vectors, counts, m, u, total_pairs)
    # Elsewhere, take the expected matches' agreement out (agreements − matches × m) and
    # re-estimate λ, until both settle.
    for _ in range(5):
        matches = prior * total_pairs
        u = [
            _without_matches(ui, mi, agreement[c.field], matches, total_pairs)
            if c.field in agreement and c.field not in own
            else ui
            for c, mi, ui in zip(comparisons, m, u, strict=True)
        ]
        prior = estimate_prior(vectors, counts, m, u, total_pairs)
    fields = tuple(
        FieldParameters(comparison=c, m=mi, u=ui)
        for c, mi, ui in zip(comparisons, m, u, strict=True)
    )
    return MatchModel(fields=fields, prior=prior, sessions=tuple(sessions))


def _without_matches(
    u: tuple[float, ...], m: tuple[float, ...], agree: float, matches: float, total: float
) -> tuple[float, ...]:
    """u with the exact level's chance agreement net of the agreement true matches bring."""
    if total <= matches + 1:
        return u
    return _with_exact(u, max((agree * total - matches * m[0]) / (total - matches), 1e-9))


def _with_exact(u: tuple[float, ...], u0: float) -> tuple[float, ...]:
    """u with a new exact-level probability, the other levels rescaled to sum to one."""
    rest = sum(u[1:])
    scale = (1.0 - u0) / rest if rest > 0 else 0.0
    return (u0, *(x * scale for x in u[1:]))


def load_model(path: Path, comparisons: Sequence[ComparisonConfig]) -> MatchModel:
    """Read a model saved with --save-model; it must fit this job's comparisons."""
    try:
        model = MatchModel.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: model file not found") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a c360 model file ({e})") from None
    return check_model(model, comparisons, str(path))


def check_model(
    model: MatchModel, comparisons: Sequence[ComparisonConfig], path: str
) -> MatchModel:
    """The model, if it compares exactly what this job compares."""
    if model.comparisons != list(comparisons):
        have = ", ".join(c.field for c in model.comparisons)
        want = ", ".join(c.field for c in comparisons)
        raise ConfigError(
            f"{path}: the model compares [{have}] but this job compares [{want}]",
            hint="train a new model (omit --model) or use the config the model was trained with",
        )
    return model
