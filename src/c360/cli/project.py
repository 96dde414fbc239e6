"""Project commands: `init`, `run`, `profile`, `review`, `unlink`, `export`, `demo`, and the
project forms of `link` and `explain`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from c360.cli.app import app, console, out
from c360.cli.governance import audit_change
from c360.errors import C360Error, ConfigError, StoreError
from c360.governance.consent import refusing_processing
from c360.project.config import ProjectConfig, load_project
from c360.project.explain import explain_in_store, parse_record_key
from c360.project.governed import guard_for
from c360.project.lock import busy_error, lock_holder, project_lock
from c360.project.run import PROJECT_FILE, RunSummary, run_project
from c360.project.view import customer_view, find_customers
from c360.store import Decision, DuckDBStore
from c360.store.duckdb_store import now

__all__ = ["explain_in_project", "project_records", "steward_decision"]

ProjectDir = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (with c360.yaml).")
]
RoleOption = Annotated[str, typer.Option(
    "--role", help="Show only what this role of the governance policy may see.")]  # fmt: skip


def read_store(root: Path, config: ProjectConfig) -> DuckDBStore:
    """The project's store, read-only; a clear message if a run or the service holds it."""
    from c360.errors import StoreError

    try:
        return DuckDBStore(root / config.store, read_only=True)
    except StoreError:
        held = lock_holder(root)
        if held is not None:
            raise busy_error(root, *held) from None
        raise


def project_records(args: list[Path]) -> bool:
    """Whether `link`/`explain` arguments name two project records (`source:id`), not files."""
    return (
        len(args) == 2
        and all(":" in str(a) and not a.exists() for a in args)
        and (Path.cwd() / PROJECT_FILE).exists()
    )


def steward_decision(
    decision: str, left: Path | str, right: Path | str, root: Path | None = None
) -> None:
    root = root or Path.cwd()
    a, b = parse_record_key(str(left)), parse_record_key(str(right))
    config = load_project(root / PROJECT_FILE)
    with project_lock(root), DuckDBStore(root / config.store) as store:
        for key in (a, b):
            found = store.query(
                "SELECT customer_id FROM links WHERE source = ? AND record_id = ?", list(key)
            )
            if not found:
                raise C360Error(
                    f"record {key[0]}:{key[1]} is not in the store",
                    hint="check the source name and id (c360 profile shows a customer's records)",
                )
        store.add_decision(Decision(a, b, decision, now()))
    audit_change(root, f"decision.{decision}", a=f"{a[0]}:{a[1]}", b=f"{b[0]}:{b[1]}")
    console.print(
        f"[green]✓[/] {decision}: {a[0]}:{a[1]} and {b[0]}:{b[1]} — takes effect at the next"
        " `c360 run` and wins over the model on every run after."
    )


def explain_in_project(left: Path | str, right: Path | str, root: Path | None = None) -> None:
    from c360.cli.render import render_explanation

    root = root or Path.cwd()
    config = load_project(root / PROJECT_FILE)
    with read_store(root, config) as store:
        pair = explain_in_store(store, config, str(left), str(right))
    render_explanation(out, pair)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Where to write c360.yaml.")] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing c360.yaml.")
    ] = False,
) -> None:
    """Write a commented starter c360.yaml: sources, events, matching, golden-record rules."""
    from c360.project.template import TEMPLATE

    path = folder / PROJECT_FILE
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", hint="edit it, or pass --force to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    console.print(
        f"[green]✓[/] wrote {path}: point its sources at your files or databases, then `c360 run`."
    )


def print_summary(summary: RunSummary) -> None:
    from rich.table import Table

    table = Table(title="Sources", title_justify="left")
    erased = any(s.suppressed for s in summary.sources)
    for col in ("source", "kind", "rows", "used", "quarantined", *(["erased"] if erased else [])):
        table.add_column(col, justify="left" if col in ("source", "kind") else "right")
    for s in summary.sources:
        extra = [f"{s.suppressed:,}"] if erased else []
        if s.unchanged:
            table.add_row(s.name, s.kind, "[dim]unchanged[/]", f"[dim]{s.used:,}[/]", "[dim]—[/]",
                          *(["[dim]—[/]"] if erased else []))  # fmt: skip
        else:
            table.add_row(s.name, s.kind, f"{s.rows:,}", f"{s.used:,}", f"{s.quarantined:,}",
                          *extra)  # fmt: skip
    console.print(table)
    r = summary.redirects
    console.print(
        f"[bold green]Published[/] {summary.run_id} ({summary.kind}):"
        f" {summary.records:,} records →"
        f" [bold]{summary.customers:,}[/] customers ({summary.records - summary.customers:,}"
        f" duplicates merged; {summary.new_customers:,} new customers; IDs changed:"
        f" {summary.ids_changed:,}; redirects: {r.get('merge', 0)} merge, {r.get('split', 0)}"
        f" split, {r.get('deleted', 0)} deleted); {summary.events or 0:,} events;"
        f" {summary.quarantined:,} rows quarantined"
        + (" · model of the last run reused" if summary.model_reused else "")
    )
    console.print(
        "[dim]Time: " + ", ".join(f"{k} {v:.1f}s" for k, v in summary.timings.items()) + "[/]"
    )


