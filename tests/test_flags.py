"""红旗清单: every rule fires and stays quiet on hand-made data, priority order, config
validation (Chinese errors, last good rules kept), the page, the 督办 export, demo stories."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest

from dashboard import db, flags, store
from dashboard.flag_export import duban_workbook
from tests.apptest import open_page
from tests.tiny import AS_OF, fill_tiny

PAGE = "dashboard/pages/flags.py"


def only(rule_id: str, **params: object) -> flags.RuleSet:
    """A rule set with just one rule switched on, its params overridden."""
    doc = {"rules": {rid: {"enabled": rid == rule_id} for rid in flags.RULES}}
    doc["rules"][rule_id].update(params)
    return flags.parse_rules(doc)


def fired(rule_id: str, scope_id: int = 1, as_of: dt.date = AS_OF, **params: object):
    return [
        (f.unit_name, f.owner_name)
        for f in flags.evaluate(scope_id, as_of, only(rule_id, **params))
    ]


@pytest.fixture()
def use_variant(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The tiny fixture with 城关镇 falling 81 → 80 → 79 over the three overall tests."""

    def fill(con) -> None:
        fill_tiny(con)
        con.execute("update scores set value = 81 where assessment_id = 1 and unit_id = 6")
        con.execute("update scores set value = 80 where assessment_id = 2 and unit_id = 6")

    path = tmp_path_factory.mktemp("variant") / "variant.duckdb"
    store.write_snapshot(path, fill, meta={"source": "test", "reference_date": AS_OF.isoformat()})
    monkeypatch.setenv(db.ENV_VAR, str(path))
    yield path
    db._cached.clear()


# ── every rule: one case that fires, one that stays quiet (tiny fixture, AS_OF 06-10) ────

# 城关镇 79 and 西城区 79 vs the city's 82 in assessment 3 (gap −3); streets 和平/解放 86.
# 整改率: 市住建局 3/6, 市城管局 3/5, 和平街道 4/6 (P1 P2 P12 P10 of P1–P4 P10 P12).
# Overdue: P3 (severe, 红星社区 / 市住建局), P11 (severe, 城关镇 / 市住建局), P6 (major, 市住建局).
# Rebound: P12 at point 1 (幸福社区农贸市场, 主管 市城管局) 26 days after P2.
# Coverage: 城关镇 and 西城区 0 of 10 with no pace → projected 0% < 70% at 06-30.
# Platform: 和平街道 9 of 10 visits entered (90%).
# 台账: 解放街道 M-01 0 of 10 due 06-15; 和平街道 6 of 10 due 06-30.
# Fixed point 1: F-02 failed on 06-05. Random pool: point 3 passed 05-15, failed 06-20.
CASES = [
    # rule, params, scope, as_of, expected when it fires
    ("below_city_average", {"gap_points": 2.0}, 1, AS_OF, [("西城区", "西城区"), ("城关镇", "城关镇")]),
    ("bottom_of_level", {"n": 1, "min_units": 3}, 1, AS_OF, [("城关镇", "城关镇")]),
    ("overdue_severe", {}, 1, AS_OF, [("红星社区", "市住建局"), ("城关镇", "市住建局")]),
    ("overdue_problems", {"min_count": 1}, 1, AS_OF, [("市住建局", "市住建局")]),
    ("rectification_below", {}, 1, AS_OF,
     [("市住建局", "市住建局"), ("市城管局", "市城管局"), ("和平街道", "和平街道")]),
    ("rebound_point", {"min_rebounds": 1}, 1, AS_OF, [("幸福社区", "市城管局")]),
    ("coverage_behind", {}, 1, AS_OF, [("西城区", "西城区"), ("城关镇", "城关镇")]),
    ("platform_entry_lagging", {"threshold": 0.95, "min_visits": 5}, 1, AS_OF,
     [("和平街道", "和平街道")]),
    ("materials_zero", {"within_days": 14}, 1, AS_OF, [("解放街道", "解放街道")]),
    ("materials_behind", {"threshold": 0.7, "within_days": 30}, 1, AS_OF,
     [("和平街道", "和平街道")]),
    ("fixed_point_static_fail", {}, 1, AS_OF, [("幸福社区", "市城管局")]),
    ("random_pool_risk", {"min_points": 1}, 1, dt.date(2026, 6, 25), [("临江市", "市城管局")]),
]  # fmt: skip

