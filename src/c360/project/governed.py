"""The governance policy applied to what the command line reads from a project's store."""

from __future__ import annotations

from c360.errors import ConfigError
from c360.governance import Guard, Policy, UnknownRole
from c360.project.config import ProjectConfig
from c360.project.steps import plans_from_json
from c360.store import Store

__all__ = ["guard_for"]


def guard_for(store: Store, config: ProjectConfig, role: str) -> Guard:
    """What `role` may see of the store's customers: its policy, with each source's raw
    columns read as the fields the last run mapped them to."""
    try:
        resolved = Policy.from_config(config.governance).role(role)
    except UnknownRole as e:
        raise ConfigError(str(e), hint="declare it under `governance.roles` in c360.yaml") from None
    last = store.last_run()
    plans = plans_from_json(last.metrics.get("plans", {})) if last else {}
    return Guard.from_plans(resolved, plans)
