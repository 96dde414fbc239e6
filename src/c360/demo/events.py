"""What the demo company's customers did in the last two years: orders, service cases, email
engagement and web visits.

Orders and cases carry the record id of the shop or service-desk record they were made under
(a person with two shop accounts has orders under both); email events and web visits carry
only an email address, which c360 must find among the people records. A few web visits carry
no email at all: anonymous browsing that no person can claim.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from c360.demo.persons import DAY, REFERENCE, WeightedPool
from c360.demo.pools import CASE_SUBJECTS, PROMOTIONS, WEB_PAGES
from c360.demo.records import Issued, Table
from c360.demo.variants import timestamp_text

__all__ = ["EVENT_WINDOW_DAYS", "UNRESOLVABLE_VISIT_SHARE", "write_events"]

EVENT_WINDOW_DAYS = 730
UNRESOLVABLE_VISIT_SHARE = 0.02
CAMPAIGN_REACH = 0.3  # share of a subscriber's campaigns that their segment receives
OPEN_RATE = 0.35
CLICK_RATE = 0.3  # of opened emails

_WINDOW_START = REFERENCE - EVENT_WINDOW_DAYS * DAY
_ORDER_STATUS = WeightedPool(("paid", "refunded", "cancelled"), (88, 7, 5))
_CHANNEL = WeightedPool(("email", "phone", "chat", "web"), (45, 25, 20, 10))
_PRIORITY = WeightedPool(("low", "normal", "high", "urgent"), (20, 60, 15, 5))
_SUBJECT = WeightedPool(tuple(s for s, _ in CASE_SUBJECTS), tuple(w for _, w in CASE_SUBJECTS))
_PAGE = WeightedPool(tuple(p for p, _ in WEB_PAGES), tuple(w for _, w in WEB_PAGES))
_DEVICE = WeightedPool(("mobile", "desktop", "tablet"), (58, 36, 6))


@dataclass(frozen=True)
class _Campaign:
    name: str
    sent_at: int


def _count(rng: random.Random, none: float, more: float) -> int:
    """How many events one record has: none with probability `none`, else 1 + geometric."""
    if rng.random() < none:
        return 0
    n = 1
    while rng.random() < more:
        n += 1
    return n


def _moment(rng: random.Random, since: int) -> int:
    """A moment in the event window after `since` (a record exists before anything is done
    under it)."""
    start = min(max(since, _WINDOW_START), REFERENCE - 2 * DAY)
    return start + rng.randrange(REFERENCE - start)


def _numbered(
    rows: list[tuple[int, tuple[str, ...]]], first: int, pattern: str
) -> list[tuple[str, ...]]:
    """Rows sorted by time and numbered in that order, as a system issues its ids."""
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(pattern.format(first + i), *row) for i, (_, row) in enumerate(rows)]


def _orders(shop: Sequence[Issued], rng: random.Random) -> Table:
    timed: list[tuple[int, tuple[str, ...]]] = []
    for record in shop:
        for _ in range(_count(rng, 0.2, 0.45)):
            at = _moment(rng, record.written_at)
            items = 1 + _count(rng, 0.5, 0.4)
            total = sum(round(rng.lognormvariate(3.3, 0.8), 2) for _ in range(items))
            timed.append((at, (
                record.record_id, timestamp_text(at, "zulu"), _ORDER_STATUS.draw(rng),
                f"{total:.2f}", "USD", str(items),
            )))  # fmt: skip
    rows = _numbered(timed, 100_001 + rng.randrange(50_000), "SO-{}")
    header = ("order_id", "customer_no", "ordered_at", "status", "total", "currency", "items")
    return Table("orders", "shop_orders.csv", header, tuple(rows))


def _case_status(age_days: int, rng: random.Random) -> str:
    """Old cases are closed; recent ones are still being worked on."""
    if age_days < 7:
        weights = (50, 30, 20)
    elif age_days < 30:
        weights = (20, 25, 55)
    else:
        weights = (2, 2, 96)
    return rng.choices(("open", "pending", "closed"), weights)[0]


def _cases(service: Sequence[Issued], rng: random.Random) -> Table:
    timed: list[tuple[int, tuple[str, ...]]] = []
    for record in service:
        for _ in range(_count(rng, 0.0, 0.45)):
            at = _moment(rng, record.written_at)
            channel = "phone" if record.via_call_centre else _CHANNEL.draw(rng)
            timed.append((at, (
                record.record_id, timestamp_text(at, "space"),
                _case_status((REFERENCE - at) // DAY, rng), _SUBJECT.draw(rng), channel,
                _PRIORITY.draw(rng),
            )))  # fmt: skip
    rows = _numbered(timed, 10_000 + rng.randrange(50_000), "{:08d}")
    header = ("case_id", "requester_id", "opened_at", "status", "subject", "channel", "priority")
    return Table("cases", "service_cases.csv", header, tuple(rows))


def _campaigns() -> list[_Campaign]:
    """A newsletter each month and the seasonal promotions, inside the event window."""
    campaigns = []
    first = datetime.fromtimestamp(_WINDOW_START, UTC)
    for k in range(EVENT_WINDOW_DAYS // 30 + 2):
        year, month = first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1
        newsletter = int(datetime(year, month, 3, 9, tzinfo=UTC).timestamp())
        campaigns.append(_Campaign(f"Newsletter {year}-{month:02d}", newsletter))
        for promo_month, name in PROMOTIONS:
            if promo_month == month:
                sent = int(datetime(year, month, 15, 14, tzinfo=UTC).timestamp())
                campaigns.append(_Campaign(f"{name} {year}", sent))
    return [c for c in campaigns if _WINDOW_START <= c.sent_at < REFERENCE]


def _email_events(
    marketing: Sequence[Issued], rng: random.Random
) -> tuple[Table, list[tuple[int, str]]]:
    """Email events, and the clicks (time, email) that bring a subscriber to the website."""
    campaigns = _campaigns()
    timed: list[tuple[int, tuple[str, ...]]] = []
    clicks: list[tuple[int, str]] = []
    for record in marketing:
        stop = record.unsubscribed_at if record.unsubscribed_at is not None else REFERENCE
        last = ""
        for campaign in campaigns:
            if not record.written_at < campaign.sent_at < stop or rng.random() >= CAMPAIGN_REACH:
                continue
            last = campaign.name
            timed.append((campaign.sent_at, (record.email, "sent", last)))
            if rng.random() < OPEN_RATE:
                opened = min(campaign.sent_at + int(rng.expovariate(1 / (8 * 3600))), stop - 1)
                timed.append((opened, (record.email, "opened", last)))
                if rng.random() < CLICK_RATE:
                    clicked = min(opened + rng.randrange(5, 600), stop - 1)
                    timed.append((clicked, (record.email, "clicked", last)))
                    clicks.append((clicked, record.email))
        if record.unsubscribed_at is not None and record.unsubscribed_at >= _WINDOW_START:
            # From the footer of the last email received, or the preference centre.
            timed.append((record.unsubscribed_at, (record.email, "unsubscribed", last)))
    timed.sort(key=lambda r: (r[0], r[1]))
    rows = [
        (str(uuid.UUID(int=rng.getrandbits(128), version=4)), email, event, campaign,
         timestamp_text(at, "zulu"))
        for at, (email, event, campaign) in timed
    ]  # fmt: skip
    header = ("event_id", "email", "event", "campaign", "occurred_at")
    return Table("email_events", "email_events.csv", header, tuple(rows)), clicks


def _web_visits(
    shop: Sequence[Issued], clicks: Sequence[tuple[int, str]], rng: random.Random
) -> tuple[Table, int]:
    """Visits by signed-in shop customers and by subscribers following a link, then a few
    anonymous ones; returns the table and how many visits carry no email."""
    visits: list[tuple[int, str]] = list(clicks)
    for record in shop:
        visits.extend(
            (_moment(rng, record.written_at), record.email) for _ in range(_count(rng, 0.3, 0.6))
        )
    anonymous = round(len(visits) * UNRESOLVABLE_VISIT_SHARE / (1 - UNRESOLVABLE_VISIT_SHARE))
    visits.extend((_moment(rng, _WINDOW_START), "") for _ in range(anonymous))
    visits.sort()
    seen: set[str] = set()
    rows = []
    for at, email in visits:
        visit_id = f"{rng.getrandbits(64):016x}"
        while visit_id in seen:
            visit_id = f"{rng.getrandbits(64):016x}"
        seen.add(visit_id)
        seconds = 2 + int(rng.expovariate(1 / 90))
        rows.append((
            visit_id, email, _PAGE.draw(rng), timestamp_text(at, "zulu"), str(seconds),
            _DEVICE.draw(rng),
        ))  # fmt: skip
    header = ("visit_id", "email", "page", "occurred_at", "duration_s", "device")
    return Table("web_visits", "web_visits.csv", header, tuple(rows)), anonymous


def write_events(issued: dict[str, list[Issued]], rng: random.Random) -> tuple[list[Table], int]:
    """Every event system's table, and how many web visits carry no email on purpose."""
    emails, clicks = _email_events(issued["marketing"], rng)
    visits, anonymous = _web_visits(issued["shop"], clicks, rng)
    return [_orders(issued["shop"], rng), _cases(issued["service"], rng), emails, visits], anonymous
