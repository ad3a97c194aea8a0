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
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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


def load_users(path: Path) -> dict[str, User]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsersFileError(f"找不到用户文件 {path}（环境变量 {USERS_ENV}）") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsersFileError(f"用户文件 {path} 无法读取：{exc}") from exc
    users = {}
    for username, entry in (data.get("users") or {}).items():
        if not isinstance(entry, dict):
            raise UsersFileError(f"用户文件中 [users.{username}] 应为一个表")
        role = entry.get("role")
        if role not in ROLES:
            raise UsersFileError(
                f"用户 {username} 的 role「{role}」无效，应为 {', '.join(ROLES)} 之一"
            )
        units = entry.get("units", [])
        if not isinstance(units, list) or not all(isinstance(u, str | int) for u in units):
            raise UsersFileError(f"用户 {username} 的 units 应为单位名称列表")
        password_hash = entry.get("password_hash", "")
        if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
            raise UsersFileError(
                f"用户 {username} 缺少 argon2 密码哈希（用 python -m dashboard.auth hash 生成）"
            )
        users[username] = User(
            username=username,
            name=str(entry.get("name", username)),
            role=role,
            units=tuple(str(u) for u in units),
            password_hash=password_hash,
        )
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


def resolve_roots(user: User, units: list[tuple[int, str]]) -> tuple[int, ...]:
    """The unit ids a user's `units` entries name (by id or exact name); unknown ones drop."""
    by_name: dict[str, list[int]] = {}
    ids = set()
    for unit_id, name in units:
        by_name.setdefault(name, []).append(unit_id)
        ids.add(unit_id)
    roots: list[int] = []
    for entry in user.units:
        if entry.isdigit() and int(entry) in ids:
            roots.append(int(entry))
        else:
            roots.extend(by_name.get(entry, []))
    return tuple(sorted(set(roots)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.auth", description="用户与密码工具")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash", help="为一个密码生成 argon2 哈希（写入 users.toml 的 password_hash）")
    check = sub.add_parser("check", help="检查用户文件是否有效")
    check.add_argument("path", type=Path)
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
    for user in users.values():
        print(f"{user.username}\t{ROLES[user.role]}\t{','.join(user.units) or '全部单位'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