QUIET = [
    ("below_city_average", {}, 1, AS_OF),  # −3 is within the default 5 points
    ("bottom_of_level", {"n": 1, "min_units": 2}, 2, AS_OF),  # 和平 and 解放 tie at 86
    ("overdue_severe", {}, 1, dt.date(2026, 5, 5)),  # nothing past its deadline yet
    ("overdue_problems", {}, 1, AS_OF),  # only P6, fewer than 3
    ("rectification_below", {"threshold": 0.45}, 1, AS_OF),
    ("rebound_point", {"min_rebounds": 1}, 1, dt.date(2026, 5, 27)),  # before P12
    ("coverage_behind", {}, 1, dt.date(2026, 5, 5)),  # 5 days of history: no projection
    ("coverage_behind", {}, 2, AS_OF),  # 东城区 is on pace (92.6% projected)
    ("platform_entry_lagging", {"min_visits": 5}, 1, AS_OF),  # 90% is not below 90%
    ("materials_zero", {"within_days": 3}, 1, AS_OF),  # due in 5 days
    ("materials_behind", {}, 1, AS_OF),  # 60% is not below 50%
    ("fixed_point_static_fail", {}, 3, AS_OF),  # 西城区 has only the random-pool point
    ("random_pool_risk", {"min_points": 1}, 1, AS_OF),  # point 3 passed on 05-15
]


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    covered_elsewhere = {"score_fell_twice"}  # needs the falling variant below
    covered_elsewhere.add("survey_below_city")  # tiny has no survey waves: tests/test_ledgers.py
    assert {c[0] for c in CASES} | covered_elsewhere == set(flags.RULES)
    assert {c[0] for c in QUIET} | covered_elsewhere == set(flags.RULES)


