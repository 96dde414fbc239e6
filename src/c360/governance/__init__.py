"""Governance: who may see and change what, applied the same way whichever door data leaves by.

`policy` reads the roles of `c360.yaml`; `guard` applies a role to every document c360 answers;
`masking` is what a masked value looks like; `audit` keeps the hash-chained log of reads and
changes.
"""

from c360.governance.audit import AuditEntry, AuditLog, local_actor
from c360.governance.guard import Guard
from c360.governance.masking import mask
from c360.governance.policy import GovernanceConfig, Policy, Role, UnknownRole

__all__ = [
    "AuditEntry",
    "AuditLog",
    "GovernanceConfig",
    "Guard",
    "Policy",
    "Role",
    "UnknownRole",
    "local_actor",
    "mask",
]
