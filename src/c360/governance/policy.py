"""Roles and what each may see: the `governance` section of `c360.yaml`.

A role says what it may do (`can`: read, write, admin) and, for every value c360 holds, whether
it sees it as is (`show`), masked (`mask`, see `c360.governance.masking`) or not at all
(`hide`). Values are named in the terms of the shared model, whichever source they came from:

    governance:
      default:                   # every role starts from this
        can: [read]
        fields: {national_id: hide}
      roles:
        marketing:
          fields: {birth_date: mask}
          sources:
            service: {phone: hide}   # the service desk's phone: it links, but is not shown
          events: {case: hide}
        steward:
          can: [read, write]

What a role sees of one value is the strictest of its field's action (the role's `fields`, else
the default's, else the role's `default`, else the default's `default`, else `show`) and, for a
value from a source, what that source's entry says. A value several sources hold (a contact
point) is seen as the source that shows most of it shows it: a phone known from the CRM is no
secret to a role that may read the CRM's records.

A role that hides or masks something has each 360 view guarded: a prepared role's ahead, with the
service's read model, so that even its first read of a customer costs no more than an unrestricted
role's (`c360.serve.read_model`); any other role's when it reads it (kept for its next reads).
A role is prepared where its policy changes every view — it hides or masks events, insights or
by default — unless it says `prepared: false`; `prepared: true` prepares any other.

Three roles exist without being declared: `admin` (everything, shown), `writer` (read and write)
and `reader` (read); the latter two follow the default. Declaring one of those names replaces
it. An unknown field, source, event type or ability in the policy is a config error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from c360.governance.masking import field_kind
from c360.model import FieldKind

__all__ = [
    "ABILITIES",
    "Action",
    "GovernanceConfig",
    "Policy",
    "Role",
    "RolePolicy",
    "UnknownRole",
    "policy_problems",
]

Action = Literal["show", "mask", "hide"]
Ability = Literal["read", "write", "admin"]
ABILITIES: tuple[Ability, ...] = ("read", "write", "admin")
_STRICTNESS: dict[str, int] = {"show": 0, "mask": 1, "hide": 2}
# What a policy can name besides the shared model's kinds: a customer's calculated insights.
_DERIVED = ("insights",)
# A value made of others holds them: a role that may not see a family name may not see a full
# name either.
_PARTS = {
    "full_name": ("given_name", "family_name"),
    "address": ("street", "house_number", "postcode", "city", "region", "country"),
}
# …and hiding an address hides its street: a whole is as strict as its parts, and the other
# way round.
_WHOLES = {part: tuple(w for w, ps in _PARTS.items() if part in ps)
           for parts in _PARTS.values() for part in parts}  # fmt: skip
FIELDS: frozenset[str] = frozenset(
    {k.value for k in FieldKind if k is not FieldKind.IGNORE} | set(_DERIVED)
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolePolicy(_Strict):
    """What one role may do and see; anything left out comes from the default policy."""

    can: list[Ability] | None = Field(None, description="read, write, admin.")
    default: Action | None = Field(None, description="For every value not named below.")
    fields: dict[str, Action] = Field(
        default_factory=dict, description="Shared-model field (email, phone, …) → action."
    )
    sources: dict[str, Action | dict[str, Action]] = Field(
        default_factory=dict,
        description="Source → an action for all its values, or field → action for some.",
    )
    events: dict[str, Action] = Field(
        default_factory=dict, description="Event type (order, case, …) → action."
    )
    prepared: bool | None = Field(
        None,
        description="Keep every customer's view guarded for this role in the service's read"
        " model, so that its first read of a customer costs what an unrestricted read does"
        " (about 750 bytes of memory per customer, and 20-40 µs of guarding per view when the"
        " read model is built). Unset: prepared if the policy changes every view (it hides or"
        " masks events, insights, or by default).",
    )


class GovernanceConfig(_Strict):
    default: RolePolicy = RolePolicy()
    roles: dict[str, RolePolicy] = Field(default_factory=dict)


def policy_problems(
    config: GovernanceConfig,
    sources: Iterable[str],
    event_types: Iterable[str],
    event_sources: Iterable[str] = (),
) -> list[str]:
    """Everything in the policy that names nothing c360 knows, each with its key path."""
    known_sources, known_types = set(sources), set(event_types)
    known_events = set(event_sources)
    problems = []
    for name, role in [("default", config.default), *((f"roles.{r}", p)
                                                       for r, p in config.roles.items())]:  # fmt: skip
        where = f"governance.{name}"
        for f in role.fields:
            if field_kind(f) not in FIELDS:
                problems.append(f"{where}.fields.{f}: not a field of the shared model"
                                f" ({', '.join(sorted(FIELDS))})")  # fmt: skip
        for s, rule in role.sources.items():
            if s not in known_sources:
                problems.append(f"{where}.sources.{s}: no such source"
                                f" ({', '.join(sorted(known_sources))})")  # fmt: skip
            elif s in known_events and isinstance(rule, dict):
                problems.append(f"{where}.sources.{s}: an event source takes one action"
                                " (show, mask or hide) for its events")  # fmt: skip
            for f in rule if isinstance(rule, dict) else ():
                if field_kind(f) not in FIELDS:
                    problems.append(f"{where}.sources.{s}.{f}: not a field of the shared model")
        for t in role.events:
            if t not in known_types:
                problems.append(f"{where}.events.{t}: no event source has this type"
                                f" ({', '.join(sorted(known_types)) or 'none declared'})")  # fmt: skip
    for r in config.roles:
        if not r.replace("_", "").replace("-", "").isalnum() or not r[:1].isalpha():
            problems.append(f"governance.roles.{r}: a role name is letters, digits, - and _")
    return problems


class UnknownRole(LookupError):
    """A key or command names a role the project's policy does not declare."""


