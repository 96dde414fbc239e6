"""Training a match model on a job's data, with the engine doing the pair work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.config import ComparisonConfig, ExactLevel, JobConfig
from c360.engines.duckdb.engine import DuckDBEngine
from c360.errors import ConfigError
from c360.resolve.fellegi_sunter import FieldParameters, MatchModel, estimate_m, estimate_u

__all__ = ["conflict_values", "load_model", "train"]


def _vectors(table: pa.Table, n_fields: int) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    if table.num_rows == 0:
        return np.zeros((0, n_fields), dtype=np.int8), np.zeros(0, dtype=np.int64)
    g = np.column_stack([table.column(f"g{i}").to_numpy().astype(np.int8) for i in range(n_fields)])
    return g, table.column("n").to_numpy().astype(np.int64)


def train(
    engine: DuckDBEngine,
    config: JobConfig,
    n_records: int,
    candidates: int,
    across_only: bool,
) -> MatchModel:
    """u from random pairs and value frequencies, m by EM on the candidates' vector counts."""
    comparisons = config.comparisons or []
    t = config.training
    random_counts = engine.random_pair_level_counts(
        comparisons, t.max_random_pairs, t.seed, across_only
    )
    exact_fields = [c.field for c in comparisons if isinstance(c.levels[0], ExactLevel)]
    agreement = engine.exact_agreement(exact_fields, across_only)
    u = estimate_u(comparisons, *_vectors(random_counts, len(comparisons)), agreement)
    vectors, counts = _vectors(engine.vector_counts(comparisons), len(comparisons))
    if len(counts) == 0:
        m = [tuple(ui) for ui in u]
        share, iterations = 0.0, 0
    else:
        m, share, iterations = estimate_m(
            comparisons,
            vectors,
            counts,
            u,
            max_iterations=t.em_max_iterations,
            tolerance=t.em_tolerance,
        )
    if across_only:
        sizes = engine.source_sizes()
        total_pairs = (sum(sizes) ** 2 - sum(s * s for s in sizes)) / 2
    else:
        total_pairs = n_records * (n_records - 1) / 2
    expected_matches = max(share * candidates, 1.0)
    prior = min(expected_matches / max(total_pairs, 1.0), 0.5)
    fields = tuple(
        FieldParameters(comparison=c, m=mi, u=ui)
        for c, mi, ui in zip(comparisons, m, u, strict=True)
    )
    return MatchModel(
        fields=fields, prior=prior, em_iterations=iterations, candidate_match_share=share
    )


def load_model(path: Path, comparisons: Sequence[ComparisonConfig]) -> MatchModel:
    """Read a model saved with --save-model; it must fit this job's comparisons."""
    try:
        model = MatchModel.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: model file not found") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a c360 model file ({e})") from None
    if model.comparisons != list(comparisons):
        have = ", ".join(c.field for c in model.comparisons)
        want = ", ".join(c.field for c in comparisons)
        raise ConfigError(
            f"{path}: the model compares [{have}] but this job compares [{want}]",
            hint="train a new model (omit --model) or use the config the model was trained with",
        )
    return model


def conflict_values(
    engine: DuckDBEngine, rids: npt.NDArray[np.int64], fields: Sequence[str]
) -> Mapping[int, Mapping[str, str]]:
    """Non-null values of the conflict fields for the given records."""
    if not fields:
        return {}
    table = engine.records(rids.tolist(), fields)
    out: dict[int, dict[str, str]] = {}
    columns = {f: table.column(f).to_pylist() for f in fields}
    for i, rid in enumerate(table.column("_rid").to_pylist()):
        values = {f: columns[f][i] for f in fields if columns[f][i] is not None}
        if values:
            out[int(rid)] = values
    return out
