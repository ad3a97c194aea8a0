"""The signed-in session: login form, access banner and the Access every query is checked against."""

from __future__ import annotations

import os

import streamlit as st

from dashboard import auth, db, metrics
from dashboard.components.text import md_escape
from dashboard.unit_match import UnitIndex

_USER_KEY = "_cw_user"
REFUSED = "这部分内容涉及您授权范围以外的单位，已隐藏。"


def show_refused() -> None:
    """What a refused query (db.AccessDenied) shows: the router's handler, and the handler of
    code that runs outside it (a fragment's own reruns)."""
    st.warning(REFUSED, icon=":material/lock:")


def ensure_access() -> auth.Access:
    """Return this session's Access; show the login form and stop the run when needed."""
    path = auth.users_file()
    if path is None:
        st.session_state[db.ACCESS_STATE_KEY] = auth.OPEN_ACCESS
        return auth.OPEN_ACCESS
    try:
        users = auth.current_users(path)
    except auth.UsersFileError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    user = _current_user(users)
    if user is None:
        _login_form(users)
        st.stop()
    if user.sees_everything:
        access = auth.Access(user, None)
    else:
        try:
            roots = auth.resolve_roots(user, _unit_index())
        except auth.UsersFileError as exc:  # a repeated or unknown unit name: nothing guessed
            st.error(f"{exc}。请联系创文办修改用户文件。", icon=":material/error:")
            st.stop()
        access = auth.Access(user, roots)
    st.session_state[db.ACCESS_STATE_KEY] = access
    return access


_NOTICE_KEY = "_cw_login_notice"
TRUST_PROXY_ENV = "CHUANGWEN_TRUST_PROXY"


def _current_user(users: dict[str, auth.User]) -> auth.User | None:
    """The signed-in user as the users file says NOW (re-read when its mtime changes): a
    demoted user gets the new role and units on their next run; a removed user, or one
    whose password was reset, is signed out."""
    user = st.session_state.get(_USER_KEY)
    if user is None:
        return None
    fresh = users.get(user.username)
    if fresh is None or fresh.password_hash != user.password_hash:
        _sign_out()
        st.session_state[_NOTICE_KEY] = "您的账号已被停用或密码已重置，请重新登录。"
        return None
    if fresh != user:
        st.session_state[_USER_KEY] = fresh
    return fresh


def still_current() -> bool:
    """False when the users file no longer has the signed-in user as they signed in (demoted,
    removed, password reset) or is broken. Code that reruns without the router — the meeting
    view's self-refreshing fragment — checks this and reruns the whole app, so the change
    takes effect there too."""
    path = auth.users_file()
    if path is None:
        return True
    user = st.session_state.get(_USER_KEY)
    try:
        return user is not None and auth.current_users(path).get(user.username) == user
    except auth.UsersFileError:
        return False


def _sign_out() -> None:
    st.session_state.pop(_USER_KEY, None)
    st.session_state.pop(db.ACCESS_STATE_KEY, None)


def client_address() -> str:
    """The address sign-in attempts are counted against: the connection's address, or —
    behind a reverse proxy, with $CHUANGWEN_TRUST_PROXY=1 — the right-most X-Forwarded-For
    entry (the one the proxy added; the others can be forged). '本机' on localhost."""
    try:
        if os.environ.get(TRUST_PROXY_ENV, "").strip() == "1":
            forwarded = st.context.headers.get("X-Forwarded-For", "")
            hops = [h.strip() for h in forwarded.split(",") if h.strip()]
            if hops:
                return hops[-1]
        return st.context.ip_address or "本机"
    except Exception:  # noqa: BLE001 - no client context (bare mode): one shared bucket
        return "本机"


@db.per_snapshot
def _unit_index() -> UnitIndex:
    """The importer's matcher over the snapshot's unit list (built once per snapshot)."""
    units = metrics.units()
    return auth.unit_index(units[["unit_id", "name", "kind", "parent_id"]].itertuples(index=False))


def _login_form(users: dict[str, auth.User]) -> None:
    st.title("创文态势看板")
    notice = st.session_state.pop(_NOTICE_KEY, None)
    if notice:
        st.warning(notice, icon=":material/logout:")
    with st.form("login"):
        st.subheader("请登录")
        username = st.text_input("用户名", key="login_user")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录", type="primary")
    if not submitted:
        return
    name, address = username.strip(), client_address()
    refusal = auth.THROTTLE.refusal(name, address)
    if refusal:  # not even checked: a locked pair learns nothing from the right password
        st.error(refusal, icon=":material/timer:")
        return
    user = auth.verify(users, name, password)
    if user is None:
        auth.THROTTLE.failed(name, address)
        wait = auth.THROTTLE.refusal(name, address)
        st.error("用户名或密码不正确。" + (wait or ""), icon=":material/error:")
    else:
        auth.THROTTLE.succeeded(name, address)
        st.session_state[_USER_KEY] = user
        st.rerun()


def sidebar_account(access: auth.Access) -> None:
    """Who is signed in (and a logout button), or the banner that access control is off."""
    if not access.control_on:
        st.sidebar.warning(
            "访问控制未开启：演示模式下所有人可查看全部单位。配置用户文件后按单位授权。",
            icon=":material/lock_open:",
        )
        return
    user = access.user
    st.sidebar.caption(f"{md_escape(user.name)}（{auth.ROLES[user.role]}）")
    if st.sidebar.button("退出登录", key="logout"):
        _sign_out()
        st.rerun()
