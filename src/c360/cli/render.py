"""Rendering pipeline progress and findings in the terminal with Rich."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from c360.explain_view import ExplainedPair
from c360.pipeline import (
    BlockingDone,
    Clustered,
    FieldsDetected,
    ModelTrained,
    SourcesLoaded,
    Standardized,
)
from c360.progress import Advance
from c360.project.incremental import FullRunNeeded
from c360.resolve.levels import level_label

__all__ = ["RichReporter", "render_explanation"]


class RichReporter:
    """Shows each step with a spinner or bar and its time; prints findings as tables."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet

    @contextmanager
    def step(self, title: str, total: int | None = None) -> Iterator[Advance]:
        start = time.perf_counter()
        if self.quiet:
            yield lambda n: None
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns.append(TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(title, total=total)
            yield lambda n: progress.advance(task, n)
        self.console.print(f"[green]✓[/] {title} [dim]({time.perf_counter() - start:.1f}s)[/]")

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]![/] {message}")

    def event(self, value: object) -> None:
        if self.quiet:
            return
        match value:
            case SourcesLoaded(sources=sources):
                self._sources(sources)
            case FieldsDetected():
                self._fields(value)
            case Standardized(flags=flags):
                for (_table, column, flag), n in sorted(flags.items()):
                    self.console.print(
                        f"  [yellow]{n:,}[/] rows of column {column!r}: {flag} → null"
                    )
            case BlockingDone():
                self._blocking(value)
            case ModelTrained():
                self._model(value)
            case FullRunNeeded(reason=reason):
                self.console.print(f"  [dim]full run: {reason}[/]")
            case Clustered(records=r, clusters=c, links=links, stats=stats):
                self.console.print(
                    f"  {r:,} records → [bold]{c:,}[/] clusters ({r - c:,} duplicates merged;"
                    f" {links:,} links; refused: {stats.links_refused_conflict:,} by conflicts,"
                    f" {stats.links_refused_weak:,} as weak chains)"
                )

    def _sources(self, sources: list) -> None:  # type: ignore[type-arg]
        table = Table(title="Sources", title_justify="left")
        for col in ("source", "rows", "records", "quarantined", "encoding"):
            table.add_column(
                col, justify="right" if col in ("rows", "records", "quarantined") else "left"
            )
        for s in sources:
            table.add_row(
                s.spec.name,
                f"{s.total:,}",
                f"{s.accepted:,}",
                f"{len(s.quarantined):,}",
                s.encoding,
            )
        self.console.print(table)

    def _fields(self, event: FieldsDetected) -> None:
        table = Table(title=f"Fields detected in {event.source}", title_justify="left")
        table.add_column("column")
        table.add_column("field")
        table.add_column("why", style="dim")
        for m in event.mappings:
            table.add_row(
                m.column, m.field if m.kind.value != "ignore" else "[dim]ignored[/]", m.reason
            )
        self.console.print(table)

    def _blocking(self, event: BlockingDone) -> None:
        table = Table(title="Blocking", title_justify="left")
        table.add_column("rule")
        table.add_column("new pairs", justify="right")
        table.add_column("capped keys (records)", style="yellow")
        for r in event.reports:
            capped = ", ".join(f"{k!r} ({n:,})" for k, n in r.capped_keys)
            if r.capped_key_count > len(r.capped_keys):
                capped += f" … {r.capped_key_count:,} keys in all"
            table.add_row(r.rule.name, f"{r.pairs:,}", capped)
        self.console.print(table)
        for rule, pairs in event.choice.skipped:
            self.console.print(
                f"  [dim]skipped rule {rule.name}: {pairs:,} pairs > budget {event.choice.budget:,}[/]"
            )
        self.console.print(f"  {event.candidates:,} candidate pairs")

    def _model(self, event: ModelTrained) -> None:
        model = event.model
        title = (
            "Match model (loaded)"
            if event.reused
            else (
                f"Match model (EM sessions: {len(model.sessions)};"
                f" λ = {model.prior:.3g}, prior weight {model.prior_weight:.2f})"
            )
        )
        table = Table(title=title, title_justify="left")
        for col in ("field", "level", "m", "u", "weight"):
            table.add_column(col, justify="left" if col in ("field", "level") else "right")
        for p in model.fields:
            weights = p.level_weights()
            for k in range(len(p.m)):
                label = level_label(p.comparison, k)
                if k == 0 and p.tf_adjusted:
                    label += " (tf-adjusted)"
                table.add_row(
                    p.field if k == 0 else "",
                    label,
                    f"{p.m[k]:.4f}",
                    f"{p.u[k]:.2e}",
                    f"[{'green' if weights[k] > 0 else 'red'}]{weights[k]:+.2f}[/]",
                )
        self.console.print(table)
        for t in model.sessions:
            self.console.print(
                f"  [dim]EM on {t.pairs:,} pairs agreeing on {' & '.join(t.fixed) or 'nothing'}:"
                f" {t.iterations} iterations, {t.match_share:.1%} matches[/]"
            )
        for c in event.conflicts:
            self.console.print(
                f"  hard conflict: a pair disagreeing on {' and '.join(c.fields)} is never linked"
            )


def render_explanation(console: Console, pair: ExplainedPair) -> None:
    e = pair.explanation
    console.print(f"[bold]{pair.left_key}[/]  vs  [bold]{pair.right_key}[/]")
    if e.rule is not None:
        console.print(f"Matched by deterministic rule [bold]{e.rule}[/]")
    table = Table()
    for col in ("field", pair.left_key, pair.right_key, "level", "weight"):
        table.add_column(col, justify="right" if col == "weight" else "left")
    for f in e.fields:
        tf = f" (value frequency {f.term_frequency:.2%})" if f.term_frequency is not None else ""
        table.add_row(
            f.field,
            "" if f.left is None else str(f.left),
            "" if f.right is None else str(f.right),
            f.label + tf,
            f"[{'green' if f.match_weight > 0 else 'red' if f.match_weight < 0 else 'dim'}]"
            f"{f.match_weight:+.2f}[/]",
        )
    table.add_row("prior", "", "", "", f"{e.prior_weight:+.2f}")
    console.print(table)
    console.print(
        f"match weight [bold]{e.match_weight:+.2f}[/], match probability"
        f" [bold]{e.match_probability:.4f}[/]"
        f" ({'above' if e.match_probability >= pair.threshold else 'below'} the threshold"
        f" {pair.threshold})"
    )
    if pair.conflict is not None and e.rule is None:
        console.print(
            f"[bold red]Hard conflict[/]: they disagree on {' and '.join(pair.conflict)},"
            " which the last run's model says true matches almost never do — never linked"
            " by the model"
        )
