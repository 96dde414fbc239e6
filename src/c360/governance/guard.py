"""A role's policy applied to what c360 answers: the one layer every interface reads through.

The REST API, the command line and exports hand their documents (the 360 view, search hits,
records, timelines, explanations, export rows) to a `Guard` for the role asking, and send what it
returns. A hidden value is taken out (a golden value or contact point is left out, a raw column
dropped, an event left off the timeline); a masked one is replaced by its masking. A source
record itself — its source and id, and why it was linked — stays visible: where data about a
person lives is what a role needs to know to ask for it, and holds no value of theirs.

Raw columns are seen as the shared-model field their source's mapping made of them (the run's
column plans), so that hiding `phone` hides every source's phone column, whatever it is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from c360.governance.masking import mask
from c360.governance.policy import FIELDS, Role
from c360.standardize import ColumnPlan

__all__ = ["HIT_FIELDS", "Guard"]

HIT_FIELDS = ("given_name", "family_name", "email", "phone")

Doc = dict[str, Any]


class Guard:
    """What `role` may see of each document. `columns` maps a source's raw columns to the
    fields they were standardised into (a column mapped to nothing counts as `other`)."""

    def __init__(self, role: Role, columns: Mapping[str, Mapping[str, str]]) -> None:
        self.role = role
        self.columns = columns
        self.open = role.unrestricted
        # Each action worked out once (the policy does not change under a guard): per value
        # held by sources, per source's raw column, per event type and source.
        self._actions: dict[tuple[str, tuple[str | None, ...]], str] = {}
        self._raw_actions: dict[str, dict[str, tuple[str, str]]] = {}
        self._event_actions: dict[tuple[Any, Any], str] = {}
        self._insights = role.for_field("insights") == "show" and role.sees_every_event
        self._triggers = self._names_touched()

    def _names_touched(self) -> tuple[bytes, ...] | None:
        """The names whose presence in a rendered view means the policy changes it: every
        field this role does not see as is (by any source) and every raw column mapped to
        one. None when any view may be changed: the role hides or masks by default, or
        unmapped raw columns, or some events (insights are then hidden too), or a name is
        one a JSON writer might escape."""
        role = self.role
        if self.open:
            return ()
        sources: list[str | None] = [None, *self.columns, *role.sources]
        if role.default != "show" or not self._insights:
            return None
        if any(role.for_field("other", (s,)) != "show" for s in sources):
            return None
        names = set(FIELDS) | {f for fields in self.columns.values() for f in fields.values()}
        touched = {n for n in names for s in sources if role.for_field(n, (s,)) != "show"}
        touched |= {column for source, fields in self.columns.items()
                    for column, f in fields.items() if role.for_field(f, (source,)) != "show"}  # fmt: skip
        if not all(n.isascii() and n.isprintable() and '"' not in n and "\\" not in n
                   for n in touched):  # fmt: skip
            return None
        return tuple(n.encode() for n in sorted(touched))

    @property
    def insights_shown(self) -> bool:
        """Whether the role sees a customer's calculated insights."""
        return self._insights

    @property
    def may_leave_untouched(self) -> bool:
        """Whether some rendered view may be sent as it is (`untouched` can say yes)."""
        return self._triggers is not None

    def untouched(self, rendered: bytes) -> bool:
        """Whether the policy leaves a rendered view (JSON) as it is, so that it can be sent
        without reading it: none of the names it would act on occurs anywhere in it. (A name
        that occurs only inside some value costs a reading, nothing more.)"""
        triggers = self._triggers
        return triggers is not None and not any(t in rendered for t in triggers)

    @classmethod
    def from_plans(cls, role: Role, plans: Mapping[str, Sequence[ColumnPlan]]) -> Guard:
        """A guard reading each source's raw columns as the run's column plans mapped them."""
        return cls(role, {source: {p.mapping.column: p.mapping.field for p in source_plans}
                          for source, source_plans in plans.items()})  # fmt: skip

    def _action(self, field: str, sources: tuple[str | None, ...]) -> str:
        key = (field, sources)
        action = self._actions.get(key)
        if action is None:
            action = self._actions[key] = self.role.for_field(field, sources)
        return action

    def _value(self, field: str, value: Any, sources: Iterable[str | None]) -> tuple[bool, Any]:
        """(whether it is shown, as what)."""
        action = self._action(field, tuple(sources))
        if action == "hide":
            return False, None
        return True, mask(field, value) if action == "mask" else value

    def golden(self, values: list[Doc], seen: set[str] | None = None) -> list[Doc]:
        """Golden values shown (masked where the policy says); their fields noted in `seen`."""
        out = []
        for g in values:
            field = g["field"]
            action = self._action(field, (g.get("source"),))
            if action == "hide":
                continue
            out.append(g if action == "show" else {**g, "value": mask(field, g.get("value"))})
            if seen is not None:
                seen.add(field)
        return out

    def contact_points(self, points: list[Doc], seen: set[str] | None = None) -> list[Doc]:
        out = []
        for p in points:
            kind, sources = p["kind"], p.get("sources")
            action = self._action(kind, tuple(sources.split(",")) if sources else ())
            if action == "hide":
                continue
            out.append(p if action == "show" else {**p, "value": mask(kind, p.get("value"))})
            if seen is not None:
                seen.add(kind)
        return out

    def raw(
        self, source: str, raw: Mapping[str, Any] | None, seen: set[str] | None = None
    ) -> dict[str, Any] | None:
        if raw is None:
            return None
        actions = self._raw_actions.get(source)
        if actions is None:
            actions = self._raw_actions[source] = {}
        fields = self.columns.get(source, {})
        out = {}
        for column, v in raw.items():
            known = actions.get(column)
            if known is None:
                field = fields.get(column, "other")
                known = actions[column] = (self._action(field, (source,)), field)
            action, field = known
            if action == "show":
                out[column] = v
            elif action == "mask":
                out[column] = mask(field, v)
            else:
                continue
            if seen is not None:
                seen.add(field)
        return out

    def records(self, records: list[Doc], seen: set[str] | None = None) -> list[Doc]:
        return [{**r, "raw": self.raw(r["source"], r.get("raw"), seen)} for r in records]

    def timeline(self, events: list[Doc]) -> list[Doc]:
        out = []
        for e in events:
            key = (e.get("type"), e.get("source"))
            action = self._event_actions.get(key)
            if action is None:
                action = self._event_actions[key] = self.role.for_event(*key)
            if action == "hide":
                continue
            if action == "mask":
                e = {**e, "amount": None,
                     "attributes": {k: mask("other", v) for k, v in (e.get("attributes") or {}).items()}}  # fmt: skip
            out.append(e)
        return out

    def insights(self, insights: Doc) -> Doc | None:
        """Calculated insights are figures, not values to mask: shown or left out (`mask`
        leaves them out too). They are counted from every event, so a role that may not see
        some events does not see them either (open cases would tell of hidden cases)."""
        return insights if self._insights else None

    def view(self, doc: Doc) -> Doc:
        """The 360 view (`GET /customers/{id}`, `c360 profile --json`)."""
        return doc if self.open else self.view_and_fields(doc)[0]

    def view_and_fields(self, doc: Doc) -> tuple[Doc, list[str]]:
        """The 360 view as `view` guards it, and the fields it answers with (`shown`), in one
        pass."""
        if self.open:
            return doc, ["*"]
        seen: set[str] = set()
        insights = self.insights(doc.get("insights") or {})
        if insights:
            seen.add("insights")
        guarded = {
            **doc,
            "golden": self.golden(doc.get("golden") or [], seen),
            "contact_points": self.contact_points(doc.get("contact_points") or [], seen),
            "records": self.records(doc.get("records") or [], seen),
            "timeline": self.timeline(doc.get("timeline") or []),
            "insights": insights,
        }
        return guarded, sorted(seen)

    def guarded(self, view: Any) -> Any:
        """A `CustomerView` (the command line's) as the role may see it."""
        if self.open:
            return view
        doc = self.view(dict(view.__dict__, insights=view.insights.__dict__))
        insights = None if doc["insights"] is None else view.insights
        return replace(view, golden=doc["golden"], contact_points=doc["contact_points"],
                       records=doc["records"], timeline=doc["timeline"], insights=insights)  # fmt: skip

    def value(self, field: str, value: Any, sources: Iterable[str | None]) -> tuple[bool, Any]:
        """One value of `field` held by `sources`: (whether it is shown, as what)."""
        return self._value(field, value, sources)

    def hit(self, hit: Doc) -> Doc:
        """A search hit: the customer's golden name, email and phone (`<field>_source` says
        which source each came from; it is not answered)."""
        out: Doc = {"customer_id": hit["customer_id"]}
        for field in HIT_FIELDS:
            shown, value = self._value(field, hit.get(field), [hit.get(f"{field}_source")])
            if shown:
                out[field] = value
        return out

    def explanation(self, doc: Doc) -> Doc:
        """Why two records are or are not one customer: every field's level and weight stay,
        values the role may not see are left out (masked ones masked)."""
        if self.open:
            return doc
        sources = [str(doc.get(k, "")).partition(":")[0] for k in ("a", "b")]
        fields = []
        for f in doc.get("fields") or []:
            left = self._value(f["field"], f.get("left"), [sources[0]])
            right = self._value(f["field"], f.get("right"), [sources[1]])
            fields.append({**f, "left": left[1] if left[0] else None,
                           "right": right[1] if right[0] else None})  # fmt: skip
        return {**doc, "fields": fields}

    def shown(self, doc: Doc) -> list[str]:
        """The fields a guarded view answers with, for the audit log (names, not values)."""
        found = {g["field"] for g in doc.get("golden") or []}
        found |= {p["kind"] for p in doc.get("contact_points") or []}
        for r in doc.get("records") or []:
            fields = self.columns.get(r["source"], {})
            found |= {fields.get(c, "other") for c in (r.get("raw") or {})}
        if doc.get("insights"):
            found.add("insights")
        return sorted(found)
