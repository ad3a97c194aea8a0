"""The one status language (config/status.toml, dashboard/status.py): every place that
judges a metric or draws one of its lines reads the same rule."""

from __future__ import annotations

import tomllib

import pytest

from dashboard import bulletin, flags, meeting, rankings, status, trends
from dashboard.db import ROOT


def test_the_shipped_rules_hold_the_lines_of_design() -> None:
    rect = status.rule("rectification_rate")
    assert (rect.target, rect.floor, rect.basis) == (0.90, pytest.approx(0.85), "current")
    cov = status.rule("coverage_rate")
    assert (cov.basis, cov.target, cov.target_from) == ("projection", None, "milestone")
    assert status.rule("rank").higher_is_better is False
    assert status.rule("overdue").bars() == (0.0, 2.0)


@pytest.mark.parametrize(
    ("key", "value", "target", "expected"),
    [
        ("rectification_rate", 0.9, None, "ok"),
        ("rectification_rate", 0.8996, None, "ok"),  # reads 90.0%
        ("rectification_rate", 0.8994, None, "warn"),  # reads 89.9%
        ("rectification_rate", 0.8494, None, "bad"),  # reads 84.9%: black list
        ("overdue", 0, None, "ok"),
        ("overdue", 2, None, "warn"),
        ("overdue", 3, None, "bad"),
        ("completion_rate", 0.95, None, "ok"),
        ("completion_rate", 0.849, None, "bad"),
        ("coverage_rate", 0.70, 0.70, "ok"),
        ("coverage_rate", 0.80, None, "none"),  # no milestone → nothing to judge by
        ("score", 88.0, 90.0, "warn"),
        ("gap_to_city", -2.0, None, "warn"),
        ("gap_to_city", -2.01, None, "bad"),
        ("rank", 8, 5, "warn"),
    ],
)
def test_judge(key: str, value: float, target: float | None, expected: str) -> None:
    assert status.judge(key, value, target) == expected


def test_judge_all_gives_a_column_the_verdicts_of_judge() -> None:
    rect = status.rule("rectification_rate")
    assert rect.judge_all([0.9, 0.8994, 0.8494, None, float("nan")]) == [
        "ok", "warn", "bad", "none", "none",
    ]  # fmt: skip
    score = status.rule("score")  # a target per row (each unit's own)
    assert score.judge_all([90.0, 88.0, 87.99, 95.0], [90.0, 90.0, 90.0, None]) == [
        "ok", "warn", "bad", "none",
    ]  # fmt: skip


def test_judge_all_equals_judge_row_by_row_near_every_bar() -> None:
    # values on, just inside and just outside each rule's bars at its shown precision
    for rule in status.rules().values():
        targets = [rule.target] if rule.target is not None else [0.9, 85.0, 3.0, None]
        for target in targets:
            t = 0.0 if target is None else target
            bars = [t, t - rule.warn_margin, t + rule.warn_margin]
            step = 10.0**-rule.digits
            values = [None, float("nan"), 0.0, 1.0, -5.0, 120.0]
            for bar in bars:
                values += [bar + k * step / 4 for k in range(-9, 10)]
            rows = [target] * len(values) if rule.target is None else None
            expected = [rule.judge(v, None if rows is None else rows[i])
                        for i, v in enumerate(values)]  # fmt: skip
            assert rule.judge_all(values, rows) == expected, (rule.key, target)


def test_every_consumer_reads_the_one_rule() -> None:
    # rankings: targets and precision
    for m in rankings.METRICS:
        assert m.rule is status.rule(m.key)
        assert m.higher_is_better == m.rule.higher_is_better
    assert rankings.metric("completion_rate").target == status.rule("completion_rate").target
    # the meeting view's decisive numbers
    for key in meeting.LABELS:
        assert meeting.rule(key) is status.rule(meeting.STATUS_KEY[key])
    # the trend chart's red and black lines, the flags' thresholds, the bulletin's bounds
    assert status.rule("rectification_rate").target == trends.RED_LIST_RATE
    assert status.rule("rectification_rate").floor == trends.BLACK_LIST_RATE
    defaults = dict(flags.default_rules().get("rectification_below").params)
    assert defaults["threshold"] == status.rule("rectification_rate").floor
    defaults = dict(flags.default_rules().get("platform_entry_lagging").params)
    assert defaults["threshold"] == status.rule("entry_rate").target
    config = bulletin.load_config()
    assert [j.threshold for j in config.praise] == [status.rule("rectification_rate").target]
    assert config.criticism[0].threshold == status.rule("rectification_rate").floor


def test_status_lines_are_not_repeated_in_the_other_config_files() -> None:
    rules = tomllib.loads((ROOT / "config" / "flags.toml").read_text(encoding="utf-8"))
    assert "threshold" not in rules["rules"]["rectification_below"]
    assert "threshold" not in rules["rules"]["platform_entry_lagging"]
    text = (ROOT / "config" / "bulletin.toml").read_text(encoding="utf-8")
    assert "0.85\n" not in text and "0.90\n" not in text


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"metrics": {}}, ["缺少指标", "score"]),
        ({"metrics": {"nope": {}}}, ["缺少指标"]),
    ],
)
def test_a_broken_file_is_reported_in_chinese(doc: dict, words: list[str]) -> None:
    with pytest.raises(status.StatusConfigError) as err:
        status.parse(doc)
    assert all(w in str(err.value) for w in words)


def test_a_typo_names_the_metric_and_key() -> None:
    data = tomllib.loads((ROOT / "config" / "status.toml").read_text(encoding="utf-8"))
    data["metrics"]["overdue"]["warn_marign"] = 1
    with pytest.raises(status.StatusConfigError, match=r"\[metrics.overdue\].*warn_marign"):
        status.parse(data)
    data["metrics"]["overdue"].pop("warn_marign")
    data["metrics"]["coverage_rate"]["target"] = "milestones"
    with pytest.raises(status.StatusConfigError, match="coverage_rate"):
        status.parse(data)
