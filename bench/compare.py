"""Benchmark c360 against Splink in one run: pairwise F1, wall time and peak memory.

    python bench/compare.py --cases febrl3,febrl4 [--skip-splink] [--out bench/out/results.json]

Each tool runs as its own subprocess so that its peak RSS is its own; the
harness reaps it with os.wait4, whose rusage gives the peak resident set of
the child (and of any of its own children it waited for). Clusters are scored
against ground truth with bench/score.py, and the results go to a JSON file
and a markdown table beside it, with c360/Splink ratios for time and memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# bench/ is a folder of scripts, not a package: make its sibling modules importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from score import Key, count_rows, febrl_truth, pairwise_scores, read_clusters, read_ids, read_truth

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
TOOLS = ("c360", "splink")


def febrl_dir() -> Path:
    override = os.environ.get("C360_FEBRL_DIR")
    return Path(override) if override else REPO.parent / "shared" / "data" / "febrl"


@dataclass(frozen=True)
class Case:
    name: str
    inputs: tuple[Path, ...]
    id_column: str
    splink_model: str
    truth: Callable[[], dict[Key, str]]
    # Makes the inputs when they are missing (the synthetic sets are generated).
    prepare: Callable[[bool], None] | None = None

    @property
    def command(self) -> str:
        return "dedupe" if len(self.inputs) == 1 else "link"


def _febrl_case(name: str, files: Sequence[str]) -> Case:
    paths = tuple(febrl_dir() / file for file in files)

    def truth() -> dict[Key, str]:
        # The truth is in the ids themselves; link keys carry the file stem
        # because ids need only be unique within one source.
        keys: dict[Key, str] = {}
        for path in paths:
            for record_id in read_ids(path, "rec_id"):
                key: Key = (path.stem, record_id) if len(paths) > 1 else record_id
                keys[key] = febrl_truth(record_id)
        return keys

    return Case(name, paths, "rec_id", "febrl", truth)


def _people_case(name: str, records: int) -> Case:
    data = BENCH / "data" / f"people_{records}.csv"
    truth_csv = BENCH / "data" / f"people_{records}_truth.csv"

    def prepare(regenerate: bool) -> None:
        # Reuse an earlier generation unless told otherwise: the generator is
        # seeded, so the file only goes stale when the generator itself changes.
        if data.exists() and truth_csv.exists() and not regenerate:
            return
        script = BENCH / "generate_people.py"
        if not script.exists():
            raise SystemExit(f"{name}: {data} is missing and so is its generator {script}")
        data.parent.mkdir(parents=True, exist_ok=True)
        generator = [sys.executable, str(script), "--records", str(records)]
        generator += ["--out", str(data), "--truth", str(truth_csv), "--seed", "7"]
        print(f"[{name}] generating {data}", file=sys.stderr)
        if subprocess.run(generator, cwd=REPO).returncode != 0:
            raise SystemExit(f"{name}: {shlex.join(generator)} failed")

    def truth() -> dict[Key, str]:
        return read_truth(truth_csv)

    return Case(name, (data,), "id", "people", truth, prepare)


def all_cases() -> dict[str, Case]:
    return {
        "febrl3": _febrl_case("febrl3", ["dataset3.csv"]),
        "febrl4": _febrl_case("febrl4", ["dataset4a.csv", "dataset4b.csv"]),
        "people-100k": _people_case("people-100k", 100_000),
        "people-1m": _people_case("people-1m", 1_000_000),
    }


@dataclass
class Run:
    tool: str
    status: str  # ok | failed | timeout | bad-output | skipped
    exit_code: int | None = None
    wall_s: float | None = None
    peak_mib: float | None = None
    f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    tp: int | None = None
    fp: int | None = None
    fn: int | None = None
    rows: int | None = None
    clusters: int | None = None
    missing: int | None = None
    note: str = ""
    log: str = ""


@dataclass
class CaseResult:
    case: str
    command: str
    records: int
    runs: dict[str, Run] = field(default_factory=dict)
    time_ratio: float | None = None  # c360 / Splink
    memory_ratio: float | None = None  # c360 / Splink


def measure(
    cmd: Sequence[str], log_path: Path, timeout_s: float, env: dict[str, str] | None = None
) -> tuple[int, float, float, bool]:
    """Run `cmd` to completion; return (exit code, wall s, peak RSS MiB, timed out)."""
    timed_out = threading.Event()
    with open(log_path, "wb") as log:
        log.write(f"$ {shlex.join(cmd)}\n".encode())
        log.flush()
        started = time.perf_counter()
        # Own session, so a timeout can kill the whole process group.
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True
        )

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):  # it may have just exited
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            # wait4 rather than proc.wait(): only wait4 hands back the rusage.
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            timer.cancel()
        wall_s = time.perf_counter() - started
    # The child is reaped; tell Popen so it does not try to reap it again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall_s, usage.ru_maxrss / 1024, timed_out.is_set()  # KiB on Linux


def tool_command(tool: str, case: Case, output: Path, c360_cmd: Sequence[str]) -> list[str]:
    inputs = [str(path) for path in case.inputs]
    common = ["--id-column", case.id_column, "--output", str(output)]
    if tool == "c360":
        return [*c360_cmd, case.command, *inputs, *common]
    anchor = [sys.executable, str(BENCH / "splink_anchor.py"), case.command, *inputs]
    return [*anchor, "--model", case.splink_model, *common]


def c360_env() -> dict[str, str]:
    # Put this checkout's src/ first so `python -m c360` runs the code under
    # test even where the package is not (or not editably) installed.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def score_output(run: Run, output: Path, truth: dict[Key, str]) -> None:
    if not output.exists():
        run.status, run.note = "bad-output", "no clusters file written"
        return
    try:
        predicted = read_clusters(output)
        scores = pairwise_scores(predicted, truth)
    except (ValueError, IndexError) as error:
        run.status, run.note = "bad-output", str(error)[:300]
        return
    run.rows = count_rows(output)
    run.clusters = len(set(predicted.values()))
    run.missing = len(truth) - len(predicted)
    run.precision, run.recall, run.f1 = scores.precision, scores.recall, scores.f1
    run.tp, run.fp, run.fn = scores.tp, scores.fp, scores.fn
    if run.rows != len(predicted):
        run.note = f"{run.rows - len(predicted)} repeated records in output"
    elif run.missing:
        run.note = f"{run.missing} records missing from output (scored as singletons)"


def run_case(
    case: Case, tools: Sequence[str], out_dir: Path, args: argparse.Namespace
) -> CaseResult:
    if case.prepare is not None:
        case.prepare(args.regenerate)
    missing_inputs = [str(path) for path in case.inputs if not path.exists()]
    if missing_inputs:
        raise SystemExit(f"{case.name}: missing input {missing_inputs}")
    truth = case.truth()
    result = CaseResult(case.name, case.command, len(truth))
    case_dir = out_dir / case.name
    case_dir.mkdir(parents=True, exist_ok=True)

    for tool in TOOLS:
        if tool not in tools:
            result.runs[tool] = Run(tool, "skipped")
            continue
        output, log = case_dir / f"{tool}-clusters.csv", case_dir / f"{tool}.log"
        output.unlink(missing_ok=True)  # never score a stale file from an earlier run
        cmd = tool_command(tool, case, output, args.c360_cmd)
        print(f"[{case.name}] {tool}: {shlex.join(cmd)}", file=sys.stderr)
        env = c360_env() if tool == "c360" else None
        code, wall_s, peak_mib, timed_out = measure(cmd, log, args.timeout, env)
        run = Run(tool, "ok", code, round(wall_s, 3), round(peak_mib, 1), log=str(log))
        if timed_out:
            run.status, run.note = "timeout", f"killed after {args.timeout:.0f}s"
        elif code != 0:
            run.status, run.note = "failed", f"exit {code}; see {log}"
        else:
            score_output(run, output, truth)
        result.runs[tool] = run

    c360, splink = result.runs["c360"], result.runs["splink"]
    if c360.status == splink.status == "ok":
        if c360.wall_s and splink.wall_s:
            result.time_ratio = round(c360.wall_s / splink.wall_s, 3)
        if c360.peak_mib and splink.peak_mib:
            result.memory_ratio = round(c360.peak_mib / splink.peak_mib, 3)
    return result


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table_rows(results: Sequence[CaseResult]) -> list[list[str]]:
    rows = []
    for result in results:
        for tool, run in result.runs.items():
            if run.status == "skipped":
                continue
            ratios = tool == "c360"
            rows.append(
                [
                    result.case,
                    tool if run.status == "ok" else f"{tool} ({run.status})",
                    _fmt(run.f1, 4),
                    _fmt(run.precision, 4),
                    _fmt(run.recall, 4),
                    _fmt(run.wall_s, 2),
                    _fmt(run.peak_mib, 0),
                    _fmt(result.time_ratio, 2) if ratios else "",
                    _fmt(result.memory_ratio, 2) if ratios else "",
                ]
            )
    return rows


HEADER = ["case", "tool", "F1", "precision", "recall", "wall s", "peak MiB", "time ×", "mem ×"]


def markdown(results: Sequence[CaseResult], meta: dict[str, Any]) -> str:
    lines = [
        "# c360 vs Splink",
        "",
        f"{meta['generated']} · {meta['machine']['cpus']} CPUs · Python {meta['python']} · "
        f"splink {meta['versions']['splink']} · duckdb {meta['versions']['duckdb']}",
        "",
        "Pairwise scores of final clusters; `time ×` and `mem ×` are c360 / Splink.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    notes = [
        f"- {result.case} / {run.tool}: {run.note}"
        for result in results
        for run in result.runs.values()
        if run.note
    ]
    return "\n".join([*lines, "", *notes] if notes else lines) + "\n"


def print_table(results: Sequence[CaseResult]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich comes with c360, but the harness should not need it
        for row in [HEADER, *table_rows(results)]:
            print("  ".join(f"{cell:>12}" for cell in row))
        return
    table = Table(title="c360 vs Splink (ratios are c360 / Splink)")
    for i, name in enumerate(HEADER):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in table_rows(results):
        table.add_row(*row)
    # Off a terminal rich assumes 80 columns and would wrap every cell.
    Console(width=None if sys.stdout.isatty() else 120).print(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", default="febrl3,febrl4", help="comma-separated, or 'all'")
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--skip-c360", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "results.json")
    parser.add_argument(
        "--regenerate", action="store_true", help="rebuild the synthetic data sets first"
    )
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per tool run")
    parser.add_argument(
        "--c360-cmd",
        type=shlex.split,
        default=[sys.executable, "-m", "c360"],
        help="how to invoke c360 (default: this Python's `-m c360`)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    known = all_cases()
    names = list(known) if args.cases == "all" else [c.strip() for c in args.cases.split(",")]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {', '.join(known)}")
    tools = [t for t in TOOLS if not getattr(args, f"skip_{t}")]

    out_dir = args.out.parent
    results = [run_case(known[name], tools, out_dir, args) for name in names]
    meta = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("c360", "splink", "duckdb")},
        "c360_cmd": args.c360_cmd,
    }
    payload = {**meta, "cases": [asdict(result) for result in results]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results, meta))
    print_table(results)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    failed = [r for result in results for r in result.runs.values() if r.status != "ok"]
    return 1 if any(r.status != "skipped" for r in failed) else 0


if __name__ == "__main__":
    sys.exit(main())
