"""`c360 audit`: the audit log, read and verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from c360.cli.app import app, console, out
from c360.errors import C360Error, ConfigError
from c360.project.run import PROJECT_FILE

__all__ = ["audit_change"]

ProjectDir = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (with c360.yaml).")
]
audit_app = typer.Typer(help="The audit log of reads and changes: list it, verify its chain.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(audit_app, name="audit")


def audit_change(
    root: Path,
    action: str,
    customer_id: str | None = None,
    fields: tuple[str, ...] = (),
    role: str = "admin",
    **detail: Any,
) -> None:
    """Note what a command did in the project's audit log (on disk when this returns). A
    command acts as the operating-system user who runs it, as `admin` unless it took
    `--role`."""
    from c360.governance import AuditEntry, AuditLog, local_actor

    log = AuditLog(root)
    try:
        log.record(AuditEntry(local_actor(), role, action, customer_id, fields, detail))
    finally:
        log.close()


def _log(project: Path):  # type: ignore[no-untyped-def]
    from c360.governance import AuditLog

    if not (project / PROJECT_FILE).exists():
        raise ConfigError(f"{project / PROJECT_FILE} not found",
                          hint="run this in a project folder, or pass --project")  # fmt: skip
    return AuditLog(project)


@audit_app.command("list")
def audit_list(
    customer: Annotated[str | None, typer.Option("--customer", help="One customer ID.")] = None,
    action: Annotated[str | None, typer.Option(help="customer.read, record.write, run, …")] = None,
    actor: Annotated[str | None, typer.Option(help="key:<id> or cli:<user>.")] = None,
    since: Annotated[int, typer.Option(help="Entries after this seq.")] = 0,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    project: ProjectDir = Path("."),
) -> None:
    """Entries oldest first: who, with which role, did what to which customer, and which
    fields were answered (names, never values)."""
    from rich.table import Table

    log = _log(project)
    try:
        rows = log.entries(customer_id=customer, action=action, actor=actor, since=since,
                           limit=limit)  # fmt: skip
    finally:
        log.close()
    if as_json:
        for r in rows:
            out.print(json.dumps(r), highlight=False, soft_wrap=True)
        return
    table = Table("seq", "at", "actor", "role", "action", "customer", "fields", "detail")
    for r in rows:
        table.add_row(str(r["seq"]), r["at"], r["actor"], r["role"], r["action"],
                      r["customer_id"] or "", ", ".join(r["fields"]),
                      json.dumps(r["detail"]) if r["detail"] else "")  # fmt: skip
    out.print(table)


_HEAD_HELP = "A head an earlier verify printed (seq:hash): check it is still in the chain."


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(help=_HEAD_HELP)] = None,
    project: ProjectDir = Path("."),
) -> None:
    """Check that no entry was changed or removed: every entry's hash is its content's and
    chains to the one before. Prints the head; keep it elsewhere to catch entries cut off the
    end later (`--head`)."""
    log = _log(project)
    try:
        verdict = log.verify(head)
    finally:
        log.close()
    if not verdict.ok:
        raise C360Error(f"the audit log was tampered with: {verdict.problem}",
                        hint=f"{verdict.entries:,} entries check out before it")  # fmt: skip
    n = verdict.entries
    console.print(f"[green]✓[/] chain intact over {n:,} entr{'y' if n == 1 else 'ies'};"
                  f" head {verdict.head}")  # fmt: skip


subject_app = typer.Typer(help="Subject rights: everything held about a person, exported.",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(subject_app, name="subject")


@subject_app.command("export")
def subject_export(
    person: Annotated[str, typer.Argument(help="A customer ID (any ever issued), email or phone.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
    project: ProjectDir = Path("."),
) -> None:
    """Everything c360 holds about one person, as one JSON document (access, portability):
    golden record with lineage, source records with their raw rows, events, redirects and
    the audit log's entries about them."""
    from c360.cli.project import read_store
    from c360.governance import AuditLog
    from c360.project.config import load_project
    from c360.project.subject import find_subject, subject_document

    config = load_project(project / PROJECT_FILE)
    with read_store(project, config) as store:
        customer_id = find_subject(store, config, person)
        log = AuditLog(project)
        try:
            document = subject_document(store, config, customer_id, log)
        finally:
            log.close()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    audit_change(project, "subject.export", customer_id, ("*",))
    if output is None:
        out.print(text, highlight=False, soft_wrap=True)
        return
    output.write_text(text + "\n", encoding="utf-8")
    console.print(f"[green]✓[/] {customer_id}: {len(document['records'])} records,"
                  f" {len(document['events'])} events → {output}")  # fmt: skip


