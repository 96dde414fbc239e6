"""The running service: the project it serves, its store, keys and metrics.

The service owns the project while it runs: it holds the project lock (so `c360 run` says the
project is being served instead of touching the store) and the store's one writable
connection. Requests read through cursors of that connection; writes take `write_lock`, one at
a time, so two writes about the same person can never race.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException

from c360.errors import ConfigError
from c360.governance import AuditLog, Guard, Policy, Role, UnknownRole
from c360.governance.consent import refusing_processing
from c360.progress import SilentReporter
from c360.project.config import ProjectConfig, load_project
from c360.project.erasure import Erasure, drop_derived, erase_subject
from c360.project.lock import project_lock
from c360.project.run import PROJECT_FILE
from c360.serve.gate import Gate
from c360.serve.guarded_views import GuardedViews
from c360.serve.keys import KeyRing, Principal
from c360.serve.match_index import MatchIndex, match_index_of
from c360.serve.read_model import Prepare, ReadModel
from c360.serve.writes import Writer
from c360.store import DuckDBStore
from c360.store.erasing import rewrite_store

log = logging.getLogger(__name__)

__all__ = ["Metrics", "Service", "require"]

# A store's "high value" line (the 90th percentile of lifetime value) is recomputed at most this
# often: it is a statistic over every customer, not a per-request value.
_HIGH_VALUE_TTL = 60.0


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("c360_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=r)  # fmt: skip
        self.latency = Histogram(
            "c360_http_request_seconds", "Time to answer a request.", ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )  # fmt: skip
        self.customers = Gauge("c360_customers", "Current customers.", registry=r)
        self.index_locked = Gauge(
            "c360_match_index_locked_bytes", "Bytes of the match index the resolving process"
            " keeps locked in memory (0: read through the page cache; the log says why).",
            registry=r,
        )  # fmt: skip
        self.views_locked = Gauge(
            "c360_read_model_locked_bytes", "Bytes of the read model (the rendered views) kept"
            " locked in memory (0: read through the page cache; the log says why).", registry=r,
        )  # fmt: skip
        self.last_change = Gauge("c360_last_change_seq", "Newest change-feed entry.", registry=r)
        self.writes = Counter(
            "c360_writes", "Runs that published writes, by scope: over the writes'"
            " neighbourhood, or over the whole store (a contact value crossed the sharing limit,"
            " or the match index could not be used).",
            ["scope"], registry=r,
        )  # fmt: skip
        self.answers = Counter(
            "c360_write_answers", "Writes answered, by path: resolved in memory and published"
            " after the answer, unchanged (nothing to publish), or published before the answer.",
            ["path"], registry=r,
        )  # fmt: skip
        self.waiting = Gauge(
            "c360_writes_waiting", "Writes answered and not yet published.", registry=r
        )
        self.publish_lag = Histogram(
            "c360_write_publish_seconds", "From a write's answer to its publish.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120), registry=r,
        )  # fmt: skip
        self.resolve_time = Histogram(
            "c360_write_resolve_seconds", "Time to resolve a write in memory.",
            buckets=(0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25), registry=r,
        )  # fmt: skip
        self.journal_time = Histogram(
            "c360_write_journal_seconds", "Time to keep a resolved write on disk (its fsync).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1), registry=r,
        )  # fmt: skip
        self.waits = Counter(
            "c360_write_waits", "Writes that waited before their answer, by why: a write they"
            " touch was not published yet (overlap), a publish changed the match index while"
            " they were resolved (retry), or too many writes waited already (full).",
            ["reason"], registry=r,
        )  # fmt: skip
        self.apart = Counter(
            "c360_write_apart", "Writes answered without waiting although they share blocking"
            " keys with writes not published yet: no new record of one links with the other's"
            " and no block crosses the cap.", registry=r,
        )  # fmt: skip
        self.revised = Counter(
            "c360_write_answers_revised", "Written records published under another customer"
            " than their answer said.", registry=r,
        )  # fmt: skip
        # Counted by `GET /customers/{id}` on the event loop alone, as plain integers: a
        # Prometheus counter's lock cost each read a third of a microsecond, a twentieth of
        # what governance adds to it.
        self.guarded = {"prepared": 0, "kept": 0, "new": 0}
        r.register(_Tally(
            "c360_guarded_views", "Reads of a 360 view that the role's policy changes, by"
            " whether the guarded view was prepared with the read model (prepared), kept from"
            " an earlier read (kept) or worked out (new).", "result", self.guarded,
        ))  # fmt: skip


class _Tally(Collector):
    """A Prometheus counter by one label whose values are a dict's plain integers."""

    def __init__(self, name: str, documentation: str, label: str, counts: dict[str, int]) -> None:
        self.name, self.documentation, self.label, self.counts = name, documentation, label, counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=[self.label])
        for value, n in self.counts.items():
            family.add_metric([value], n)
        yield family


