"""Labelled pairs: a steward's "same person" / "not the same" answers, used in training.

A CSV with `record_id_l,record_id_r,is_match` (and `source_l,source_r` when linking several
files). Labelled pairs join every EM session with a fixed answer, so a few hundred labels pull
m towards what the steward means by "same customer".
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from c360.config import ComparisonConfig
from c360.errors import ConfigError
from c360.resolve.levels import comparator

__all__ = ["LabelledPairs", "read_labels"]

_TRUE = {"1", "true", "yes", "y", "match"}
_FALSE = {"0", "false", "no", "n", "non-match", "nonmatch"}

Records = Callable[[Sequence[int]], Mapping[int, Mapping[str, Any]]]


class LabelledPairs:
    """Labelled pairs as comparison vectors and answers."""

    def __init__(self, vectors: npt.NDArray[np.int8], labels: npt.NDArray[np.bool_]) -> None:
        self.vectors = vectors
        self.labels = labels


def read_labels(
    path: Path,
    sources: Sequence[str],
    find: Callable[[Sequence[tuple[int, str]]], Mapping[tuple[int, str], int]],
    records: Records,
    comparisons: Sequence[ComparisonConfig],
) -> LabelledPairs:
    """Read a labels CSV, resolve its record ids, and compute each pair's comparison vector."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise ConfigError(f"{path}: labels file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ConfigError(f"{path}: cannot read labels: {e}") from None
    needed = ["record_id_l", "record_id_r", "is_match"]
    if len(sources) > 1:
        needed += ["source_l", "source_r"]
    if not rows:
        raise ConfigError(f"{path}: no labelled pairs", hint=f"columns: {', '.join(needed)}")
    missing = [c for c in needed if c not in rows[0]]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}",
            hint=f"a labels file has the columns {', '.join(needed)}",
        )
    keys: list[tuple[tuple[int, str], tuple[int, str]]] = []
    answers = []
    for line, row in enumerate(rows, start=2):
        sides = []
        for side in ("l", "r"):
            source = row.get(f"source_{side}") or sources[0]
            if source not in sources:
                raise ConfigError(
                    f"{path}:{line}: unknown source {source!r}",
                    hint=f"sources are: {', '.join(sources)}",
                )
            sides.append((sources.index(source), row[f"record_id_{side}"].strip()))
        answer = (row["is_match"] or "").strip().lower()
        if answer not in _TRUE | _FALSE:
            raise ConfigError(
                f"{path}:{line}: is_match is {row['is_match']!r}",
                hint="write 1/0, true/false or yes/no",
            )
        keys.append((sides[0], sides[1]))
        answers.append(answer in _TRUE)
    found = find([k for pair in keys for k in pair])
    for line, pair in enumerate(keys, start=2):
        for src, rid in pair:
            if (src, rid) not in found:
                raise ConfigError(f"{path}:{line}: record {rid!r} not found in {sources[src]}")
    values = records(sorted({found[k] for pair in keys for k in pair}))
    levels_of = [comparator(c) for c in comparisons]
    levels = [[level_of(values[found[a]], values[found[b]]) for level_of in levels_of]
              for a, b in keys]  # fmt: skip
    vectors = np.array(
        levels,
        dtype=np.int8,
    ).reshape(len(keys), len(comparisons))
    return LabelledPairs(vectors, np.array(answers, dtype=np.bool_))
