"""Unicode folding shared by the text standardisers: the one place accents and case go."""

from __future__ import annotations

import re

from unidecode import unidecode

__all__ = ["fold", "fold_tokens"]

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(value: str) -> str | None:
    """ASCII-fold, lower-case, turn punctuation into single spaces; '' becomes None.

    >>> fold("  Zoë  O'Brien-Smith ")
    'zoe o brien smith'
    """
    folded = _NON_ALNUM.sub(" ", unidecode(value).lower()).strip()
    return folded or None


def fold_tokens(value: str) -> list[str]:
    folded = fold(value)
    return folded.split() if folded else []
