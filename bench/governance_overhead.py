"""What governance costs a read: `GET /customers/{id}` with and without it, in one run.

    python bench/governance_overhead.py --project bench/data/company-500000 [--rounds 3]

- **Without:** `c360 serve` from `--baseline`, a commit from before governance, checked out
  with `git worktree` into a temporary folder.
- **With:** `c360 serve` from this checkout, read with two keys:
  - one of the built-in `reader` role: a role that sees everything, so its views are sent as
    rendered, with an audit entry each;
  - one of `bench_restricted`, a role that masks emails and birth dates and hides phones and
    cases: each view is parsed, guarded, audited and serialised again.

The bench adds that role to the project's `c360.yaml` while the governed service runs (the
baseline does not know the `governance` key), and puts the file back afterwards. Each side
gets its own keys file for the same reason.

Rounds alternate between baseline and governed, so that the shared machine's noise falls on
both. Each round runs wrk at 4 connections for `--seconds` after a 3 s warm-up, over the same
10,000 customers. The report gives every round and the median of each side's p99, with the
overheads as ratios (the issue's budget: 1.15).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from serve_load import _GET, _LUA, _wrk, wait_ready

REPO = Path(__file__).resolve().parents[1]
# The last commit before the governance layer: its `c360 serve` reads without policy or audit.
BASELINE = "4951bc3"
ROLE = {
    "bench_restricted": {
        "fields": {"email": "mask", "birth_date": "mask", "phone": "hide"},
        "events": {"case": "hide"},
    }
}


@contextmanager
def _server(src: Path, project: Path, port: int, roles: list[str]) -> Iterator[dict[str, str]]:
    """`c360 serve` from the code in `src`, with a new key per role (in a keys file of its own,
    the project's put back afterwards)."""
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
        yield keys
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        keys_file.unlink(missing_ok=True)
        if kept is not None:
            keys_file.write_bytes(kept)


def _read(url: str, ids: Path, key: str, seconds: int, tmp: Path) -> dict[str, float]:
    script = tmp / f"get-{key[:13]}.lua"
    script.write_text(_LUA % {"body": _GET % {"ids": ids, "key": key}})
    _wrk(url, script, 4, 3)  # warm-up: caches and the page cache
    return _wrk(url, script, 4, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, default=REPO / "bench/data/company-500000")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8398)
    parser.add_argument("--baseline", default=BASELINE, help="A commit without governance.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt install wrk` (Debian) or your package manager")
    project = args.project.resolve()
    store = project / "c360.duckdb"
    if not store.exists():
        raise SystemExit(f"{store}: no store; run `python bench/project_scale.py` first")
    con = duckdb.connect(str(store), read_only=True)
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM customers USING SAMPLE 10000 ROWS (reservoir, 7)").fetchall()]  # fmt: skip
    con.close()
    config = project / "c360.yaml"
    original = config.read_text(encoding="utf-8")
    if "governance:" in original:
        raise SystemExit(f"{config} declares a governance policy already; use a bench project")
    governed = f"{original}\ngovernance: {json.dumps({'roles': ROLE})}\n"  # JSON is YAML
    url = f"http://127.0.0.1:{args.port}"
    rounds: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        baseline = tmp / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(baseline),
                        args.baseline], check=True, capture_output=True)  # fmt: skip
        id_file = tmp / "ids.txt"
        id_file.write_text("\n".join(ids) + "\n")
        try:
            for n in range(args.rounds):
                config.write_text(original, encoding="utf-8")
                with _server(baseline / "src", project, args.port, ["reader"]) as keys:
                    without = _read(url, id_file, keys["reader"], args.seconds, tmp)
                config.write_text(governed, encoding="utf-8")
                with _server(REPO / "src", project, args.port,
                             ["reader", "bench_restricted"]) as keys:  # fmt: skip
                    open_role = _read(url, id_file, keys["reader"], args.seconds, tmp)
                    restricted = _read(url, id_file, keys["bench_restricted"], args.seconds, tmp)
                rounds.append({"round": n, "without": without, "reader": open_role,
                               "restricted": restricted})  # fmt: skip
        finally:
            config.write_text(original, encoding="utf-8")
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(baseline)], check=False, capture_output=True)  # fmt: skip

    def median(side: str, what: str) -> float:
        return round(statistics.median(float(r[side][what]) for r in rounds), 2)  # type: ignore[index]

    summary = {side: {"p50_ms": median(side, "p50_ms"), "p99_ms": median(side, "p99_ms"),
                      "per_second": median(side, "per_second")}
               for side in ("without", "reader", "restricted")}  # fmt: skip
    base = summary["without"]["p99_ms"]
    result = {
        "baseline": args.baseline,
        "rounds": rounds,
        "median": summary,
        "p99_ratio": {"reader": round(summary["reader"]["p99_ms"] / base, 3),
                      "restricted": round(summary["restricted"]["p99_ms"] / base, 3)},
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
