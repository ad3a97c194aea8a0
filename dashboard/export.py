"""Safe file exports: values from users are neutralised before they reach a spreadsheet."""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with ' (numbers pass unchanged)."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _NEGATIVE_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value