@app.command()
def run(
    project: ProjectDir = Path("."),
    retrain: Annotated[
        bool,
        typer.Option("--retrain", help="Train a new model instead of the last run's (a full run)."),
    ] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Recompute everything instead of only what changed."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Ingest every source, resolve identities, update customer IDs and golden records, publish.

    A run publishes completely or not at all. The model of the last run is reused unless the
    matching settings changed or --retrain is given, so a rerun on the same data changes no ID.
    With the model reused, a run is incremental: only sources whose file changed are read
    again (SQL sources always are), only new, changed and deleted records are compared, and
    only the customers they touch are rebuilt; the result is the one a --full run gives.
    """
    import os

    from c360.cli.render import RichReporter

    pause_at = os.environ.get("C360_PAUSE_AT")

    def pause(point: str) -> None:
        # Fault injection for the atomic-publish tests: stop here until killed.
        if pause_at == point:
            import time

            print(f"paused at {point}", flush=True)
            time.sleep(3600)

    from c360.serve.journal import waiting_writes

    waiting = waiting_writes(project)
    if waiting:
        raise StoreError(
            f"{waiting} writes answered by `c360 serve` are not published yet (the service"
            " stopped before it could publish them)",
            hint="start `c360 serve` once: it publishes them first; then run again",
        )
    summary = run_project(
        project,
        RichReporter(console, quiet=quiet),
        retrain=retrain,
        full=full,
        pause=pause if pause_at else None,
    )
    audit_change(project, "run", run_id=summary.run_id, kind=summary.kind,
                 records=summary.records, customers=summary.customers)  # fmt: skip
    print_summary(summary)


@app.command()
def profile(
    customer: Annotated[str | None, typer.Argument(help="Any customer ID ever issued.")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the 360 view as JSON.")] = False,
    role: RoleOption = "admin",
    project: ProjectDir = Path("."),
) -> None:
    """The 360 view: golden record with lineage, source records, timeline, insights."""
    from c360.cli.view import render_view

    config = load_project(project / PROJECT_FILE)
    with read_store(project, config) as store:
        guard = guard_for(store, config, role)
        if not guard.role.may("read"):
            raise ConfigError(f"role {role!r} may not read customers")
        searched = next((k for k, v in (("email", email), ("phone", phone),
                                        ("full_name", name)) if v is not None), None)  # fmt: skip
        if customer is None and searched and guard.role.for_field(searched) == "hide":
            raise ConfigError(f"role {role!r} may not search by {searched}: its policy hides it")
        if customer is None:
            found = find_customers(
                store, email=email, phone=phone, name=name, settings=config.standardize
            )
            if not found:
                raise C360Error("no customer found", hint="try another spelling or --name")
            if len(found) > 1 and not as_json:
                console.print(
                    f"{len(found)} customers match; showing the first: {', '.join(found[:10])}"
                )
            customer = found[0]
        view = guard.guarded(customer_view(store, customer))
        if view.customer_id in refusing_processing(store):
            view = replace(view, insights=None)  # not profiled: they refused processing
    audit_change(project, "customer.read", view.customer_id,
                 ("*",) if guard.open else tuple(guard.shown(view.__dict__)), role=role)  # fmt: skip
    if as_json:
        out.print_json(view.to_json())
    else:
        render_view(out, view)


@app.command()
def unlink(
    left: Annotated[str, typer.Argument(help="source:id")],
    right: Annotated[str, typer.Argument(help="source:id")],
    project: ProjectDir = Path("."),
) -> None:
    """Record that two records are NOT the same customer; wins over the model and rules."""
    steward_decision("unlink", left, right, project)


@app.command()
def review(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many pairs.")] = 10,
    list_only: Annotated[bool, typer.Option("--list", help="Only list, do not ask.")] = False,
    project: ProjectDir = Path("."),
) -> None:
    """Borderline pairs, most uncertain first, with why; accept (link) or reject (unlink)."""
    from rich.prompt import Prompt

    from c360.cli.render import render_explanation
    from c360.project.review import borderline_pairs

    config = load_project(project / PROJECT_FILE)
    with read_store(project, config) as store:
        pairs = borderline_pairs(store, config.matching.clustering.threshold, limit)
        explained = [(p, explain_in_store(store, config, p.left, p.right)) for p in pairs]
    if not pairs:
        console.print("Nothing to review: no undecided pair is near the threshold.")
        return
    for i, (p, pair) in enumerate(explained, start=1):
        out.rule(
            f"{i}/{len(explained)} · {'same customer now' if p.same_customer else 'apart now'}"
        )
        render_explanation(out, pair)
        if list_only:
            continue
        answer = Prompt.ask(
            "[a]ccept as same / [r]eject / [s]kip / [q]uit",
            choices=["a", "r", "s", "q"],
            default="s",
        )
        if answer == "q":
            break
        if answer in ("a", "r"):
            steward_decision("link" if answer == "a" else "unlink", p.left, p.right, project)


@app.command()
def export(
    what: Annotated[str, typer.Argument(help="customers, links, events or redirects")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, parquet or jsonl")] = "csv",
    role: RoleOption = "admin",
    project: ProjectDir = Path("."),
) -> None:
    """Export the published state: one row per customer (golden record), link, event or redirect."""
    from c360.project.export import export_table

    config = load_project(project / PROJECT_FILE)
    with read_store(project, config) as store:
        guard = guard_for(store, config, role)
        if not guard.role.may("read"):
            raise ConfigError(f"role {role!r} may not read customers")
        rows = export_table(store, what, fmt, output, guard)
    audit_change(project, "export", role=role, what=what, rows=rows, output=str(output))
    console.print(f"[green]✓[/] wrote {rows:,} {what} to {output}")


@app.command()
def demo(
    people: Annotated[
        int, typer.Option("--people", help="How many people the company has.")
    ] = 10_000,
    folder: Annotated[Path, typer.Option("--dir", help="Where to build the demo project.")] = Path(
        "c360-demo"
    ),
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """A whole company — CRM, service desk, marketing, shop, web analytics — unified."""
    from c360.cli.demo import run_demo

    run_demo(folder, people, seed)
