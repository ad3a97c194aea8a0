"""The as-of days each page reads, so its day-list queries run once for all of them.

A page that reads its numbers at several dates (this week and last for week-over-week
change) runs inside `db.as_of_batch(days_for(page, as_of))`: each day-list query
(queries/*.sql taking $days) then answers every listed day in one pass instead of one
query per day. Pages that read one date are not batched (a batch would make their
queries do more work). The red-flag engine asks its rule queries for its own days
(flags.history_days) and needs no batch.
"""

from __future__ import annotations

import datetime as dt

from dashboard import meeting, unit_view, weekly


def _meeting_days(as_of: dt.date) -> list[dt.date]:
    """The day shown and a week before it (the tiles' change)."""
    return [as_of, as_of - meeting.WEEK]


def _unit_days(as_of: dt.date) -> list[dt.date]:
    """The day shown and the day its ranks are compared with."""
    return [as_of, as_of - dt.timedelta(days=unit_view.COMPARE_DAYS)]


def _weekly_days(as_of: dt.date) -> list[dt.date]:
    """The default week's end and the week before it."""
    week = weekly.recent_weeks(as_of, 1)[0]
    return sorted({week.end, week.prev_end})


# url_path → the days that page reads at a given as-of date
PAGE_DAYS = {
    "meeting": _meeting_days,
    "unit": _unit_days,
    "weekly": _weekly_days,
}


def days_for(page: str, as_of: dt.date) -> list[dt.date]:
    """The days to batch for a page (empty: the page is not batched)."""
    days = PAGE_DAYS.get(page)
    return [] if days is None else days(as_of)
