"""Access by unit: users, roles and the unit subtrees each user may see.

Without a users file (the embedded demo) access control is off and everyone sees every
unit; the app says so in a banner. With $CHUANGWEN_USERS pointing at a TOML file, users
sign in with a password checked against a salted Argon2id hash (argon2-cffi), and each
role sees:

  leader     领导        every unit
  unit_head  单位负责人  the subtrees of the units listed for them
  clerk      数据员      every unit, and may import data

The scope is enforced on the server: `dashboard.db.query` refuses any $scope_id outside the
signed-in user's subtrees (see `allowed_unit_ids`), before the cache is consulted, so a
cached result for one user's scope can only ever be served to a user allowed that scope.

users.toml:

    [users.zhangsan]
    name = "张三"
    role = "unit_head"
    units = ["东城区"]              # unit names (or ids) whose subtrees they see
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$…"   # python -m dashboard.auth hash

Create a hash with `python -m dashboard.auth hash` (reads the password without echo).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import math
import os
import re
import threading
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dashboard.unit_match import UnitIndex, UnitMatchError

USERS_ENV = "CHUANGWEN_USERS"
ROLES = {"leader": "领导", "unit_head": "单位负责人", "clerk": "数据员"}
_hasher = PasswordHasher()


class UsersFileError(RuntimeError):
    """The users file is missing, unreadable or invalid (message in Chinese)."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    units: tuple[str, ...]
    password_hash: str

    @property
    def sees_everything(self) -> bool:
        return self.role in {"leader", "clerk"}

    @property
    def may_import(self) -> bool:
        return self.role == "clerk"


@dataclass(frozen=True)
class Access:
    """Who is looking: a user (None when access control is off) and the roots they may see."""

    user: User | None
    root_ids: tuple[int, ...] | None  # None = every unit

    @property
    def control_on(self) -> bool:
        return self.user is not None

    @property
    def may_import(self) -> bool:
        return self.user is None or self.user.may_import


OPEN_ACCESS = Access(None, None)


def users_file() -> Path | None:
    configured = os.environ.get(USERS_ENV, "").strip()
    return Path(configured).expanduser() if configured else None


USER_KEYS = ("name", "role", "units", "password_hash")


