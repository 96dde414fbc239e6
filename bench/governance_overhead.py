"""What governance costs a read: `GET /customers/{id}` with and without it, in one run.

    python bench/governance_overhead.py --project bench/data/company-500000 [--rounds 20]
        [--customers 10000]

- **Without:** `c360 serve` from a copy of this checkout's `src` with `ungoverned.patch`
  applied: the same code without the guard and the audit in `GET /customers/{id}` (it answers
  the rendered view as it is), without the policy's check of the key's role in every endpoint,
  and without the request gate (an app-wide middleware, there for erasure). Everything else —
  the read model, the keys, the middleware that measures — is the code under test. It serves
  a copy of the project (two services cannot share a store).
- **With:** `c360 serve` from this checkout, read with two keys:
  - one of the built-in `reader` role, which the project's default policy governs (the demo's
    hides national ids from every role, so a view holding one is guarded), with an audit entry
    for each read;
  - one of `bench_restricted`, a role that masks emails and birth dates and hides phones and
    cases. Its policy changes every view, so the service prepares it (the default): every view
    is guarded for it with the read model, before the service answers (the first run after a
    change of the store guards half a million views, about 20 s a role), and a read sends the
    guarded copy; every read is audited;
  - one of `bench_unprepared`, the same policy with `prepared: false`: each view is parsed,
    guarded and serialised again the first time the role reads it, and kept for its later
    reads while the view is unchanged (`c360.serve.guarded_views`); every read is audited.

Reads are drawn at random from `--customers` customers (10,000 by default): after the first
rounds the unprepared role finds most views kept. With `--customers 0` they are drawn from every
customer (half a million), and nearly every read is the role's first of its customer: that run
measures the guarding itself. The report says how many reads found their guarded view kept
(`kept`), worked it out (`new`) or sent the prepared copy (`prepared`).

The bench adds those two roles to the project's `c360.yaml` for the run, and sets the project's audit
log aside so that the run starts with an empty one (appending to a big log costs more); both
are put back afterwards. Each service gets its own keys file, put back too.

Both services run side by side, and each round reads the four (ungoverned; governed as
`reader`, `bench_restricted` and `bench_unprepared`) one after the other, the order turned every
other round: the speed of a shared machine drifts over tens of seconds, so readings seconds apart compare
best. A reading is wrk at 4 connections for `--seconds` over the same customers (after
a 3 s warm-up of each at the start), with the service's processor time (its child processes'
included) read before and after; a failed request stops the bench. The report gives every
round, each side's medians, and the overheads as the median over rounds of each round's ratio
to the ungoverned service (the issue's budget: 1.15 at p99): p99 latency, and processor time per
request, which the noise moves less.

When the patch no longer applies (the code changed under it), write it again: it is the diff
that takes governance out of `get_customer`, `require` and `create_app`, and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import yaml
from serve_load import _GET, _LUA, _wrk, wait_ready

from c360.governance.audit import AUDIT_FILE

REPO = Path(__file__).resolve().parents[1]
PATCH = Path(__file__).with_name("ungoverned.patch")
ROLE = {"fields": {"email": "mask", "birth_date": "mask", "phone": "hide"},
        "events": {"case": "hide"}}  # fmt: skip
SIDES = ("without", "reader", "restricted", "unprepared")


@contextmanager
def _server(
    src: Path, project: Path, port: int, roles: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """`c360 serve` from the code in `src` (its process id), with a new key per role (in a keys
    file of its own, the project's put back afterwards)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    keys_file = project / ".c360-keys.json"
    kept = keys_file.read_bytes() if keys_file.exists() else None
    keys_file.unlink(missing_ok=True)
    server = None
    try:
        keys = {}
        for role in roles:
            made = subprocess.run(
                [sys.executable, "-m", "c360", "keys", "create", "--role", role, "-p", str(project)],
                capture_output=True, text=True, env=env,
            )  # fmt: skip
            if made.returncode != 0:
                raise SystemExit(f"cannot create a {role} key:\n{made.stderr}")
            keys[role] = made.stdout.strip()
        server = subprocess.Popen(
            [sys.executable, "-m", "c360", "serve", "-p", str(project), "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_ready(f"http://127.0.0.1:{port}", server, lambda: f"({src}) {server.stderr.read()}")  # type: ignore[union-attr]
        yield server.pid, keys
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        keys_file.unlink(missing_ok=True)
        if kept is not None:
            keys_file.write_bytes(kept)


def _cpu_seconds(pid: int) -> float:
    """Processor time used so far by the process `pid` and every process below it (Linux)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        proc = Path("/proc") / str(todo.pop())
        try:
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
            # utime, stime, and those of its children that ended and were waited for
            total += sum(int(f) for f in fields[11:15]) / tick
            for task in (proc / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile
    return total


def _script(tmp: Path, ids: Path, key: str) -> Path:
    script = tmp / f"get-{key[:13]}.lua"
    script.write_text(_LUA % {"body": _GET % {"ids": ids, "key": key}})
    return script


def _reading(url: str, pid: int, script: Path, seconds: int) -> dict[str, float]:
    """wrk's figures, and the service's processor time per request (its child processes'
    included)."""
    before = _cpu_seconds(pid)
    result = _wrk(url, script, 4, seconds)
    used = _cpu_seconds(pid) - before
    if result["errors"]:
        raise SystemExit(f"{result['errors']} of {result['requests']} reads failed (an error"
                         " status or a socket error): the figures would not be of answers")  # fmt: skip
    return {**result, "cpu_ms_per_request": round(used * 1000 / max(result["requests"], 1), 3)}


def _guarded_reads(url: str, key: str) -> dict[str, float]:
    """How many reads of the governed service found their guarded view kept, and how many
    worked it out (warm-up included), from its metrics."""
    request = urllib.request.Request(f"{url}/metrics", headers={"X-API-Key": key})
    with urllib.request.urlopen(request) as answer:
        text = answer.read().decode()
    found = re.findall(r'^c360_guarded_views_total\{result="(\w+)"\} (\S+)$', text, re.M)
    return {result: float(n) for result, n in found}


def _twin(project: Path, into: Path) -> Path:
    """A copy of the project for the ungoverned service, which cannot share the store: every
    file but the audit log, the lock and the keys."""
    shutil.copytree(project, into, ignore=shutil.ignore_patterns(
        f"{AUDIT_FILE}*", ".c360.lock", ".c360-keys.json"))  # fmt: skip
    return into


def _ungoverned(tmp: Path) -> Path:
    """A copy of this checkout's `src` with governance taken out of the read path."""
    copy = tmp / "ungoverned"
    shutil.copytree(REPO / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    applied = subprocess.run(["git", "apply", str(PATCH)], cwd=copy, capture_output=True,
                             text=True)  # fmt: skip
    if applied.returncode != 0:
        raise SystemExit(f"{PATCH.name} no longer applies to src/ (write it again, see the"
                         f" docstring):\n{applied.stderr}")  # fmt: skip
    return copy / "src"


def _set_aside(project: Path, into: Path) -> Path:
    """Move the project's audit log into `into`, so that every run starts from an empty one
    (the log grows by an entry a read, and appending to a big one costs more)."""
    into.mkdir()
    for f in project.glob(f"{AUDIT_FILE}*"):
        f.rename(into / f.name)
    return into


def _put_back(project: Path, kept: Path) -> None:
    """The run's audit log goes; the project's comes back."""
    for f in project.glob(f"{AUDIT_FILE}*"):
        f.unlink()
    for f in kept.iterdir():
        shutil.move(str(f), project / f.name)


def _with_role(original: str) -> str:
    """The project's configuration with the bench's restricted role added to its policy."""
    config = yaml.safe_load(original)
    governance = config.setdefault("governance", {}) or {}
    config["governance"] = governance
    roles = governance.setdefault("roles", {}) or {}
    governance["roles"] = {**roles, "bench_restricted": ROLE,
                           "bench_unprepared": {**ROLE, "prepared": False}}  # fmt: skip
    return yaml.safe_dump(config, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, default=REPO / "bench/data/company-500000")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8398)
    parser.add_argument(
        "--customers", type=int, default=10_000,
        help="How many customers the reads are drawn from (0: every customer).",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt install wrk` (Debian) or your package manager")
    project = args.project.resolve()
    store = project / "c360.duckdb"
    if not store.exists():
        raise SystemExit(f"{store}: no store; run `python bench/project_scale.py` first")
    con = duckdb.connect(str(store), read_only=True)
    sample = f" USING SAMPLE {int(args.customers)} ROWS (reservoir, 7)" if args.customers else ""
    ids = [r[0] for r in con.execute(f"SELECT customer_id FROM customers{sample}").fetchall()]
    con.close()
    config = project / "c360.yaml"
    original = config.read_text(encoding="utf-8")
    url = "http://127.0.0.1"
    rounds: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ungoverned = _ungoverned(tmp)
        id_file = tmp / "ids.txt"
        id_file.write_text("\n".join(ids) + "\n")
        config.write_text(_with_role(original), encoding="utf-8")
        kept_log = _set_aside(project, tmp / "audit-log")
        try:
            print("copying the project for the ungoverned service…", file=sys.stderr)
            twin = _twin(project, tmp / "twin")
            with (
                _server(ungoverned, twin, args.port + 1, ["reader"]) as (bare, bare_keys),
                _server(REPO / "src", project, args.port,
                        ["reader", "bench_restricted", "bench_unprepared"]) as (governed, keys),
            ):  # fmt: skip
                sides = {
                    "without": (f"{url}:{args.port + 1}", bare,
                                _script(tmp, id_file, bare_keys["reader"])),
                    "reader": (f"{url}:{args.port}", governed,
                               _script(tmp, id_file, keys["reader"])),
                    "restricted": (f"{url}:{args.port}", governed,
                                   _script(tmp, id_file, keys["bench_restricted"])),
                    "unprepared": (f"{url}:{args.port}", governed,
                                   _script(tmp, id_file, keys["bench_unprepared"])),
                }  # fmt: skip
                for side_url, _, script in sides.values():
                    _wrk(side_url, script, 4, 3)  # warm-up: caches and the page cache
                for n in range(args.rounds):
                    # Side by side, the order turned every other round: the machine's speed
                    # drifts over tens of seconds, so readings seconds apart compare best.
                    order = list(sides) if n % 2 == 0 else list(reversed(sides))
                    readings = {side: _reading(sides[side][0], sides[side][1], sides[side][2],
                                               args.seconds) for side in order}  # fmt: skip
                    rounds.append({"round": n, **readings})
                    print(json.dumps(rounds[-1]), file=sys.stderr)
                guarded = _guarded_reads(f"{url}:{args.port}", keys["reader"])
        finally:
            config.write_text(original, encoding="utf-8")
            _put_back(project, kept_log)

    def median(values: Iterable[float]) -> float:
        return round(statistics.median(values), 3)

    def ratios(side: str, what: str) -> list[float]:
        """Each round's figure for `side` over the ungoverned one's in the same round."""
        return [float(r[side][what]) / float(r["without"][what]) for r in rounds]  # type: ignore[index]

    sides = SIDES
    figures = ("p50_ms", "p99_ms", "per_second", "cpu_ms_per_request")
    result = {
        "customers": len(ids),
        "rounds": rounds,
        "guarded_views": guarded,
        "median": {side: {what: median(float(r[side][what]) for r in rounds)  # type: ignore[index]
                          for what in figures} for side in sides},
        # The noise of a shared machine moves whole rounds: each round is its own baseline.
        "p99_ratio": {side: median(ratios(side, "p99_ms")) for side in sides[1:]},
        "cpu_ratio": {side: median(ratios(side, "cpu_ms_per_request")) for side in sides[1:]},
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
