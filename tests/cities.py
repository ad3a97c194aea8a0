"""The generated cities several test modules share (fixtures in tests/conftest.py)."""

from __future__ import annotations

import datetime as dt

CITY_REFERENCE = dt.date(2026, 11, 24)
SMALL_CITY_SCALE = 0.05  # the flag golden's city (tests/flag_golden.py) and test_demo's
CITY_SCALE = 0.1
