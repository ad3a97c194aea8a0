"""The signed-in session: login form, access banner and the Access every query is checked against."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, db, metrics

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
        users = auth.load_users(path)
    except auth.UsersFileError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    user = st.session_state.get(_USER_KEY)
    if user is None or user.username not in users:
        _login_form(users)
        st.stop()
    if user.sees_everything:
        access = auth.Access(user, None)
    else:
        all_units = metrics.units()
        roots = auth.resolve_roots(
            user, list(zip(all_units["unit_id"].astype(int), all_units["name"], strict=True))
        )
        access = auth.Access(user, roots)
    st.session_state[db.ACCESS_STATE_KEY] = access
    return access


def _login_form(users: dict[str, auth.User]) -> None:
    st.title("创文态势看板")
    with st.form("login"):
        st.subheader("请登录")
        username = st.text_input("用户名", key="login_user")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        user = auth.verify(users, username.strip(), password)
        if user is None:
            st.error("用户名或密码不正确")
        else:
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
    st.sidebar.caption(f"{user.name}（{auth.ROLES[user.role]}）")
    if st.sidebar.button("退出登录", key="logout"):
        st.session_state.pop(_USER_KEY, None)
        st.session_state.pop(db.ACCESS_STATE_KEY, None)
        st.rerun()
