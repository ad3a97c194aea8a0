"""The data each page asks for on first load, called exactly as the page calls it.

Each function takes (scope_id, as_of) and calls the view-model / engine functions that
dashboard/pages/<page>.py calls with its default widget values, so the benchmark measures
what a page waits for before it can draw. Layout (plotly, st.*) is left out; the AppTest
timing in bench/run.py covers the whole page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dashboard import (
    bulletin,
    db,
    flags,
    importer,
    labels,
    meeting,
    metrics,
    page_days,
    rankings,
    simulator,
    trends,
    unit_view,
    weekly,
)


def meeting_page(scope_id: int, as_of: dt.date) -> object:
    return meeting.meeting_view(scope_id, as_of, flags_n=meeting.FLAGS_N)


def rankings_page(scope_id: int, as_of: dt.date, metric_key: str = "score") -> object:
    levels = rankings.level_options(scope_id)
    if not levels:
        return None
    frame = rankings.ranking(metric_key, scope_id, levels[0], as_of)
    # the chart/table of the first ranked unit's children is not drawn until clicked
    return frame


def rankings_weekly_metric_page(scope_id: int, as_of: dt.date) -> object:
    """The rankings page switched to 整改率 and then to 走访覆盖率 (as-of metrics)."""
    return (
        rankings_page(scope_id, as_of, "rectification_rate"),
        rankings_page(scope_id, as_of, "coverage_rate"),
    )


def trends_page(scope_id: int, as_of: dt.date) -> object:
    """Every tab of 趋势 with its defaults (the page draws only the open tab; this is all)."""
    items = trends.indicators()
    candidates = trends.comparison_candidates(scope_id)
    scores = trends.score_chart_data(scope_id, as_of, "overall", (), "all")
    target = trends.score_target(scope_id, "overall")
    test = metrics.next_test(as_of)
    lines = {"overall": "综合得分", **labels.INDICATOR_CATEGORY}
    categories = trends.category_chart_data(scope_id, as_of, lines, "all")
    survey = trends.survey_trend(scope_id, as_of, "phone")
    rect = trends.rectification_series(scope_id, as_of, "day", "3m")
    burn = trends.visit_burnup(scope_id, as_of, "day")
    return items, candidates, scores, target, test, categories, survey, rect, burn


def flags_page(scope_id: int, as_of: dt.date) -> object:
    rules, _problem = flags.rules_or_last_good()
    with flags.evidence_wanted():  # as the page asks: it counts every flag's evidence
        found = flags.evaluate(scope_id, as_of, rules)
    # the page's table shows every flag's evidence count: a live flag's evidence is read
    # when first opened (flags.LiveEvidence), so the page pays for it here
    counts = [len(f.evidence) for f in found]
    return found, counts, metrics.next_test(as_of)


def unit_page(scope_id: int, as_of: dt.date) -> object:
    info = unit_view.unit_info(scope_id)
    unit_view.prefetch(info.unit_id, as_of)
    standings = unit_view.standing(info.unit_id, as_of)
    problems = unit_view.open_problems(info.unit_id, as_of)
    unit_flags = unit_view.unit_flags(info.unit_id, as_of)
    owned = unit_view.owned_items(info.unit_id, as_of)
    territory = unit_view.problems_by_territory(problems[problems["as_owner"]])
    visits = unit_view.visit_progress(info.unit_id, as_of)
    missing = unit_view.missing_materials(info.unit_id, as_of)
    overall = unit_view.materials_overall(info.unit_id, as_of)
    peers = unit_view.peer_table(info.unit_id, as_of) if info.has_peers else None
    return standings, problems, unit_flags, owned, territory, visits, missing, overall, peers


def weekly_page(scope_id: int, as_of: dt.date) -> object:
    weeks = weekly.recent_weeks(as_of, 12)
    week = weeks[0]
    levels = weekly.comparison_levels(scope_id)
    config = bulletin.load_config()
    level = next((k for k in config.levels if k in levels), levels[0] if levels else None)
    summary = weekly.summary(scope_id, week)
    out: list[object] = [summary]
    if level is not None:
        out.append(weekly.problem_counts(scope_id, week, level))
        for key in weekly.WEEKLY_METRICS:
            frame = weekly.changes(key, scope_id, week, level)
            out.append(weekly.movers(frame))
    out.append(weekly.problem_events(scope_id, week))
    out.append(weekly.flag_changes(scope_id, week))
    out.append(bulletin.compose(scope_id, week.end, config))
    return out


def data_page(scope_id: int, as_of: dt.date) -> object:
    path = db.db_path()
    return importer.data_freshness(path), importer.import_history(path)


def simulator_page(scope_id: int, as_of: dt.date) -> object:
    """测算 with its defaults: estimate, backtest, fix list, rank context, owners, gap plan."""
    settings, _problem = simulator.settings_or_default()
    sim = simulator.simulate(scope_id, as_of, settings)
    owners = simulator.owner_summary(sim.fixes)
    plan = (
        simulator.gap_plan(sim.target_score, sim.current, sim.fixes)
        if sim.target_score is not None
        else None
    )
    return sim, owners, plan


def batched(url_path: str, page: Callable[[int, dt.date], object]):
    """The page inside the as-of batch the router opens for it (dashboard/page_days.py)."""

    def run(scope_id: int, as_of: dt.date) -> object:
        with db.as_of_batch(page_days.days_for(url_path, as_of)):
            return page(scope_id, as_of)

    return run


PAGES: dict[str, Callable[[int, dt.date], object]] = {
    "meeting": batched("meeting", meeting_page),
    "rankings": rankings_page,
    "rankings_rates": rankings_weekly_metric_page,
    "trends": trends_page,
    "flags": batched("flags", flags_page),
    "unit": batched("unit", unit_page),
    "weekly": batched("weekly", weekly_page),
    "simulator": simulator_page,
    "data": data_page,
}

PAGE_FILES = {
    "meeting": "dashboard/pages/meeting.py",
    "rankings": "dashboard/pages/rankings.py",
    "trends": "dashboard/pages/trends.py",
    "flags": "dashboard/pages/flags.py",
    "unit": "dashboard/pages/unit.py",
    "weekly": "dashboard/pages/weekly.py",
    "simulator": "dashboard/pages/simulator.py",
    "data": "dashboard/pages/data.py",
}
