"""The one unit-name matcher: names written by clerks (ledgers, the users file) to unit ids.

A unit is named as written in a cell, optionally with its parents:

    文苑社区                          a bare name (must be unique, or be made unique by parents)
    和平街道文苑社区                  parents written in front, without separators
    青溪县/柳林镇/文苑社区            a path with / ／ \\ > or spaces between the parts
    ("文苑社区", parents=["青溪县", "柳林镇"])   parents from separate 区县/街道 columns

Each part matches a unit by its exact name (after `normalise_name`, spaces removed) or,
when no exact name fits, by its core: without suffixes such as 办事处 / 居民委员会 and
without a leading 市/区/县 (区住建局 → 市住建局, 和平街道办事处 → 和平街道). The parents
must be ancestors of the unit, top-down (a level may be skipped). Nothing is guessed: a
name that still fits several units raises `UnitMatchError` listing every candidate with
its parents; an unknown name raises with 「你是不是要找：…」 suggestions.

`display_name(unit_id)` gives "文苑社区（和平街道）" for names that repeat (and the plain
name otherwise): the one way pages and exports show a unit.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Zero-width characters and the bidi controls (embeddings, overrides, isolates, marks).
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"\s*[/／\\＼>＞|｜]\s*")

UNIT_SUFFIXES = ("居民委员会", "村民委员会", "人民政府", "办事处", "委员会", "居委会", "村委会")
UNIT_PREFIXES = ("市", "区", "县")
MAX_CANDIDATES_SHOWN = 8


def normalise_name(text: str) -> str:
    """NFKC, without zero-width and bidi control characters, whitespace collapsed and trimmed."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def name_key(text: str) -> str:
    """The form names are compared in: normalised, without any spaces."""
    return normalise_name(text).replace(" ", "")


def cores(name: str) -> set[str]:
    """The key of a name and its forms without unit suffixes or a leading 市/区/县."""
    base = name_key(name)
    found = {base}
    for suffix in UNIT_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix) + 1:
            found.add(base[: -len(suffix)])
    if base.endswith("街道办") and len(base) > 4:
        found.add(base[:-1])
    out = set(found)
    for item in found:
        if item[:1] in UNIT_PREFIXES and len(item) > 2:
            out.add(item[1:])
    return out


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA (a parent_id read from a DataFrame)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA refuses to be a bool
        return True


class UnitMatchError(ValueError):
    """A written unit name that fits no unit or several; `message` is Chinese."""

    def __init__(self, message: str, candidates: Sequence[str] = (), rule: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates)
        self.rule = rule or message  # the message without the written name, for a cell error


@dataclass(frozen=True)
class _Unit:
    unit_id: int
    name: str
    kind: str
    parent_id: int | None


