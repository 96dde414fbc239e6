"""Each people system's id scheme: what a record id looks like there, issued in the order the
records were written."""

from __future__ import annotations

import random

__all__ = ["crm_ids", "marketing_ids", "service_ids", "shop_ids"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crm_ids(count: int, rng: random.Random) -> list[str]:
    """Salesforce-style 15-character ids: a `003` contact prefix and a base-62 counter."""
    ids, n = [], rng.randrange(62**4, 62**5 - count * 40)
    for _ in range(count):
        n += rng.randrange(1, 40)  # other objects take numbers in between
        text, rest = "", n
        for _ in range(5):
            rest, d = divmod(rest, 62)
            text = _BASE62[d] + text
        ids.append(f"0038d00000{text}")
    return ids


def service_ids(count: int, rng: random.Random) -> list[str]:
    """Large increasing integers with gaps, as help desks issue them."""
    ids, n = [], 360_000_000_000 + rng.randrange(10**8)
    for _ in range(count):
        n += rng.randrange(1, 5_000)
        ids.append(str(n))
    return ids


def marketing_ids(count: int, rng: random.Random) -> list[str]:
    """Random hex ids, as mailing tools issue them; never repeated."""
    ids: dict[str, None] = {}  # a dict keeps the order of first issue, unlike a set
    while len(ids) < count:
        ids[f"{rng.getrandbits(40):010x}"] = None
    return list(ids)


def shop_ids(count: int, rng: random.Random) -> list[str]:
    """Consecutive customer numbers, as web shops issue them."""
    start = 100_000 + rng.randrange(1_000)
    return [str(start + i) for i in range(count)]