@pytest.mark.parametrize(("rule_id", "params", "scope", "as_of", "expected"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_rule_fires(use_tiny, rule_id, params, scope, as_of, expected) -> None:
    assert sorted(fired(rule_id, scope, as_of, **params)) == sorted(expected)


@pytest.mark.parametrize(("rule_id", "params", "scope", "as_of"), QUIET,
                         ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in QUIET])  # fmt: skip
def test_rule_stays_quiet(use_tiny, rule_id, params, scope, as_of) -> None:
    assert fired(rule_id, scope, as_of, **params) == []


def test_score_fell_twice(use_variant) -> None:
    assert fired("score_fell_twice") == [("城关镇", "城关镇")]
    (flag,) = flags.evaluate(1, AS_OF, only("score_fell_twice"))
    assert flag.value_text == "得分 81 → 80 → 79 分，连续两次下降，共降 2 分"
    assert [e["得分"] for e in flag.evidence] == [81.0, 80.0, 79.0]


def test_score_fell_twice_quiet(use_tiny) -> None:
    assert fired("score_fell_twice") == []  # every unit rose in the tiny fixture
    assert fired("score_fell_twice", as_of=dt.date(2026, 4, 20)) == []  # two tests only


def test_flag_fields_evidence_and_history(use_tiny) -> None:
    p3, p11 = flags.evaluate(1, AS_OF, only("overdue_severe"))
    assert p3.subject == "P3" and p3.severity == "red" and p3.severity_label == "红"
    assert p3.value == 24 and p3.deadline == dt.date(2026, 5, 17)
    assert p3.evidence[0]["问题编号"] == "P3" and p3.evidence[0]["逾期天数"] == 24
    # overdue at 06-10, 06-03, 05-27, 05-20; not yet at 05-13 (deadline 05-17)
    assert (p3.weeks_red, p3.first_seen) == (4, dt.date(2026, 5, 20))
    assert (p11.weeks_red, p11.first_seen) == (2, dt.date(2026, 6, 3))
    assert p3.days_to_test == 21  # 2026-07-01 provincial test
    (rect,) = [f for f in flags.evaluate(1, AS_OF, only("rectification_below")) if f.unit_id == 12]
    assert rect.value_text == "整改率 50%（阈值 85%），已整改 3/6，逾期 3 个"
    assert {e["问题编号"] for e in rect.evidence} == {"P3", "P6", "P11"}


def test_live_evidence_is_read_when_a_page_opens_it(use_tiny, monkeypatch) -> None:
    """A page's live evaluation runs the rule queries only; the evidence queries of the
    rules that fired run together when a flag's evidence is first opened, and give the
    rows an eager evaluation gives."""
    asked: list[str] = []

    def recording(real):
        def run(requests):
            asked.extend(name for name, _params in requests)
            return real(requests)

        return run

    for name in ("query_many", "query_soon"):
        monkeypatch.setattr(flags, name, recording(getattr(flags, name)))
    db.clear_results()  # not an evaluation another test left in the cache
    rules = only("overdue_severe")
    p3, p11 = flags.evaluate(1, AS_OF, rules)
    assert asked == ["flag_rule_overdue_severe"]
    assert isinstance(p3.evidence, flags.LiveEvidence)
    assert len(p3.evidence) == 1 and p3.evidence[0]["问题编号"] == "P3"
    assert asked == ["flag_rule_overdue_severe", "flag_overdue_problems"]
    assert [e["问题编号"] for e in p11.evidence] == ["P11"]  # read once for both
    assert asked == ["flag_rule_overdue_severe", "flag_overdue_problems"]
    eager = [f for f, *_ in flags._ranked(flags._generate(1, AS_OF, rules))]
    assert [type(f.evidence) for f in eager] == [tuple, tuple]
    assert eager == [p3, p11] and p3.evidence == eager[0].evidence


def test_live_requests_are_the_queries_the_evaluation_takes(use_tiny, monkeypatch) -> None:
    """A page starts a replayed date's rule queries early (flags.live_requests): one per
    enabled rule over the date and its history days, the very requests the evaluation then
    takes from the cache instead of running them; none once evaluated, none where the
    snapshot holds the scope's flags."""
    db.clear_results()
    rules, day = only("overdue_severe"), AS_OF - dt.timedelta(days=14)
    requests = flags.live_requests(1, day, rules)
    assert [name for name, _ in requests] == ["flag_rule_overdue_severe"]
    assert requests[0][1]["days"] == tuple(sorted(set(flags.history_days(day)), reverse=True))
    db.query_many(requests)
    ran: list[str] = []
    real = db.run_query
    monkeypatch.setattr(db, "run_query", lambda i, n, p: ran.append(n) or real(i, n, p))
    found = flags.evaluate(1, day, rules)
    assert ran == [] and [f.rule_id for f in found] == ["overdue_severe"] * len(found)
    assert flags.live_requests(1, day, rules) == []
    assert flags.live_requests(1, AS_OF) == []  # the default date: the stored flags


class _Started(list):
    """The names of the queries flags sends to the workers, in order (a list), and the
    futures of those it starts without waiting (`futures`)."""

    futures: list

    def wait(self) -> None:
        """Until every started query has run (a worker may still be on its way to it)."""
        for future in self.futures:
            future.result()


def _record_started(monkeypatch) -> _Started:
    """The queries flags sends to the workers (query_many, query_soon); they still run."""
    asked = _Started()
    asked.futures = []

    def many(reqs, real=flags.query_many):
        asked.extend(n for n, _ in reqs)
        return real(reqs)

    def soon(reqs, real=flags.query_soon):
        asked.extend(n for n, _ in reqs)
        futures = real(reqs)
        asked.futures.extend(futures)
        return futures

    monkeypatch.setattr(flags, "query_many", many)
    monkeypatch.setattr(flags, "query_soon", soon)
    return asked


def test_evidence_wanted_starts_the_evidence_queries_with_the_rules(use_tiny, monkeypatch) -> None:
    """红旗清单 counts every flag's evidence: inside flags.evidence_wanted the evaluation
    starts a fired rule's evidence queries as soon as its rows are in, and opening the
    evidence then runs nothing more and gives the same rows."""
    asked = _record_started(monkeypatch)
    db.clear_results()
    rules = only("overdue_severe")
    with flags.evidence_wanted():
        p3, p11 = flags.evaluate(1, AS_OF, rules)
    assert asked == ["flag_rule_overdue_severe", "flag_overdue_problems"]
    asked.wait()  # the started evidence query has run (else its worker's run counts below)
    ran: list[str] = []
    real_run = db.run_query
    monkeypatch.setattr(db, "run_query", lambda i, n, p: ran.append(n) or real_run(i, n, p))
    assert [e["问题编号"] for e in p3.evidence] == ["P3"]
    assert [e["问题编号"] for e in p11.evidence] == ["P11"]
    assert ran == []  # the started query's result, not a second run
    db.clear_results()
    asked.clear()
    flags.evaluate(1, AS_OF, rules)  # outside the block: the evidence is not started
    assert asked == ["flag_rule_overdue_severe"]


def test_a_frame_without_evidence_counts_reads_no_evidence(use_tiny, monkeypatch) -> None:
    """本单位 lists flags without their evidence: its frame at a live date runs the rule
    queries only, and has every column of flag_frame but the evidence count."""
    asked = _record_started(monkeypatch)
    db.clear_results()
    lean = flags.flag_frame(1, AS_OF, only("overdue_severe"), evidence_count=False)
    assert asked == ["flag_rule_overdue_severe"]
    assert lean["subject"].tolist() == ["P3", "P11"] and "evidence_count" not in lean
    full = flags.flag_frame(1, AS_OF, only("overdue_severe"))
    assert list(full.columns) == [*lean.columns, "evidence_count"]
    assert full["evidence_count"].tolist() == [1, 1]  # P3, P11: one overdue problem each
    assert asked == ["flag_rule_overdue_severe", "flag_overdue_problems"]


def test_priority_formula_and_order(use_tiny) -> None:
    # base × (1 + weight/40) × closeness + magnitude
    assert flags.priority("red", 20, 21, 0.5) == pytest.approx(100 * 1.5 * 2.3 + 0.5)
    assert flags.priority("red", 80, None) == 200  # weight capped at 40, no test → ×1
    assert flags.closeness(0) == 3 and flags.closeness(60) == 1 and flags.closeness(90) == 1
    # red beats orange at the default weights; a closer test weighs more
    assert flags.priority("red", 0, 30) > flags.priority("orange", 20, 30)
    assert flags.priority("orange", 10, 5) > flags.priority("orange", 10, 50)
    result = flags.evaluate(1, AS_OF)
    assert [f.priority for f in result] == sorted((f.priority for f in result), reverse=True)
    order = [(f.rule_id, f.subject or f.unit_name) for f in result]
    # the 24-days-overdue severe problem outranks the 9-day one (magnitude tie-break);
    # red flags come before the orange coverage flags
    assert order.index(("overdue_severe", "P3")) < order.index(("overdue_severe", "P11"))
    assert max(i for i, f in enumerate(result) if f.severity == "red") < min(
        i for i, f in enumerate(result) if f.severity == "orange"
    )
    assert [f.key for f in flags.top_flags(1, AS_OF, n=3)] == [f.key for f in result[:3]]
    frame = flags.flag_frame(1, AS_OF)
    assert len(frame) == len(result) and {"evidence_count", "severity_label"} <= set(frame)


# ── config ─────────────────────────────────────────────────────────────────────────────


def test_shipped_config_is_valid_and_documents_every_rule() -> None:
    rules = flags.load_rules()
    assert [r.rule_id for r in rules.rules] == list(flags.RULES)
    assert rules.rules == flags.default_rules().rules
    text = flags.CONFIG_PATH.read_text(encoding="utf-8")
    assert all(f"[rules.{rid}]" in text for rid in flags.RULES)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[rules.rectification_below]\nthreshhold = 0.8\n", ["rectification_below", "threshhold"]),
        ('[rules.overdue_severe]\nseverity = "purple"\n', ["overdue_severe", "severity"]),
        ("[rules.rectification_below]\nthreshold = 85\n", ["rectification_below", "threshold", "0.85"]),
        ('[rules.bottom_of_level]\nn = "三"\n', ["bottom_of_level", "n", "数字"]),
        ("[rules.bottom_of_level]\nn = 2.5\n", ["bottom_of_level", "整数"]),
        ('[rules.coverage_behind]\nlevels = ["town"]\n', ["coverage_behind", "levels", "town"]),
        ("[rules.overdue_sever]\nenabled = false\n", ["overdue_sever", "未知的规则"]),
        ("[rules.overdue_severe\nenabled = false\n", ["格式错误"]),
    ],
)  # fmt: skip
def test_config_errors_are_chinese_and_name_rule_and_key(tmp_path, toml, words) -> None:
    path = tmp_path / "flags.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(flags.RulesConfigError) as info:
        flags.load_rules(path)
    for word in words:
        assert word in str(info.value)