class Service:
    """Opened by the app's lifespan, closed when it stops."""

    def __init__(
        self,
        root: Path,
        *,
        url: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        # A request thread waiting for the interpreter lock gets it within half a millisecond
        # (not the default 5 ms) while the publishing thread runs Python: writes are answered
        # in milliseconds while earlier ones are published.
        sys.setswitchinterval(0.0005)
        self.root = root.resolve()
        self.config: ProjectConfig = load_project(self.root / PROJECT_FILE)
        self.keys = KeyRing(self.root)
        self.policy = Policy.from_config(self.config.governance)
        self._guards: dict[str, Guard] = {}
        self.guarded_views = GuardedViews()
        self.metrics = Metrics()
        self.write_lock = threading.Lock()
        self.changed = threading.Condition()
        self._high_value: tuple[float, float | None] = (0.0, None)
        self._local = threading.local()
        self._generation = 0  # of the store's connection: erasure opens it again
        self.gate = Gate()
        self._stack = ExitStack()
        try:
            self._stack.enter_context(
                project_lock(self.root, holder=f"c360 serve {url or ''}".strip())
            )
            self.store = self._stack.enter_context(DuckDBStore(self.root / self.config.store))
            self.store.ensure_indexes()
            # Requests are point lookups, many at a time: one thread per query serves them
            # with less CPU than spreading each over every core.
            self.store.query("SET threads = 1")
            self.writer = Writer(self)
            self.views = ReadModel(self.root, self._prepared_roles())
            if not self.views.current(self.store):
                prepared = "".join(f", guarded for {r}" for r in self.views.prepared)
                self.views.build(self.store, _labelled(progress, "Rendering the customers'"
                                                       f" views{prepared}"))  # fmt: skip
            # A role newly prepared (or whose policy changed), or no longer prepared.
            roles = ", ".join(self.views.prepared) or "no role"
            self.views.prepare(_labelled(progress, f"Guarding the customers' views for {roles}"))
            self._stack.callback(self.views.let_go)
            self._keep_views()
            self.match_index = match_index_of(self.root, self.config, self.store)
            if self.match_index is not None and not self.match_index.current(self.store):
                self.match_index.build(
                    self.store, _labelled(progress, "Indexing records for real-time matching")
                )
            self.writer.start()
            self.writer.prepare()
            self.refresh_refusing()
            self.audit = AuditLog(self.root)
            self._stack.callback(self.audit.close)
            self.audit.start()
            # What start-up loaded lives as long as the service: the collector stops looking
            # at it, and full collections look only at what came after. They took 80 ms, in
            # whichever thread they fell on, a request's among them.
            gc.freeze()
        except BaseException:
            self._stack.close()  # the lock and the store are let go of a service that failed
            raise

    def close(self) -> None:
        writer: Writer | None = getattr(self, "writer", None)
        if writer is not None:
            writer.close()  # publishes every write it answered
        index: MatchIndex | None = getattr(self, "match_index", None)
        if index is not None:
            index.close()
        self._stack.close()

    def refresh_refusing(self) -> None:
        """Note the customers who refuse `processing` (their insights are not answered)."""
        self.refusing: frozenset[str] = frozenset(refusing_processing(self.store))

    def guard(self, role: str) -> Guard:
        """What `role` may see, applied to what the service answers."""
        guard = self._guards.get(role)
        if guard is None:
            guard = Guard.from_plans(self.policy.role(role), self.writer.column_plans())
            self._guards[role] = guard
        return guard

    def _prepared_roles(self) -> dict[str, tuple[str, Prepare]]:
        """The roles whose views the read model keeps guarded: each one's policy, and what
        guards a view for it. A role with something to guard is prepared if it says so, or,
        unless it says not, if its policy changes every view (no view could be sent as it is:
        `Guard.may_leave_untouched`)."""

        def wanted(name: str, role: Role) -> bool:
            if role.unrestricted or role.prepared is False:
                return False
            return role.prepared is True or not self.guard(name).may_leave_untouched

        def preparer(role: str) -> Prepare:
            def prepare(doc: dict[str, Any]) -> tuple[bytes, Sequence[str]]:
                view, fields = self.guard(role).view_and_fields(doc)
                return orjson.dumps(view), fields

            return prepare

        return {name: (role.fingerprint, preparer(name)) for name, role in self.policy.roles.items()
                if wanted(name, role)}  # fmt: skip

    def audited(self, request: Request, action: str, customer_id: str | None,
                fields: Sequence[str] = ("*",), **detail: Any) -> None:  # fmt: skip
        """Note a read in the audit log (written within a fraction of a second)."""
        self.noted(request.state.principal, action, customer_id, fields, detail)

    def noted(self, principal: Principal, action: str, customer_id: str | None,
              fields: Sequence[str] = ("*",), detail: dict[str, Any] | None = None) -> None:  # fmt: skip
        """`audited`, for a request whose principal is at hand."""
        self.audit.note(principal.actor, principal.role, action, customer_id, fields,
                        detail or None)  # fmt: skip

    def reader(self) -> DuckDBStore:
        """This thread's cursor on the store (a new one once the store was opened again)."""
        cursor: DuckDBStore | None = getattr(self._local, "cursor", None)
        if cursor is None or getattr(self._local, "generation", 0) != self._generation:
            cursor = self.store.cursor()
            self._local.cursor, self._local.generation = cursor, self._generation
        return cursor

    def erase(self, customer_id: str) -> Erasure:
        """Erase a person while serving (`c360.project.erasure`): every answered write is
        published first; then, with no other request running, their data leaves the store,
        the store is rewritten into a fresh file and opened again, and the read model and the
        match index are built again from it (on a million records, about two minutes)."""
        self.writer.drain()
        with self.gate.closed(), self.write_lock:
            self.writer.stop_resolving()
            self.writer.journal.scrub()  # published writes about them leave no bytes behind
            erasure = erase_subject(self.root, self.config, self.store, customer_id,
                                    SilentReporter())  # fmt: skip
            if self.match_index is not None:
                self.match_index.close()
            path = self.store.path
            self.store.close()
            rewrite_store(path)
            self.views.let_go()
            drop_derived(self.root)
            self.store = DuckDBStore(path)
            self._stack.callback(self.store.close)
            self._generation += 1
            self.store.ensure_indexes()
            self.store.query("SET threads = 1")
            self.views.build(self.store)
            self._keep_views()
            self.match_index = match_index_of(self.root, self.config, self.store)
            if self.match_index is not None:
                self.match_index.build(self.store)
            self.writer.forget_suppressed()
            self.writer.suppressed()  # read now, not by the next write
            self.refresh_refusing()
            self.guarded_views.clear()
        self.notify_change()
        return erasure

    def _keep_views(self) -> None:
        resident = self.views.keep_in_memory()
        self.metrics.views_locked.set(resident.locked)
        if resident.reason is not None:
            log.info("the read model is read through the page cache, not kept in memory: %s",
                     resident.reason)  # fmt: skip

    def notify_change(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait(timeout)

    def high_value(self, store: DuckDBStore) -> float | None:
        at, value = self._high_value
        if time.monotonic() - at > _HIGH_VALUE_TTL:
            from c360.project.view import high_value_line

            value = high_value_line(store)
            self._high_value = (time.monotonic(), value)
        return value


def _labelled(
    progress: Callable[[str, int, int], None] | None, label: str
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(label, done, total)


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="A key from `c360 keys create`.")  # fmt: skip
_bearer = HTTPBearer(auto_error=False, description="The same key as a bearer token.")


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def require(action: str):  # type: ignore[no-untyped-def]
    """A dependency: the request's principal, if its key is valid and its role may `action`."""

    async def check(
        request: Request,
        key: Annotated[str | None, Depends(_api_key)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if bearer is None and request.headers.get("authorization") is not None:
            raise HTTPException(
                401, "the Authorization header must read `Bearer <key>` (or send the key as"
                " X-API-Key alone)", headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        text = key or (bearer.credentials if bearer is not None else None)
        if not text:
            raise HTTPException(
                401, "an API key is needed: send it as X-API-Key (create one with"
                " `c360 keys create --role reader`)", headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        service = service_of(request)
        try:
            principal = service.keys.check(text)
        except ConfigError as e:
            # A damaged keys file is the operator's problem, not the client's.
            raise HTTPException(503, "the service cannot read its API keys") from e
        if principal is None:
            raise HTTPException(401, "this API key is not valid (unknown, revoked or expired)",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        try:
            role = service.policy.role(principal.role)
        except UnknownRole as e:
            raise HTTPException(403, f"this key's role no longer exists: {e}") from None
        if not role.may(action):
            raise HTTPException(403, f"role {principal.role!r} may not {action}")
        request.state.principal = principal
        return principal

    return check
