"""会议大屏 (first cut): the decisive numbers for the scope and date in the URL."""

from __future__ import annotations

import streamlit as st

from dashboard import filters, metrics
from dashboard.components.text import pct

f = filters.current()
rect = metrics.rectification(f.scope_id, f.as_of).iloc[0]
cov = metrics.coverage(f.scope_id, f.as_of)
mat = metrics.materials_completion(f.scope_id, f.as_of).iloc[0]
pts = metrics.point_compliance(f.scope_id, f.as_of).iloc[0]

cols = st.columns(4)
cols[0].metric("整改率", pct(rect.rectification_rate), help=f"{rect.rectified} / {rect.found}")
cols[1].metric("走访覆盖率", pct(cov.iloc[0].coverage_rate) if len(cov) else "无数据")
cols[2].metric("台账完成率", pct(mat.completion_rate))
cols[3].metric("点位达标率", pct(pts.compliance_rate))