def test_broken_config_keeps_last_good_rules(tmp_path) -> None:
    path = tmp_path / "flags.toml"
    path.write_text("[rules.materials_zero]\nwithin_days = 3\n", encoding="utf-8")
    rules, problem = flags.rules_or_last_good(path)
    assert problem is None and rules.get("materials_zero").param_dict()["within_days"] == 3
    path.write_text("[rules.materials_zero]\nwithin_dayz = 5\n", encoding="utf-8")
    again, problem = flags.rules_or_last_good(path)
    assert again == rules
    assert "materials_zero" in problem and "within_dayz" in problem and "上一次有效" in problem


def test_disabled_rule_is_not_evaluated(use_tiny) -> None:
    rules = flags.parse_rules({"rules": {"overdue_severe": {"enabled": False}}})
    assert not any(f.rule_id == "overdue_severe" for f in flags.evaluate(1, AS_OF, rules))


# ── page ───────────────────────────────────────────────────────────────────────────────


def table_rows(at) -> list[str]:
    return list(at.dataframe[0].value["规则"])


def test_page_lists_flags_and_filters(use_tiny) -> None:
    at = open_page(PAGE)
    assert not at.exception
    expected = len(flags.evaluate(1, AS_OF))
    assert len(table_rows(at)) == expected == 9
    assert [m.value for m in at.metric][:3] == ["8 条", "1 条", "0 条"]
    assert any("P3" in e.label for e in at.expander)
    at.multiselect(key="flag_severity").set_value(["orange"]).run()
    assert table_rows(at) == ["固定点位静态指标不达标"]
    at.multiselect(key="flag_severity").set_value(["red", "orange"]).run()
    at.selectbox(key="flag_owner").set_value("市城管局").run()
    assert set(at.dataframe[0].value["责任单位"]) == {"市城管局"}
    linked = open_page(PAGE, {"flag_owner": "市城管局"})  # the filter lives in the URL
    assert set(linked.dataframe[0].value["责任单位"]) == {"市城管局"}