def _strictest(*actions: str) -> str:
    return max(actions, key=_STRICTNESS.__getitem__)


@dataclass(frozen=True)
class Role:
    """One role, resolved: what it may do, and how it sees each value."""

    name: str
    can: frozenset[str]
    default: str = "show"
    fields: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)
    events: Mapping[str, str] = field(default_factory=dict)
    prepared: bool | None = None  # None: as `c360 serve` finds best (the policy's field)

    @property
    def unrestricted(self) -> bool:
        """Sees every value as is: nothing to apply."""
        return (
            self.default == "show"
            and all(a == "show" for a in self.fields.values())
            and all(a == "show" for a in self.events.values())
            and all(
                (rule == "show") if isinstance(rule, str) else
                all(a == "show" for a in rule.values())
                for rule in self.sources.values()
            )
        )  # fmt: skip

    @property
    def sees_every_event(self) -> bool:
        return (
            self.default == "show"
            and all(a == "show" for a in self.events.values())
            and all(rule == "show" for rule in self.sources.values() if isinstance(rule, str))
        )

    def may(self, ability: str) -> bool:
        return ability in self.can

    @property
    def fingerprint(self) -> str:
        """What the role may see, as text: the same for the same policy, in any process."""
        return json.dumps({"default": self.default, "fields": self.fields,
                           "sources": self.sources, "events": self.events},
                          sort_keys=True, default=dict)  # fmt: skip

    def for_field(self, name: str, sources: Iterable[str | None] = ()) -> str:
        """How this role sees a value of field `name` (`phone_2` is a phone) held by
        `sources` (none known: by the field alone)."""
        kind = field_kind(name)
        parts = (name, *_PARTS.get(kind, ()), *_WHOLES.get(kind, ()))
        base = _strictest(*(self._field(part) for part in parts))
        seen = [s for s in sources if s is not None]
        if not seen:
            return base
        return min(
            (_strictest(base, *(self._source(s, part) for part in parts)) for s in seen),
            key=_STRICTNESS.__getitem__,
        )

    def _field(self, name: str) -> str:
        return self.fields.get(name) or self.fields.get(field_kind(name)) or self.default

    def _source(self, source: str, name: str) -> str:
        rule = self.sources.get(source)
        if rule is None:
            return "show"
        if isinstance(rule, str):
            return rule
        return rule.get(name) or rule.get(field_kind(name)) or "show"

    def for_event(self, kind: str | None, source: str | None) -> str:
        """How this role sees an event of type `kind` from `source` (a type not named: as
        the role's default says)."""
        by_type = self.events.get(kind or "", self.default)
        rule = self.sources.get(source or "")
        return _strictest(by_type, rule) if isinstance(rule, str) else by_type


def _merged(default: RolePolicy, role: RolePolicy, name: str) -> Role:
    can = role.can if role.can is not None else default.can if default.can is not None else ["read"]
    sources: dict[str, str | Mapping[str, str]] = dict(default.sources)
    for s, rule in role.sources.items():
        before = sources.get(s)
        if isinstance(rule, dict) and isinstance(before, Mapping):
            sources[s] = {**before, **rule}
        else:
            sources[s] = rule
    return Role(
        name=name,
        can=frozenset(can),
        default=role.default or default.default or "show",
        fields={**default.fields, **role.fields},
        sources=sources,
        events={**default.events, **role.events},
        prepared=role.prepared if role.prepared is not None else default.prepared,
    )


@dataclass(frozen=True)
class Policy:
    """Every role of a project, resolved."""

    roles: Mapping[str, Role]

    @classmethod
    def from_config(cls, config: GovernanceConfig | None) -> Policy:
        config = config or GovernanceConfig()
        roles = {
            "admin": Role("admin", frozenset(ABILITIES)),
            "writer": _merged(config.default, RolePolicy(can=["read", "write"]), "writer"),
            "reader": _merged(config.default, RolePolicy(can=["read"]), "reader"),
        }
        for name, role in config.roles.items():
            roles[name] = _merged(config.default, role, name)
        return cls(roles)

    def role(self, name: str) -> Role:
        try:
            return self.roles[name]
        except KeyError:
            raise UnknownRole(
                f"role {name!r} is not declared in the project's governance policy"
                f" (roles: {', '.join(sorted(self.roles))})"
            ) from None
