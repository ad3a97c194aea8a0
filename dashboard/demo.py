"""Deterministic demo-city generator: fills a snapshot with a believable 创文 campaign and planted stories."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from dashboard import store

DEFAULT_SEED = 20261124
DEFAULT_DB = Path("data/demo.duckdb")
NA = -999_999  # sentinel for a missing day offset in bulk frames

Progress = Callable[[float, str], None]

# --------------------------------------------------------------------------- names

CITY_NAMES = [
    "临江市",
    "云州市",
    "青州市",
    "安平市",
    "宁远市",
    "长林市",
    "白水市",
    "松阳市",
    "梅岭市",
    "嘉川市",
    "清河市",
    "丰谷市",
    "石城市",
    "永安市",
    "新宁市",
    "兰溪市",
]
PROVINCE_NAME = "江南省"

# (district name, is_county, street/town names)
DISTRICTS = [
    (
        "东城区",
        False,
        [
            "和平街道",
            "解放街道",
            "人民路街道",
            "东华街道",
            "朝阳街道",
            "建设街道",
            "东关街道",
            "龙潭街道",
        ],
    ),
    (
        "西城区",
        False,
        [
            "西湖街道",
            "新华街道",
            "文昌街道",
            "西关街道",
            "五一街道",
            "育才街道",
            "白云街道",
            "金沙街道",
        ],
    ),
    (
        "南湖区",
        False,
        [
            "南湖街道",
            "滨江街道",
            "明珠街道",
            "湖滨街道",
            "南苑街道",
            "长虹街道",
            "花园街道",
            "锦江街道",
        ],
    ),
    (
        "北山区",
        False,
        [
            "北山街道",
            "望城街道",
            "青山街道",
            "北苑街道",
            "翠屏街道",
            "宏图街道",
            "新城街道",
            "书院街道",
        ],
    ),
    (
        "青溪县",
        True,
        [
            "城关镇",
            "桃源镇",
            "石桥镇",
            "柳林镇",
            "双河镇",
            "清水镇",
            "白马镇",
            "龙泉镇",
        ],
    ),
]

COMMUNITY_STEMS = [
    "幸福",
    "和谐",
    "阳光",
    "花园",
    "新华",
    "建设",
    "光明",
    "友谊",
    "春晖",
    "锦绣",
    "翠苑",
    "丽景",
    "金桥",
    "滨江",
    "文苑",
    "康乐",
    "安居",
    "惠民",
    "东风",
    "怡园",
    "紫荆",
    "馨园",
    "桂花",
    "明德",
    "同心",
    "振兴",
    "向阳",
    "富民",
    "景福",
    "百合",
]
VILLAGE_STEMS = [
    "红星",
    "前进",
    "东风",
    "胜利",
    "桃花",
    "李家",
    "王庄",
    "石桥",
    "柳树",
    "大湾",
    "新村",
    "高坪",
    "杨柳",
    "黄泥",
    "张家",
    "河口",
    "上坝",
    "下坝",
    "竹园",
    "枫林",
    "茶园",
    "马家",
    "长岭",
    "青龙",
    "白鹤",
    "三合",
    "五星",
    "龙井",
    "松林",
    "金鸡",
]

GROUPS = ["人文环境和未成年组", "社会环境组", "生活环境组"]
DEPARTMENTS = [
    # 人文环境和未成年组
    ("市委宣传部", 0),
    ("市文明办", 0),
    ("市教育局", 0),
    ("市文旅局", 0),
    ("团市委", 0),
    ("市妇联", 0),
    ("市关工委", 0),
    ("市科协", 0),
    ("市文联", 0),
    ("市体育局", 0),
    ("市委网信办", 0),
    ("市总工会", 0),
    ("市残联", 0),
    # 社会环境组
    ("市委组织部", 1),
    ("市委政法委", 1),
    ("市公安局", 1),
    ("市司法局", 1),
    ("市民政局", 1),
    ("市市场监管局", 1),
    ("市商务局", 1),
    ("市人社局", 1),
    ("市卫健委", 1),
    ("市信访局", 1),
    ("市政务服务中心", 1),
    ("市税务局", 1),
    ("市发改委", 1),
    ("市应急管理局", 1),
    # 生活环境组
    ("市住建局", 2),
    ("市城管局", 2),
    ("市交通运输局", 2),
    ("市生态环境局", 2),
    ("市自然资源局", 2),
    ("市水利局", 2),
    ("市农业农村局", 2),
    ("市园林局", 2),
    ("市交警支队", 2),
    ("市供电公司", 2),
    ("市邮政管理局", 2),
    ("市机关事务局", 2),
    ("市城投集团", 2),
]

# field items: (name, is_static, weight, lead department, problem category, description)
FIELD_ITEMS = [
    (
        "公益广告设置",
        True,
        4,
        "市委宣传部",
        "公益广告缺失",
        "公益广告缺失或破损，未按标准设置",
    ),
    ("公共厕所设施", True, 3, "市城管局", "厕所设施破损", "公厕设施破损、保洁不到位"),
    ("无障碍设施", True, 3, "市住建局", "无障碍设施缺失", "盲道被占用或无障碍坡道缺失"),
    (
        "道路交通标志标线",
        True,
        3,
        "市交警支队",
        "标志标线不清",
        "交通标志缺失、标线模糊",
    ),
    ("垃圾分类设施", True, 3, "市城管局", "分类设施不全", "分类垃圾桶缺失或标识不清"),
    ("公共文化设施", True, 3, "市文旅局", "宣传栏破损", "宣传栏、文化墙破损未修复"),
    ("乱扔垃圾", False, 4, "市城管局", "乱扔垃圾", "路面有垃圾、烟头未及时清理"),
    ("乱停乱放", False, 4, "市交警支队", "乱停乱放", "机动车、非机动车乱停乱放"),
    ("占道经营", False, 4, "市城管局", "占道经营", "店外经营、流动摊贩占道"),
    ("乱贴乱画", False, 3, "市城管局", "乱贴乱画", "墙面、电杆张贴小广告"),
    ("乱堆乱放", False, 3, "市住建局", "乱堆乱放", "杂物、建筑垃圾乱堆乱放"),
    (
        "不文明行为",
        False,
        3,
        "市文明办",
        "不文明行为",
        "存在闯红灯、随地吐痰等不文明行为",
    ),
]
MATERIAL_ITEMS = [
    ("组织领导与工作机制", "市文明办"),
    ("未成年人思想道德建设", "市教育局"),
    ("志愿服务制度化", "团市委"),
    ("诚信建设", "市发改委"),
    ("新时代文明实践中心建设", "市委宣传部"),
    ("公共文化服务", "市文旅局"),
    ("法治建设", "市司法局"),
    ("生态环境保护", "市生态环境局"),
    ("社区治理与服务", "市民政局"),
    ("市场秩序与诚信经营", "市市场监管局"),
]
QUESTION_ITEMS = [
    ("市民对创建工作的知晓率", 2.0, "市文明办"),
    ("市民对创建工作的支持率", 2.0, "市文明办"),
    ("市民对创建工作的满意率", 2.0, "市文明办"),
    ("市民对创建工作的参与率", 2.0, "市文明办"),
    ("社会主义核心价值观知晓度", 2.0, "市委宣传部"),
    ("公民道德规范践行", 1.5, "市委宣传部"),
    ("志愿服务参与度", 1.5, "团市委"),
    ("社会诚信满意度", 1.5, "市发改委"),
    ("公共场所文明程度", 1.5, "市城管局"),
    ("家庭文明建设", 1.0, "市妇联"),
    ("未成年人思想道德建设满意度", 1.0, "市教育局"),
    ("公共服务满意度", 1.0, "市政务服务中心"),
    ("社会治安满意度", 1.0, "市公安局"),
]
PHONE_ITEMS = [
    ("群众文化生活", "市文旅局"),
    ("中小学教育", "市教育局"),
    ("社会治安", "市公安局"),
    ("居住环境", "市住建局"),
    ("干部表现", "市委组织部"),
    ("看病就医", "市卫健委"),
]

# point types: (type, 主管 department, count per city, prone to failing)
POINT_TYPES = [
    ("农贸市场", "市市场监管局", 80, True),
    ("背街小巷", "市城管局", 120, True),
    ("居住小区", "市住建局", 140, False),
    ("学校周边", "市教育局", 60, False),
    ("医院", "市卫健委", 30, False),
    ("公共厕所", "市城管局", 70, False),
    ("公园广场", "市园林局", 50, False),
    ("城中村", "市住建局", 50, True),
    ("公交线路沿线", "市交通运输局", 60, False),
    ("城郊结合部", "市农业农村局", 40, True),
    ("车站广场", "市交通运输局", 20, False),
    ("商业大街", "市商务局", 50, False),
    ("景区景点", "市文旅局", 20, False),
    ("政务服务大厅", "市政务服务中心", 10, False),
]

SUBJECT_KINDS = ["household", "new_resident", "business", "key_project"]
SUBJECT_PREFIX = ["H", "N", "B", "K"]
SOURCES = ["undercover", "inspection", "mock_test", "exposure", "hotline"]
SEVERITIES = ["normal", "major", "severe"]

# planted stories (indices into the lists above)
STORY_DISTRICT = 2  # 南湖区: rose in each of the last 4 overall tests
STORY_FALL_STREET = (1, 3)  # 西城区 / 西关街道: fell twice, near the bottom
STORY_OVERDUE_DEPT = "市交通运输局"  # cluster of overdue severe problems
STORY_TOWN = (4, 1)  # 青溪县 / 桃源镇: behind pace, 2,600+ market entities
STORY_ZERO_MATERIALS = "市民政局"  # 台账 at 0 submitted
N_REBOUND_POINTS = 5

HISTORY_DAYS = 730
CAMPAIGN_DAYS = 80


def _days(a: dt.date, b: dt.date) -> int:
    return (a - b).days


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, select: str) -> None:
    """Bulk insert: `select` is the column list/expressions over tmp_df, in table order."""
    con.register("tmp_df", df)
    try:
        con.execute(f"insert into {table} {select} from tmp_df")  # noqa: S608 - sql: identifiers from allow-list
    finally:
        con.unregister("tmp_df")


def _day_expr(col: str, ref: dt.date) -> str:
    return f"(date '{ref.isoformat()}' + nullif({col}, {NA})::integer)"


# --------------------------------------------------------------------------- shared parts


def _indicators(lead: dict[str, int], rng: np.random.Generator) -> pd.DataFrame:
    rows: list[tuple] = []
    roots = [("F", "field", "实地考察", 40.0), ("M", "materials", "网上申报", 40.0)]
    roots += [
        ("Q", "questionnaire", "问卷调查", 20.0),
        ("P", "phone", "群众满意度电话调查", 0.0),
    ]
    for i, (prefix, cat, name, weight) in enumerate(roots, start=1):
        rows.append((i, prefix, name, cat, None, weight, None, lead["市文明办"], None))
    nid = len(roots) + 1
    items: list[tuple] = []
    items += [("F", "field", 1, n, w, ld, st) for n, st, w, ld, _, _ in FIELD_ITEMS]
    items += [("M", "materials", 2, n, 4.0, ld, None) for n, ld in MATERIAL_ITEMS]
    items += [("Q", "questionnaire", 3, n, w, ld, None) for n, w, ld in QUESTION_ITEMS]
    items += [("P", "phone", 4, n, 0.0, ld, None) for n, ld in PHONE_ITEMS]
    targets = np.round(rng.uniform(85, 92, len(items)) * 2) / 2
    counters: dict[str, int] = {}
    for (prefix, cat, parent, name, weight, ld, static), target in zip(items, targets, strict=True):
        counters[prefix] = counters.get(prefix, 0) + 1
        code = f"{prefix}-{counters[prefix]:02d}"
        rows.append(
            (
                nid,
                code,
                name,
                cat,
                parent,
                float(weight),
                float(target),
                lead[ld],
                static,
            )
        )
        nid += 1
    cols = ["indicator_id", "code", "name", "category", "parent_id", "weight", "target"]
    return pd.DataFrame(rows, columns=[*cols, "lead_unit_id", "is_static"])


def _assessments(ref: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    first = ref - dt.timedelta(days=HISTORY_DAYS)
    rows: list[dict] = []
    nxt = ref + dt.timedelta(days=36)
    ranks = [11, 9, 8, 6]
    for k in range(4, 0, -1):
        start = nxt - dt.timedelta(days=182 * k)
        length = int(rng.integers(3, 6))
        rows.append(
            {
                "name": f"{start:%Y年%m月}省级测评",
                "level": "provincial",
                "kind": "overall",
                "start": start,
                "end": start + dt.timedelta(days=length - 1),
                "rank": ranks[4 - k],
                "ranked": 16,
                "target": 5,
            }
        )
    rows.append(
        {
            "name": f"{nxt:%Y年%m月}省级测评",
            "level": "provincial",
            "kind": "overall",
            "start": nxt,
            "end": nxt + dt.timedelta(days=3),
            "rank": None,
            "ranked": 16,
            "target": 5,
        }
    )
    nat = ref - dt.timedelta(days=388)
    rows.append(
        {
            "name": f"{nat.year}年全国文明城市年度测评",
            "level": "national",
            "kind": "overall",
            "start": nat,
            "end": nat + dt.timedelta(days=4),
            "rank": 98,
            "ranked": 151,
            "target": 25,
        }
    )
    y, m = first.year, first.month
    while True:
        day = dt.date(y, m, 12)
        if day >= first:
            if day + dt.timedelta(days=1) >= ref:
                break
            rows.append(
                {
                    "name": f"{day:%Y年%m月}市级模拟测评",
                    "level": "city",
                    "kind": "overall",
                    "start": day,
                    "end": day + dt.timedelta(days=1),
                    "rank": None,
                    "ranked": None,
                    "target": None,
                }
            )
            if m % 3 == 0 and day + dt.timedelta(days=13) < ref:
                q = dt.date(y, m, 20)
                rows.append(
                    {
                        "name": f"{y}年第{m // 3}季度问卷调查",
                        "level": "city",
                        "kind": "questionnaire",
                        "start": q,
                        "end": q + dt.timedelta(days=5),
                        "rank": None,
                        "ranked": None,
                        "target": None,
                    }
                )
            if m % 3 == 2:
                p = dt.date(y, m, 5)
                level = "provincial" if m in (5, 11) else "city"
                rows.append(
                    {
                        "name": f"{p:%Y年%m月}群众满意度电话调查",
                        "level": level,
                        "kind": "phone",
                        "start": p,
                        "end": p + dt.timedelta(days=6),
                        "rank": None,
                        "ranked": None,
                        "target": None,
                    }
                )
        m += 1
        if m == 13:
            y, m = y + 1, 1
    df = pd.DataFrame(rows)
    df = df[(df["start"] >= first) | (df["level"] == "national")]
    df = df.sort_values(["start", "level", "kind"], kind="stable").reset_index(drop=True)
    df["assessment_id"] = np.arange(1, len(df) + 1)
    return df


# --------------------------------------------------------------------------- one city


class _Ids:
    def __init__(self) -> None:
        self.unit = 0
        self.point = 0
        self.check = 0
        self.problem_seq: dict[int, int] = {}


def _units(ci: int, parent: int | None, ids: _Ids, rng: np.random.Generator) -> dict:
    """Build one city's unit tree; returns frames and handy lookups."""
    rows: list[tuple] = []

    def add(name: str, kind: str, par: int | None, order: int, target: float | None) -> int:
        ids.unit += 1
        rows.append((ids.unit, name, kind, par, order, target))
        return ids.unit

    city_name = CITY_NAMES[ci] if ci < len(CITY_NAMES) else f"第{ci + 1}市"
    city = add(city_name, "city", parent, ci + 1, 90.0)
    district_ids, street_ids, street_district, street_county = [], [], [], []
    comm_ids, comm_street, comm_names = [], [], []
    for di, (dname, county, streets) in enumerate(DISTRICTS):
        did = add(dname, "district", city, di + 1, 88.0)
        district_ids.append(did)
        for si, sname in enumerate(streets):
            sid = add(sname, "street", did, si + 1, 85.0)
            street_ids.append(sid)
            street_district.append(di)
            street_county.append(county)
            stems = VILLAGE_STEMS if county else COMMUNITY_STEMS
            pick = rng.choice(len(stems), size=10, replace=False)
            suffix = "村" if county else "社区"
            for k, p in enumerate(pick):
                cname = stems[int(p)] + suffix
                comm_ids.append(add(cname, "community", sid, k + 1, None))
                comm_street.append(len(street_ids) - 1)
                comm_names.append(sname + cname)
    group_ids = [add(g, "group", city, gi + 1, None) for gi, g in enumerate(GROUPS)]
    dept_ids: dict[str, int] = {}
    order = [0, 0, 0]
    for dname, g in DEPARTMENTS:
        order[g] += 1
        dept_ids[dname] = add(dname, "department", group_ids[g], order[g], None)
    units = pd.DataFrame(
        rows,
        columns=["unit_id", "name", "kind", "parent_id", "sort_order", "target_score"],
    )
    return {
        "frame": units,
        "name": city_name,
        "city": city,
        "districts": np.array(district_ids),
        "streets": np.array(street_ids),
        "street_district": np.array(street_district),
        "street_county": np.array(street_county),
        "communities": np.array(comm_ids),
        "comm_street": np.array(comm_street),
        "comm_names": comm_names,
        "depts": dept_ids,
        "dept_array": np.array([dept_ids[d] for d, _ in DEPARTMENTS]),
    }


