"""The page-speed benchmark (bench/run.py) keeps working: a tiny-scale smoke run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_at_a_tiny_scale(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scales", "0.05", "--repeat", "1", "--quick",
         "--dir", str(tmp_path), "--apptest-max-scale", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("meeting", "rankings", "trends", "flags", "unit", "weekly", "data"):
        assert f"| {page} | root |" in done.stdout
    # engine, straightforward SQL and pandas agree wherever they were compared
    assert "| False |" not in done.stdout

    # an import's swap leaves one snapshot's state held, not one more per import
    # (bench/swap_memory.py; db.forget_older_snapshots)
    swaps = subprocess.run(
        [sys.executable, "-m", "bench.swap_memory", str(tmp_path / "scale0.05.duckdb"),
         "--rounds", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert swaps.returncode == 0, swaps.stderr[-3000:]
    held = re.findall(r"held \[([0-9, ]*)\]", swaps.stdout)
    assert len(held) == 3 and all(re.fullmatch(r"[1-9][0-9]*", h) for h in held), swaps.stdout
