"""`c360 serve` and `c360 keys`: the REST API over a project, and the keys that open it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from c360.cli.app import app, console, out
from c360.errors import ConfigError
from c360.project.run import PROJECT_FILE

if TYPE_CHECKING:
    from c360.serve.keys import ApiKey

__all__: list[str] = []

ProjectDir = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (with c360.yaml).")
]
keys_app = typer.Typer(help="API keys for `c360 serve`: create, list, expire, revoke.",
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
        console.print(f"  keys: `c360 keys create --role ROLE -p {project}` (roles: reader,"
                      " writer, admin and those c360.yaml declares)")  # fmt: skip
    try:
        uvicorn.run(application, host=host, port=port, log_level=log_level)
    finally:
        service.close()


def _duration(text: str | None) -> timedelta | None:
    """`90d`, `12h` or `30m` as a time span."""
    if text is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit():
        raise ConfigError(f"--expires-in {text!r}: not a duration",
                          hint="write a number and d, h or m: 90d, 12h, 30m")  # fmt: skip
    return timedelta(**{units[unit]: int(number)})


def _key_changed(root: Path, action: str, key: ApiKey) -> None:
    from c360.cli.governance import audit_change

    audit_change(root, action, key_id=key.key_id, role_of_key=key.role,
                 expires_at=key.expires_at)  # fmt: skip


_ROLE_HELP = (
    "A role of the project's governance policy: reader, writer, admin, or one c360.yaml declares."
)
_EXPIRES_HELP = "The key stops working after this long: 90d, 12h, 30m (default: never)."
_EXPIRE_IN_HELP = "Expire after this long: 7d, 12h, 30m (default: now)."


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help=_ROLE_HELP)],
    note: Annotated[str, typer.Option(help="What the key is for.")] = "",
    expires_in: Annotated[str | None, typer.Option(help=_EXPIRES_HELP)] = None,
    project: ProjectDir = Path("."),
) -> None:
    """Create a key; it is shown once — store it where the client can read it."""
    from c360.governance import Policy
    from c360.project.config import load_project
    from c360.serve.keys import KeyRing

    root = _project(project)
    policy = Policy.from_config(load_project(root / PROJECT_FILE).governance)
    text, key = KeyRing(root).create(role, policy.roles, note, _duration(expires_in))
    _key_changed(root, "key.create", key)
    until = f", until {key.expires_at}" if key.expires_at else ""
    console.print(f"[green]✓[/] key {key.key_id} ({key.role}{until}) created;"
                  " it is not shown again:")  # fmt: skip
    out.print(text, highlight=False)


@keys_app.command("list")
def keys_list(project: ProjectDir = Path(".")) -> None:
    """The project's keys (never their secrets)."""
    from rich.table import Table

    from c360.serve.keys import KeyRing

    table = Table("id", "role", "created", "expires", "revoked", "note")
    for k in KeyRing(_project(project)).entries():
        table.add_row(k.key_id, k.role, k.created_at, k.expires_at or "", k.revoked_at or "",
                      k.note)  # fmt: skip
    out.print(table)


@keys_app.command("expire")
def keys_expire(
    key_id: Annotated[str, typer.Argument(help="The key's id (`c360 keys list`).")],
    in_: Annotated[str | None, typer.Option("--in", help=_EXPIRE_IN_HELP)] = None,
    project: ProjectDir = Path("."),
) -> None:
    """Set when a key stops working (now, by default)."""
    from c360.serve.keys import KeyRing

    root = _project(project)
    key = KeyRing(root).expire(key_id, _duration(in_) or timedelta(0))
    _key_changed(root, "key.expire", key)
    console.print(f"[green]✓[/] key {key.key_id} expires at {key.expires_at}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (`c360 keys list`).")],
    project: ProjectDir = Path("."),
) -> None:
    """Revoke a key: the service refuses it from the next request on."""
    from c360.serve.keys import KeyRing

    root = _project(project)
    key = KeyRing(root).revoke(key_id)
    _key_changed(root, "key.revoke", key)
    console.print(f"[green]✓[/] key {key.key_id} revoked at {key.revoked_at}")
