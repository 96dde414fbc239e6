"""Benchmark `c360 serve` under HTTP load: reads (`GET /customers/{id}`) and writes (`PUT`).

    python bench/serve_load.py --project bench/data/company-500000 [--seconds 20]

The project must have a published run (e.g. the one `bench/project_scale.py` builds: 989,301
source records). The service runs as its own `c360 serve` process; the load comes from `wrk`
(a C load generator: `apt install wrk`) on loopback, asking for customers drawn at random from
10,000 real IDs. Two measurements:

- latency at a moderate load (4 connections): p50, p90, p99;
- throughput at saturation (32 connections), with its latencies.

Then writes, `PUT /sources/{source}/records/{id}`, each about another person of the first people
source, drawn anew on every run (`--seed` repeats a draw): every other one an existing record
with a new email (updated), the others a known person's row under a new id (linked). Three
measurements:

- `--writes` sequential PUTs on one keep-alive connection, each timed by the client;
- a sustained write load: `--writers` clients, each writing one record after another on its
  own keep-alive connection for `--seconds`, from a pool of distinct writes, with the
  latencies and throughput;
- `--overlapping` pairs of writes about one person, back to back (a record updated, then the
  same person's row under a new id): the second waits for the publish of the first, by design.

A write is answered once resolved in memory and journalled; its publish follows. The bench
then waits until every write is published and reports how long that took, the answer →
publish lag from the service's `/metrics`, how the writes were answered (resolved in memory,
unchanged, or published first), and how many answers the publish revised (0 expected).

For reads wrk's own numbers are reported; writes are timed by their clients. The machine is
shared: compare runs made the same day.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx2 as httpx

REPO = Path(__file__).resolve().parents[1]

_GET = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
-- Each thread of each run draws its own sequence: Lua's generator starts from one fixed seed,
-- so that every wrk thread, and every run, would read the same customers in the same order.
init = function(args)
  local bytes = io.open("/dev/urandom", "rb"):read(4)
  math.randomseed(((bytes:byte(1) * 256 + bytes:byte(2)) * 256 + bytes:byte(3)) * 256
    + bytes:byte(4))
end
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/customers/" .. id, {["X-API-Key"] = "%(key)s"})
end
"""

