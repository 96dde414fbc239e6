"""API keys: created on the command line, stored hashed in the project folder, checked per request.

A key reads `c360_<id>_<secret>`. Only the SHA-256 of the whole key is kept (the secret has 192
random bits, so a fast hash is the right one: there is nothing to brute-force), with the key's
role and dates, in `.c360-keys.json` (mode 0600). The file is outside the store so that
`c360 keys create` works while `c360 serve` owns the store; the service reads it again whenever
it changes. A key is shown once, when it is created, and never logged.

A key carries a role of the project's governance policy (`c360.governance.policy`), which says
what it may do and see. It stops opening the API when it is revoked or when it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from c360.errors import ConfigError

__all__ = ["ApiKey", "KeyRing", "Principal"]

KEYS_FILE = ".c360-keys.json"
_KEY = re.compile(r"^c360_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    sha256: str
    role: str
    created_at: str
    note: str = ""
    revoked_at: str | None = None
    expires_at: str | None = None

    def valid(self, at: str) -> bool:
        """Whether the key opens the API at `at` (an ISO time in UTC, as `_now` writes it)."""
        return self.revoked_at is None and (self.expires_at is None or at < self.expires_at)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a key and its role's name (the policy says what it may do)."""

    key_id: str
    role: str

    @property
    def actor(self) -> str:
        """Who the audit log says acted."""
        return f"key:{self.key_id}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


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

    def create(
        self,
        role: str,
        roles: Collection[str],
        note: str = "",
        expires_in: timedelta | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key for one of `roles` (the project's): its text (shown once) and what is
        stored of it."""
        if role not in roles:
            raise ConfigError(f"unknown role {role!r}",
                              hint=f"the project's roles: {', '.join(sorted(roles))}"
                              " (declare more under `governance.roles` in c360.yaml)")  # fmt: skip
        keys = dict(self._load())
        key_id = secrets.token_hex(4)
        while key_id in keys:
            key_id = secrets.token_hex(4)
        text = f"c360_{key_id}_{secrets.token_urlsafe(24)}"
        expires = None if expires_in is None else _now(datetime.now(UTC) + expires_in)
        key = ApiKey(key_id, _digest(text), role, _now(), note, expires_at=expires)
        keys[key_id] = key
        self._save(keys)
        return text, key

    def revoke(self, key_id: str) -> ApiKey:
        """Refuse the key from now on, for good."""
        return self._change(key_id, "revoked_at", _now())

    def expire(self, key_id: str, in_: timedelta = timedelta(0)) -> ApiKey:
        """Let the key open the API for `in_` more (zero: expired now)."""
        return self._change(key_id, "expires_at", _now(datetime.now(UTC) + in_))

    def _change(self, key_id: str, field: str, value: str) -> ApiKey:
        keys = dict(self._load())
        key = keys.get(key_id)
        if key is None:
            raise ConfigError(f"no API key {key_id!r}", hint="`c360 keys list` shows the keys")
        if field == "revoked_at" and key.revoked_at is not None:
            return key  # revoked already: the first time stands
        key = ApiKey(**(asdict(key) | {field: value}))
        keys[key_id] = key
        self._save(keys)
        return key

    def check(self, text: str) -> Principal | None:
        """The principal a presented key acts as; None for an unknown, wrong, revoked or
        expired key."""
        match = _KEY.match(text.strip())
        if match is None:
            return None
        key = self._load().get(match.group(1))
        if key is None or not key.valid(_now()):
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
