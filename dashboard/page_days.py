"""The as-of days each page reads, so its day-list queries run once for all of them.

A page that reads its numbers at several dates (this week and last for week-over-week
change, eight earlier weeks for a red flag's 连续红旗周数) runs inside
`db.as_of_batch(days_for(page, as_of))`: each day-list query (queries/*.sql taking
$days) then answers every listed day in one pass instead of one query per day. Pages
that read one date are not batched (a batch would make their queries do more work).
"""

from __future__ import annotations

import datetime as dt

from dashboard import flags, weekly


def _weekly_days(as_of: dt.date) -> list[dt.date]:
    """The default week's end and the week before it, each with its flag history."""
    week = weekly.recent_weeks(as_of, 1)[0]
    return sorted({*flags.history_days(week.end), *flags.history_days(week.prev_end)})


# url_path → the days that page reads at a given as-of date
PAGE_DAYS = {
    "meeting": flags.history_days,
    "flags": flags.history_days,
    "unit": flags.history_days,
    "weekly": _weekly_days,
}


def days_for(page: str, as_of: dt.date) -> list[dt.date]:
    """The days to batch for a page (empty: the page is not batched)."""
    days = PAGE_DAYS.get(page)
    return [] if days is None else days(as_of)
