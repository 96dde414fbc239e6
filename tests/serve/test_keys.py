"""API keys on the command line: created once and shown once, listed without secrets, expired
and revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from c360.errors import ConfigError
from c360.governance import Policy
from c360.serve.keys import KeyRing
from tests.project.conftest import c360, write_project


def test_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    made = c360("keys", "create", "--role", "writer", "--note", "crm sync", cwd=root)
    assert made.returncode == 0, made.stderr
    text = made.stdout.strip()
    assert text.startswith("c360_") and "not shown again" in made.stderr
    principal = KeyRing(root).check(text)
    assert principal is not None and principal.role == "writer"
    listed = c360("keys", "list", cwd=root)
    assert principal.key_id in listed.stdout and "crm sync" in listed.stdout
    assert text not in listed.stdout  # the secret is never shown again
    revoked = c360("keys", "revoke", principal.key_id, cwd=root)
    assert revoked.returncode == 0 and KeyRing(root).check(text) is None


def test_key_mistakes_are_clear(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    bad_role = c360("keys", "create", "--role", "boss", cwd=root)
    assert bad_role.returncode == 2 and "unknown role 'boss'" in bad_role.stderr
    assert "reader" in bad_role.stderr and "Traceback" not in bad_role.stderr
    missing = c360("keys", "revoke", "deadbeef", cwd=root)
    assert missing.returncode == 2 and "no API key 'deadbeef'" in missing.stderr
    elsewhere = c360("keys", "list", cwd=tmp_path)
    assert elsewhere.returncode == 2 and "c360.yaml not found" in elsewhere.stderr
    served = c360("serve", cwd=tmp_path)
    assert served.returncode == 2 and "c360.yaml not found" in served.stderr


def test_keys_expire(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    made = c360("keys", "create", "--role", "reader", "--expires-in", "30d", cwd=root)
    assert made.returncode == 0 and "until 20" in made.stderr
    text = made.stdout.strip()
    principal = KeyRing(root).check(text)
    assert principal is not None
    later = c360("keys", "expire", principal.key_id, "--in", "2h", cwd=root)
    assert later.returncode == 0 and KeyRing(root).check(text) is not None
    now = c360("keys", "expire", principal.key_id, cwd=root)
    assert now.returncode == 0 and KeyRing(root).check(text) is None
    listed = c360("keys", "list", cwd=root)
    assert "expires" in listed.stdout
    wrong = c360("keys", "create", "--role", "reader", "--expires-in", "soon", cwd=root)
    assert wrong.returncode == 2 and "--expires-in 'soon': not a duration" in wrong.stderr
    actions = [e.split('"action": "')[1].split('"')[0] for e in
               c360("audit", "list", "--json", cwd=root).stdout.splitlines()]  # fmt: skip
    assert actions == ["key.create", "key.expire", "key.expire"]


def test_a_reader_may_not_write_and_malformed_keys_are_refused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    text, key = ring.create("reader", Policy.from_config(None).roles)
    principal = ring.check(text)
    role = Policy.from_config(None).role(principal.role if principal else "")
    assert principal is not None and role.may("read") and not role.may("write")
    for wrong in ("", "c360_", text + "x", text.replace(key.key_id, "00000000"), "Bearer " + text):
        assert ring.check(wrong) is None
    (tmp_path / ".c360-keys.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the API keys"):
        ring.check(text)