def test_page_empty_state(use_tiny) -> None:
    at = open_page(PAGE, {"as_of": "2026-04-01"})
    assert not at.exception
    assert "当前范围内没有红旗" in at.success[0].value
    assert not at.dataframe


def test_page_with_broken_config_shows_error_and_keeps_rules(
    use_tiny, tmp_path, monkeypatch
) -> None:
    path = tmp_path / "flags.toml"
    monkeypatch.setattr(flags, "CONFIG_PATH", path)
    path.write_text("[rules.overdue_severe]\nenabled = false\n", encoding="utf-8")
    at = open_page(PAGE)
    assert "严重问题逾期未整改" not in table_rows(at)
    path.write_text("[rules.overdue_severe]\nenabld = true\n", encoding="utf-8")
    at = open_page(PAGE)
    assert not at.exception
    assert "overdue_severe" in at.error[0].value and "enabld" in at.error[0].value
    assert "严重问题逾期未整改" not in table_rows(at)  # still the last good rules
    assert len(table_rows(at)) == 7


# ── 督办 export ────────────────────────────────────────────────────────────────────────


def test_excel_export_is_a_neutralised_duban_list(use_tiny) -> None:
    real = flags.evaluate(1, AS_OF)
    evil = dataclasses.replace(
        real[0], owner_name='=HYPERLINK("http://x")', value_text="+1+1", unit_name="@SUM(A1)"
    )
    data = duban_workbook([evil, *real[1:]], "临江市", AS_OF)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A1"].value == "红旗督办清单（临江市）"
    assert sheet["A2"].value == "数据截至：2026-06-10"
    headers = [c.value for c in sheet[5]]
    assert headers[:9] == ["序号", "责任单位", "属地/单位", "督办事项", "级别", "情况说明",
                           "整改时限", "剩余天数", "状态"]  # fmt: skip
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=6)]
    assert len(body) == len(real)
    texts = [v for row in body for v in row if isinstance(v, str)]
    assert '\'=HYPERLINK("http://x")' in texts and "'+1+1" in texts and "'@SUM(A1)" in texts
    assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)
    p11 = next(row for row in body if row[5].startswith("严重问题 P11"))
    assert p11[7] == -9 and isinstance(p11[7], int | float)  # days left stay numbers
    assert p11[8] == "已逾期" and p11[6].date() == dt.date(2026, 6, 1)


# ── demo city: the planted stories show up with the right owners ───────────────────────


@pytest.fixture(scope="module")
def demo_db(city_db: Path) -> Path:
    """The generated city at scale 0.1 on 2026-11-24 (tests/conftest.py; shared, read only)."""
    return city_db


