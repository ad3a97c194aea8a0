"""Ledger kinds: for each, the Chinese headers and aliases, value types, the table and its stable key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from dashboard import labels

# --- specs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a ledger: its Chinese header, accepted aliases and value type."""

    field: str
    label: str
    type: str  # text date int number rate bool enum unit indicator assessment campaign point
    required: bool = False
    aliases: tuple[str, ...] = ()
    default: object = None
    enum: dict[str, str] | None = None
    enum_aliases: dict[str, str] = field(default_factory=dict)
    true_words: tuple[str, ...] = ()
    false_words: tuple[str, ...] = ()
    minimum: float | None = None
    note: str = ""
    example: object = None
    hidden: bool = False  # documented on the 填写说明 sheet, not a column of the template
    required_if_present: bool = False  # the column may be absent, but not blank where present


@dataclass(frozen=True)
class KindSpec:
    """How one kind of ledger maps onto one table."""

    kind: str
    label: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    key_label: str
    key_column: str  # the column cited when a key repeats
    defaults: dict[str, object]
    id_field: str | None = None
    parts_for: str | None = None  # the unit column that 区县/街道/社区 columns narrow

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)


def _c(field_: str, label: str, type_: str, **kw: object) -> Column:
    return Column(field_, label, type_, **kw)  # type: ignore[arg-type]


# 作废 (withdrawn) exists only in ledgers: such a problem is moved out of `problems` into
# `problems_withdrawn`, so no count sees it (see importer).
PROBLEM_STATUS_IMPORT = {**labels.PROBLEM_STATUS, "withdrawn": "作废"}

UNIT_ALIASES = ("单位名称", "所属单位", "属地单位")

# Split unit columns: a row may name its unit by 区县 / 街道 / 社区 columns instead of (or
# besides) one unit column; the deepest one filled is the unit, the others its parents.
PART_NOTE = "可与单位列同时填写，用于区分重名单位；不填单位列时，取最下一级为本行单位"
PART_FIELDS = ("district_part", "street_part", "community_part")
PART_COLUMNS = (
    Column(
        "district_part",
        "区县",
        "unit_part",
        aliases=("所属区县", "县区", "区县名称", "县(市、区)", "县市区", "所在区县"),
        note=PART_NOTE,
        hidden=True,
    ),
    Column(
        "street_part",
        "街道",
        "unit_part",
        aliases=("乡镇", "街镇", "镇街", "乡镇街道", "街道乡镇", "所属街道", "所在街道"),
        note=PART_NOTE,
        hidden=True,
    ),
    Column(
        "community_part",
        "社区",
        "unit_part",
        aliases=("村", "村社区", "社区村", "村/社区", "社区/村", "所属社区", "所在社区"),
        note=PART_NOTE,
        hidden=True,
    ),
)


# One column spec for the subject kind, shared by the visits and visit-targets ledgers.
SUBJECT_KIND_COLUMN = _c(
    "subject_kind",
    "对象类型",
    "enum",
    required=True,
    aliases=("走访对象类型", "对象类别"),
    enum=labels.SUBJECT_KIND,
    enum_aliases={
        "农户": "household",
        "居民户": "household",
        "住户": "household",
        "居民": "household",
        "商户": "business",
        "个体工商户": "business",
        "企业": "business",
    },
    example="农户/居民户",
)

