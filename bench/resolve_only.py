"""Time real-time resolution alone: a write resolved in memory, with nothing published.

    python bench/resolve_only.py --project bench/data/company-500000 [--writes 600]

Opens the served project in this process (no HTTP, no publishing thread at work), draws
`--writes` records of the first people source, gives each a new email, and resolves each write
over its neighbourhood as `c360 serve` does before answering: in the resolving process, over
its pipe (`ResolverProcess.resolve`). Nothing is written: the store, the match index and the
journal are left as they were. The first `--warm-up` writes are resolved and not counted, so
that the match index pages they need are in memory.

This is the floor under a write's latency in the service, where HTTP, the journal's fsync and
the publishing run (which competes for the two cores) come on top; `serve_load.py` measures
that.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", type=Path, default=REPO / "bench/data/company-500000")
    parser.add_argument("--writes", type=int, default=600)
    parser.add_argument("--warm-up", type=int, default=50)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    import duckdb

    from c360.serve.service import Service

    store = args.project / "c360.duckdb"
    if not store.exists():
        raise SystemExit(f"{store}: no store; run `python bench/project_scale.py` first")
    con = duckdb.connect(str(store), read_only=True)
    sampled = con.execute(
        "SELECT source, record_id, raw FROM (SELECT * FROM records WHERE source ="
        f" (SELECT min(source) FROM records)) USING SAMPLE {int(args.writes)} ROWS"
        f" (reservoir, {int(args.seed)})"
    ).fetchall()
    con.close()
    service = Service(args.project)
    try:
        writer = service.writer
        resolver = writer._current_resolver()
        if resolver is None:
            raise SystemExit("the project cannot resolve writes in memory (see `c360 serve`)")
        writes = []
        for source, record_id, raw in sampled:
            fields = {k: (None if v is None else str(v)) for k, v in json.loads(raw).items()}
            fields["email"] = f"resolve-only-{record_id}@bench.example"
            writes.append((source, writer._rows(writer._source(source), {record_id: fields})))
        times, reads = [], []
        for n, (source, rows) in enumerate(writes):
            started = time.perf_counter()
            resolution = resolver.resolve(source, rows, [])
            if n >= args.warm_up:
                times.append(time.perf_counter() - started)
                reads.append(len(resolution.reads))
    finally:
        service.close()
    times.sort()

    def at(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))] * 1000, 2)

    result = {
        "writes": len(times), "p50_ms": at(0.5), "p90_ms": at(0.9),
        "p99_ms": at(0.99), "max_ms": at(1.0),
        "mean_neighbourhood_tokens": round(sum(reads) / max(1, len(reads)), 1),
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