def load_users(path: Path) -> dict[str, User]:
    """Every user of the file, or UsersFileError naming the file, user and key in Chinese."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsersFileError(f"找不到用户文件 {path}（环境变量 {USERS_ENV}）") from exc
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        at = f"第 {where[1]} 行第 {where[2]} 列" if where else "某处"
        raise UsersFileError(f"用户文件 {path} 不是有效的 TOML：{at}格式有误") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(
            f"用户文件 {path} 无法读取（{type(exc).__name__}），应为 UTF-8 文本"
        ) from exc
    other = [k for k in data if k != "users"]
    if other:
        raise UsersFileError(
            f"用户文件 {path} 含未知的表或字段「{other[0]}」：用户应写在 [users.用户名] 下"
        )
    table = data.get("users")
    if table is None:
        raise UsersFileError(f"用户文件 {path} 中没有任何用户：每个用户写一个 [users.用户名] 表")
    if not isinstance(table, dict):
        raise UsersFileError(
            f"用户文件 {path} 中 users 应为表（[users.用户名]），而不是「{_shown(table)}」"
        )
    if not table:
        raise UsersFileError(f"用户文件 {path} 中没有任何用户：每个用户写一个 [users.用户名] 表")
    users = {}
    for username, entry in table.items():
        if not isinstance(entry, dict):
            raise UsersFileError(
                f"用户文件中 users.{username} 应为一个表（[users.{username}]），"
                f"而不是「{_shown(entry)}」"
            )
        unknown = [k for k in entry if k not in USER_KEYS]
        if unknown:
            raise UsersFileError(
                f"用户 {username} 含未知字段「{unknown[0]}」，可用字段：{'、'.join(USER_KEYS)}"
            )
        role = entry.get("role")
        if role is None:
            raise UsersFileError(f"用户 {username} 缺少 role，应为 {', '.join(ROLES)} 之一")
        if role not in ROLES:
            raise UsersFileError(
                f"用户 {username} 的 role「{_shown(role)}」无效，应为 {', '.join(ROLES)} 之一"
            )
        units = entry.get("units", [])
        if not isinstance(units, list) or not all(
            isinstance(u, str | int) and not isinstance(u, bool) for u in units
        ):
            raise UsersFileError(
                f'用户 {username} 的 units 应为单位名称列表，如 units = ["东城区"]，'
                f"而不是「{_shown(units)}」"
            )
        name = entry.get("name", username)
        if not isinstance(name, str) or not name.strip():
            raise UsersFileError(f"用户 {username} 的 name 应为非空文字")
        password_hash = entry.get("password_hash", "")
        if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
            raise UsersFileError(
                f"用户 {username} 缺少 argon2 密码哈希（用 python -m dashboard.auth hash 生成）"
            )
        users[username] = User(
            username=username,
            name=name.strip(),
            role=role,
            units=tuple(str(u).strip() for u in units),
            password_hash=password_hash,
        )
    return users


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "…"


_users_memo: dict[tuple, dict[str, User]] = {}


def current_users(path: Path) -> dict[str, User]:
    """`load_users`, re-read whenever the file's mtime, size or inode changes — every run
    checks the signed-in user against this, so an edit takes effect at the next run."""
    try:
        stat = path.stat()
    except OSError:
        return load_users(path)  # the Chinese "not found / unreadable" message
    key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
    users = _users_memo.get(key)
    if users is None:
        users = load_users(path)
        _users_memo.clear()
        _users_memo[key] = users
    return users


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(users: dict[str, User], username: str, password: str) -> User | None:
    """The user when the password matches, else None (same answer for unknown users)."""
    user = users.get(username)
    if user is None:
        # Spend the same effort on unknown names so timing does not reveal them.
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


_DUMMY_HASH = _hasher.hash("not-a-real-password")


# ── sign-in throttling ─────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ThrottleRules:
    """Failed sign-ins are counted per (user name, client address) and per address, within a
    sliding window. Per (user, address): the first `free` failures cost nothing, each later
    one doubles the wait before the next attempt (`first_delay`, 2×, 4× … up to `max_delay`),
    and `lock_after` failures lock that pair for `lock_for` seconds. Per address: `address_cap`
    failures within the window (any user names) lock the address for `lock_for` seconds.

    Nothing is locked per user name alone: a leader who forgot their password, or an
    attacker trying the leader's name, locks only that name from that address — the right
    password from another address still signs in, and nobody else is affected. One user
    name alone cannot reach the address cap (lock_after < address_cap)."""

    free: int = 3
    first_delay: float = 2.0
    max_delay: float = 60.0
    lock_after: int = 10
    lock_for: float = 15 * 60.0
    address_cap: int = 30
    window: float = 15 * 60.0
    max_tracked: int = 10_000  # bounded memory: the oldest entries are forgotten first


@dataclass
class _Failures:
    times: list[float]
    locked_until: float = 0.0


class Throttle:
    """In-process, thread-safe count of failed sign-ins (one per server process).

    `refusal(user, address)` before checking a password: None, or a Chinese message with
    the wait; `failed` / `succeeded` after. The clock is injectable (tests)."""

    def __init__(self, rules: ThrottleRules | None = None, clock=time.monotonic) -> None:
        self.rules = rules or ThrottleRules()
        self.clock = clock
        self._pairs: dict[tuple[str, str], _Failures] = {}
        self._addresses: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _recent(self, entry: _Failures | None, now: float) -> list[float]:
        if entry is None:
            return []
        entry.times = [t for t in entry.times if now - t < self.rules.window]
        return entry.times

    def wait(self, username: str, address: str) -> tuple[float, str]:
        """(seconds to wait, why: 'address' | 'locked' | 'delay'); (0, '') when free to try."""
        r, now = self.rules, self.clock()
        with self._lock:
            place = self._addresses.get(address)
            if place is not None and place.locked_until > now:
                return place.locked_until - now, "address"
            pair = self._pairs.get((username, address))
            if pair is not None and pair.locked_until > now:
                return pair.locked_until - now, "locked"
            times = self._recent(pair, now)
            if len(times) > r.free:
                delay = min(r.first_delay * 2 ** (len(times) - r.free - 1), r.max_delay)
                left = times[-1] + delay - now
                if left > 0:
                    return left, "delay"
        return 0.0, ""

    def refusal(self, username: str, address: str) -> str | None:
        """None when the attempt may go ahead, else why not and how long to wait (Chinese)."""
        seconds, why = self.wait(username, address)
        if not why:
            return None
        left = wait_text(seconds)
        if why == "address":
            return f"当前网络地址登录失败次数过多，已暂停登录，请 {left}后再试。"
        if why == "locked":
            return (
                f"该账号在当前网络地址连续输错密码 {self.rules.lock_after} 次，已锁定，"
                f"请 {left}后再试；忘记密码请联系创文办重置。"
            )
        return f"密码输错次数较多，请 {left}后再试。"

    def failed(self, username: str, address: str) -> None:
        r, now = self.rules, self.clock()
        with self._lock:
            self._forget_oldest()
            pair = self._pairs.setdefault((username, address), _Failures([]))
            self._recent(pair, now).append(now)
            if len(pair.times) >= r.lock_after:
                pair.locked_until, pair.times = now + r.lock_for, []
            place = self._addresses.setdefault(address, _Failures([]))
            self._recent(place, now).append(now)
            if len(place.times) >= r.address_cap:
                place.locked_until, place.times = now + r.lock_for, []

    def succeeded(self, username: str, address: str) -> None:
        """The right password: that pair starts afresh (the address's count stays)."""
        with self._lock:
            self._pairs.pop((username, address), None)

    def _forget_oldest(self) -> None:
        for table in (self._pairs, self._addresses):
            while len(table) >= self.rules.max_tracked:
                table.pop(next(iter(table)))


def wait_text(seconds: float) -> str:
    """12 → '12 秒', 125 → '3 分钟' (rounded up: never tell someone to retry too early)."""
    seconds = max(1, math.ceil(seconds))
    return f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"


THROTTLE = Throttle()


def resolve_roots(user: User, index: UnitIndex) -> tuple[int, ...]:
    """The unit ids the user's `units` entries name: a unit id, or a name matched by the
    importer's matcher (`unit_match.UnitIndex`: the same normalisation, paths such as
    东城区/解放街道/光明社区 or 解放街道光明社区, suffixes such as 办事处). Nothing is guessed: a
    name that fits several units or none raises UsersFileError naming the user, the entry
    and the candidates."""
    roots: set[int] = set()
    for entry in user.units:
        if entry.isdigit() and int(entry) in index:
            roots.add(int(entry))
            continue
        try:
            roots.add(index.resolve(entry))
        except UnitMatchError as exc:
            raise UsersFileError(f"用户 {user.username} 的 units 中：{exc.message}") from exc
    return tuple(sorted(roots))


def unit_index(rows: Iterable[tuple]) -> UnitIndex:
    """The matcher over (unit_id, name, kind, parent_id) rows; a missing parent (None, NaN or
    pandas' NA) is the root."""
    return UnitIndex(
        (int(u), str(n), str(k), None if p is None or pd.isna(p) else int(p)) for u, n, k, p in rows
    )


def check_units(users: dict[str, User], index: UnitIndex) -> tuple[dict[str, str], list[str]]:
    """For `check`: each user's scope as text (units by their path) and every problem."""
    scopes, problems = {}, []
    for user in users.values():
        if user.sees_everything:
            scopes[user.username] = "全部单位"
            continue
        try:
            roots = resolve_roots(user, index)
        except UsersFileError as exc:
            problems.append(str(exc))
            scopes[user.username] = "（有错误，见下）"
            continue
        scopes[user.username] = (
            "、".join(index.path(r) for r in roots) or "无单位（看不到任何数据）"
        )
    return scopes, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.auth", description="用户与密码工具")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash", help="为一个密码生成 argon2 哈希（写入 users.toml 的 password_hash）")
    check = sub.add_parser("check", help="检查用户文件是否有效，并按数据库中的单位名录核对单位")
    check.add_argument("path", type=Path)
    check.add_argument("--db", type=Path, help="数据库文件（默认：$CHUANGWEN_DB 或内置演示数据）")
    args = parser.parse_args(argv)
    if args.command == "hash":
        password = getpass.getpass("密码：")
        if password != getpass.getpass("再输入一次："):
            print("两次输入的密码不一致")
            return 1
        print(hash_password(password))
        return 0
    try:
        users = load_users(args.path)
    except UsersFileError as exc:
        print(exc)
        return 1
    index, why = _unit_index(args.db)
    if index is None:
        for user in users.values():
            print(f"{user.username}\t{ROLES[user.role]}\t{scope_text(user)}")
        print(f"未核对单位名称：{why}")
        return 0
    scopes, problems = check_units(users, index)
    for user in users.values():
        print(f"{user.username}\t{ROLES[user.role]}\t{scopes[user.username]}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def _unit_index(path: Path | None) -> tuple[UnitIndex | None, str]:
    """The unit list of the database, read-only; (None, why) when it cannot be read."""
    import duckdb

    from dashboard import db

    path = path or db.db_path()
    problem = db.check_database(path)
    if problem:
        return None, problem
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            rows = con.execute(db.sql_text("all_units")).fetchall()
            columns = [c[0] for c in con.description]
        finally:
            con.close()
    except duckdb.Error as exc:
        return None, f"无法读取数据库 {path}（{type(exc).__name__}）"
    at = [columns.index(c) for c in ("unit_id", "name", "kind", "parent_id")]
    return unit_index(tuple(r[i] for i in at) for r in rows), ""


def scope_text(user: User) -> str:
    """What the user sees, as `check` lists it: 全部单位 for leaders and clerks, else their
    units, or 无单位 (they see nothing)."""
    if user.sees_everything:
        return "全部单位"
    return "、".join(user.units) or "无单位（看不到任何数据）"


if __name__ == "__main__":
    raise SystemExit(main())
