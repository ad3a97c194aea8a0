"""The one unit-name matcher: repeated names, paths, parent columns, unknown and ambiguous names."""

from __future__ import annotations

import pytest

from dashboard.unit_match import UnitIndex, UnitMatchError, normalise_name

# Hand-made tree: 文苑社区 under three streets in two districts; 新华街道 under both
# districts, each with a 明德社区, so that one needs the district to be told apart.
UNITS = [
    (1, "临江市", "city", None),
    (2, "东城区", "district", 1),
    (3, "青溪县", "district", 1),
    (4, "和平街道", "street", 2),
    (5, "解放街道", "street", 2),
    (6, "柳林镇", "street", 3),
    (7, "文苑社区", "community", 4),
    (8, "文苑社区", "community", 5),
    (9, "文苑社区", "community", 6),
    (10, "幸福社区", "community", 4),
    (11, "生活环境组", "group", 1),
    (12, "市住建局", "department", 11),
    (13, "市市场监管局", "department", 11),
    (14, "新华街道", "street", 3),
    (15, "新华街道", "street", 2),
    (16, "明德社区", "community", 14),
    (17, "明德社区", "community", 15),
]
WENYUAN = ["东城区/和平街道/文苑社区", "东城区/解放街道/文苑社区", "青溪县/柳林镇/文苑社区"]


@pytest.fixture(scope="module")
def index() -> UnitIndex:
    return UnitIndex(UNITS)


def test_normalise_name_strips_invisible_and_direction_characters() -> None:
    assert normalise_name("西城区\u200b") == "西城区"
    assert normalise_name("\u202e西城区\u202c") == "西城区"
    assert normalise_name("\ufeff西\u2066城\u2069区\u200e") == "西城区"
    assert normalise_name("  和平\u3000\t街道 ") == "和平 街道"
    assert normalise_name("Ｆ－０３") == "F-03"


def test_bare_unique_name_and_tolerated_prefixes_suffixes(index: UnitIndex) -> None:
    assert index.resolve("幸福社区") == 10
    assert index.resolve("幸福\u200b社区") == 10
    assert index.resolve("区住建局") == 12
    assert index.resolve("住建局") == 12
    assert index.resolve("临江市住建局") == 12
    assert index.resolve("市场监管局") == 13
    assert index.resolve("和平街道办事处") == 4
    assert index.resolve("东城区和平街道") == 4
    assert index.resolve("和平 街道") == 4
    assert index.resolve("幸福社区居民委员会") == 10


def test_repeated_name_without_parent_is_refused_with_every_candidate(index: UnitIndex) -> None:
    with pytest.raises(UnitMatchError) as caught:
        index.resolve("文苑社区")
    assert caught.value.candidates == WENYUAN
    assert "对应 3 个同名单位" in caught.value.message
    assert "青溪县/柳林镇/文苑社区" in caught.value.message


@pytest.mark.parametrize(
    ("written", "parents", "unit_id"),
    [
        ("和平街道文苑社区", (), 7),
        ("解放街道文苑社区", (), 8),
        ("青溪县/柳林镇/文苑社区", (), 9),
        ("青溪县 柳林镇 文苑社区", (), 9),
        ("青溪县／柳林镇／文苑社区", (), 9),
        ("青溪县文苑社区", (), 9),  # a level may be skipped
        ("东城区和平街道文苑社区居委会", (), 7),
        ("文苑社区", ("东城区", "解放街道"), 8),
        ("文苑社区", ("", "柳林镇"), 9),
        ("文苑社区", ("青溪县",), 9),
        ("和平街道", ("东城区", "和平街道"), 4),  # a street column repeating the unit itself
        ("青溪县新华街道明德社区", (), 16),
        ("明德社区", ("东城区", "新华街道"), 17),
    ],
)
def test_parents_in_path_or_columns_narrow_a_repeated_name(
    index: UnitIndex, written: str, parents: tuple[str, ...], unit_id: int
) -> None:
    assert index.resolve(written, parents) == unit_id


def test_parents_that_still_fit_several_are_refused(index: UnitIndex) -> None:
    with pytest.raises(UnitMatchError) as caught:
        index.resolve("文苑社区", ("东城区",))
    assert caught.value.candidates == WENYUAN[:2]
    with pytest.raises(UnitMatchError) as caught:
        index.resolve("新华街道明德社区")
    assert caught.value.candidates == ["东城区/新华街道/明德社区", "青溪县/新华街道/明德社区"]


def test_unknown_or_misplaced_names_are_refused_with_suggestions(index: UnitIndex) -> None:
    with pytest.raises(UnitMatchError) as caught:
        index.resolve("西城区和平街道")
    assert "你是不是要找" in caught.value.message
    assert "和平街道" in caught.value.candidates
    with pytest.raises(UnitMatchError) as caught:
        index.resolve("文苑社区", ("柳林镇", "和平街道"))
    assert "所写上级下没有该单位" in caught.value.message
    assert caught.value.candidates == WENYUAN
    with pytest.raises(UnitMatchError) as caught:
        index.resolve("西城")
    assert caught.value.message.startswith("找不到单位「西城」")
    with pytest.raises(UnitMatchError):
        index.resolve("\u200b ")


def test_display_name_adds_parents_only_for_repeated_names(index: UnitIndex) -> None:
    assert index.display_name(10) == "幸福社区"
    assert index.display_name(4) == "和平街道"
    assert index.display_name(7) == "文苑社区（和平街道）"
    assert index.display_name(9) == "文苑社区（柳林镇）"
    assert index.display_name(16) == "明德社区（青溪县/新华街道）"
    assert index.display_name(15) == "新华街道（东城区）"
    assert index.path(9) == "青溪县/柳林镇/文苑社区"
    assert index.path(1) == "临江市"
