"""Benchmark `c360 run` on a large generated company: full run, no-change rerun, 1% changed.

    python bench/project_scale.py --people 500000 [--dir bench/data/company-500k]

Each run is its own `python -m c360 run` subprocess, timed with peak RSS from `os.wait4`. After
each rerun the published links are compared with the previous ones: how many records changed
customer ID. Two "1% changed" steps follow, each editing as many rows as 1% of all people
records (a new phone number or email, and a newer modified date): first all in the CRM, then
1% of the rows of every people source (so every people file is read again). After the last
one, a copy of the project runs `--full` and the two are compared record by record: an
incremental run must end in the customers a full run gives.
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


# People files: (file, updated-at column); a change sets a new phone (or email) and a newer date.
_PEOPLE_FILES = {
    "crm_contacts.csv": "modified_at",
    "service_requesters.csv": "updated",
    "marketing_subscribers.csv": "updated_at",
    "shop_customers.csv": "last_login",
}


def _change(folder: Path, name: str, rows: int, seed: int) -> int:
    """Give `rows` rows of one people file a new phone (or email) and a newer date; return
    how many rows now differ from before."""
    path = folder / "data" / name
    with path.open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    header, body = table[0], table[1:]
    before = [list(r) for r in body]
    modified = header.index(_PEOPLE_FILES[name])
    rng = random.Random(seed)
    picked = rng.sample(range(len(body)), min(len(body), max(1, rows)))
    for i in picked:
        if "phone" in header:
            body[i][header.index("phone")] = (
                f"(212) {rng.randrange(200, 999)}-{rng.randrange(10_000):04d}"
            )
        else:
            body[i][header.index("email")] = f"changed.{rng.randrange(10**9)}@example.net"
        body[i][modified] = f"2026-11-{20 + seed % 8:02d}T12:00:00Z"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])
    return sum(1 for a, b in zip(before, body, strict=True) if a != b)


def _last_run(folder: Path) -> dict[str, object]:
    """The last run's kind and what it found changed, from the store."""
    con = duckdb.connect(str(folder / "c360.duckdb"), read_only=True)
    kind, metrics = con.execute(
        "SELECT kind, metrics FROM runs ORDER BY started_at DESC LIMIT 1"
    ).fetchall()[0]
    con.close()
    found = json.loads(metrics)
    return {"kind": kind, "changed_records": found.get("changed_records"),
            "ids_changed": found.get("ids_changed")}  # fmt: skip


def _partition(links: dict[tuple[str, str], str]) -> set[frozenset[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for key, customer in links.items():
        groups.setdefault(customer, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=500_000)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--seed", type=int, default=7, help="Seed of the generator.")
    parser.add_argument(
        "--change-seed", type=int,
        help="Seed of the 1%% changes (default: --seed); give a new one with --reuse-data, or"
        " the changes repeat those already applied to the reused files",
    )  # fmt: skip
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
    results |= {
        "generate_s": round(generated, 1),
        "full_run_s": round(full_wall, 1), "full_run_peak_mib": round(full_peak),
        "rerun_s": round(again_wall, 1), "rerun_peak_mib": round(again_peak),
        "rerun_ids_changed": unchanged_ids,
    }  # fmt: skip
    one_percent = records // 100
    sizes = {name: sum(1 for _ in (folder / "data" / name).open(encoding="utf-8")) - 1
             for name in _PEOPLE_FILES}  # fmt: skip
    steps = {
        "crm": {"crm_contacts.csv": one_percent},
        "every_source": {name: n // 100 for name, n in sizes.items()},
    }
    before = second
    base = args.change_seed if args.change_seed is not None else args.seed
    for step, (label, plan) in enumerate(steps.items()):
        seed = base + 10 * step
        changed = sum(
            _change(folder, name, n, seed + i) for i, (name, n) in enumerate(plan.items())
        )
        wall, peak, out = _peak_mib(folder)
        after = _links(folder)
        moved = sum(1 for k, v in before.items() if after.get(k) != v)
        run = _last_run(folder)
        print(f"1% changed ({label}: {changed:,} rows): {run['kind']} run {wall:.1f}s, peak"
              f" {peak:,.0f} MiB ({wall / full_wall:.1%} of the full run); records it found"
              f" changed: {run['changed_records']}; records that changed customer: {moved}")  # fmt: skip
        results[f"changed_{label}"] = {
            "rows": changed, "run_s": round(wall, 1), "peak_mib": round(peak),
            "ratio": round(wall / full_wall, 3), "records_moved": moved, **run,
        }  # fmt: skip
        before = after
    copy = folder.with_name(folder.name + "-full")
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("c360.duckdb*", ".c360*"))
    shutil.copy2(folder / "c360.duckdb", copy / "c360.duckdb")
    # A full run on top of the incremental run's state, with the same data and model: if the
    # incremental run ended where a full run would, it changes no record's customer.
    wall, peak, _ = _peak_mib(copy, "--full")
    full_links = _links(copy)
    same = _partition(full_links) == _partition(before)
    differ = sum(1 for k, v in before.items() if full_links.get(k) != v)
    print(f"--full over the same data: {wall:.1f}s; same customers as the incremental run: {same}"
          f" (records with another customer ID: {differ})")  # fmt: skip
    results["full_check"] = {"run_s": round(wall, 1), "same_customers": same, "ids_differ": differ}
    shutil.rmtree(copy)
    out_file = REPO / "bench" / "out" / f"project-{args.people}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2))
    print(f"wrote {out_file}")


if __name__ == "__main__":
    main()