_LUA = """
%(body)s
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.1f %%.1f %%.1f %%.1f\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""


def _units(us: float) -> float:
    return round(us / 1000, 2)


def _wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if match is None:
        raise SystemExit(f"wrk gave no result:\n{out}")
    requests, errors, duration = (int(match.group(i)) for i in (1, 2, 3))
    p50, p90, p99, top = (float(match.group(i)) for i in (4, 5, 6, 7))
    return {
        "connections": connections, "requests": requests, "errors": errors,
        "per_second": round(requests / (duration / 1e6), 1),
        "p50_ms": _units(p50), "p90_ms": _units(p90), "p99_ms": _units(p99), "max_ms": _units(top),
    }  # fmt: skip


def wait_ready(url: str, server: subprocess.Popen[Any], log: Callable[[], str]) -> None:
    """Until the service at `url` answers `/health`; its log (`log()`) if it stops first."""
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"c360 serve failed:\n{log()}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, default=REPO / "bench/data/company-500000")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8399)
    parser.add_argument(
        "--writes", type=int, default=200,
        help="Sequential PUTs to time after the GETs: every other one a known record with a new"
        " email, the others a known person's row under a new id.",
    )  # fmt: skip
    parser.add_argument(
        "--overlapping", type=int, default=20,
        help="Pairs of back-to-back writes about one person (the second one is timed).",
    )  # fmt: skip
    parser.add_argument(
        "--write-pool", type=int, default=6000,
        help="Distinct writes prepared for the sustained write load (--seconds).",
    )  # fmt: skip
    parser.add_argument("--writers", type=int, default=4,
                        help="Concurrent clients of the sustained write load.")  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=None,
        help="Draws the people written about (default: a new draw on every run, so that a run"
        " does not write about the people an earlier run made bigger).",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt install wrk` (Debian) or your package manager")
    store = args.project / "c360.duckdb"
    if not store.exists():
        raise SystemExit(f"{store}: no store; run `python bench/project_scale.py` first")
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    con = duckdb.connect(str(store), read_only=True)
    records = con.execute("SELECT count(*) FROM records").fetchone()[0]  # type: ignore[index]
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM customers USING SAMPLE 10000 ROWS (reservoir, 7)").fetchall()]  # fmt: skip
    to_write = con.execute(
        "SELECT source, record_id, raw FROM (SELECT * FROM records WHERE source ="
        f" (SELECT min(source) FROM records)) USING SAMPLE"
        f" {int(args.writes + args.write_pool + args.overlapping)} ROWS (reservoir, {seed})"
    ).fetchall()
    con.close()
    from c360.project.config import load_project

    config = load_project(args.project / "c360.yaml")
    id_columns = {p.name: p.id for p in config.people}
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    key = subprocess.run(
        [sys.executable, "-m", "c360", "keys", "create", "--role", "writer", "--note", "bench",
         "-p", str(args.project)], capture_output=True, text=True, check=True, env=env,
    ).stdout.strip()  # fmt: skip
    url = f"http://127.0.0.1:{args.port}"
    log_path = REPO / "bench" / "out" / "serve-load.server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    server_log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "c360", "serve", "-p", str(args.project), "--port", str(args.port)],
        env=env, stdout=subprocess.DEVNULL, stderr=server_log,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        wait_ready(url, server, lambda: log_path.read_text())
        ready = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            id_file = Path(tmp) / "ids.txt"
            id_file.write_text("\n".join(ids) + "\n")
            script = Path(tmp) / "get.lua"
            script.write_text(_LUA % {"body": _GET % {"ids": id_file, "key": key}})
            _wrk(url, script, 4, 3)  # warm up caches and the page cache
            moderate = _wrk(url, script, 4, args.seconds)
            saturated = _wrk(url, script, 32, args.seconds)
            pairs, to_write = to_write[: args.overlapping], to_write[args.overlapping :]
            tag = f"bench{int(time.time())}"  # new ids on every run of the bench
            writes = _writes(to_write, id_columns, tag)
            sequential, timed, second = writes[: args.writes], [], []
            steps: list[str] = []  # each write's Server-Timing header
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=600) as client:
                for path, fields in sequential:
                    t = time.perf_counter()
                    r = client.put(path, json={"fields": fields})
                    timed.append(time.perf_counter() - t)
                    steps.append(r.headers.get("server-timing", ""))
                    if r.status_code != 200:
                        raise SystemExit(f"PUT failed: {r.status_code} {r.text}")
                for k, row in enumerate(pairs):
                    both = _writes([row, row], id_columns, f"{tag}-pair{k}")
                    for n, (path, fields) in enumerate(both):
                        t = time.perf_counter()
                        r = client.put(path, json={"fields": fields})
                        if n:
                            second.append(time.perf_counter() - t)
                        if r.status_code != 200:
                            raise SystemExit(f"PUT failed: {r.status_code} {r.text}")
            sustained = _sustained(url, key, writes[args.writes :], args.writers, args.seconds)
        caught_up = _published(url, key)
        metrics = httpx.get(f"{url}/metrics", headers={"X-API-Key": key}).text
        (log_path.parent / "serve-load.metrics.txt").write_text(metrics)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        server_log.close()

    def pct(q: float, times: list[float]) -> float | None:
        times = sorted(times)
        return round(times[min(len(times) - 1, int(q * len(times)))] * 1000, 2) if times else None

    result = {"records": records, "seed": seed, "ready_s": round(ready, 1), "get_customer": {
        "moderate": moderate, "saturated": saturated}, "put_record": {
        "sequential": {"writes": len(timed), "p50_ms": pct(0.5, timed),
                       "p90_ms": pct(0.9, timed), "p99_ms": pct(0.99, timed),
                       "max_ms": pct(1.0, timed),
                       # which writes of the sequence were slowest (from 0), how slow, and
                       # where the service says their time went
                       "slowest": [(n, round(t * 1000, 1), steps[n]) for n, t in
                                   sorted(enumerate(timed), key=lambda x: -x[1])[:5]],
                       "steps": _steps(steps, timed)},
        "second_of_a_pair": {"writes": len(second), "p50_ms": pct(0.5, second),
                             "p99_ms": pct(0.99, second)},
        "sustained": sustained, "all_published_after_s": caught_up,
        "answers": _counter(metrics, "c360_write_answers_total", "path"),
        "publishing_runs": _counter(metrics, "c360_writes_total", "scope"),
        "revised": _counter(metrics, "c360_write_answers_revised_total", None),
        "waits": _counter(metrics, "c360_write_waits_total", "reason"),
        "publish_lag": _lag(metrics, "c360_write_publish_seconds"),
        "resolve_time": _lag(metrics, "c360_write_resolve_seconds"),
        "journal_time": _lag(metrics, "c360_write_journal_seconds")}}  # fmt: skip
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "out" / "serve-load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


def _steps(headers: list[str], timed: list[float]) -> dict[str, dict[str, float]]:
    """p50 and p99 of each step the writes' `Server-Timing` names (a write without a step
    counts 0 for it), and of what no step covers: the client's time outside the app (`app` is
    the app's whole time), and the app's time outside the named write steps (`in_app_else`)."""
    named: list[dict[str, float]] = []
    for header, took in zip(headers, timed, strict=True):
        steps = {}
        for part in filter(None, (p.strip() for p in header.split(","))):
            name, _, dur = part.partition(";dur=")
            steps[name] = float(dur or 0)
        app = steps.get("app", 0.0)
        steps["outside_app"] = took * 1000 - app
        inside = sum(v for k, v in steps.items()
                     if k in ("queue", "resolve", "journal", "overlap", "publish"))  # fmt: skip
        steps["in_app_else"] = app - inside
        named.append(steps)
    names = sorted({k for s in named for k in s})

    def at(q: float, values: list[float]) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 2)

    return {n: {"p50": at(0.5, v), "p99": at(0.99, v)}
            for n in names for v in [[s.get(n, 0.0) for s in named]]}  # fmt: skip


def _writes(
    sampled: list[tuple[str, str, str]], id_columns: dict[str, str], tag: str
) -> list[tuple[str, dict[str, str | None]]]:
    """(path, fields) of distinct writes about distinct people, in turn: a known record with a
    new email (updated), and another known person's row under a new id (linked)."""
    out = []
    for i, (source, record_id, raw) in enumerate(sampled):
        fields = {k: (None if v is None else str(v)) for k, v in json.loads(raw).items()}
        if i % 2 == 0:
            fields["email"] = f"{tag}-{i}@bench.example"  # held by no one else
            out.append((f"/sources/{source}/records/{record_id}", fields))
        else:
            again = {k: v for k, v in fields.items() if k != id_columns[source]}
            out.append((f"/sources/{source}/records/{tag}-{i}", again))
    return out


