"""The red-flag golden: the engine's output, written down once, as the "no number changes"
guard for every change to how flags are computed (tests/test_flag_golden.py).

Each case is one evaluation (a database, a scope, a date, a rule set); each flag is one
tab-separated line in priority order: rule, unit, owner, subject, severity, value,
threshold, weeks_red, first_seen, priority, deadline, evidence count and the worded value.
The files in tests/golden/ were written by the engine of commit 242c38f (the per-date
pandas engine) and are read by a reviewer in a diff; regenerate them only when a change of
meaning is intended:

    python3 -m tests.flag_golden            # rewrites tests/golden/flags_*.tsv
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from dashboard import db, demo, flags, metrics
from tests.tiny import AS_OF, build_tiny

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
CITY_SCALE = 0.05
CITY_SEED = 20261124
CITY_REFERENCE = dt.date(2026, 11, 24)

COLUMNS = (
    "case",
    "rank",
    "rule",
    "unit",
    "owner",
    "subject",
    "severity",
    "value",
    "threshold",
    "weeks_red",
    "first_seen",
    "priority",
    "deadline",
    "evidence",
    "text",
)


def lenient() -> flags.RuleSet:
    """Every rule on, thresholds loosened so that the rules that stay quiet on the demo
    city at the defaults fire too."""
    return flags.parse_rules(
        {
            "rules": {
                "below_city_average": {"gap_points": 1.0},
                "bottom_of_level": {"n": 5, "min_units": 2, "levels": ["street", "community"]},
                "overdue_problems": {"min_count": 1},
                "rectification_below": {"threshold": 0.95, "min_found": 1},
                "rebound_point": {"min_rebounds": 1},
                "platform_entry_lagging": {"threshold": 0.97, "min_visits": 5},
                "materials_zero": {"within_days": 120},
                "materials_behind": {"threshold": 0.9, "within_days": 60},
                "random_pool_risk": {"min_points": 1, "threshold": 0.1},
            }
        },
        "golden",
    )


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def flag_line(case: str, rank: int, f: flags.Flag) -> str:
    cells = (
        case,
        str(rank),
        f.rule_id,
        f.unit_name,
        f.owner_name,
        f.subject,
        f.severity,
        _num(f.value),
        _num(f.threshold),
        str(f.weeks_red),
        "" if f.first_seen is None else f.first_seen.isoformat(),
        f"{f.priority:.3f}",
        "" if f.deadline is None else f.deadline.isoformat(),
        str(len(f.evidence)),
        f.value_text.replace("\t", " ").replace("\n", " "),
    )
    return "\t".join(cells)


def _unit_id(kind: str, nth: int = 0) -> int:
    units = metrics.units()
    chosen = units[units["kind"] == kind].sort_values(["sort_order", "unit_id"])
    return int(chosen["unit_id"].iloc[nth])


def tiny_cases() -> list[tuple[str, int, dt.date, flags.RuleSet]]:
    """(case name, scope, date, rules) on the tiny fixture (units in tests/tiny.py)."""
    defaults = flags.default_rules()
    return [
        ("root-default", 1, AS_OF, defaults),
        ("root-lenient", 1, AS_OF, lenient()),
        ("district-lenient", 2, AS_OF, lenient()),
        ("department-lenient", 12, AS_OF, lenient()),
        ("root-lenient-0625", 1, dt.date(2026, 6, 25), lenient()),
        ("root-lenient-0701", 1, dt.date(2026, 7, 1), lenient()),
    ]


def city_cases() -> list[tuple[str, int, dt.date, flags.RuleSet]]:
    """(case name, scope, date, rules) on the generated city (scale CITY_SCALE)."""
    defaults, loose = flags.default_rules(), lenient()
    root, district = _unit_id("city"), _unit_id("district")
    street, department = _unit_id("street", 1), _unit_id("department")
    replay, summer = dt.date(2026, 9, 15), dt.date(2026, 6, 24)
    return [
        ("root-default", root, CITY_REFERENCE, defaults),
        ("district-default", district, CITY_REFERENCE, defaults),
        ("root-lenient", root, CITY_REFERENCE, loose),
        ("district-lenient", district, CITY_REFERENCE, loose),
        ("street-lenient", street, CITY_REFERENCE, loose),
        ("department-lenient", department, CITY_REFERENCE, loose),
        ("root-default-replay", root, replay, defaults),
        ("district-lenient-replay", district, replay, loose),
        ("root-lenient-summer", root, summer, loose),
        ("district-default-summer", district, summer, defaults),
    ]


def golden_lines(cases: list[tuple[str, int, dt.date, flags.RuleSet]]) -> list[str]:
    lines = ["\t".join(COLUMNS)]
    for name, scope_id, as_of, rules in cases:
        case = f"{name} scope={scope_id} as_of={as_of.isoformat()}"
        for rank, f in enumerate(flags.evaluate(scope_id, as_of, rules), start=1):
            lines.append(flag_line(case, rank, f))
    return lines


def build_city(path: Path) -> Path:
    return demo.generate(path, scale=CITY_SCALE, seed=CITY_SEED, reference_date=CITY_REFERENCE)


def _write(path: Path, db_path: Path, cases_of) -> None:
    import os

    os.environ[db.ENV_VAR] = str(db_path)
    db._cached.clear()
    db.clear_memos()
    lines = golden_lines(cases_of())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{path}: {len(lines) - 1} flags")


def main() -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny(Path(tmp) / "tiny.duckdb")
        _write(GOLDEN_DIR / "flags_tiny.tsv", tiny, tiny_cases)
        city = build_city(Path(tmp) / "city.duckdb")
        _write(GOLDEN_DIR / "flags_city.tsv", city, city_cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
