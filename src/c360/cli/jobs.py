"""`c360 dedupe`, `c360 link` and `c360 explain` on files: identity resolution, zero config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.app import app, console, out
from c360.cli.project import explain_in_project, project_records, steward_decision
from c360.config import JobConfig, dump_config, load_config
from c360.errors import C360Error
from c360.pipeline import JobSpec, Mode, prepare_job, run_job
from c360.progress import SilentReporter
from c360.sources.files import SourceSpec

IdColumn = Annotated[
    str | None,
    typer.Option(
        "--id-column", "-i", help="Column with each row's unique id (default: row number)."
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config overriding detection (see --show-config)."),
]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write clusters CSV here.")]
PairsOpt = Annotated[
    Path | None, typer.Option("--pairs", help="Also write every scored candidate pair here.")
]
QuarantineOpt = Annotated[
    Path | None,
    typer.Option("--quarantine", help="Write rows that could not be used, with reasons, here."),
]
ShowConfig = Annotated[
    bool,
    typer.Option("--show-config", help="Print the configuration the run would use, and stop."),
]
SaveModel = Annotated[
    Path | None, typer.Option("--save-model", help="Save the trained model (JSON) here.")
]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="Use a model saved with --save-model instead of training."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only print the summary.")]
Labels = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        help="CSV of labelled pairs (record_id_l, record_id_r, is_match[, source_l, source_r])"
        " to guide training.",
    ),
]


def _config(path: Path | None, id_column: str | None) -> JobConfig:
    config = load_config(path) if path is not None else JobConfig()
    if id_column is not None:
        config = config.model_copy(update={"id_column": id_column})
    return config


def _run(
    mode: Mode,
    files: list[Path],
    id_column: str | None,
    config_path: Path | None,
    output: Path | None,
    pairs: Path | None,
    quarantine: Path | None,
    show_config: bool,
    across_only: bool,
    save_model: Path | None,
    model: Path | None,
    quiet: bool,
    labels: Path | None = None,
) -> None:
    from c360.cli.render import RichReporter

    config = _config(config_path, id_column)
    if output is None and not show_config:
        output = Path("clusters.csv")
    spec = JobSpec(
        sources=[
            SourceSpec.from_path(p, id_column=config.id_column, fields=config.fields) for p in files
        ],
        mode=mode,
        config=config,
        across_only=across_only,
        output=output,
        pairs_output=pairs,
        quarantine_output=quarantine,
        model_input=model,
        model_output=save_model,
        labels=labels,
    )
    if show_config:
        job = prepare_job(spec, SilentReporter())
        job.engine.close()
        out.print(dump_config(job.config), end="", markup=False, highlight=False)
        return
    reporter = RichReporter(console, quiet=quiet)
    result = run_job(spec, reporter)
    quarantined = sum(len(s.quarantined) for s in result.sources)
    total = sum(s.total for s in result.sources)
    if quarantined and quarantine is None:
        reporter.warn(f"{quarantined:,} rows quarantined; pass --quarantine FILE to see why")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    console.print(
        f"[bold green]Done.[/] {total:,} rows → {result.records:,} records"
        f" ({quarantined:,} quarantined) → [bold]{result.clusters:,}[/] clusters."
        f" Wrote {output}." + (f" Pairs: {pairs}." if pairs else "")
    )
    console.print(f"[dim]Time: {timing}[/]")


@app.command()
def dedupe(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file of people.")],
    id_column: IdColumn = None,
    output: Output = None,
    config: ConfigOpt = None,
    pairs: PairsOpt = None,
    quarantine: QuarantineOpt = None,
    show_config: ShowConfig = False,
    save_model: SaveModel = None,
    model: ModelOpt = None,
    labels: Labels = None,
    quiet: Quiet = False,
) -> None:
    """Find the records of one file that are the same person.

    Writes `record_id,cluster_id`: every input row once; records of one person share a cluster.
    """
    _run("dedupe", [file], id_column, config, output, pairs, quarantine, show_config,
         False, save_model, model, quiet, labels)  # fmt: skip


@app.command()
def link(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more files (CSV, Parquet, JSONL) — or, in a project, two records."
        ),
    ],
    id_column: IdColumn = None,
    output: Output = None,
    config: ConfigOpt = None,
    pairs: PairsOpt = None,
    quarantine: QuarantineOpt = None,
    across_only: Annotated[
        bool, typer.Option("--across-only", help="Only link between files, not within one.")
    ] = False,
    show_config: ShowConfig = False,
    save_model: SaveModel = None,
    model: ModelOpt = None,
    labels: Labels = None,
    quiet: Quiet = False,
) -> None:
    """Link the same people across two or more files (and find duplicates within each).

    Writes `source,record_id,cluster_id`, where source is the file's name without extension.

    In a project folder, `c360 link crm:123 shop:456` instead records a steward's decision that
    two records are the same customer; it wins over the model on every later `c360 run`.
    """
    if project_records(files):
        steward_decision("link", files[0], files[1])
        return
    if len(files) < 2:
        raise C360Error("link needs two or more files", hint="for one file use `c360 dedupe`")
    _run("link", files, id_column, config, output, pairs, quarantine, show_config,
         across_only, save_model, model, quiet, labels)  # fmt: skip


@app.command()
def explain(
    files: Annotated[
        list[Path], typer.Argument(help="The file(s) of the job — or, in a project, two records.")
    ],
    left: Annotated[
        str | None, typer.Option("--left", "-a", help="First record id (source:id for link).")
    ] = None,
    right: Annotated[str | None, typer.Option("--right", "-b", help="Second record id.")] = None,
    id_column: IdColumn = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    across_only: Annotated[bool, typer.Option("--across-only")] = False,
) -> None:
    """Why two records are, or are not, the same person: rule, or each field's weight.

    On files: `c360 explain people.csv -i id -a 17 -b 42`. In a project folder:
    `c360 explain crm:123 shop:456`, with the model of the last run.
    """
    if left is None and right is None and project_records(files):
        explain_in_project(files[0], files[1])
        return
    if left is None or right is None:
        raise C360Error("name the two records with -a and -b", hint="c360 explain FILE -a ID -b ID")
    from c360.cli.render import RichReporter, render_explanation
    from c360.explain_view import explain_records

    job_config = _config(config, id_column)
    spec = JobSpec(
        sources=[
            SourceSpec.from_path(p, id_column=job_config.id_column, fields=job_config.fields)
            for p in files
        ],
        mode="link" if len(files) > 1 else "dedupe",
        config=job_config,
        across_only=across_only,
        model_input=model,
    )
    pair = explain_records(spec, left, right, RichReporter(console, quiet=True))
    render_explanation(out, pair)