def _sustained(
    url: str, key: str, writes: list[tuple[str, dict[str, str | None]]], clients: int,
    seconds: float,
) -> dict[str, float]:  # fmt: skip
    """`clients` threads writing in turn from one pool for `seconds`: latencies, throughput."""
    import threading

    pool, lock, times, failed = iter(writes), threading.Lock(), [], []
    stop = time.perf_counter() + seconds

    def client() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=600) as http:
            while time.perf_counter() < stop:
                with lock:
                    path, fields = next(pool)
                t = time.perf_counter()
                r = http.put(path, json={"fields": fields})
                with lock:
                    times.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        failed.append(f"{r.status_code} {r.text[:200]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    if failed:
        raise SystemExit(f"{len(failed)} writes failed, e.g. {failed[0]}")
    times.sort()

    def at(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))] * 1000, 2)

    return {"clients": clients, "writes": len(times), "per_second": round(len(times) / took, 1),
            "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": at(1.0)}  # fmt: skip


def _published(url: str, key: str, limit: float = 900.0) -> float:
    """Seconds until the service has published every write it answered."""
    t = time.perf_counter()
    while time.perf_counter() - t < limit:
        metrics = httpx.get(f"{url}/metrics", headers={"X-API-Key": key}).text
        match = re.search(r"^c360_writes_waiting ([\d.e+]+)$", metrics, re.M)
        if match is not None and float(match.group(1)) == 0:
            return round(time.perf_counter() - t, 1)
        time.sleep(0.5)
    raise SystemExit(f"writes still waiting to be published after {limit:.0f}s")


def _counter(metrics: str, name: str, label: str | None) -> dict[str, int] | int:
    if label is None:
        match = re.search(rf"^{name} ([\d.e+]+)$", metrics, re.M)
        return int(float(match.group(1))) if match else 0
    pattern = rf'^{name}\{{{label}="(\w+)"\}} ([\d.e+]+)$'
    return {m.group(1): int(float(m.group(2))) for m in re.finditer(pattern, metrics, re.M)}


def _lag(metrics: str, name: str) -> dict[str, object]:
    """Count, mean (seconds) and cumulative buckets of one of the service's histograms."""
    count = re.search(rf"^{name}_count ([\d.e+]+)$", metrics, re.M)
    total = re.search(rf"^{name}_sum ([\d.e+]+)$", metrics, re.M)
    n = float(count.group(1)) if count else 0.0
    buckets = {m.group(1): int(float(m.group(2))) for m in re.finditer(
        rf'^{name}_bucket\{{le="([^"]+)"\}} ([\d.e+]+)$', metrics, re.M)}  # fmt: skip
    mean = round(float(total.group(1)) / n, 4) if total and n else 0.0
    return {"count": n, "mean_s": mean, "buckets": buckets}


if __name__ == "__main__":
    main()