class UnitIndex:
    """Every unit by name, core and ancestry; resolves written names without guessing."""

    def __init__(self, units: Iterable[tuple[int, str, str, int | None]]) -> None:
        self._units: dict[int, _Unit] = {}
        for unit_id, name, kind, parent_id in units:
            parent = None if _missing(parent_id) else int(parent_id)
            self._units[int(unit_id)] = _Unit(int(unit_id), str(name), str(kind), parent)
        self._exact: dict[str, list[int]] = {}
        for unit in self._units.values():
            self._exact.setdefault(name_key(unit.name), []).append(unit.unit_id)
        self._core_index: dict[str, list[int]] | None = None  # built on the first match
        self._chains: dict[int, tuple[int, ...]] = {}
        self._forms: dict[int, list[str]] = {}
        self._cache: dict[tuple[str, tuple[str, ...]], int | UnitMatchError] = {}
        self._display: dict[int, str] | None = None

    @property
    def _core(self) -> dict[str, list[int]]:
        """Units by the cores of their names (for matching; display names do not need it)."""
        if self._core_index is None:
            index: dict[str, list[int]] = {}
            for unit in self._units.values():
                for core in cores(unit.name):
                    index.setdefault(core, []).append(unit.unit_id)
            self._core_index = index
        return self._core_index

    @classmethod
    def from_frame(cls, frame: object) -> UnitIndex:
        """From a DataFrame with unit_id, name, kind, parent_id columns."""
        columns = ["unit_id", "name", "kind", "parent_id"]
        return cls(frame[columns].itertuples(index=False, name=None))  # type: ignore[index]

    # --- the tree ------------------------------------------------------------------

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def name(self, unit_id: int) -> str:
        return self._units[unit_id].name

    def kind(self, unit_id: int) -> str:
        return self._units[unit_id].kind

    def ids(self) -> list[int]:
        return list(self._units)

    def chain(self, unit_id: int) -> tuple[int, ...]:
        """The unit's ancestors top-down, then the unit (a cycle or a dangling parent stops it)."""
        if unit_id in self._chains:
            return self._chains[unit_id]
        out = [unit_id]
        seen = {unit_id}
        parent = self._units[unit_id].parent_id
        while parent is not None and parent in self._units and parent not in seen:
            out.append(parent)
            seen.add(parent)
            parent = self._units[parent].parent_id
        chain = tuple(reversed(out))
        self._chains[unit_id] = chain
        return chain

    def path(self, unit_id: int) -> str:
        """Parents and name, root left out when it has children: 青溪县/柳林镇/文苑社区."""
        chain = self.chain(unit_id)
        if len(chain) > 1 and self._units[chain[0]].parent_id is None:
            chain = chain[1:]
        return "/".join(self._units[i].name for i in chain)

    def repeated(self, unit_id: int) -> bool:
        return len(self._exact.get(name_key(self._units[unit_id].name), ())) > 1

    def display_name(self, unit_id: int) -> str:
        """The name, with as many parents in （） as make it unique when the name repeats:
        文苑社区（和平街道）, or 明德社区（青溪县/新华街道） when the street name repeats too."""
        return self.display_names().get(unit_id, str(unit_id))

    def display_names(self) -> dict[int, str]:
        """display_name of every unit, computed once: per group of namesakes, the nearest
        parents are added one level at a time until the label is unique in the group."""
        if self._display is not None:
            return self._display
        out: dict[int, str] = {}
        for namesakes in self._exact.values():
            if len(namesakes) == 1:
                out[namesakes[0]] = self._units[namesakes[0]].name
                continue
            parents = {u: [self._units[i].name for i in self.chain(u)[:-1]] for u in namesakes}
            pending = set(namesakes)
            depth = 1
            while pending:
                labels = {u: "/".join(parents[u][-depth:]) for u in namesakes}
                counts = Counter(labels.values())
                for u in sorted(pending):
                    if counts[labels[u]] == 1 or depth >= len(parents[u]):
                        name = self._units[u].name
                        out[u] = f"{name}（{labels[u]}）" if labels[u] else name
                        pending.discard(u)
                depth += 1
        self._display = out
        return out

    # --- matching ------------------------------------------------------------------

    def _fits(self, unit_id: int, text: str, exact_only: bool = False) -> bool:
        name = self._units[unit_id].name
        if name_key(text) == name_key(name):
            return True
        return not exact_only and bool(cores(text) & cores(name))

    def _by_text(self, text: str) -> tuple[list[int], list[int]]:
        """(units whose exact name is text, units sharing a core with it)."""
        key = name_key(text)
        exact = list(self._exact.get(key, ()))
        core: set[int] = set()
        for item in cores(key):
            core.update(self._core.get(item, ()))
        return exact, sorted(core)

    def _hints_fit(self, unit_id: int, hints: Sequence[str]) -> bool:
        """Each hint names an ancestor (or the unit itself), in top-down order."""
        chain = self.chain(unit_id)
        position = 0
        for hint in hints:
            while position < len(chain) and not self._fits(chain[position], hint):
                position += 1
            if position == len(chain):
                return False
            position += 1
        return True

    def _prefix_fits(self, unit_id: int, prefix: str) -> bool:
        """`prefix` is the names of some ancestors, top-down, written without separators."""
        ancestors = self.chain(unit_id)[:-1]
        forms = [self._forms_of(a) for a in ancestors]

        def split(rest: str, start: int) -> bool:
            if not rest:
                return True
            for index in range(start, len(ancestors)):
                for form in forms[index]:
                    if form and rest.startswith(form) and split(rest[len(form) :], index + 1):
                        return True
            return False

        return split(prefix, 0)

    def _forms_of(self, unit_id: int) -> list[str]:
        if unit_id not in self._forms:
            name = self._units[unit_id].name
            self._forms[unit_id] = sorted({name_key(name)} | cores(name), key=len)
        return self._forms[unit_id]

    def _candidates(self, target: str, hints: Sequence[str]) -> tuple[list[int], list[int]]:
        """(exact, core) candidates for one target part, after the hints and prefix splits."""
        exact, core = self._by_text(target)
        exact = [u for u in exact if self._hints_fit(u, hints)]
        core = [u for u in core if self._hints_fit(u, hints)]
        key = name_key(target)
        for cut in range(1, len(key)):
            prefix, rest = key[:cut], key[cut:]
            split_exact, split_core = self._by_text(rest)
            for bucket, found in ((exact, split_exact), (core, split_core)):
                for unit_id in found:
                    if (
                        unit_id not in bucket
                        and self._prefix_fits(unit_id, prefix)
                        and self._hints_fit(unit_id, hints)
                    ):
                        bucket.append(unit_id)
        return exact, core

    def resolve(self, written: str, parents: Sequence[str] = ()) -> int:
        """The id of the one unit meant by `written` (with optional parent names, top-down)."""
        text = normalise_name(written)
        hints = tuple(h for h in (name_key(p) for p in parents if p is not None) if h)
        cache_key = (text, hints)
        if cache_key not in self._cache:
            try:
                self._cache[cache_key] = self._resolve(text, hints, written)
            except UnitMatchError as exc:
                self._cache[cache_key] = exc
        found = self._cache[cache_key]
        if isinstance(found, UnitMatchError):
            raise UnitMatchError(found.message, found.candidates, found.rule)
        return found

    def matches(self, written: str, parents: Sequence[str] = ()) -> list[int]:
        """Every unit `written` may mean (exact names first, else names by their core): the
        candidates `resolve` refuses to choose between, as ids (e.g. to offer each one)."""
        text = normalise_name(written)
        hints = tuple(h for h in (name_key(p) for p in parents if p is not None) if h)
        return self._matches(text, hints) if text else []

    def _matches(self, text: str, hints: tuple[str, ...]) -> list[int]:
        parts = [p for p in _SEPARATORS.split(text) if p]
        readings = [(parts[-1], hints + tuple(name_key(p) for p in parts[:-1]))]
        if len(parts) > 1 and not re.search(r"[/／\\＼>＞|｜]", text):
            readings.append((name_key(text), hints))  # 和平 街道: a space typed inside a name
        exact: list[int] = []
        core: list[int] = []
        for target, reading_hints in readings:
            found_exact, found_core = self._candidates(target, reading_hints)
            exact += [u for u in found_exact if u not in exact]
            core += [u for u in found_core if u not in core]
        return exact or core

    def _resolve(self, text: str, hints: tuple[str, ...], written: str) -> int:
        if not text:
            raise UnitMatchError("单位名称为空")
        found = self._matches(text, hints)
        if len(found) == 1:
            return found[0]
        shown = self._shown(written, hints)
        if found:
            paths = sorted(self.path(u) for u in found)
            listed = "、".join(paths[:MAX_CANDIDATES_SHOWN])
            more = f" 等 {len(paths)} 个" if len(paths) > MAX_CANDIDATES_SHOWN else ""
            rule = (
                f"对应 {len(paths)} 个同名单位：{listed}{more}。"
                "请写明上级单位（如「街道名+社区名」或「区县/街道/社区」），或填写区县、街道列"
            )
            raise UnitMatchError(f"单位名称「{shown}」{rule}", paths, rule)
        raise self._unknown(text, hints, shown)

    def _shown(self, written: str, hints: Sequence[str]) -> str:
        return "/".join([*hints, normalise_name(written)])

    def _unknown(self, text: str, hints: Sequence[str], shown: str) -> UnitMatchError:
        target = name_key(_SEPARATORS.split(text)[-1])
        exact, core = self._by_text(target)
        elsewhere = sorted(self.path(u) for u in (exact or core))
        if elsewhere and hints:
            listed = "、".join(elsewhere[:MAX_CANDIDATES_SHOWN])
            more = f" 等 {len(elsewhere)} 个" if len(elsewhere) > MAX_CANDIDATES_SHOWN else ""
            rule = f"所写上级下没有该单位。同名单位有：{listed}{more}"
            return UnitMatchError(f"找不到单位「{shown}」：{rule}", elsewhere, rule)
        suggestions = self.suggest(target)
        if suggestions:
            rule = "你是不是要找：" + "、".join(suggestions)
            return UnitMatchError(
                f"找不到单位「{shown}」。{rule}", suggestions, f"找不到该单位。{rule}"
            )
        return UnitMatchError(
            f"找不到单位「{shown}」，请与单位名录核对", (), "找不到该单位，请与单位名录核对"
        )

    def suggest(self, written: str, limit: int = 3) -> list[str]:
        """Close names, each shown with its parents when the name repeats."""
        key = name_key(written)
        hits = difflib.get_close_matches(key, list(self._exact), n=limit, cutoff=0.4)
        out: list[str] = []
        for hit in hits:
            ids = self._exact[hit]
            if len(ids) == 1:
                out.append(self._units[ids[0]].name)
            else:
                out += sorted(self.path(u) for u in ids)[:limit]
        return out[: limit * 2]
