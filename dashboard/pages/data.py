"""数据: import a unit's ledger (template, upload, errors, preview, confirm), freshness and history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import db, importer
from dashboard.components.text import date_text, md_escape
from dashboard.components.uploader_css import UPLOADER_CSS
from dashboard.importer import KIND_LABELS

RESULT_LABELS = {"ok": "成功", "rejected": "已拒绝"}
TABLE_LABELS = {spec.table: spec.label for spec in importer.SPECS.values()} | {"all": "演示数据"}
TIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

path = db.db_path()
access = db.current_access()
user = access.user.name if access.user is not None else "未登录用户"

st.subheader("导入台账")
if not access.may_import:
    st.info("只有数据员可以导入台账；下方可查看各类数据的更新情况和导入记录。")
else:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    kind = left.selectbox(
        "台账类型", list(KIND_LABELS), format_func=KIND_LABELS.get, key="import_kind"
    )
    right.download_button(
        f"下载「{KIND_LABELS[kind]}」模板",
        data=importer.template_xlsx(kind),
        file_name=f"{KIND_LABELS[kind]}模板.xlsx",
        mime=XLSX_MIME,
        key="import_template",
        icon=":material/download:",
    )
    st.caption(
        f"按「{importer.SPECS[kind].key_label}」识别同一条记录：重复导入不会重复计数，"
        "改正后的文件只更新改动的行；文件中没有的记录保持不变。"
        f"单个文件不超过 {importer.MAX_FILE_BYTES // 1048576} MB、{importer.MAX_ROWS:,} 行。"
    )
    st.markdown(UPLOADER_CSS, unsafe_allow_html=True)  # constant CSS, no data
    upload = st.file_uploader(
        "上传台账（Excel .xlsx 或 CSV）",
        type=["xlsx", "csv"],
        key=f"import_file_{kind}_{st.session_state.get('import_round', 0)}",
    )
    done = st.session_state.pop("import_done", None)
    if done:
        st.success(md_escape(done), icon=":material/check_circle:")
    if upload is not None:
        data = upload.getvalue()
        plan_key = ("import_plan", kind, upload.name, len(data), upload.file_id)
        plan: importer.ImportPlan | None = st.session_state.get("import_plan")
        if plan is None or st.session_state.get("import_plan_key") != plan_key:
            with st.spinner("正在逐行检查…"):
                plan = importer.prepare_import(path, data, upload.name, kind)
            st.session_state["import_plan"] = plan
            st.session_state["import_plan_key"] = plan_key
            if plan.errors:  # record the rejection once per upload, outside the database
                importer.apply_import(path, plan, user)
        if plan.errors:
            st.error(md_escape(plan.summary()), icon=":material/error:")
            st.dataframe(
                importer.errors_frame(plan.errors).drop(columns=["说明"]),
                hide_index=True,
                width="stretch",
                key="import_errors",
            )
            st.download_button(
                "下载问题清单（CSV）",
                data=importer.errors_as_csv(plan.errors),
                file_name=f"{upload.name}-问题清单.csv",
                mime="text/csv",
                key="import_errors_csv",
                icon=":material/download:",
            )
        else:
            st.info(md_escape(plan.summary()), icon=":material/preview:")
            if plan.added or plan.updated:
                st.markdown("**将要写入的行（样例）**")
                st.dataframe(plan.preview(), hide_index=True, width="stretch", key="import_preview")
            if plan.updated:
                st.markdown("**更新的内容**")
                st.dataframe(
                    plan.changes_frame(), hide_index=True, width="stretch", key="import_changes"
                )
            if st.button("确认导入", type="primary", key="import_confirm"):
                try:
                    result = importer.apply_import(path, plan, user)
                except importer.StalePlanError as exc:
                    st.warning(str(exc), icon=":material/sync_problem:")
                else:
                    st.session_state.pop("import_plan", None)
                    st.session_state.pop("import_plan_key", None)
                    st.session_state["import_done"] = result.summary()
                    st.session_state["import_round"] = st.session_state.get("import_round", 0) + 1
                    st.rerun()

st.subheader("数据更新情况")
freshness = importer.data_freshness(path)
freshness["last_import"] = pd.to_datetime(freshness["last_import"]).dt.strftime(TIME_FORMAT)
# one type per column (dates as text, "—" for none): a mixed column makes Arrow fail
freshness["latest_date"] = [date_text(d) for d in freshness["latest_date"]]
freshness = freshness.astype(object).where(freshness.notna(), "—")
st.dataframe(
    freshness.drop(columns=["kind"]).rename(
        columns={
            "label": "数据",
            "rows": "行数",
            "last_import": "最近导入",
            "latest_date": "最新业务日期",
        }
    ),
    hide_index=True,
    width="stretch",
    key="import_freshness",
)

st.subheader("导入记录")
history = importer.import_history(path)
if history.empty:
    st.caption("还没有导入记录。")
else:
    history["at"] = pd.to_datetime(history["at"]).dt.strftime(TIME_FORMAT)
    history = history.astype(object).where(history.notna(), "—")
    shown = history.assign(
        table_name=history["table_name"].map(lambda t: TABLE_LABELS.get(t, t)),
        result=history["result"].map(lambda r: RESULT_LABELS.get(r, r)),
        checksum=history["checksum"].map(lambda c: str(c)[:12]),
    )[
        [
            "at",
            "table_name",
            "file_name",
            "rows",
            "rows_added",
            "rows_updated",
            "errors",
            "by_user",
            "result",
            "checksum",
        ]
    ]
    st.dataframe(
        shown.rename(
            columns={
                "at": "时间",
                "table_name": "数据",
                "file_name": "文件",
                "rows": "行数",
                "rows_added": "新增",
                "rows_updated": "更新",
                "errors": "问题数",
                "by_user": "导入人",
                "result": "结果",
                "checksum": "校验码（SHA-256 前 12 位）",
            }
        ),
        hide_index=True,
        width="stretch",
        key="import_history",
    )