@subject_app.command("erase")
def subject_erase(
    person: Annotated[str, typer.Argument(help="A customer ID (any ever issued), email or phone.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectDir = Path("."),
) -> None:
    """Erase a person: their personal data leaves every table and file c360 keeps, only a
    keyed hash of each of their records stays (so the next sync does not bring them back), and
    every ID they had is retired. Lists the source systems that still hold their records.
    The service must be stopped; the store is rewritten, and the read model, the match index
    and the standardisation cache are rebuilt when next needed."""
    import sqlite3

    from rich.prompt import Confirm

    from c360.errors import StoreError
    from c360.progress import SilentReporter
    from c360.project.config import load_project
    from c360.project.erasure import drop_derived, erase_subject
    from c360.project.lock import project_lock
    from c360.project.subject import find_subject
    from c360.serve.journal import JOURNAL_FILE, waiting_writes
    from c360.store import DuckDBStore
    from c360.store.erasing import rewrite_store

    config = load_project(project / PROJECT_FILE)
    if waiting_writes(project):
        raise StoreError("writes answered by `c360 serve` are not published yet",
                         hint="start `c360 serve` once: it publishes them first")  # fmt: skip
    path = project / config.store
    with project_lock(project, holder="c360 subject erase"):
        with DuckDBStore(path) as store:
            customer_id = find_subject(store, config, person)
            records = store.query("SELECT count(*) AS n FROM links WHERE customer_id = ?",
                                  [customer_id])[0]["n"]  # fmt: skip
            if not yes and not Confirm.ask(
                f"Erase customer {customer_id} ({records} source records) for good?",
                console=console,
            ):
                raise C360Error("nothing erased")
            erasure = erase_subject(project, config, store, customer_id, SilentReporter())
        rewrite_store(path)
        drop_derived(project)
        journal = project / JOURNAL_FILE
        if journal.exists():  # published writes leave their bytes in free pages
            with sqlite3.connect(journal) as db:
                db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    audit_change(project, "subject.erase", customer_id, ("*",), ids=len(erasure.ids),
                 records={s: len(r) for s, r in erasure.records.items()},
                 events_cleared=erasure.events_cleared)  # fmt: skip
    console.print(f"[green]✓[/] erased {customer_id} (IDs retired: {', '.join(erasure.ids)});"
                  f" {erasure.events_cleared} events kept without personal fields")  # fmt: skip
    if erasure.records:
        console.print("The source systems still hold the person's records; delete them there"
                      " (c360 will not take them again):")  # fmt: skip
        for source, ids in erasure.records.items():
            out.print(f"  {source}: {', '.join(ids)}", highlight=False)


consent_app = typer.Typer(help="Consent per purpose: show it, state it.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


@consent_app.command("show")
def consent_show(
    person: Annotated[str, typer.Argument(help="A customer ID (any ever issued), email or phone.")],
    project: ProjectDir = Path("."),
) -> None:
    """The person's consent per purpose now, and every statement with where it came from."""
    from rich.table import Table

    from c360.cli.project import read_store
    from c360.governance.consent import consent_of
    from c360.project.config import load_project
    from c360.project.subject import find_subject, subject_ids

    config = load_project(project / PROJECT_FILE)
    with read_store(project, config) as store:
        customer_id = find_subject(store, config, person)
        current, history = consent_of(store, config.consent, customer_id,
                                      subject_ids(store, customer_id))  # fmt: skip
    audit_change(project, "customer.consent", customer_id, ("consent",))
    table = Table("purpose", "now", "since", "from", title=f"Consent of {customer_id}",
                  title_justify="left")  # fmt: skip
    for purpose, s in current.items():
        state = "—" if s is None else ("granted" if s.granted else "[red]refused[/]")
        table.add_row(purpose, state, "" if s is None else s.stated_at,
                      "" if s is None else s.source)  # fmt: skip
    out.print(table)
    for s in history:
        out.print(f"  {s.stated_at}  {s.purpose}: {'granted' if s.granted else 'refused'}"
                  f"  ({s.source}{', ' + s.actor if s.actor else ''}"
                  f"{', event ' + s.event_id if s.event_id else ''})"
                  + (f"  {s.note}" if s.note else ""), highlight=False)  # fmt: skip


@consent_app.command("set")
def consent_set(
    person: Annotated[str, typer.Argument(help="A customer ID (any ever issued), email or phone.")],
    purpose: Annotated[str, typer.Argument(help="processing, email_marketing, sms, profiling, …")],
    grant: Annotated[bool, typer.Option("--grant/--refuse", help="Granted or refused.")],
    note: Annotated[str | None, typer.Option(help="Where the statement came from.")] = None,
    project: ProjectDir = Path("."),
) -> None:
    """State the person's consent for a purpose; the latest statement wins, every one is kept.
    With the service running, use `PUT /customers/{id}/consent/{purpose}`."""
    from c360.governance import local_actor
    from c360.governance.consent import record_statement
    from c360.project.config import load_project
    from c360.project.lock import project_lock
    from c360.project.subject import find_subject
    from c360.store import DuckDBStore

    config = load_project(project / PROJECT_FILE)
    with (
        project_lock(project, holder="c360 consent set"),
        DuckDBStore(project / config.store) as store,
    ):
        customer_id = find_subject(store, config, person)
        record_statement(store, config.consent, customer_id, purpose, grant, source="cli",
                         actor=local_actor(), note=note)  # fmt: skip
    audit_change(project, "consent.set", customer_id, ("consent",), purpose=purpose, granted=grant)
    console.print(f"[green]✓[/] {customer_id}: {purpose} {'granted' if grant else 'refused'}")
