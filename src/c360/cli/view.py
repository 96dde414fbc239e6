"""Rendering the 360 view of a customer in the terminal."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from c360.project.view import CustomerView

__all__ = ["render_view"]


def render_view(console: Console, view: CustomerView) -> None:
    head = f"[bold]{view.customer_id}[/]"
    if view.asked != view.customer_id:
        reasons = ", ".join(f"{r['reason']} → {r['new_id']}" for r in view.redirects)
        head += f"  (you asked for {view.asked}: {reasons})"
    console.print(head)
    i = view.insights
    if i is not None:
        flags = "  ".join(f"[bold red]{f}[/]" for f in i.flags)
        console.print(
            f"lifetime value {i.lifetime_value:,.2f} · {i.orders} orders"
            f" (last {i.last_order or '—'}) · {i.open_cases} open cases (last service contact"
            f" {i.last_service_contact or '—'}) · email opened {i.emails_opened}, clicked"
            f" {i.emails_clicked} · web visits 30d {i.web_visits_30d}  {flags}"
        )
    golden = Table(title="Golden record", title_justify="left")
    for col in ("field", "value", "from", "updated", "rule"):
        golden.add_column(col)
    for g in view.golden:
        golden.add_row(
            g["field"], str(g["value"]), f"{g['source']}:{g['record_id']}",
            str(g["updated_at"] or ""), g["rule"],
        )  # fmt: skip
    console.print(golden)
    if view.contact_points:
        console.print(
            "Contact points: "
            + "; ".join(
                f"{p['kind']} {p['value']}{' (preferred)' if p['preferred'] else ''} [{p['sources']}]"
                for p in view.contact_points
            )
        )
    records = Table(title=f"Source records ({len(view.records)})", title_justify="left")
    for col in ("record", "updated", "values", "why linked"):
        records.add_column(col)
    for r in view.records:
        values = ", ".join(f"{k}={v}" for k, v in (r["raw"] or {}).items() if v)
        evidence = r["evidence"] or {}
        why = (
            "only record"
            if evidence.get("alone")
            else (evidence.get("rule") or f"weight {evidence.get('match_weight')}")
            + f" with {evidence.get('pair')}"
        )
        records.add_row(f"{r['source']}:{r['record_id']}", str(r["updated_at"] or ""), values, why)
    console.print(records)
    timeline = Table(
        title=f"Timeline (newest first, {len(view.timeline)} shown)", title_justify="left"
    )
    for col in ("when", "department", "type", "status", "amount", "details"):
        timeline.add_column(col)
    for e in view.timeline:
        timeline.add_row(
            str(e["occurred_at"]), e["department"] or "", e["type"], e["status"] or "",
            "" if e["amount"] is None else f"{e['amount']:,.2f}",
            json.dumps(e["attributes"]) if e["attributes"] else "",
        )  # fmt: skip
    console.print(timeline)
