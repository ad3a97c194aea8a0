"""The tiny dataset under a province with three more cities scored in the last provincial
test — what the 测算 page needs to imply a rank among cities. tests/tiny.py is unchanged:
its city (临江市, 1) keeps every number, so the estimate and fixes are the same here.

    100 江南省 (province)
    ├─ 1 临江市 … (tests/tiny.py)
    ├─ 101 云州市   95 in assessment 1 (2025年下半年省级测评)
    ├─ 102 青州市   85
    └─ 103 安平市   70

临江市 scored 78 there; at AS_OF its estimate is 64.5 (tests/test_simulator.py), so the
implied rank among the four is 4 (95, 85, 70 above it); +10 → 74.5 is 3rd; 85 ties 青州市
for 2nd; over 95 is 1st.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dashboard import store
from tests.tiny import AS_OF, fill_tiny

PROVINCE = (100, "江南省", "province", None, 1, None)
PEER_CITIES = [(101, "云州市", 95.0), (102, "青州市", 85.0), (103, "安平市", 70.0)]


def fill_sim_tiny(con: duckdb.DuckDBPyConnection) -> None:
    fill_tiny(con)
    con.execute("insert into units values (?, ?, ?, ?, ?, ?)", PROVINCE)
    con.execute("update units set parent_id = 100 where unit_id = 1")
    for order, (unit_id, name, value) in enumerate(PEER_CITIES, start=2):
        con.execute("insert into units values (?, ?, 'city', 100, ?, 90)", [unit_id, name, order])
        con.execute("insert into scores values (1, ?, NULL, ?, 100, 100)", [unit_id, value])


def build_sim_tiny(path: Path) -> Path:
    return store.write_snapshot(
        path, fill_sim_tiny, meta={"source": "test", "reference_date": AS_OF.isoformat()}
    )