def _scores(u: dict, ind: pd.DataFrame, asm: pd.DataFrame, ref: dt.date, rng) -> pd.DataFrame:
    items = ind[ind["parent_id"].notna()]
    overall_items = items[items["category"].isin(["field", "materials", "questionnaire"])]
    w = overall_items["weight"].to_numpy()
    iid = overall_items["indicator_id"].to_numpy()
    n_items = len(iid)
    done = asm[asm["end"] < ref]
    tests = done[done["kind"] == "overall"]["assessment_id"].to_numpy()
    n_t = len(tests)
    n_d, n_s = len(u["districts"]), len(u["streets"])
    scored = np.concatenate([[u["city"]], u["districts"], u["streets"]])
    n_u = len(scored)

    d_base = 0.85 + rng.normal(0, 0.02, n_d)
    s_base = np.clip(d_base[u["street_district"]] + rng.normal(0, 0.03, n_s), 0.77, 0.90)
    base = np.concatenate([[0.855], d_base, s_base])
    trend = rng.normal(0.03, 0.02, n_u)
    tpos = (np.arange(n_t) - (n_t - 1)) / max(n_t - 1, 1)  # -1 .. 0
    level = base[:, None] + trend[:, None] * tpos[None, :] + rng.normal(0, 0.01, (n_u, n_t))
    offset = rng.normal(0, 0.035, (n_u, 1, n_items))
    noise = rng.normal(0, 0.03, (n_u, n_t, n_items))

    # story 1: a district rising over the last 5 overall tests (4 rises in a row)
    k = min(5, n_t)
    up = 1 + STORY_DISTRICT
    level[up, n_t - k :] = 0.80 + 0.02 * np.arange(k)
    noise[up, n_t - k :, :] = 0.0
    # story 2: a street falling in the last two overall tests, to the bottom
    fs = 1 + n_d + _street_index(*STORY_FALL_STREET)
    k = min(3, n_t)
    level[fs, n_t - k :] = 0.79 - 0.04 * np.arange(k)
    noise[fs, n_t - k :, :] = 0.0

    rate = np.clip(level[:, :, None] + offset + noise, 0.4, 0.99)
    value = np.round(rate * w[None, None, :], 2)
    overall = value.sum(axis=2)
    obs = rng.integers(20, 90, (n_u, n_t, n_items))

    ui, ti, ii = np.meshgrid(np.arange(n_u), np.arange(n_t), np.arange(n_items), indexing="ij")
    frames = [
        pd.DataFrame(
            {
                "a": tests[ti.ravel()],
                "u": scored[ui.ravel()],
                "i": iid[ii.ravel()],
                "v": value.ravel(),
                "m": w[ii.ravel()],
                "s": obs.ravel(),
            }
        ),
    ]
    ui2, ti2 = np.meshgrid(np.arange(n_u), np.arange(n_t), indexing="ij")
    frames.append(
        pd.DataFrame(
            {
                "a": tests[ti2.ravel()],
                "u": scored[ui2.ravel()],
                "i": -1,
                "v": overall.ravel(),
                "m": 100.0,
                "s": obs.sum(axis=2).ravel(),
            }
        )
    )
    # communities: overall only, around their street's level
    n_c = len(u["communities"])
    c_rate = np.clip(
        level[1 + n_d + u["comm_street"]]
        + rng.normal(0, 0.03, (n_c, 1))
        + rng.normal(0, 0.02, (n_c, n_t)),
        0.6,
        0.95,
    )
    ci_, ct_ = np.meshgrid(np.arange(n_c), np.arange(n_t), indexing="ij")
    frames.append(
        pd.DataFrame(
            {
                "a": tests[ct_.ravel()],
                "u": u["communities"][ci_.ravel()],
                "i": -1,
                "v": np.round(c_rate * 100, 2).ravel(),
                "m": 100.0,
                "s": rng.integers(8, 30, c_rate.size),
            }
        )
    )

    # questionnaire waves: city, districts, streets; value out of the item's weight
    q = items[items["category"] == "questionnaire"]
    waves = done[done["kind"] == "questionnaire"]["assessment_id"].to_numpy()
    if len(waves):
        q_base = np.clip(base + 0.02 + rng.normal(0, 0.02, n_u), 0.6, 0.97)
        qr = np.clip(
            q_base[:, None, None] + rng.normal(0, 0.03, (n_u, len(waves), len(q))),
            0.5,
            1.0,
        )
        qv = np.round(qr * q["weight"].to_numpy()[None, None, :], 2)
        a, b, c = np.meshgrid(
            np.arange(n_u), np.arange(len(waves)), np.arange(len(q)), indexing="ij"
        )
        frames.append(
            pd.DataFrame(
                {
                    "a": waves[b.ravel()],
                    "u": scored[a.ravel()],
                    "i": q["indicator_id"].to_numpy()[c.ravel()],
                    "v": qv.ravel(),
                    "m": q["weight"].to_numpy()[c.ravel()],
                    "s": rng.integers(150, 600, qv.size),
                }
            )
        )
    # phone waves: city and districts; value = satisfaction rate in %
    p = items[items["category"] == "phone"]
    waves = done[done["kind"] == "phone"]["assessment_id"].to_numpy()
    if len(waves):
        n_pu = 1 + n_d
        p_base = rng.uniform(78, 90, (n_pu, 1, len(p)))
        pr = np.clip(p_base + rng.normal(0, 2.5, (n_pu, len(waves), len(p))), 55, 99)
        a, b, c = np.meshgrid(
            np.arange(n_pu), np.arange(len(waves)), np.arange(len(p)), indexing="ij"
        )
        frames.append(
            pd.DataFrame(
                {
                    "a": waves[b.ravel()],
                    "u": scored[a.ravel()],
                    "i": p["indicator_id"].to_numpy()[c.ravel()],
                    "v": np.round(pr, 2).ravel(),
                    "m": 100.0,
                    "s": rng.integers(200, 600, pr.size),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _street_index(district: int, street: int) -> int:
    return district * 8 + street


def _points(u: dict, ids: _Ids, rng: np.random.Generator) -> pd.DataFrame:
    types, depts, prone = [], [], []
    for t, d, n, weak in POINT_TYPES:
        types += [t] * n
        depts += [u["depts"][d]] * n
        prone += [weak] * n
    n = len(types)
    order = rng.permutation(n)
    types = np.array(types)[order]
    depts = np.array(depts)[order]
    prone = np.array(prone)[order]
    comm = rng.integers(0, len(u["communities"]), n)
    names = pd.Series(np.array(u["comm_names"], dtype=object)[comm] + types.astype(object))
    dup = names.groupby(names).cumcount().to_numpy()
    suffix = np.array(["", "（二）", "（三）", "（四）", "（五）", "（六）"], dtype=object)
    names = names.to_numpy() + suffix[np.minimum(dup, 5)]
    ids_ = ids.point + 1 + np.arange(n)
    ids.point += n
    return pd.DataFrame(
        {
            "point_id": ids_,
            "name": names,
            "type": types,
            "unit_id": u["communities"][comm],
            "dept_id": depts,
            "is_fixed": rng.random(n) < 0.6,
            "prone": prone,
        }
    )


def _checks_and_problems(
    u: dict,
    ind: pd.DataFrame,
    asm: pd.DataFrame,
    pts: pd.DataFrame,
    ref: dt.date,
    vol: float,
    ids: _Ids,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    field = ind[ind["category"] == "field"].query("parent_id.notna()", engine="python")
    f_id = field["indicator_id"].to_numpy()
    f_static = field["is_static"].to_numpy(dtype=bool)
    f_lead = field["lead_unit_id"].to_numpy()
    cat_of = np.array([c for *_, c, _ in FIELD_ITEMS], dtype=object)
    desc_of = np.array([d for *_, d in FIELD_ITEMS], dtype=object)
    n_f = len(f_id)
    n_p = len(pts)
    p_comm = pts["unit_id"].to_numpy()
    p_dept = pts["dept_id"].to_numpy()
    p_prone = pts["prone"].to_numpy()
    p_fixed = pts["is_fixed"].to_numpy()

    # --- point checks at the monthly mock tests of the last ~6 months
    mocks = asm[(asm["level"] == "city") & (asm["kind"] == "overall") & (asm["end"] < ref)]
    mocks = mocks[mocks["start"] >= ref - dt.timedelta(days=183)]
    chk: list[pd.DataFrame] = []
    for start in mocks["start"]:
        prob = np.where(p_fixed, 0.5, 0.3) * min(vol, 1.0)
        sel = np.flatnonzero(rng.random(n_p) < prob)
        if len(sel) == 0:
            continue
        k = rng.integers(3, 7, len(sel))
        order = np.argsort(rng.random((len(sel), n_f)), axis=1)
        mask = np.arange(n_f)[None, :] < k[:, None]
        rows, cols = np.nonzero(mask)
        pi = sel[rows]
        fi = order[rows, cols]
        day = _days(start, ref) + rng.integers(0, 2, len(pi))
        p_pass = np.where(
            f_static[fi],
            np.where(p_prone[pi], 0.8, 0.92),
            np.where(p_prone[pi], 0.7, 0.86),
        )
        chk.append(
            pd.DataFrame({"p": pi, "f": fi, "day": day, "passed": rng.random(len(pi)) < p_pass})
        )
    checks = (
        pd.concat(chk, ignore_index=True)
        if chk
        else pd.DataFrame(columns=["p", "f", "day", "passed"])
    )
    checks["check_id"] = ids.check + 1 + np.arange(len(checks))
    ids.check += len(checks)
    failed = checks[~checks["passed"].astype(bool)]

    # --- problems: random ones over two years (more recently), plus failed checks
    n_total = max(round(15000 * vol), 50)
    n_rand = max(n_total - len(failed), 10)
    days = np.arange(-HISTORY_DAYS, 1)
    wd = np.array([(ref + dt.timedelta(days=int(d))).weekday() for d in days])
    weight = (1 + 1.5 * (days + HISTORY_DAYS) / HISTORY_DAYS) * np.where(wd >= 5, 0.5, 1.0)
    found = rng.choice(days, size=n_rand, p=weight / weight.sum())
    has_point = rng.random(n_rand) < 0.85
    pi = rng.integers(0, n_p, n_rand)
    fi = rng.integers(0, n_f, n_rand)
    src = rng.choice([0, 1, 3, 4], size=n_rand, p=[0.3, 0.3, 0.05, 0.35])
    prob = pd.DataFrame(
        {
            "found": found,
            "point": np.where(has_point, pi, -1),
            "f": fi,
            "src": src,
            "unit": np.where(
                has_point,
                p_comm[pi],
                u["communities"][rng.integers(0, len(u["communities"]), n_rand)],
            ),
            "dept": np.where(has_point & (rng.random(n_rand) < 0.6), p_dept[pi], f_lead[fi]),
            "check": -1,
        }
    )
    fp = failed["p"].to_numpy()
    from_checks = pd.DataFrame(
        {
            "found": failed["day"].to_numpy(),
            "point": fp,
            "f": failed["f"].to_numpy(),
            "src": 2,
            "unit": p_comm[fp],
            "dept": p_dept[fp],
            "check": failed.index.to_numpy(),
        }
    )
    prob = pd.concat([prob, from_checks], ignore_index=True)
    n = len(prob)
    sev = rng.choice(3, size=n, p=[0.70, 0.22, 0.08])
    dl = np.select([sev == 2, sev == 1], [3, 7], rng.choice([15, 30], size=n))
    outcome = rng.choice(3, size=n, p=[0.86, 0.12, 0.02])  # on time / late / never
    outcome = np.where((sev == 2) & (outcome == 2), 1, outcome)
    lag = np.where(
        outcome == 0,
        np.floor(rng.beta(2, 3, n) * (dl + 1)).astype(int),
        dl + 1 + rng.geometric(0.15, n),
    )
    found = prob["found"].to_numpy()
    rect = np.where((outcome == 2) | (found + lag > 0), NA, found + lag)
    close = rect + rng.integers(1, 8, n)
    close = np.where((rect == NA) | (rng.random(n) < 0.03) | (close > 0), NA, close)
    prob["sev"], prob["dl"], prob["rect"], prob["close"] = sev, found + dl, rect, close
    prob["rebound"] = -1

    # story 3: a cluster of overdue severe problems at one department
    dept_id = u["depts"][STORY_OVERDUE_DEPT]
    own = np.flatnonzero(p_dept == dept_id)
    k = 12
    sp = own[rng.integers(0, len(own), k)]
    sf = -rng.integers(6, 36, k)
    sfi = rng.integers(0, n_f, k)
    story3 = pd.DataFrame(
        {
            "found": sf,
            "point": sp,
            "f": sfi,
            "src": rng.choice([0, 1], k),
            "unit": p_comm[sp],
            "dept": dept_id,
            "check": -1,
            "sev": 2,
            "dl": sf + 3,
            "rect": NA,
            "close": NA,
            "rebound": -1,
        }
    )
    # story 6: points where the same dynamic problem comes back again and again
    cand = np.flatnonzero(np.isin(pts["type"].to_numpy(), ["背街小巷", "农贸市场"]) & p_fixed)
    rp = rng.choice(cand, size=N_REBOUND_POINTS, replace=False)
    chains = []
    dyn = np.flatnonzero(~f_static)
    for point in rp:
        f = int(dyn[rng.integers(0, len(dyn))])
        day = -int(rng.integers(280, 300))
        for step in range(6):
            r = day + int(rng.integers(2, 6))
            c = r + int(rng.integers(1, 4))
            last = step == 5
            chains.append(
                {
                    "found": day,
                    "point": point,
                    "f": f,
                    "src": [0, 1, 4][step % 3],
                    "unit": p_comm[point],
                    "dept": p_dept[point],
                    "check": -1,
                    "sev": 1,
                    "dl": day + 7,
                    "rect": NA if last else r,
                    "close": NA if last else c,
                    "rebound": -2 if step else -1,
                }
            )
            day = c + int(rng.integers(20, 40))
            if day > -3:
                break
    prob = pd.concat([prob, story3, pd.DataFrame(chains)], ignore_index=True)

    # ids: WT<year>-<seq>, numbered by found date within each year
    prob["tie"] = rng.random(len(prob))
    prob = prob.sort_values(["found", "tie"], kind="stable").reset_index(drop=True)
    years = np.array([(ref + dt.timedelta(days=int(d))).year for d in range(-HISTORY_DAYS - 1, 1)])
    prob["year"] = years[prob["found"].to_numpy() + HISTORY_DAYS + 1]
    seq = prob.groupby("year").cumcount().to_numpy() + 1
    base = prob["year"].map(lambda y: ids.problem_seq.get(y, 0)).to_numpy()
    prob["pid"] = [f"WT{y}-{s:06d}" for y, s in zip(prob["year"], seq + base, strict=True)]
    for y, c in prob["year"].value_counts().sort_index().items():
        ids.problem_seq[int(y)] = ids.problem_seq.get(int(y), 0) + int(c)

    # rebounds: same point and indicator, previous one rectified, found within 90 days
    pos = np.arange(len(prob))
    srt = prob.assign(pos=pos).sort_values(["point", "f", "found", "tie"], kind="stable")
    prev = srt["pos"].shift(1)
    same = (
        (srt["point"].shift(1) == srt["point"])
        & (srt["f"].shift(1) == srt["f"])
        & (srt["point"] >= 0)
    )
    prev_pos = prev.fillna(0).astype(int).to_numpy()
    gap = srt["found"].to_numpy() - prob["found"].to_numpy()[prev_pos]
    prev_rect = prob["rect"].to_numpy()[prev_pos]
    ok = (
        same.to_numpy()
        & (gap <= 90)
        & (gap > 0)
        & (prev_rect != NA)
        & (prev_rect < srt["found"].to_numpy())
    )
    planted = srt["rebound"].to_numpy() == -2
    want = max(round(300 * vol), 3)
    cands = np.flatnonzero(ok & ~planted)
    chosen = rng.choice(cands, size=min(want, len(cands)), replace=False) if len(cands) else cands
    flag = planted & ok
    flag[chosen] = True
    reb = np.full(len(prob), -1)
    reb[srt["pos"].to_numpy()[flag]] = prev_pos[flag]
    prob["rebound_pos"] = reb

    # point_checks get the problem id of the problem they raised
    check_pid = np.full(len(checks), None, dtype=object)
    from_chk = prob["check"].to_numpy() >= 0
    check_pid[prob["check"].to_numpy()[from_chk]] = prob["pid"].to_numpy()[from_chk]

    point_ids = pts["point_id"].to_numpy()
    fiv = prob["f"].to_numpy()
    pt_idx = prob["point"].to_numpy()
    point_type = pts["type"].to_numpy().astype(object)
    where = np.where(pt_idx >= 0, point_type[np.maximum(pt_idx, 0)], "辖区内")
    status = np.where(
        prob["close"] != NA, "closed", np.where(prob["rect"] != NA, "rectified", "open")
    )
    problems = pd.DataFrame(
        {
            "problem_id": prob["pid"],
            "found": prob["found"],
            "source": np.array(SOURCES)[prob["src"]],
            "point_id": np.where(pt_idx >= 0, point_ids[np.maximum(pt_idx, 0)], -1),
            "unit_id": prob["unit"],
            "dept_id": prob["dept"],
            "indicator_id": f_id[fiv],
            "category": cat_of[fiv],
            "description": where.astype(object) + desc_of[fiv],
            "severity": np.array(SEVERITIES)[prob["sev"]],
            "is_dynamic": ~f_static[fiv],
            "deadline": prob["dl"],
            "status": status,
            "rect": prob["rect"],
            "close": prob["close"],
            "rebound_of": np.where(reb >= 0, prob["pid"].to_numpy()[np.maximum(reb, 0)], None),
        }
    )
    cp = checks["p"].to_numpy().astype(int)
    cf = checks["f"].to_numpy().astype(int)
    point_checks = pd.DataFrame(
        {
            "check_id": checks["check_id"],
            "point_id": point_ids[cp],
            "day": checks["day"],
            "indicator_id": f_id[cf],
            "is_static": f_static[cf],
            "passed": checks["passed"].astype(bool),
            "problem_id": check_pid,
        }
    )
    story = {
        "rebound_point_ids": [int(point_ids[p]) for p in rp],
        "rebound_points": [str(pts["name"].iloc[p]) for p in rp],
    }
    return point_checks, problems, story


def _visits(
    u: dict, campaign_id: int, ref: dt.date, vol: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_c = len(u["communities"])
    county = u["street_county"][u["comm_street"]]
    town = _street_index(*STORY_TOWN)
    in_town = u["comm_street"] == town
    household = np.where(county, rng.integers(600, 1500, n_c), rng.integers(1300, 2700, n_c))
    new_res = rng.integers(50, 300, n_c)
    business = np.where(in_town, rng.integers(262, 300, n_c), rng.integers(30, 300, n_c))
    key_streets = np.sort(rng.choice(len(u["streets"]), size=5, replace=False))
    key_target = rng.integers(8, 40, len(key_streets))

    g_unit = np.concatenate([np.repeat(u["communities"], 3), u["streets"][key_streets]])
    g_kind = np.concatenate([np.tile([0, 1, 2], n_c), np.full(len(key_streets), 3)])
    g_street = np.concatenate([np.repeat(u["comm_street"], 3), key_streets])
    raw = np.concatenate([np.stack([household, new_res, business], axis=1).ravel(), key_target])
    target = np.maximum(np.round(raw * vol), 1).astype(int)
    targets = pd.DataFrame(
        {"unit_id": g_unit, "kind": np.array(SUBJECT_KINDS)[g_kind], "target": target}
    )

    n_g = len(g_unit)
    unit_cov = np.clip(rng.normal(0.63, 0.08, len(u["streets"])), 0.42, 0.85)
    cov = unit_cov[g_street] * np.array([1.0, 0.88, 0.93, 1.1])[g_kind] + rng.normal(0, 0.03, n_g)
    story = g_street == town
    cov = np.where(story, rng.uniform(0.33, 0.37, n_g), np.clip(cov, 0.3, 0.95))
    n_subj = np.round(target * cov).astype(int)

    # daily pace profile per group: ramp-up, weekends lower, unit-specific trend
    n_days = CAMPAIGN_DAYS + 1
    d = np.arange(n_days)
    start = ref - dt.timedelta(days=CAMPAIGN_DAYS)
    weekend = np.array([(start + dt.timedelta(days=int(x))).weekday() >= 5 for x in d])
    slope = np.where(story, -1.7, rng.uniform(-0.6, 0.6, n_g))
    prof = (1 + slope[:, None] * (d[None, :] / CAMPAIGN_DAYS - 0.5)) * np.minimum(1, 0.3 + d / 10)[
        None, :
    ]
    prof = np.clip(prof, 0.05, None) * np.where(weekend, 0.45, 1.0)[None, :]
    cdf = np.cumsum(prof, axis=1)
    cdf = cdf / cdf[:, -1:]
    flat = (cdf + np.arange(n_g)[:, None]).ravel()

    grp = np.repeat(np.arange(n_g), n_subj)
    seq = np.concatenate([np.arange(1, k + 1) for k in n_subj]) if n_g else np.array([], int)
    first = np.searchsorted(flat, rng.random(len(grp)) + grp) - grp * n_days
    first = np.clip(first, 0, CAMPAIGN_DAYS)
    # repeat visits: ~15% of subjects once more, ~3% twice more
    extra = rng.choice(3, size=len(grp), p=[0.82, 0.15, 0.03])
    rg = np.repeat(np.arange(len(grp)), extra)
    rday = np.minimum(first[rg] + rng.integers(1, 30, len(rg)), CAMPAIGN_DAYS)
    vg = np.concatenate([grp, grp[rg]])
    vseq = np.concatenate([seq, seq[rg]])
    vday = np.concatenate([first, rday])
    n_v = len(vg)
    entered_rate = np.clip(rng.normal(0.92, 0.03, n_g), 0.8, 0.99)
    by_dept = rng.random(n_v) < 0.15
    visitor = np.where(
        by_dept,
        u["dept_array"][rng.integers(0, len(u["dept_array"]), n_v)],
        u["streets"][g_street[vg]],
    )
    visits = pd.DataFrame(
        {
            "unit_id": g_unit[vg],
            "kind": g_kind[vg],
            "seq": vseq,
            "day": vday - CAMPAIGN_DAYS,
            "visitor": visitor,
            "entered": rng.random(n_v) < entered_rate[vg],
            "issues": rng.choice(4, size=n_v, p=[0.9, 0.07, 0.02, 0.01]),
        }
    )
    visits = visits.sort_values(["day", "unit_id", "kind", "seq"], kind="stable")
    return targets, visits


def _materials(u: dict, ind: pd.DataFrame, ref: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    mat = ind[(ind["category"] == "materials") & ind["parent_id"].notna()][
        "indicator_id"
    ].to_numpy()
    owners = np.concatenate([u["streets"], u["dept_array"]])
    n_o, n_m = len(owners), len(mat)
    k = rng.integers(5, 9, n_o)
    order = np.argsort(rng.random((n_o, n_m)), axis=1)
    oi, col = np.nonzero(np.arange(n_m)[None, :] < k[:, None])
    mi = order[oi, col]
    n = len(oi)
    required = rng.integers(5, 41, n)
    final = np.clip(rng.beta(4, 1.5, n), 0.2, 1.0)
    final = np.where(owners[oi] == u["depts"][STORY_ZERO_MATERIALS], 0.0, final)
    gamma = rng.uniform(0.6, 1.6, n)
    approve = rng.uniform(0.7, 1.0, n)
    tracked = rng.random(n) < 0.8
    deadline = rng.integers(-10, 41, n)
    last_monday = -ref.weekday()  # day offset of the last Monday on or before ref
    weeks = 12
    li, wi = np.meshgrid(np.arange(n), np.arange(weeks), indexing="ij")
    li, wi = li.ravel(), wi.ravel()
    frac = final[li] * ((wi + 1) / weeks) ** gamma[li]
    submitted = np.minimum(np.floor(required[li] * frac + 1e-9), required[li]).astype(int)
    approved = np.floor(submitted * approve[li]).astype(int)
    return pd.DataFrame(
        {
            "unit_id": owners[oi][li],
            "indicator_id": mat[mi][li],
            "required": required[li],
            "submitted": submitted,
            "approved": np.where(tracked[li], approved, NA),
            "deadline": deadline[li],
            "updated": last_monday - 7 * (weeks - 1 - wi),
        }
    )


# --------------------------------------------------------------------------- entry points


def fill_demo(
    con: duckdb.DuckDBPyConnection,
    *,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    reference_date: dt.date | None = None,
    progress: Progress | None = None,
) -> dict:
    """Fill a schema-initialised connection (inside the caller's transaction) with demo data."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    ref = reference_date or dt.date.today()
    report = progress or (lambda _f, _m: None)
    province = scale > 1
    n_cities = max(1, round(scale)) if province else 1
    vol = scale / n_cities
    ids = _Ids()

    def rng_for(*parts: int) -> np.random.Generator:
        return np.random.default_rng([seed, *parts])

    report(0.0, "生成组织架构与测评体系…")
    root: int | None = None
    if province:
        ids.unit = 1
        root = 1
        prov = pd.DataFrame(
            [(1, PROVINCE_NAME, "province", None, 1, None)],
            columns=[
                "unit_id",
                "name",
                "kind",
                "parent_id",
                "sort_order",
                "target_score",
            ],
        )
        _insert(
            con,
            "units",
            prov,
            "select unit_id, name, kind, parent_id, sort_order, target_score",
        )
    asm = _assessments(ref, rng_for(1))
    _insert(
        con,
        "assessments",
        asm,
        'select assessment_id, name, level, kind, start, "end", rank, ranked, target',
    )
    campaign_id = 1
    c_start = ref - dt.timedelta(days=CAMPAIGN_DAYS)
    crng = rng_for(2)
    m70 = ref + dt.timedelta(days=int(crng.integers(20, 36)))
    m100 = ref + dt.timedelta(days=int(crng.integers(50, 67)))
    con.execute(
        "insert into campaigns values ($i, $n, $s, $e)",
        {"i": campaign_id, "n": f"{ref.year}年度入户大走访", "s": c_start, "e": m100},
    )
    con.execute(
        "insert into campaign_milestones values ($i, $a, 0.7), ($i, $b, 1.0)",
        {"i": campaign_id, "a": m70, "b": m100},
    )

    stories: dict = {}
    span = 0.95 / n_cities
    for ci in range(n_cities):
        base = 0.02 + ci * span
        tag = f"（{ci + 1}/{n_cities}）" if n_cities > 1 else ""

        def step(frac: float, msg: str, base: float = base, tag: str = tag) -> None:
            report(min(base + frac * span, 0.99), msg + tag)

        u = _units(ci, root, ids, rng_for(10, ci))
        _insert(
            con,
            "units",
            u["frame"],
            "select unit_id, name, kind, parent_id, sort_order, target_score",
        )
        if ci == 0:
            ind = _indicators(u["depts"], rng_for(3))
            _insert(
                con,
                "indicators",
                ind,
                "select indicator_id, code, name, category, parent_id, weight, target, lead_unit_id, is_static",
            )
        step(0.05, "生成测评得分…")
        sc = _scores(u, ind, asm, ref, rng_for(11, ci))
        _insert(con, "scores", sc, "select a, u, nullif(i, -1), v, m, s")
        step(0.15, "生成点位与点位检查…")
        pts = _points(u, ids, rng_for(12, ci))
        _insert(
            con,
            "points",
            pts,
            "select point_id, name, type, unit_id, dept_id, is_fixed",
        )
        step(0.2, "生成问题整改台账…")
        checks, probs, story6 = _checks_and_problems(
            u, ind, asm, pts, ref, vol, ids, rng_for(13, ci)
        )
        _insert(
            con,
            "point_checks",
            checks,
            f"select check_id, point_id, {_day_expr('day', ref)}, indicator_id, is_static, passed, problem_id",
        )
        _insert(
            con,
            "problems",
            probs,
            "select problem_id, "
            + _day_expr("found", ref)
            + ", source, nullif(point_id, -1), unit_id, "
            "dept_id, indicator_id, category, description, severity, is_dynamic, "
            + ", ".join(_day_expr(c, ref) for c in ["deadline"])
            + ", status, "
            + _day_expr("rect", ref)
            + ", "
            + _day_expr("close", ref)
            + ", rebound_of",
        )
        step(0.3, "生成走访记录…")
        targets, visits = _visits(u, campaign_id, ref, vol, rng_for(14, ci))
        _insert(
            con,
            "visit_targets",
            targets,
            f"select {campaign_id}, unit_id, kind, target",
        )
        step(0.6, "写入走访记录…")
        kinds = " ".join(f"when {i} then '{k}'" for i, k in enumerate(SUBJECT_KINDS))
        prefix = " ".join(f"when {i} then '{p}'" for i, p in enumerate(SUBJECT_PREFIX))
        _insert(
            con,
            "visits",
            visits,
            f"select {campaign_id}, unit_id, case kind {kinds} end, "
            f"(case kind {prefix} end) || lpad(seq::varchar, 6, '0'), {_day_expr('day', ref)}, "
            "visitor, entered, issues",
        )
        step(0.9, "生成台账材料…")
        mats = _materials(u, ind, ref, rng_for(15, ci))
        _insert(
            con,
            "materials",
            mats,
            f"select unit_id, indicator_id, required, submitted, nullif(approved, {NA}), "
            f"{_day_expr('deadline', ref)}, {_day_expr('updated', ref)}",
        )
        if ci == 0:
            fd, fs = STORY_FALL_STREET
            td, ts = STORY_TOWN
            names = u["frame"].set_index("unit_id")["name"]
            stories = dict(
                city=u["name"],
                city_id=int(u["city"]),
                improving_district=DISTRICTS[STORY_DISTRICT][0],
                improving_district_id=int(u["districts"][STORY_DISTRICT]),
                falling_street=DISTRICTS[fd][2][fs],
                falling_street_id=int(u["streets"][_street_index(fd, fs)]),
                overdue_department=STORY_OVERDUE_DEPT,
                overdue_department_id=int(u["depts"][STORY_OVERDUE_DEPT]),
                behind_pace_town=DISTRICTS[td][2][ts],
                behind_pace_town_id=int(u["streets"][_street_index(td, ts)]),
                zero_materials_unit=STORY_ZERO_MATERIALS,
                zero_materials_unit_id=int(u["depts"][STORY_ZERO_MATERIALS]),
                **story6,
                campaign_id=campaign_id,
                next_test_id=int(asm.loc[asm["start"] > ref, "assessment_id"].iloc[0]),
            )
            assert names[stories["falling_street_id"]] == stories["falling_street"]

    report(0.97, "写入元数据…")
    stories["reference_date"] = ref.isoformat()
    checksum = hashlib.sha256(f"{seed}|{scale}|{ref.isoformat()}".encode()).hexdigest()
    tables = [
        "units",
        "assessments",
        "indicators",
        "scores",
        "points",
        "point_checks",
        "problems",
    ]
    tables += [
        "campaigns",
        "campaign_milestones",
        "visit_targets",
        "visits",
        "materials",
    ]
    total = sum(con.table(t).count("*").fetchall()[0][0] for t in tables)
    con.execute(
        "insert into imports (import_id, table_name, file_name, rows, rows_added, rows_updated, "
        "\"at\", by_user, checksum, result) values (1, 'all', 'demo', $r, $r, 0, $at, "
        "'demo', $c, 'ok')",
        {"r": total, "at": dt.datetime.combine(ref, dt.time(0, 0)), "c": checksum},
    )
    store.set_meta(
        con,
        {
            "reference_date": ref.isoformat(),
            "source": "demo",
            "scale": repr(float(scale)),
            "seed": str(seed),
            "demo_stories": json.dumps(stories, ensure_ascii=False),
        },
    )
    report(1.0, "演示数据生成完毕")
    return stories


def generate(
    path: Path | str,
    *,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    reference_date: dt.date | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write a fresh demo snapshot to `path` (atomically, via store.write_snapshot)."""
    ref = reference_date or dt.date.today()
    return store.write_snapshot(
        path,
        lambda con: fill_demo(con, scale=scale, seed=seed, reference_date=ref, progress=progress),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成创文态势看板演示数据")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--reference-date", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    def show(frac: float, msg: str) -> None:
        print(f"[{frac * 100:5.1f}%] {time.perf_counter() - t0:6.1f}s {msg}", flush=True)

    path = generate(
        args.db,
        scale=args.scale,
        seed=args.seed,
        reference_date=args.reference_date,
        progress=show,
    )
    elapsed = time.perf_counter() - t0
    print(f"完成：{path}  用时 {elapsed:.1f} 秒，文件 {path.stat().st_size / 1e6:.1f} MB")
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("show tables").fetchall()]
        for name in names:
            n = con.table(name).count("*").fetchall()[0][0]
            print(f"  {name:<20} {n:>12,}")
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
