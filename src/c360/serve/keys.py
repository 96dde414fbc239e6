"""API keys: created on the command line, stored hashed in the project folder, checked per request.

A key reads `c360_<id>_<secret>`. Only the SHA-256 of the whole key is kept (the secret has 192
random bits, so a fast hash is the right one: there is nothing to brute-force), with the key's
role and dates, in `.c360-keys.json` (mode 0600). The file is outside the store so that
`c360 keys create` works while `c360 serve` owns the store; the service reads it again whenever
it changes. A key is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from c360.errors import ConfigError

__all__ = ["ROLES", "ApiKey", "KeyRing", "Principal"]

KEYS_FILE = ".c360-keys.json"

# What each role may do through the API. Governance (field policies per role) builds on these.
ROLES = {
    "reader": frozenset({"read"}),
    "writer": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}
_KEY = re.compile(r"^c360_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    sha256: str
    role: str
    created_at: str
    note: str = ""
    revoked_at: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    key_id: str
    role: str

    def may(self, action: str) -> bool:
        return action in ROLES.get(self.role, frozenset())


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KeyRing:
    """The project's keys; re-read from disk when the file changes."""

    def __init__(self, root: Path) -> None:
        self.path = root / KEYS_FILE
        self._keys: dict[str, ApiKey] = {}
        self._seen: tuple[int, int] | None = None

    def _load(self) -> dict[str, ApiKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._seen = {}, None
            return self._keys
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._keys = {k["key_id"]: ApiKey(**k) for k in data.get("keys", [])}
            except (OSError, ValueError, TypeError, KeyError) as e:
                raise ConfigError(
                    f"{self.path}: cannot read the API keys: {e}",
                    hint="restore the file, or delete it and create new keys",
                ) from None
            self._seen = (stat.st_mtime_ns, stat.st_size)
        return self._keys

    def entries(self) -> list[ApiKey]:
        return sorted(self._load().values(), key=lambda k: (k.created_at, k.key_id))

    def create(self, role: str, note: str = "") -> tuple[str, ApiKey]:
        """A new key: its text (shown once) and what is stored of it."""
        if role not in ROLES:
            raise ConfigError(f"unknown role {role!r}", hint=f"roles: {', '.join(ROLES)}")
        keys = dict(self._load())
        key_id = secrets.token_hex(4)
        while key_id in keys:
            key_id = secrets.token_hex(4)
        text = f"c360_{key_id}_{secrets.token_urlsafe(24)}"
        key = ApiKey(key_id, _digest(text), role, _now(), note)
        keys[key_id] = key
        self._save(keys)
        return text, key

    def revoke(self, key_id: str) -> ApiKey:
        keys = dict(self._load())
        key = keys.get(key_id)
        if key is None:
            raise ConfigError(f"no API key {key_id!r}", hint="`c360 keys list` shows the keys")
        if key.revoked_at is None:
            key = ApiKey(**(asdict(key) | {"revoked_at": _now()}))
            keys[key_id] = key
            self._save(keys)
        return key

    def check(self, text: str) -> Principal | None:
        """The principal a presented key acts as; None for an unknown, wrong or revoked key."""
        match = _KEY.match(text.strip())
        if match is None:
            return None
        key = self._load().get(match.group(1))
        if key is None or key.revoked_at is not None:
            return None
        if not hmac.compare_digest(key.sha256, _digest(text.strip())):
            return None
        return Principal(key.key_id, key.role)

    def _save(self, keys: dict[str, ApiKey]) -> None:
        data = {"keys": [asdict(k) for k in sorted(keys.values(), key=lambda k: k.key_id)]}
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        partial.replace(self.path)
