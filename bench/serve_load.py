"""Benchmark `c360 serve` under HTTP load: `GET /customers/{id}` latency and throughput.

    python bench/serve_load.py --project bench/data/company-500000 [--seconds 20]

The project must have a published run (e.g. the one `bench/project_scale.py` builds: 989,301
source records). The service runs as its own `c360 serve` process; the load comes from `wrk`
(a C load generator: `apt install wrk`) on loopback, asking for customers drawn at random from
10,000 real IDs. Two measurements:

- latency at a moderate load (4 connections): p50, p90, p99;
- throughput at saturation (32 connections), with its latencies.

Then `--writes` sequential `PUT /sources/{source}/records/{id}`, each timed by the client: every
other one an existing record of the first people source with a new phone or email (updated),
the others a known person's row under a new id (linked). The service's `/metrics` tell how
many were resolved over their neighbourhood and how many over the whole store.

wrk's own numbers are reported; the machine is shared, so compare runs made the same day.
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
from pathlib import Path

import duckdb
import httpx2 as httpx

REPO = Path(__file__).resolve().parents[1]

_LUA = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
local n = 0
request = function()
  n = n + 1
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/customers/" .. id, {["X-API-Key"] = "%(key)s"})
end
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, default=REPO / "bench/data/company-500000")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8399)
    parser.add_argument(
        "--writes", type=int, default=40,
        help="PUTs to time after the GETs: every other one a known record with a new phone or"
        " email, the others a known person's row under a new id.",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt install wrk` (Debian) or your package manager")
    store = args.project / "c360.duckdb"
    if not store.exists():
        raise SystemExit(f"{store}: no store; run `python bench/project_scale.py` first")
    con = duckdb.connect(str(store), read_only=True)
    records = con.execute("SELECT count(*) FROM records").fetchone()[0]  # type: ignore[index]
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM customers USING SAMPLE 10000 ROWS (reservoir, 7)").fetchall()]  # fmt: skip
    to_write = con.execute(
        "SELECT source, record_id, raw FROM (SELECT * FROM records WHERE source ="
        f" (SELECT min(source) FROM records)) USING SAMPLE {int(args.writes)} ROWS (reservoir, 7)"
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
    server = subprocess.Popen(
        [sys.executable, "-m", "c360", "serve", "-p", str(args.project), "--port", str(args.port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"c360 serve failed:\n{server.stderr.read().decode()}")  # type: ignore[union-attr]
            time.sleep(0.2)
        ready = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            id_file = Path(tmp) / "ids.txt"
            id_file.write_text("\n".join(ids) + "\n")
            script = Path(tmp) / "get.lua"
            script.write_text(_LUA % {"ids": id_file, "key": key})
            _wrk(url, script, 4, 3)  # warm up caches and the page cache
            moderate = _wrk(url, script, 4, args.seconds)
            saturated = _wrk(url, script, 32, args.seconds)
        writes, outcomes = [], {}
        for i, (source, record_id, raw) in enumerate(to_write):
            fields = {k: (None if v is None else str(v)) for k, v in json.loads(raw).items()}
            if i % 2:
                # A new record of a known person (their row under a new id): linked.
                fields = {k: v for k, v in fields.items() if k != id_columns[source]}
                record_id = f"bench-{i}"
            else:
                # A known record with a new phone or email: updated.
                column = "phone" if "phone" in fields else "email"
                fields[column] = (
                    f"(212) 555-{1000 + i:04d}" if column == "phone" else f"w{i}@bench.example"
                )
            t = time.perf_counter()
            r = httpx.put(f"{url}/sources/{source}/records/{record_id}", json={"fields": fields},
                          headers={"X-API-Key": key}, timeout=600)  # fmt: skip
            writes.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise SystemExit(f"PUT failed: {r.status_code} {r.text}")
            outcome = r.json()["outcome"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        metrics = httpx.get(f"{url}/metrics", headers={"X-API-Key": key}).text
        scopes = {m.group(1): int(float(m.group(2))) for m in
                  re.finditer(r'c360_writes_total\{scope="(\w+)"\} ([\d.e+]+)', metrics)}  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    writes.sort()

    def pct(q: float) -> float | None:
        return (
            round(writes[min(len(writes) - 1, int(q * len(writes)))] * 1000, 1) if writes else None
        )

    result = {"records": records, "ready_s": round(ready, 1), "get_customer": {
        "moderate": moderate, "saturated": saturated}, "put_record": {
        "writes": len(writes), "outcomes": outcomes, "scopes": scopes, "p50_ms": pct(0.5),
        "p90_ms": pct(0.9), "p99_ms": pct(0.99), "max_ms": pct(1.0)}}  # fmt: skip
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "out" / "serve-load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
