"""The guard: what a role is answered of a rendered view, and when a view can go as it is."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.governance import GovernanceConfig, Guard, Policy

COLUMNS = {
    "crm": {"FirstName": "given_name", "Email": "email", "SSN": "national_id", "Tier": "other"},
    "shop": {"mail": "email", "tel": "phone", "dob": "birth_date"},
}
FIELDS = ["given_name", "family_name", "full_name", "email", "phone", "birth_date",
          "national_id", "street", "address", "other"]  # fmt: skip
actions = st.sampled_from(["show", "mask", "hide"])


def _guard(policy: dict[str, Any]) -> Guard:
    config = GovernanceConfig.model_validate({"roles": {"probe": policy}})
    return Guard(Policy.from_config(config).role("probe"), COLUMNS)


def _doc(golden: list[tuple[str, str]], points: list[tuple[str, str]],
         raw: dict[str, dict[str, str]], events: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "customer_id": "C1",
        "golden": [{"field": f, "value": "v-" + f, "source": s} for f, s in golden],
        "contact_points": [{"kind": k, "value": "p-" + k, "sources": s} for k, s in points],
        "records": [{"source": s, "record_id": "1", "raw": r} for s, r in raw.items()],
        "timeline": [{"type": t, "source": "shop", "attributes": {"a": "b"}} for t in events],
        "insights": {"orders": 1},
    }


policies = st.fixed_dictionaries(
    {"default": st.sampled_from(["show", "show", "mask"]),
     "fields": st.dictionaries(st.sampled_from(FIELDS), actions, max_size=3),
     "sources": st.dictionaries(st.sampled_from(["crm", "shop"]),
                                st.dictionaries(st.sampled_from(FIELDS), actions, max_size=2),
                                max_size=1),
     "events": st.dictionaries(st.sampled_from(["order", "case"]), actions, max_size=1)}
)  # fmt: skip
sources = st.sampled_from(["crm", "shop", "crm,shop"])
docs = st.builds(
    _doc,
    st.lists(st.tuples(st.sampled_from([*FIELDS, "phone_2", "other_tier"]), sources), max_size=6),
    st.lists(st.tuples(st.sampled_from(["email", "phone"]), sources), max_size=3),
    st.dictionaries(st.sampled_from(["crm", "shop"]),
                    st.fixed_dictionaries({}, optional={c: st.just("x")
                                                        for cs in COLUMNS.values() for c in cs})),
    st.lists(st.sampled_from(["order", "case"]), max_size=3),
)  # fmt: skip


@settings(max_examples=400)
@given(policy=policies, doc=docs)
def test_a_view_sent_untouched_is_one_the_policy_leaves_as_it_is(
    policy: dict[str, Any], doc: dict[str, Any]
) -> None:
    guard = _guard(policy)
    if guard.untouched(orjson.dumps(doc)):
        assert guard.view(doc) == doc


@settings(max_examples=200)
@given(policy=policies, doc=docs)
def test_the_fields_answered_are_those_of_the_guarded_view(
    policy: dict[str, Any], doc: dict[str, Any]
) -> None:
    guard = _guard(policy)
    view, fields = guard.view_and_fields(doc)
    assert view == guard.view(doc)
    assert fields == (["*"] if guard.open else guard.shown(view))


def test_only_views_holding_a_name_the_policy_acts_on_are_read() -> None:
    guard = _guard({"fields": {"national_id": "hide"}})
    plain = _doc([("email", "crm")], [("email", "crm")], {"shop": {"mail": "x"}}, ["case"])
    assert guard.untouched(orjson.dumps(plain))
    # By the field's name in the golden record, and by a raw column mapped to it.
    assert not guard.untouched(orjson.dumps(_doc([("national_id", "crm")], [], {}, [])))
    assert not guard.untouched(orjson.dumps(_doc([], [], {"crm": {"SSN": "x"}}, [])))


def test_roles_that_change_every_view_always_read_it() -> None:
    empty = orjson.dumps(_doc([], [], {}, []))
    assert not _guard({"default": "mask"}).untouched(empty)
    # Hiding some events hides the insights counted from them.
    assert not _guard({"events": {"case": "hide"}}).untouched(empty)
    # Unmapped raw columns can be called anything.
    assert not _guard({"fields": {"other": "hide"}}).untouched(empty)
