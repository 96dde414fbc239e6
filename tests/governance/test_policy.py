"""The governance policy of c360.yaml: roles resolved from a default plus overrides, the
strictest rule winning for one source and the most open source winning for a shared value, and
every name checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from c360.errors import ConfigError
from c360.governance import GovernanceConfig, Policy, UnknownRole
from c360.project.config import load_project
from tests.project.conftest import write_project

POLICY = {
    "default": {"can": ["read"], "fields": {"national_id": "hide"}},
    "roles": {
        "marketing": {
            "fields": {"birth_date": "mask"},
            "sources": {"crm": {"phone": "hide"}, "shop": "mask"},
            "events": {"case": "hide"},
        },
        "analyst": {"default": "mask", "fields": {"email": "show"}},
        "steward": {"can": ["read", "write"]},
    },
}


def _policy() -> Policy:
    return Policy.from_config(GovernanceConfig.model_validate(POLICY))


def test_roles_start_from_the_default_and_override_it() -> None:
    policy = _policy()
    marketing, analyst = policy.role("marketing"), policy.role("analyst")
    assert marketing.may("read") and not marketing.may("write")
    assert policy.role("steward").may("write") and not policy.role("steward").may("admin")
    assert marketing.for_field("national_id") == "hide"  # from the default
    assert marketing.for_field("birth_date") == "mask"
    assert marketing.for_field("given_name") == "show"
    # A default field rule wins over a role's default action; a role's own rule over both.
    assert analyst.for_field("national_id") == "hide"
    assert analyst.for_field("given_name") == "mask" and analyst.for_field("email_2") == "show"
    # Built-in roles: admin sees everything, reader and writer follow the default.
    assert policy.role("admin").unrestricted and policy.role("admin").may("admin")
    assert policy.role("reader").for_field("national_id") == "hide"
    assert not policy.role("reader").unrestricted
    assert Policy.from_config(None).role("reader").unrestricted


def test_a_value_is_seen_as_its_most_open_source_shows_it() -> None:
    marketing = _policy().role("marketing")
    assert marketing.for_field("phone", ["crm"]) == "hide"  # the service desk's phone, say
    assert marketing.for_field("phone", ["shop"]) == "mask"  # the whole source is masked
    assert marketing.for_field("phone", ["crm", "shop"]) == "mask"  # the shop shows it masked
    assert marketing.for_field("phone", ["crm", "web"]) == "show"  # a source without a rule
    assert marketing.for_field("phone") == "show"  # no source known: the field alone
    # A source cannot open what the field hides.
    assert marketing.for_field("national_id", ["web"]) == "hide"


def test_composite_values_are_as_strict_as_their_parts() -> None:
    policy = Policy.from_config(GovernanceConfig.model_validate(
        {"roles": {"r": {"fields": {"family_name": "hide", "city": "mask"}}}}))  # fmt: skip
    r = policy.role("r")
    assert r.for_field("full_name") == "hide" and r.for_field("address") == "mask"
    # …and the other way round: hiding a whole hides its parts.
    whole = Policy.from_config(GovernanceConfig.model_validate(
        {"roles": {"r": {"fields": {"address": "hide", "full_name": "mask"}}}})).role("r")  # fmt: skip
    assert whole.for_field("street") == "hide" and whole.for_field("house_number") == "hide"
    assert whole.for_field("given_name") == "mask" and whole.for_field("email") == "show"


def test_events_by_type_and_by_source() -> None:
    marketing = _policy().role("marketing")
    assert marketing.for_event("case", "cases") == "hide"
    assert marketing.for_event("order", "shop") == "mask"  # the shop source is masked
    assert marketing.for_event("order", "orders") == "show"


def test_an_unknown_role_names_the_roles_there_are() -> None:
    with pytest.raises(UnknownRole, match=r"'boss'.*admin, analyst, marketing"):
        _policy().role("boss")


def _with_policy(root: Path, governance: object) -> Path:
    path = root / "c360.yaml"
    data = yaml.safe_load(path.read_text())
    data["governance"] = governance
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("governance", "message"),
    [
        ({"roles": {"sales": {"fields": {"shoe_size": "hide"}}}},
         "governance.roles.sales.fields.shoe_size: not a field of the shared model"),
        ({"roles": {"sales": {"sources": {"erp": "hide"}}}},
         "governance.roles.sales.sources.erp: no such source"),
        ({"default": {"sources": {"crm": {"shoe_size": "mask"}}}},
         "governance.default.sources.crm.shoe_size: not a field"),
        ({"roles": {"sales": {"events": {"visit": "hide"}}}},
         "governance.roles.sales.events.visit: no event source has this type (case, order)"),
        ({"roles": {"sales": {"fields": {"email": "blur"}}}}, "governance.roles.sales.fields.email"),
        ({"roles": {"sales": {"can": ["delete"]}}}, "governance.roles.sales.can.0"),
        ({"roles": {"sales": {"see": "all"}}}, "governance.roles.sales.see"),
        ({"roles": {"two words": {}}}, "governance.roles.two words: a role name"),
        ({"roles": {"sales": {"sources": {"cases": {"email": "hide"}}}}},
         "governance.roles.sales.sources.cases: an event source takes one action"),
    ],
)  # fmt: skip
def test_policy_mistakes_are_config_errors_naming_the_key(
    tmp_path: Path, governance: object, message: str
) -> None:
    path = _with_policy(write_project(tmp_path / "acme"), governance)
    with pytest.raises(ConfigError, match=r"c360\.yaml") as caught:
        load_project(path)
    assert message in str(caught.value)
