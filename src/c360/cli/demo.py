"""`c360 demo`: a whole company's customer data, unified, in under a minute."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from c360.cli.app import console, out
from c360.cli.project import print_summary
from c360.cli.render import RichReporter
from c360.cli.view import render_view
from c360.demo import generate_company
from c360.errors import ConfigError
from c360.project.quality import link_quality
from c360.project.run import run_project
from c360.project.view import customer_view
from c360.store import DuckDBStore, Store

__all__ = ["run_demo"]

MARKER = ".c360-demo"


def _prepare(folder: Path) -> None:
    """Start from an empty folder; only a folder this command made may be replaced."""
    if folder.exists():
        if not (folder / MARKER).exists():
            raise ConfigError(
                f"{folder} exists and is not a c360 demo folder; not touching it",
                hint="pass --dir with a new folder",
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `c360 demo`; `c360 demo` may replace this folder\n")


def _interesting_customer(store: Store) -> str | None:
    rows = store.query(
        """
        WITH systems AS (
            SELECT customer_id, count(DISTINCT source) AS n FROM links GROUP BY customer_id
        ), activity AS (
            SELECT customer_id, count(*) AS events,
                   count(*) FILTER (WHERE type = 'case' AND lower(status) IN ('open', 'pending'))
                       AS open_cases
            FROM events GROUP BY customer_id
        )
        SELECT s.customer_id FROM systems s LEFT JOIN activity a USING (customer_id)
        ORDER BY s.n DESC, coalesce(a.open_cases, 0) > 0 DESC, coalesce(a.events, 0) DESC,
                 s.customer_id
        LIMIT 1
        """
    )
    return rows[0]["customer_id"] if rows else None


def run_demo(folder: Path, people: int, seed: int) -> None:
    started = time.perf_counter()
    _prepare(folder)
    with console.status("Generating the company's systems…"):
        t = time.perf_counter()
        truth = generate_company(folder, people=people, seed=seed)
        generated = time.perf_counter() - t
    console.print(
        f"[green]✓[/] Generated {truth.people:,} people across"
        f" {len(truth.records)} people systems and {len(truth.events)} event systems"
        f" in {generated:.1f}s → {folder}"
    )
    summary = run_project(folder, RichReporter(console, quiet=True))
    print_summary(summary)
    config_store = folder / "c360.duckdb"
    with DuckDBStore(config_store, read_only=True) as store:
        quality = link_quality(store, truth.truth_file)
        interesting = _interesting_customer(store)
        view = customer_view(store, interesting) if interesting else None
    console.print(
        f"Links against the generator's truth: precision [bold]{quality.precision:.4f}[/],"
        f" recall [bold]{quality.recall:.4f}[/] (F1 {quality.f1:.4f};"
        f" {quality.correct_pairs:,} of {quality.linked_pairs:,} linked pairs right,"
        f" {quality.true_pairs:,} true pairs)"
    )
    console.print(f"Total {time.perf_counter() - started:.1f}s")
    if view is not None:
        out.rule(f"One customer, every system: {view.customer_id}")
        render_view(out, view)
    out.print(
        "\n[bold]Try next[/] (in the demo folder):\n"
        f"  cd {folder}\n"
        f"  c360 profile {interesting or 'C-…'}          # the 360 view (also --json)\n"
        "  c360 profile --email <address>            # find by email, --phone, --name\n"
        "  c360 review                               # borderline pairs: accept or reject\n"
        "  c360 export customers -o customers.csv    # golden records for other systems\n"
        "  c360 run                                  # rerun: no customer ID changes\n"
        "  c360 keys create --role reader            # an API key, then:\n"
        "  c360 serve                                # the REST API, docs at :8360/docs\n"
    )
