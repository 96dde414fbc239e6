"""`c360.yaml`: the systems a company's customer data lives in, mapped onto the shared model.

People sources hold records about persons (CRM contacts, service-desk requesters, marketing
subscribers, shop customers); event sources hold engagements (orders, cases, email events, web
visits) tied to a person by a people source's record id or by a contact point (an email, a
phone). Matching and golden-record rules live here too. Errors name the file and key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from c360.config import (
    BlockingConfig,
    ClusteringConfig,
    ComparisonConfig,
    ConflictConfig,
    MatchRule,
    StandardizeConfig,
    TrainingConfig,
)
from c360.errors import ConfigError
from c360.governance.consent import ConsentConfig
from c360.governance.policy import GovernanceConfig, policy_problems
from c360.model import FieldKind

__all__ = [
    "EventSource",
    "GoldenConfig",
    "MatchingConfig",
    "PeopleSource",
    "PersonLink",
    "ProjectConfig",
    "SqlLocation",
    "load_project",
]

Reconciliation = Literal["most_recent", "most_frequent", "source_priority", "most_complete"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqlLocation(_Strict):
    """A table or query in a SQL database, read through SQLAlchemy."""

    url: str = Field(..., description="SQLAlchemy URL, e.g. postgresql+psycopg://host/db")
    table: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SqlLocation:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        return self


class _Located(_Strict):
    name: str = Field(..., pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="Source name.")
    file: Path | None = Field(
        None, description="CSV, Parquet or JSON Lines, relative to c360.yaml."
    )
    sql: SqlLocation | None = None
    department: str = Field("", description="Sales, service, marketing, commerce, web…")
    updated_at: str | None = Field(
        None, description="Column with the row's last change: incremental reads and most_recent."
    )

    @model_validator(mode="after")
    def _file_or_sql(self) -> _Located:
        if (self.file is None) == (self.sql is None):
            raise ValueError(f"source {self.name!r}: give exactly one of `file` or `sql`")
        return self


class PeopleSource(_Located):
    """A system's records about persons."""

    id: str = Field(..., description="Column with the record's id in this system.")
    fields: dict[str, FieldKind] = Field(
        default_factory=dict, description="Column → field; other columns are detected."
    )


class PersonLink(_Strict):
    """How an event finds its person: a people source's record id, or a contact point."""

    source: str | None = Field(None, description="People source whose record id the event holds.")
    record_id: str | None = Field(None, description="Event column with that record id.")
    email: str | None = Field(None, description="Event column with an email address.")
    phone: str | None = Field(None, description="Event column with a phone number.")

    @model_validator(mode="after")
    def _some_key(self) -> PersonLink:
        if (self.source is None) != (self.record_id is None):
            raise ValueError("`source` and `record_id` go together")
        if self.record_id is None and self.email is None and self.phone is None:
            raise ValueError("give `source` + `record_id`, or `email`, or `phone`")
        return self


class EventSource(_Located):
    """A system's engagements: orders, cases, email events, web visits…"""

    type: str = Field(..., description="order, case, email, web_visit, or your own.")
    id: str
    occurred_at: str
    person: PersonLink
    status: str | None = None
    amount: str | None = None
    attributes: list[str] = Field(default_factory=list, description="Columns kept as-is.")


class MatchingConfig(_Strict):
    """Identity resolution settings; the same keys as `c360 dedupe --config`."""

    rules: list[MatchRule] = Field(default_factory=list)
    comparisons: list[ComparisonConfig] | None = None
    blocking: BlockingConfig = BlockingConfig()
    conflicts: list[ConflictConfig] | None = None
    training: TrainingConfig = TrainingConfig()
    clustering: ClusteringConfig = ClusteringConfig()


class FieldRule(_Strict):
    rule: Reconciliation
    sources: list[str] = Field(default_factory=list, description="For source_priority.")


class GoldenConfig(_Strict):
    """How each field of the golden record is chosen among a customer's records."""

    default: Reconciliation = "most_recent"
    source_priority: list[str] = Field(
        default_factory=list, description="Most trusted first, for source_priority."
    )
    fields: dict[str, Reconciliation | FieldRule] = Field(default_factory=dict)


class ProjectConfig(_Strict):
    project: str = "c360"
    store: Path = Field(Path("c360.duckdb"), description="Embedded store, relative to c360.yaml.")
    standardize: StandardizeConfig = StandardizeConfig()
    people: list[PeopleSource] = Field(..., min_length=1)
    events: list[EventSource] = Field(default_factory=list)
    matching: MatchingConfig = MatchingConfig()
    golden: GoldenConfig = GoldenConfig()
    governance: GovernanceConfig = GovernanceConfig()
    consent: ConsentConfig = ConsentConfig()

    @model_validator(mode="after")
    def _names(self) -> ProjectConfig:
        names = [s.name for s in self.people] + [e.name for e in self.events]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names must be unique; repeated: {', '.join(repeated)}")
        people = {s.name for s in self.people}
        for e in self.events:
            if e.person.source is not None and e.person.source not in people:
                raise ValueError(
                    f"event source {e.name!r}: person.source {e.person.source!r} is not a"
                    f" people source ({', '.join(sorted(people))})"
                )
        events = [e.name for e in self.events]
        problems = policy_problems(
            self.governance, [*people, *events], {e.type for e in self.events}, events
        )
        for n, rule in enumerate(self.consent.from_events):
            if rule.source not in events:
                problems.append(f"consent.from_events.{n}.source: {rule.source!r} is not an"
                                f" event source ({', '.join(events) or 'none declared'})")  # fmt: skip
            if rule.purpose not in self.consent.purposes:
                problems.append(f"consent.from_events.{n}.purpose: {rule.purpose!r} is not one"
                                f" of consent.purposes ({', '.join(self.consent.purposes)})")  # fmt: skip
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_project(path: Path) -> ProjectConfig:
    """Read and validate `c360.yaml`; errors name the file and the key path."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no project file here", hint="run `c360 init` to write a starter c360.yaml"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as e:
        lines = [
            f"{path}: {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in e.errors()
        ]
        raise ConfigError("\n".join(lines), hint="`c360 init` writes a commented example") from None
