"""A served copy of the small hand-written company, with a key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.serve.app import create_app
from c360.serve.keys import KeyRing
from c360.serve.service import Service
from tests.project.conftest import write_project


@dataclass
class Served:
    root: Path
    app: FastAPI
    client: TestClient
    keys: dict[str, str]

    def headers(self, role: str = "reader") -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def serve_project(root: Path) -> Iterator[Served]:
    """The project served, with a key for each role of its policy. The service is opened
    here, as `c360 serve` opens it, and closed here too: the app's lifespan leaves a service it
    was given to its owner (left open, its threads outlived the tests, and the interpreter
    aborted at exit)."""
    service = Service(root)
    try:
        ring = KeyRing(root)
        keys = {role: ring.create(role, service.policy.roles)[0] for role in service.policy.roles}
        app = create_app(root, service=service)
        with TestClient(app) as client:
            yield Served(root, app, client, keys)
    finally:
        service.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = write_project(tmp_path_factory.mktemp("served") / "acme")
    run_project(root, SilentReporter())
    yield from serve_project(root)
