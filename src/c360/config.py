"""Configuration of a dedupe/link job, validated by pydantic.

Everything detection decides can be written down and overridden here; `c360 dedupe --show-config`
prints the configuration a run would use, in this same YAML form. Errors name the file and the key
path, e.g. ``c360.yaml: comparisons.0.levels.1.at_least: Input should be less than or equal to 1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from c360.errors import ConfigError
from c360.model import FieldKind

__all__ = [
    "BlockingConfig",
    "ClusteringConfig",
    "ComparisonConfig",
    "ConflictConfig",
    "Criterion",
    "JobConfig",
    "LevelConfig",
    "MatchRule",
    "StandardizeConfig",
    "TrainingConfig",
    "dump_config",
    "load_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardizeConfig(_Strict):
    """How raw values are cleaned before matching."""

    default_region: str = Field(
        "US", description="ISO country whose numbering plan applies to phones without +prefix."
    )
    date_order: Literal["auto", "dmy", "mdy", "ymd"] = Field(
        "auto", description="Order of day and month in ambiguous dates like 03/04/1990."
    )
    email_provider_rules: bool = Field(
        False,
        description="Apply provider rules: +tags (Gmail, Outlook, iCloud…), dots (Gmail).",
    )


# --- comparison levels: each a small typed value; `type` picks the kind --------------------


class ExactLevel(_Strict):
    type: Literal["exact"] = "exact"


class JaroWinklerLevel(_Strict):
    type: Literal["jaro_winkler"] = "jaro_winkler"
    at_least: float = Field(..., gt=0, le=1)
    on: str | None = Field(None, description="Compare this field instead of the comparison's.")


class SameLevel(_Strict):
    """Every one of `fields` is present and equal on both sides (parts of one address)."""

    type: Literal["same"] = "same"
    fields: list[str] = Field(..., min_length=1)


class EditDistanceLevel(_Strict):
    type: Literal["levenshtein", "damerau_levenshtein"]
    at_most: int = Field(..., ge=1, le=10)


class NicknameLevel(_Strict):
    """Given names that are nicknames of one another (bill ~ william), from `nicknames` data."""

    type: Literal["nickname"] = "nickname"


class SwappedLevel(_Strict):
    """This field on one side resembles `other` on the other side and vice versa."""

    type: Literal["swapped"] = "swapped"
    other: str
    at_least: float = Field(0.9, gt=0, le=1)


class DayMonthSwappedLevel(_Strict):
    type: Literal["day_month_swapped"] = "day_month_swapped"


class DateWithinLevel(_Strict):
    type: Literal["date_within"] = "date_within"
    days: int = Field(..., ge=1)


LevelConfig = Annotated[
    ExactLevel
    | JaroWinklerLevel
    | EditDistanceLevel
    | NicknameLevel
    | SwappedLevel
    | DayMonthSwappedLevel
    | DateWithinLevel
    | SameLevel,
    Field(discriminator="type"),
]


class ComparisonConfig(_Strict):
    """How one standardised field is compared: ordered levels, first that holds wins.

    A null on either side is its own level (weight 0); a pair that meets no level falls to 'else'.
    """

    field: str
    levels: list[LevelConfig] = Field(..., min_length=1)
    term_frequency: bool = Field(
        False, description="Weigh an exact agreement by how rare the value is."
    )


class Criterion(_Strict):
    field: str
    match: Literal["exact", "exact_normalized", "fuzzy"] = "exact_normalized"
    threshold: float = Field(0.9, gt=0, le=1, description="Jaro-Winkler similarity for fuzzy.")


class MatchRule(_Strict):
    """A deterministic rule: records match when every criterion holds."""

    name: str
    all: list[Criterion] = Field(..., min_length=1)


class BlockingConfig(_Strict):
    """Which pairs are compared at all: records agreeing on every key of at least one rule."""

    rules: list[list[str]] | None = Field(
        None, description="Each rule is a list of fields that must be equal; None = automatic."
    )
    max_block_size: int = Field(
        50,
        ge=2,
        description="A key shared by more records than this is skipped (and reported).",
    )


class ConflictConfig(_Strict):
    """A pair that disagrees on every one of `fields` is never linked, by the model or through
    others: two groups with such a pair between them stay apart.

    "Disagrees" means the comparison's 'else' level: beyond every typo, nickname or swap
    level the comparison has, so `[national_id]` tolerates a one-character typo by default.
    A deterministic rule still links such a pair.
    """

    fields: list[str] = Field(..., min_length=1)


class TrainingConfig(_Strict):
    seed: int = 42
    max_random_pairs: int = Field(1_000_000, ge=1_000)
    em_max_iterations: int = Field(100, ge=1)
    em_tolerance: float = Field(1e-6, gt=0)


class ClusteringConfig(_Strict):
    threshold: float = Field(
        0.9, gt=0, lt=1, description="Match probability at which a pair becomes a link."
    )
    min_mean_probability: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Two groups join only if their compared pairs, judged on their own evidence"
        " (even prior odds), average at least this probability.",
    )


class JobConfig(_Strict):
    """The whole configuration of a `dedupe` or `link` job."""

    id_column: str | None = None
    fields: dict[str, FieldKind] = Field(
        default_factory=dict, description="Source column → kind; detection fills the rest."
    )
    standardize: StandardizeConfig = StandardizeConfig()
    rules: list[MatchRule] = Field(default_factory=list)
    comparisons: list[ComparisonConfig] | None = Field(
        None, description="None = the default comparison for each detected field."
    )
    blocking: BlockingConfig = BlockingConfig()
    conflicts: list[ConflictConfig] | None = Field(
        None,
        description="None = chosen from the trained model (see `c360 dedupe` output).",
    )
    training: TrainingConfig = TrainingConfig()
    clustering: ClusteringConfig = ClusteringConfig()

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, rules: list[MatchRule]) -> list[MatchRule]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        return rules


def _format_validation_error(source: str, error: ValidationError) -> str:
    lines = []
    for e in error.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{source}: {path}: {e['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, *, source: str = "config") -> JobConfig:
    """Validate a parsed mapping as a JobConfig, naming `source` and the key path on error."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    try:
        return JobConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(
            _format_validation_error(source, e),
            hint="see `c360 dedupe FILE --show-config` for a valid configuration to start from",
        ) from None


def load_config(path: Path) -> JobConfig:
    """Read and validate a YAML configuration file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read configuration file: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        where = ""
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            where = f":{mark.line + 1}:{mark.column + 1}"
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    return parse_config(data, source=str(path))


def dump_config(config: JobConfig) -> str:
    """The configuration as YAML that `load_config` reads back to the same value."""
    data = config.model_dump(mode="json", exclude_none=False)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