def test_demo_stories_are_flagged(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))
    stories = json.loads(db.meta()["demo_stories"])
    as_of = dt.date.fromisoformat(stories["reference_date"])
    result = flags.evaluate(stories["city_id"], as_of)

    def owners(rule_id: str, unit_id: int) -> set[int | None]:
        return {f.owner_id for f in result if f.rule_id == rule_id and f.unit_id == unit_id}

    street = stories["falling_street_id"]
    assert owners("score_fell_twice", street) == {street}
    severe = [f for f in result if f.rule_id == "overdue_severe"]
    dept = stories["overdue_department_id"]
    assert sum(f.owner_id == dept for f in severe) >= 10
    assert all(f.owner_name == stories["overdue_department"] for f in severe if f.owner_id == dept)
    town = stories["behind_pace_town_id"]
    assert owners("coverage_behind", town) == {town}
    zero = stories["zero_materials_unit_id"]
    assert owners("materials_zero", zero) == {zero}
    rebound = {int(f.subject): f for f in result if f.rule_id == "rebound_point"}
    assert set(stories["rebound_point_ids"]) <= set(rebound)
    points = db.query("flag_rebounds", scope_ids=(1,), as_of=as_of, lookback_days=365)
    dept_of = dict(zip(points["point_id"], points["owner_id"], strict=True))
    assert all(rebound[p].owner_id == dept_of[p] for p in stories["rebound_point_ids"])
    db._cached.clear()


def test_top_flags_equal_the_head_of_the_full_evaluation(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """top_flags works out the weekly history for its n flags only; the result is the
    same as the first n of evaluate(), history fields included."""
    monkeypatch.setenv(db.ENV_VAR, str(demo_db))
    stories = json.loads(db.meta()["demo_stories"])
    as_of = dt.date.fromisoformat(stories["reference_date"])
    for scope in (stories["city_id"], stories["falling_street_id"]):
        full = flags.evaluate(scope, as_of)
        for n in (1, 8, 30):
            assert flags.top_flags(scope, as_of, n=n) == full[:n]
        assert any(f.weeks_red > 1 for f in full[:30])
    db._cached.clear()


@pytest.mark.usefixtures("use_tiny")
def test_stored_headlines_equal_the_merge_of_the_whole_evaluation(monkeypatch) -> None:
    """A cold meeting board reads only its headline rows (queries/flag_headlines.sql); they
    are the whole stored evaluation merged by rule and owner, as headline_flags merges it."""
    asked: list[str] = []
    real = flags.query_rows
    monkeypatch.setattr(
        flags, "query_rows", lambda name, **p: asked.append(name) or real(name, **p)
    )
    merged_groups = 0
    for scope in sorted(flags.precomputed_scopes()):
        for n in (0, 1, 3, 50):
            db.clear_results()
            asked.clear()
            heads = flags.headline_flags(scope, AS_OF, n=n)
            assert asked == ["flag_headlines"], (scope, n)
            groups: dict[tuple, list] = {}
            for f in flags.evaluate(scope, AS_OF):
                groups.setdefault((f.rule_id, f.owner_id), []).append(f)
            expected = [
                dataclasses.replace(m[0], unit_name=f"{m[0].unit_name}等 {len(m)} 处")
                if len(m) > 1
                else m[0]
                for m in list(groups.values())[:n]
            ]
            assert heads == expected, (scope, n)
            merged_groups += sum(len(m) > 1 for m in list(groups.values())[:n])
    assert merged_groups  # the fixture has an owner with several flags of one rule
    db.clear_results()


@pytest.mark.usefixtures("use_tiny")
def test_headline_flags_merge_one_owners_cluster_into_one_line() -> None:
    full = flags.evaluate(1, AS_OF)
    heads = flags.headline_flags(1, AS_OF, n=50)
    groups: dict[tuple, list] = {}
    for f in full:
        groups.setdefault((f.rule_id, f.owner_id), []).append(f)
    assert [(h.rule_id, h.owner_id) for h in heads] == list(groups)[:50]
    for head in heads:
        members = groups[(head.rule_id, head.owner_id)]
        assert head.priority == members[0].priority
        if len(members) > 1:
            assert head.unit_name == f"{members[0].unit_name}等 {len(members)} 处"
        else:
            assert head.unit_name == members[0].unit_name
