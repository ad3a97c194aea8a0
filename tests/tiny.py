"""The tiny hand-made dataset: few enough rows that every metric can be worked out on paper.

The expected numbers in tests/test_metrics.py are derived in the comments below, at
AS_OF = 2026-06-10 (a Wednesday) unless stated otherwise.

Units
  1 临江市 (city)
  ├─ 2 东城区 (district)
  │   ├─ 4 和平街道 ── 7 幸福社区, 8 红星社区
  │   └─ 5 解放街道 ── 9 光明社区
  ├─ 3 西城区 (district)
  │   └─ 6 城关镇 ──── 10 桃源村
  └─ 11 生活环境组 (group) ── 12 市住建局, 13 市城管局 (departments)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from dashboard import store

AS_OF = dt.date(2026, 6, 10)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(f"2026-{text}" if len(text) == 5 else text)


UNITS = [
    # unit_id, name, kind, parent_id, sort_order, target_score
    (1, "临江市", "city", None, 1, 90.0),
    (2, "东城区", "district", 1, 1, 88.0),
    (3, "西城区", "district", 1, 2, 88.0),
    (4, "和平街道", "street", 2, 1, 85.0),
    (5, "解放街道", "street", 2, 2, 85.0),
    (6, "城关镇", "street", 3, 1, 85.0),
    (7, "幸福社区", "community", 4, 1, None),
    (8, "红星社区", "community", 4, 2, None),
    (9, "光明社区", "community", 5, 1, None),
    (10, "桃源村", "community", 6, 1, None),
    (11, "生活环境组", "group", 1, 3, None),
    (12, "市住建局", "department", 11, 1, None),
    (13, "市城管局", "department", 11, 2, None),
]

INDICATORS = [
    # id, code, name, category, parent_id, weight, target, lead_unit_id, is_static
    (1, "F", "实地考察", "field", None, 40, None, None, None),
    (2, "M", "网上申报", "materials", None, 40, None, None, None),
    (3, "Q", "问卷调查", "questionnaire", None, 20, None, None, None),
    (4, "P", "电话调查", "phone", None, 0, None, None, None),
    (11, "F-01", "公益广告设置", "field", 1, 20, 90, 12, True),
    (12, "F-02", "公共厕所设施", "field", 1, 10, 90, 13, True),
    (13, "F-03", "乱扔垃圾清零", "field", 1, 10, 90, 13, False),
    (21, "M-01", "组织领导台账", "materials", 2, 20, 90, 12, None),
    (22, "M-02", "志愿服务台账", "materials", 2, 20, 90, 12, None),
    (31, "Q-01", "市民对创建工作的知晓率", "questionnaire", 3, 20, 90, 12, None),
    (41, "P-01", "看病就医", "phone", 4, 0, 85, 12, None),
]

# fmt: off
ASSESSMENTS = [
    # id, name, level, kind, start, end, city_rank, cities_ranked, target_rank
    (1, "2025年下半年省级测评", "provincial", "overall", d("2025-11-10"), d("2025-11-12"), 8, 16, 5),
    (2, "2026年4月市级模拟测评", "city", "overall", d("04-15"), d("04-15"), None, None, None),
    (3, "2026年5月市级模拟测评", "city", "overall", d("05-15"), d("05-15"), None, None, None),
    (4, "2026年上半年省级测评", "provincial", "overall", d("07-01"), d("07-03"), None, None, 5),
]
# fmt: on

# Overall scores (indicator NULL). In assessment 3, 和平街道 and 解放街道 tie at 86;
# 红星社区 has no score (无数据, never ranked as zero).
OVERALL = {
    1: {1: 78.0, 2: 79.0, 3: 77.0, 4: 80.0, 5: 78.0, 6: 77.0},
    2: {1: 80.0, 2: 82.0, 3: 78.0, 4: 84.0, 5: 80.0, 6: 78.0},
    3: {1: 82.0, 2: 85.0, 3: 79.0, 4: 86.0, 5: 86.0, 6: 79.0, 7: 88.0, 9: 70.0, 10: 75.0},
}
# Item scores of the city in assessment 3: 16 + 8 + 9 + 20 + 15 + 14 = 82 = its overall.
CITY_ITEMS_A3 = {11: (16, 20), 12: (8, 10), 13: (9, 10), 21: (20, 20), 22: (15, 20), 31: (14, 20)}

# Problems. found / deadline / rectified / closed; P9 is found after AS_OF.
#  id    found  unit dept sev      deadline rectified closed  point dyn rebound_of
PROBLEMS = [
    ("P1", "05-01", 7, 12, "normal", "05-08", "05-06", "05-09", 1, False, None),
    ("P2", "05-02", 7, 13, "normal", "05-09", "05-12", None, 1, True, None),
    ("P3", "05-10", 8, 12, "severe", "05-17", None, None, None, False, None),
    ("P4", "05-20", 8, 13, "normal", "06-20", None, None, None, False, None),
    ("P5", "05-03", 9, 12, "normal", "05-10", "05-10", None, 2, False, None),
    ("P6", "06-01", 9, 12, "major", "06-08", "06-12", None, 2, True, None),
    ("P7", "05-15", 10, 13, "normal", "05-22", "05-21", "05-25", 3, False, None),
    ("P8", "06-05", 10, 13, "normal", "06-12", None, None, None, False, None),
    ("P9", "06-15", 7, 13, "normal", "06-22", None, None, None, False, None),
    ("P10", "04-01", 4, 12, "normal", "04-15", "04-10", "04-12", None, False, None),
    ("P11", "05-25", 6, 12, "severe", "06-01", None, None, None, False, None),
    ("P12", "05-28", 7, 13, "normal", "06-04", "06-03", None, 1, True, "P2"),
]
# At AS_OF (P9 excluded, 11 found):
#   rectified by AS_OF: P1 P2 P5 P7 P10 P12 = 6 → 整改率 6/11 (P6 rectified 06-12, later)
#   due (deadline ≤ AS_OF): P1 P2 P3 P5 P6 P7 P10 P11 P12 = 9; on time: P1 P5 P7 P10 P12 = 5
#   overdue: P3 (24 days, severe), P6 (2 days), P11 (9 days, severe) = 3, 2 severe
#   closed: P1 P7 P10 = 3; rebound: P12 = 1
#   东城区 8 found / 5 rectified; 西城区 3 / 1 → city 11 / 6 (not the mean of 62.5% and 33.3%)
#   市住建局 6 / 3; 市城管局 5 / 3
# At 2026-05-20: found 7 (P1 P2 P3 P4 P5 P7 P10), rectified 4 (P1 P2 P5 P10), overdue 1 (P3)

POINTS = [
    # point_id, name, type, unit_id, dept_id, is_fixed
    (1, "幸福社区农贸市场", "农贸市场", 7, 13, True),
    (2, "光明社区背街小巷", "背街小巷", 9, 12, True),
    (3, "桃源村公共厕所", "公共厕所", 10, 13, False),
]
POINT_CHECKS = [
    # check_id, point_id, checked_on, indicator_id, is_static, passed
    (1, 1, "05-10", 11, True, False),
    (2, 1, "06-05", 11, True, True),
    (3, 1, "06-05", 12, True, False),
    (4, 2, "06-01", 11, True, True),
    (5, 2, "06-01", 12, True, True),
    (6, 3, "05-15", 11, True, True),
    (7, 3, "06-20", 11, True, False),
    (8, 1, "06-05", 13, False, False),
]
# 点位达标率 at AS_OF: latest (point, static indicator): (1,11) pass, (1,12) fail, (2,11) pass,
#   (2,12) pass, (3,11) pass (the 06-20 failure is later) → 4/5; 东城区 (points 1, 2) → 3/4.
# 动态问题清零: point 2 has P6 (dynamic) open at AS_OF → 2 of 3 points cleared.

CAMPAIGN = (1, "2026年入户大走访", d("05-01"), d("07-31"))
MILESTONES = [(1, d("06-30"), 0.7), (1, d("07-31"), 1.0)]
VISIT_TARGETS = [
    (1, 7, "household", 10),
    (1, 8, "household", 10),
    (1, 9, "household", 5),
    (1, 10, "household", 10),
    (1, 7, "business", 4),
]
#  unit kind subject visited entered
VISITS = [
    (7, "household", "H1", "05-28", True),
    (7, "household", "H2", "05-29", False),
    (7, "household", "H3", "05-30", True),
    (7, "household", "H1", "06-01", True),
    (7, "household", "H4", "06-02", True),
    (7, "household", "H5", "06-05", True),
    (7, "household", "H6", "06-09", True),
    (7, "household", "H7", "06-11", True),
    (7, "business", "B1", "06-03", True),
    (8, "household", "H1", "06-01", True),
    (8, "household", "H2", "06-02", True),
    (9, "household", "H1", "05-20", True),
    (9, "household", "H2", "05-20", True),
    (9, "household", "H3", "05-20", True),
    (9, "household", "H4", "05-20", True),
    (9, "household", "H5", "05-20", True),
]
# Coverage at AS_OF: household 6 + 2 + 5 + 0 = 13 of 35; business 1 of 4; total 14 of 39.
#   东城区 14 of 29 (household 13 of 25); 西城区 0 of 10.
# Pace: new subjects 2026-05-28..06-10 (14 days) = 6 + 1 + 2 = 9 → 9/14 a day.
#   projected at 06-30 (20 days): 14 + 9/14·20 = 26.857 of 39 = 68.9% < 70% → behind
#   daily needed for 70%: (27.3 − 14) / 20 = 0.665; for 100% by 07-31 (51 days): 25/51
# 平台录入率: 15 visits on or before AS_OF, 14 entered.

MATERIALS = [
    # unit, indicator, required, submitted, approved, deadline, updated_on
    (4, 21, 10, 4, None, "06-30", "06-01"),
    (4, 21, 10, 6, None, "06-30", "06-08"),
    (5, 21, 10, 0, None, "06-15", "06-08"),
    (6, 21, 20, 20, 15, "06-30", "06-08"),
    (6, 21, 20, 20, 20, "06-30", "06-15"),
    (12, 22, 5, 5, None, "06-30", "06-01"),
]
# 台账完成率 at AS_OF: 6 + 0 + 15 + 5 = 26 of 45; 东城区 6/20; 西城区 15/20.
# At 2026-06-05: 4 of 10 (unit 4) + 5 of 5 (unit 12) = 9 of 15.


def fill_tiny(con: duckdb.DuckDBPyConnection) -> None:
    con.executemany("insert into units values (?, ?, ?, ?, ?, ?)", UNITS)
    con.executemany("insert into indicators values (?, ?, ?, ?, ?, ?, ?, ?, ?)", INDICATORS)
    con.executemany("insert into assessments values (?, ?, ?, ?, ?, ?, ?, ?, ?)", ASSESSMENTS)
    for assessment_id, values in OVERALL.items():
        for unit_id, value in values.items():
            con.execute(
                "insert into scores values (?, ?, NULL, ?, 100, 100)",
                [assessment_id, unit_id, value],
            )
    for indicator_id, (value, max_value) in CITY_ITEMS_A3.items():
        con.execute(
            "insert into scores values (3, 1, ?, ?, ?, 100)", [indicator_id, value, max_value]
        )
    con.executemany("insert into points values (?, ?, ?, ?, ?, ?)", POINTS)
    for check_id, point_id, on, ind, static, passed in POINT_CHECKS:
        con.execute(
            "insert into point_checks values (?, ?, ?, ?, ?, ?, NULL)",
            [check_id, point_id, d(on), ind, static, passed],
        )
    for pid, found, unit, dept, sev, deadline, rect, closed, point, dyn, rebound in PROBLEMS:
        status = "closed" if closed else ("rectified" if rect else "open")
        con.execute(
            "insert into problems values (?, ?, 'undercover', ?, ?, ?, 11, '乱堆乱放', ?, ?, ?,"
            " ?, ?, ?, ?, ?)",
            [
                pid, d(found), point, unit, dept, f"测试问题{pid}", sev, dyn, d(deadline),
                status, d(rect) if rect else None, d(closed) if closed else None, rebound,
            ],
        )  # fmt: skip
    con.execute("insert into campaigns values (?, ?, ?, ?)", CAMPAIGN)
    con.executemany("insert into campaign_milestones values (?, ?, ?)", MILESTONES)
    con.executemany("insert into visit_targets values (?, ?, ?, ?)", VISIT_TARGETS)
    for unit, kind, subject, on, entered in VISITS:
        con.execute(
            "insert into visits values (1, ?, ?, ?, ?, ?, ?, 0)",
            [unit, kind, subject, d(on), unit, entered],
        )
    for unit, ind, req, sub, appr, deadline, updated in MATERIALS:
        con.execute(
            "insert into materials values (?, ?, ?, ?, ?, ?, ?)",
            [unit, ind, req, sub, appr, d(deadline), d(updated)],
        )
    con.execute(
        "insert into imports values (1, 'all', 'tiny', 0, 0, 0, ?, 'test', 'tiny', 'ok')",
        [dt.datetime(2026, 6, 10, 8, 0)],
    )


def build_tiny(path: Path) -> Path:
    return store.write_snapshot(
        path, fill_tiny, meta={"source": "test", "reference_date": AS_OF.isoformat()}
    )