SPECS: dict[str, KindSpec] = {
    "problems": KindSpec(
        kind="problems",
        key_column="problem_id",
        label="问题整改台账",
        table="problems",
        key=("problem_id",),
        key_label="问题编号",
        defaults={"severity": "normal", "is_dynamic": False},
        columns=(
            _c(
                "problem_id",
                "问题编号",
                "text",
                required_if_present=True,
                aliases=("编号", "问题编码", "问题单号", "问题序号编码", "交办编号", "工单编号"),
                note=(
                    "本台账内唯一，重复导入时按它更新。整个台账没有这一列时，按「属地单位 + 点位名称"
                    "（或具体位置）+ 问题描述 + 发现日期」生成编号（见下方说明）"
                ),
                example="LJ-2026-0001",
            ),
            _c(
                "found_on",
                "发现日期",
                "date",
                required=True,
                aliases=("发现时间", "交办日期", "交办时间", "检查日期", "检查时间", "督查日期"),
                example=dt.date(2026, 5, 20),
            ),
            _c(
                "source",
                "问题来源",
                "enum",
                required=True,
                aliases=("来源", "问题出处"),
                enum=labels.PROBLEM_SOURCE,
                enum_aliases={
                    "群众反映": "hotline",
                    "12345": "hotline",
                    "市民热线": "hotline",
                    "12345热线": "hotline",
                    "模拟": "mock_test",
                    "曝光短片": "exposure",
                    "暗访检查": "undercover",
                    "督察": "inspection",
                    "督查检查": "inspection",
                },
                example="暗访",
            ),
            _c(
                "point",
                "点位名称",
                "point",
                aliases=("点位", "所在点位", "问题点位", "点位名"),
                note="须与点位名录一致，可不填",
                example=None,
            ),
            _c(
                "unit_id",
                "属地单位",
                "unit",
                required=True,
                aliases=("所属单位", "属地", "属地街道", "属地单位名称", "问题属地"),
                note="重名单位写明上级，如「和平街道文苑社区」或「东城区/和平街道/文苑社区」",
                example="和平街道",
            ),
            _c(
                "dept_id",
                "责任单位",
                "unit",
                required=True,
                aliases=(
                    "整改责任单位",
                    "责任部门",
                    "主责单位",
                    "整改单位",
                    "牵头单位",
                    "责任主体",
                ),
                note="负责整改的单位；不得空缺，否则各部门视图都看不到该问题",
                example="市城管局",
            ),
            _c(
                "place",
                "具体位置",
                "text",
                aliases=("问题地点", "地点", "位置", "具体地点", "问题位置", "问题地址"),
                note="可不填；台账没有问题编号时用于区分同一单位的不同问题；导入后写在问题描述前",
            ),
            _c(
                "indicator_id",
                "指标编号",
                "indicator",
                aliases=("测评指标", "指标代码", "对应指标"),
            ),
            _c(
                "category", "问题类别", "text", aliases=("问题类型", "问题分类"), example="乱堆乱放"
            ),
            _c(
                "description",
                "问题描述",
                "text",
                aliases=("问题内容", "具体问题", "存在问题", "问题表现", "问题情况", "问题详情"),
                note="不得填写群众姓名、电话等个人信息",
                example="小区门口杂物堆放",
            ),
            _c(
                "severity",
                "严重程度",
                "enum",
                default="normal",
                aliases=("问题等级", "问题级别"),
                enum=labels.SEVERITY,
                enum_aliases={"轻微": "normal", "重大": "severe"},
                example="一般",
            ),
            _c(
                "is_dynamic",
                "是否动态问题",
                "bool",
                default=False,
                aliases=("动态问题", "问题性质"),
                true_words=("动态",),
                false_words=("静态",),
                example="是",
            ),
            _c(
                "deadline",
                "整改时限",
                "date",
                required=True,
                aliases=(
                    "整改期限",
                    "完成时限",
                    "整改截止日期",
                    "整改截止时间",
                    "限期整改时间",
                    "要求完成时间",
                    "要求完成日期",
                ),
                example=dt.date(2026, 5, 27),
            ),
            _c(
                "status",
                "整改状态",
                "enum",
                required=True,
                aliases=("状态", "办理状态", "整改进度", "整改情况", "整改结果", "完成情况"),
                enum=PROBLEM_STATUS_IMPORT,
                note="「作废」：问题撤销（误报、重复交办），不再计入任何统计，记录保留",
                enum_aliases={
                    "撤销": "withdrawn",
                    "已撤销": "withdrawn",
                    "已作废": "withdrawn",
                    "无效": "withdrawn",
                    "未整改": "open",
                    "正在整改": "open",
                    "已完成": "rectified",
                    "整改完成": "rectified",
                    "已整改到位": "rectified",
                    "销号": "closed",
                },
                example="已整改",
            ),
            _c(
                "rectified_on",
                "整改完成日期",
                "date",
                aliases=(
                    "完成日期",
                    "完成时间",
                    "整改日期",
                    "整改完成时间",
                    "实际完成日期",
                    "实际完成时间",
                    "办结日期",
                    "办结时间",
                ),
                note="状态为已整改、已销号时必填",
                example=dt.date(2026, 5, 25),
            ),
            _c(
                "closed_on",
                "销号日期",
                "date",
                aliases=("验收销号日期", "验收日期", "销号时间", "验收时间"),
                note="状态为已销号时必填",
            ),
            _c(
                "rebound_of",
                "反弹问题编号",
                "text",
                aliases=("原问题编号", "反弹自"),
                note="同一点位反弹时填写原问题编号",
            ),
        ),
    ),
    "visits": KindSpec(
        kind="visits",
        key_column="subject_id",
        label="走访记录",
        table="visits",
        key=("campaign_id", "unit_id", "subject_kind", "subject_id", "visited_on"),
        key_label="走访活动 + 所属单位 + 对象类型 + 对象编号 + 走访日期",
        defaults={"issues_raised": 0, "visitor_unit_id": None},
        columns=(
            _c(
                "campaign_id",
                "走访活动",
                "campaign",
                aliases=("活动名称",),
                note="数据库只有一个走访活动时可不填",
            ),
            _c(
                "unit_id",
                "所属单位",
                "unit",
                required=True,
                aliases=UNIT_ALIASES[2:],
                example="和平街道",
            ),
            SUBJECT_KIND_COLUMN,
            _c(
                "subject_id",
                "对象编号",
                "text",
                required=True,
                aliases=("走访对象编号", "户编号", "主体编号"),
                note="化名编号，不得填写姓名、电话、身份证号",
                example="HP-000123",
            ),
            _c(
                "visited_on",
                "走访日期",
                "date",
                required=True,
                aliases=("走访时间",),
                example=dt.date(2026, 5, 21),
            ),
            _c(
                "visitor_unit_id",
                "走访单位",
                "unit",
                aliases=("包联单位", "走访责任单位"),
                example="市住建局",
            ),
            _c(
                "entered_on_platform",
                "是否平台录入",
                "bool",
                required=True,
                aliases=("平台录入", "是否录入平台", "已录入平台"),
                true_words=("已录入",),
                false_words=("未录入",),
                example="是",
            ),
            _c(
                "issues_raised",
                "反映问题数",
                "int",
                default=0,
                minimum=0,
                aliases=("收集问题数", "反映问题"),
                example=0,
            ),
        ),
    ),
    "visit_targets": KindSpec(
        kind="visit_targets",
        key_column="unit_id",
        label="走访任务",
        table="visit_targets",
        key=("campaign_id", "unit_id", "subject_kind"),
        key_label="走访活动 + 单位 + 对象类型",
        defaults={},
        columns=(
            _c(
                "campaign_id",
                "走访活动",
                "campaign",
                aliases=("活动名称",),
                note="数据库只有一个走访活动时可不填",
            ),
            _c("unit_id", "单位", "unit", required=True, aliases=UNIT_ALIASES, example="和平街道"),
            SUBJECT_KIND_COLUMN,
            _c(
                "target",
                "目标数",
                "int",
                required=True,
                minimum=0,
                aliases=("任务数", "应走访数", "走访任务数", "应走访户数"),
                example=1200,
            ),
        ),
    ),
    "scores": KindSpec(
        kind="scores",
        key_column="unit_id",
        label="测评成绩",
        table="scores",
        key=("assessment_id", "unit_id", "indicator_id"),
        key_label="测评名称 + 单位 + 指标编号（空 = 总分）",
        defaults={"max_value": 100.0, "sample_size": None},
        columns=(
            _c(
                "assessment_id",
                "测评名称",
                "assessment",
                required=True,
                aliases=("测评", "测评批次"),
                example="2026年第一次模拟测评",
            ),
            _c(
                "unit_id",
                "单位",
                "unit",
                required=True,
                aliases=("单位名称", "被测单位", "测评单位"),
                example="和平街道",
            ),
            _c(
                "indicator_id",
                "指标编号",
                "indicator",
                aliases=("指标代码", "测评指标"),
                note="不填表示该单位的总分",
            ),
            _c("value", "得分", "number", minimum=0, aliases=("分数", "成绩"), example=85.74),
            _c(
                "rate",
                "得分率",
                "rate",
                aliases=("满意率", "达标率", "知晓率"),
                note="可代替得分：85% 或 0.85，按满分 100 计",
            ),
            _c(
                "max_value",
                "满分",
                "number",
                default=100.0,
                aliases=("满分值", "应得分"),
                example=100,
            ),
            _c("sample_size", "样本量", "int", minimum=0, aliases=("样本数", "调查样本数")),
        ),
    ),
    "materials": KindSpec(
        kind="materials",
        key_column="indicator_id",
        label="台账完成情况",
        table="materials",
        key=("unit_id", "indicator_id", "updated_on"),
        key_label="单位 + 指标编号 + 填报日期",
        defaults={"approved": None},
        columns=(
            _c(
                "unit_id",
                "单位",
                "unit",
                required=True,
                aliases=("单位名称", "责任单位", "填报单位"),
                example="市住建局",
            ),
            _c(
                "indicator_id",
                "指标编号",
                "indicator",
                required=True,
                aliases=("指标代码", "测评指标"),
            ),
            _c(
                "required",
                "应报数",
                "int",
                required=True,
                minimum=0,
                aliases=("应报材料数", "应交数", "应上传数"),
                example=12,
            ),
            _c(
                "submitted",
                "已报数",
                "int",
                required=True,
                minimum=0,
                aliases=("已报材料数", "已交数", "已上传数"),
                example=9,
            ),
            _c(
                "approved",
                "审核通过数",
                "int",
                minimum=0,
                aliases=("通过数", "已审核数"),
                example=8,
            ),
            _c(
                "deadline",
                "截止日期",
                "date",
                required=True,
                aliases=("完成时限", "报送时限"),
                example=dt.date(2026, 10, 26),
            ),
            _c(
                "updated_on",
                "填报日期",
                "date",
                aliases=("更新日期", "统计日期"),
                note="不填时取表头上方「日期：」行的日期",
                example=dt.date(2026, 5, 22),
            ),
        ),
    ),
    "points": KindSpec(
        kind="points",
        key_column="name",
        label="点位",
        table="points",
        key=("unit_id", "name"),
        key_label="属地单位 + 点位名称",
        defaults={"dept_id": None},
        id_field="point_id",
        columns=(
            _c(
                "name", "点位名称", "text", required=True, aliases=("点位",), example="和平农贸市场"
            ),
            _c(
                "type",
                "点位类型",
                "text",
                required=True,
                aliases=("点位类别", "类型"),
                example="农贸市场",
            ),
            _c(
                "unit_id",
                "属地单位",
                "unit",
                required=True,
                aliases=("所属单位", "属地"),
                example="和平街道",
            ),
            _c("dept_id", "主管部门", "unit", aliases=("主管单位", "责任单位"), example="市城管局"),
            _c(
                "is_fixed",
                "是否固定点位",
                "bool",
                required=True,
                aliases=("点位性质", "固定点位"),
                true_words=("固定", "固定点位"),
                false_words=("随机", "随机点位"),
                example="固定",
            ),
        ),
    ),
    "point_checks": KindSpec(
        kind="point_checks",
        key_column="point",
        label="点位检查",
        table="point_checks",
        key=("point_id", "checked_on", "indicator_id"),
        key_label="点位 + 检查日期 + 指标编号",
        defaults={"problem_id": None},
        id_field="check_id",
        columns=(
            _c(
                "point",
                "点位名称",
                "point",
                required=True,
                aliases=("点位",),
                example="和平农贸市场",
            ),
            _c("point_unit", "属地单位", "unit", aliases=("所属单位",), note="点位重名时用于区分"),
            _c(
                "checked_on",
                "检查日期",
                "date",
                required=True,
                aliases=("检查时间", "测评日期"),
                example=dt.date(2026, 5, 21),
            ),
            _c(
                "indicator_id",
                "指标编号",
                "indicator",
                required=True,
                aliases=("指标代码", "测评指标"),
            ),
            _c(
                "is_static",
                "指标类型",
                "bool",
                aliases=("静态动态",),
                true_words=("静态", "静态指标"),
                false_words=("动态", "动态指标"),
                note="不填时按指标本身的类型",
            ),
            _c(
                "passed",
                "是否达标",
                "bool",
                required=True,
                aliases=("检查结果", "达标情况"),
                true_words=("达标", "合格", "通过", "已清零"),
                false_words=("不达标", "不合格", "未通过", "未清零"),
                example="达标",
            ),
            _c("problem_id", "问题编号", "text", aliases=("关联问题编号",)),
        ),
    ),
    "units": KindSpec(
        kind="units",
        key_column="name",
        label="单位名录",
        table="units",
        key=("name",),
        key_label="单位名称（全称）",
        defaults={"parent_id": None, "sort_order": 0, "target_score": None},
        id_field="unit_id",
        columns=(
            _c("name", "单位名称", "text", required=True, aliases=("单位",), example="和平街道"),
            _c(
                "kind",
                "单位类型",
                "enum",
                required=True,
                aliases=("单位类别", "层级"),
                enum=labels.UNIT_KIND,
                enum_aliases={
                    "区": "district",
                    "县": "district",
                    "街道": "street",
                    "镇": "street",
                    "乡": "street",
                    "乡镇": "street",
                    "社区": "community",
                    "村": "community",
                    "市直部门": "department",
                    "省": "province",
                },
                example="街道/镇",
            ),
            _c("parent_id", "上级单位", "unit", aliases=("所属上级", "上级"), example="东城区"),
            _c("sort_order", "排序", "int", default=0, minimum=0, aliases=("排序号",), example=1),
            _c(
                "target_score",
                "目标分",
                "number",
                minimum=0,
                aliases=("目标分数", "目标得分"),
                example=90,
            ),
        ),
    ),
}

for _kind in ("problems", "visits", "visit_targets", "scores", "materials", "points"):
    SPECS[_kind] = replace(
        SPECS[_kind], parts_for="unit_id", columns=SPECS[_kind].columns + PART_COLUMNS
    )

KIND_LABELS = {kind: spec.label for kind, spec in SPECS.items()}
DATE_COLUMN = {  # the column that says how recent a table's data is
    "problems": "found_on",
    "visits": "visited_on",
    "materials": "updated_on",
    "point_checks": "checked_on",
}
