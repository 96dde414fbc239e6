"""Benchmark `c360 run` on a large generated company: full run, no-change rerun, 1% changed.

    python bench/project_scale.py --people 500000 [--dir bench/data/company-500k]

Each run is its own `python -m c360 run` subprocess, timed with peak RSS from `os.wait4`. After
each rerun the published links are compared with the previous ones: how many records changed
customer ID. The "1% changed" step edits 1% of the CRM's rows (a new phone number and a newer
modified date) before running again.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]


def _peak_mib(folder: Path, *args: str) -> tuple[float, float, str]:
    """Wall time and peak RSS of one `c360 run` (the child's own rusage)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "c360", "run", "-q", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.stdout.close()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"c360 run failed:\n{output}")
    return wall, usage.ru_maxrss / 1024, output


def _rows(folder: Path, kind: str) -> int:
    """Data rows in the project's people or event files."""
    from c360.project.config import load_project

    config = load_project(folder / "c360.yaml")
    sources = config.people if kind == "people" else config.events
    total = 0
    for source in sources:
        assert source.file is not None
        with (folder / source.file).open(encoding="utf-8") as fh:
            total += sum(1 for _ in fh) - 1
    return total


def _links(folder: Path) -> dict[tuple[str, str], str]:
    con = duckdb.connect(str(folder / "c360.duckdb"), read_only=True)
    rows = con.execute("SELECT source, record_id, customer_id FROM links").fetchall()
    con.close()
    return {(s, r): c for s, r, c in rows}


def _change_crm(folder: Path, share: float, seed: int) -> int:
    """Give `share` of the CRM's rows a new phone number and a newer modified date."""
    path = folder / "data" / "crm_contacts.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    phone, modified = header.index("phone"), header.index("modified_at")
    rng = random.Random(seed)
    picked = rng.sample(range(len(body)), max(1, int(len(body) * share)))
    for i in picked:
        body[i][phone] = f"(212) {rng.randrange(200, 999)}-{rng.randrange(10_000):04d}"
        body[i][modified] = "2026-11-20T12:00:00Z"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    return len(picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=500_000)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--reuse-data", action="store_true",
        help="Keep the generated files of an earlier run (its store and cache are removed).",
    )  # fmt: skip
    args = parser.parse_args()
    folder = args.dir or REPO / "bench" / "data" / f"company-{args.people}"
    sys.path.insert(0, str(REPO / "src"))
    from c360.demo import generate_company

    t = time.perf_counter()
    if args.reuse_data and (folder / "data").exists():
        for stale in ("c360.duckdb", "c360.duckdb.wal", ".c360-cache", ".c360.lock"):
            path = folder / stale
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    else:
        if folder.exists():
            shutil.rmtree(folder)
        generate_company(folder, people=args.people, seed=args.seed)
    generated = time.perf_counter() - t
    records, events = _rows(folder, "people"), _rows(folder, "events")
    print(
        f"{records:,} people records, {events:,} events (generated in {generated:.1f}s)", flush=True
    )
    results: dict[str, object] = {"people": args.people, "records": records, "events": events}
    full_wall, full_peak, out = _peak_mib(folder)
    print(f"full run: {full_wall:.1f}s, peak {full_peak:,.0f} MiB\n{out.strip().splitlines()[-2]}")
    first = _links(folder)
    again_wall, again_peak, _ = _peak_mib(folder)
    second = _links(folder)
    unchanged_ids = sum(1 for k, v in first.items() if second.get(k) != v)
    print(
        f"no-change rerun: {again_wall:.1f}s, peak {again_peak:,.0f} MiB, IDs changed: {unchanged_ids}"
    )
    changed = _change_crm(folder, 0.01, args.seed)
    inc_wall, inc_peak, _ = _peak_mib(folder)
    third = _links(folder)
    moved = sum(1 for k, v in second.items() if third.get(k) != v)
    print(f"1% changed ({changed:,} CRM rows): {inc_wall:.1f}s, peak {inc_peak:,.0f} MiB ({inc_wall / full_wall:.0%} of the"
          f" full run), records that changed customer: {moved}")  # fmt: skip
    results |= {
        "generate_s": round(generated, 1),
        "full_run_s": round(full_wall, 1), "full_run_peak_mib": round(full_peak),
        "rerun_s": round(again_wall, 1), "rerun_peak_mib": round(again_peak),
        "rerun_ids_changed": unchanged_ids,
        "changed_rows": changed, "changed_run_s": round(inc_wall, 1),
        "changed_run_peak_mib": round(inc_peak),
        "changed_run_ratio": round(inc_wall / full_wall, 3), "changed_records_moved": moved,
    }  # fmt: skip
    out_file = REPO / "bench" / "out" / f"project-{args.people}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2))
    print(f"wrote {out_file}")


if __name__ == "__main__":
    main()
