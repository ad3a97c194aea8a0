"""The page-speed benchmark (bench/run.py) keeps working: a tiny-scale smoke run."""

from __future__ import annotations

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
