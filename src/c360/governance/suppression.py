"""Suppression: how an erased person stays erased without c360 keeping who they were.

Erasing a person (`c360.project.erasure`) leaves, for each of their source records, only a keyed
hash of the record's source and id, in the store's `suppressed` table. A run drops a record whose
hash is there before reading anything of it, and a write of it through the API is refused, so a
later sync of the same source records does not bring the person back. The key is a random
secret in the project folder (`.c360-secret`, mode 0600), made the first time it is needed:
without it, the hashes cannot be tested against guessed ids.

The hash is SHA-256 over the secret's hex text, the source, a unit separator and the record id,
computed the same way by the engine (in SQL, over a whole source) and here (for one write).
Events name their person by a record id (hashed as that record) or by an email or a phone,
hashed as a `contact` in a form every spelling of it shares (`contact_key`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from c360.store.base import Store

__all__ = [
    "CONTACT",
    "SECRET_FILE",
    "contact_key",
    "project_secret",
    "suppression",
    "suppression_key",
]

SECRET_FILE = ".c360-secret"
SEPARATOR = "\x1f"
# The "source" of a contact value's hash: an event names a person by an email or a phone.
CONTACT = "contact"


def project_secret(root: Path) -> str:
    """The project's suppression key (hex), made on first use."""
    path = root / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
    return secret


def suppression_key(secret: str, source: str, record_id: str) -> str:
    return hashlib.sha256(f"{secret}{source}{SEPARATOR}{record_id}".encode()).hexdigest()


def contact_key(secret: str, value: str) -> str:
    """The hash of an email (trimmed, lower case) or a phone (its digits), however spelled."""
    text = value.strip().lower() if "@" in value else "".join(c for c in value if c.isdigit())
    return suppression_key(secret, CONTACT, text)


def suppression(root: Path, store: Store) -> tuple[frozenset[str], str]:
    """The store's suppression list and the key it was made with (none: nothing to drop)."""
    keys = frozenset(str(r["key"]) for r in store.query("SELECT key FROM suppressed"))
    return (keys, project_secret(root)) if keys else (frozenset(), "")
