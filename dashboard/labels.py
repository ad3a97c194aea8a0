"""Chinese labels for the codes stored in the database: the one mapping between code and UI."""

UNIT_KIND = {
    "province": "省",
    "city": "市",
    "district": "区县",
    "street": "街道/镇",
    "community": "社区/村",
    "department": "部门",
    "group": "工作组",
}

ASSESSMENT_LEVEL = {
    "national": "国家测评",
    "provincial": "省级测评",
    "city": "市级模拟测评",
    "self": "自查",
}

ASSESSMENT_KIND = {
    "overall": "综合测评",
    "field": "实地考察",
    "materials": "网上申报",
    "questionnaire": "问卷调查",
    "phone": "电话满意度调查",
}

INDICATOR_CATEGORY = {
    "field": "实地考察",
    "materials": "网上申报",
    "questionnaire": "问卷调查",
    "phone": "电话调查",
}

PROBLEM_SOURCE = {
    "undercover": "暗访",
    "inspection": "督查",
    "mock_test": "模拟测评",
    "exposure": "曝光",
    "hotline": "群众反映/12345",
}

SEVERITY = {"normal": "一般", "major": "较重", "severe": "严重"}

PROBLEM_STATUS = {"open": "整改中", "rectified": "已整改", "closed": "已销号"}

SUBJECT_KIND = {
    "household": "农户/居民户",
    "new_resident": "新市民",
    "business": "市场主体",
    "key_project": "重点项目",
}

# Status of a number against its target (达标 / 预警 / 落后); the symbol carries the
# meaning for readers who cannot tell the colours apart.
STATUS = {
    "ok": ("达标", "●", "#1a7f37"),
    "warn": ("预警", "▲", "#b35900"),
    "bad": ("落后", "■", "#c62828"),
    "none": ("无数据", "—", "#6b7280"),
}


def label(mapping: dict, code: object) -> str:
    """The Chinese label of `code`, or the code itself when unknown (never raises)."""
    if code is None:
        return "—"
    return mapping.get(code, str(code))
