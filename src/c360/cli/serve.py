"""`c360 serve` and `c360 keys`: the REST API over a project, and the keys that open it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c360.cli.app import app, console, out
from c360.errors import ConfigError
from c360.project.run import PROJECT_FILE

__all__: list[str] = []

ProjectDir = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (with c360.yaml).")
]
keys_app = typer.Typer(help="API keys for `c360 serve`: create, list, revoke.",
                       no_args_is_help=True)  # fmt: skip
app.add_typer(keys_app, name="keys")


def _project(project: Path) -> Path:
    if not (project / PROJECT_FILE).exists():
        raise ConfigError(f"{project / PROJECT_FILE} not found",
                          hint="run this in a project folder, or pass --project")  # fmt: skip
    return project


@app.command()
def serve(
    project: ProjectDir = Path("."),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8360,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "warning",
) -> None:
    """Serve the project's customer 360 over HTTP, behind API keys: the 360 view, search,
    explain, the change feed, and writes of source records and events resolved with the last
    run's model. A write is answered once resolved in memory and journalled, and published a
    moment later; stopping the service (Ctrl-C) publishes every write it answered first. The
    service owns the project's store while it runs: other commands on the project say so
    until it stops."""
    import uvicorn

    from c360.serve.app import create_app
    from c360.serve.keys import KeyRing
    from c360.serve.service import Service

    root = _project(project).resolve()
    url = f"http://{host}:{port}"
    from rich.progress import Progress, TaskID

    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        # Opened here, so that a project that cannot be served says why before anything
        # listens; the read model and the match index are rebuilt when the store has moved on
        # since they were built.
        service = Service(root, url=url, progress=progress)
    application = create_app(root, url=url, service=service)
    console.print(f"[bold]c360 serve[/] {root}\n  API:  {url}\n  docs: {url}/docs")
    if not KeyRing(root).entries():
        console.print(
            "  [yellow]no API key yet[/]: create one in another terminal with"
            f" `c360 keys create --role reader -p {project}`, send it as X-API-Key"
        )
    else:
        console.print(f"  keys: `c360 keys create --role reader|writer|admin -p {project}`")
    try:
        uvicorn.run(application, host=host, port=port, log_level=log_level)
    finally:
        service.close()


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="reader (GET), writer (and writes) or admin.")],
    note: Annotated[str, typer.Option(help="What the key is for.")] = "",
    project: ProjectDir = Path("."),
) -> None:
    """Create a key; it is shown once — store it where the client can read it."""
    from c360.serve.keys import KeyRing

    text, key = KeyRing(_project(project)).create(role, note)
    console.print(f"[green]✓[/] key {key.key_id} ({key.role}) created; it is not shown again:")
    out.print(text, highlight=False)


@keys_app.command("list")
def keys_list(project: ProjectDir = Path(".")) -> None:
    """The project's keys (never their secrets)."""
    from rich.table import Table

    from c360.serve.keys import KeyRing

    table = Table("id", "role", "created", "revoked", "note")
    for k in KeyRing(_project(project)).entries():
        table.add_row(k.key_id, k.role, k.created_at, k.revoked_at or "", k.note)
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (`c360 keys list`).")],
    project: ProjectDir = Path("."),
) -> None:
    """Revoke a key: the service refuses it from the next request on."""
    from c360.serve.keys import KeyRing

    key = KeyRing(_project(project)).revoke(key_id)
    console.print(f"[green]✓[/] key {key.key_id} revoked at {key.revoked_at}")
