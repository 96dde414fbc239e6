"""Completing a job's configuration from what detection found, and choosing conflicts."""

from __future__ import annotations

from c360.config import ComparisonConfig, ConflictConfig, JobConfig
from c360.errors import ConfigError, MappingError
from c360.model import FieldKind
from c360.resolve.defaults import ADDRESS_PARTS, address_comparison, default_comparison
from c360.resolve.fellegi_sunter import MatchModel

__all__ = ["auto_conflicts", "complete_config"]


def complete_config(config: JobConfig, fields: dict[str, FieldKind]) -> JobConfig:
    """Fill what the user left to detection: comparisons for the fields present."""
    comparisons: list[ComparisonConfig]
    if config.comparisons is None:
        parts = [f for f in ADDRESS_PARTS if f in fields]
        composite = "address" in fields
        comparisons = [
            c
            for f, kind in fields.items()
            if not (composite and f in parts)
            and kind is not FieldKind.ADDRESS
            and (c := default_comparison(f, kind, fields))
        ]
        if composite:
            comparisons.append(address_comparison(parts))
    else:
        comparisons = list(config.comparisons)
    for i, c in enumerate(comparisons):
        if c.field not in fields:
            raise ConfigError(
                f"comparisons.{i}.field: unknown field {c.field!r}",
                hint=f"fields in this job: {', '.join(sorted(fields))}",
            )
        for j, level in enumerate(c.levels):
            other = getattr(level, "other", None)
            if other is not None and other not in fields:
                raise ConfigError(f"comparisons.{i}.levels.{j}.other: unknown field {other!r}")
            if level.type == "nickname" and fields[c.field] is not FieldKind.GIVEN_NAME:
                raise ConfigError(
                    f"comparisons.{i}.levels.{j}: nickname applies to given names only"
                )
    for i, r in enumerate(config.rules):
        for j, crit in enumerate(r.all):
            if crit.field not in fields:
                raise ConfigError(
                    f"rules.{i}.all.{j}.field: unknown field {crit.field!r} in rule {r.name!r}",
                    hint=f"fields in this job: {', '.join(sorted(fields))}",
                )
    if config.conflicts is not None:
        compared = {c.field for c in comparisons}
        for i, cf in enumerate(config.conflicts):
            for j, f in enumerate(cf.fields):
                if f not in compared:
                    raise ConfigError(
                        f"conflicts.{i}.fields.{j}: {f!r} is not a compared field",
                        hint=f"compared fields: {', '.join(sorted(compared))}",
                    )
    if not comparisons and not config.rules:
        raise MappingError("nothing to compare: no field has a comparison and there is no rule")
    return config.model_copy(update={"comparisons": comparisons})


def auto_conflicts(model: MatchModel, fields: dict[str, FieldKind]) -> list[ConflictConfig]:
    """Hard conflicts where the data shows true matches (almost) never disagree.

    The trained m of a comparison's 'else' level is how often a true match disagrees beyond
    every typo level. An identifier that disagrees in under 1% of matches becomes a conflict;
    so does a given name that disagrees in under 3% of matches, or else given name and birth
    date disagreeing together in under 0.1% — the evidence that separates family members
    sharing an email and an address, which independent field weights would add up into a
    match. Data whose ids or names are often re-keyed (the model says so) gets no such
    conflict.
    """
    conflicts = []
    m_else = {p.field: p.m[-1] for p in model.fields}
    for f, m in m_else.items():
        if fields.get(f) is FieldKind.NATIONAL_ID and m < 0.01:
            conflicts.append(ConflictConfig(fields=[f]))
    if "given_name" in m_else and m_else["given_name"] < 0.03:
        # Where true matches nearly always share a given name (after nicknames, typos and
        # swaps), a different one is a different person: the partner who shares the
        # household's email, landline and address.
        conflicts.append(ConflictConfig(fields=["given_name"]))
    elif (
        "given_name" in m_else
        and "birth_date" in m_else
        and (m_else["given_name"] * m_else["birth_date"] < 0.001)
    ):
        conflicts.append(ConflictConfig(fields=["given_name", "birth_date"]))
    return conflicts
