"""Benchmark: a serving process's memory over repeated imports (python3 -m bench.swap_memory).

An import swaps a new snapshot file in at the same path (store.write_snapshot: os.replace).
Each round here loads every page at the root (bench/pages.py) and runs the app's warm-up,
prints the process's RSS and how many cached results and snapshot-state entries it holds
per snapshot file, then swaps a fresh copy of the source file in, as an import would. A
process that forgets the earlier snapshots' state (db.forget_older_snapshots) holds one
snapshot's entries and levels off; one that does not grows with every import.

    python3 -m bench.swap_memory /tmp/bench/scale16.duckdb --rounds 4

The source file is copied into a temporary directory first: it is never written.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path


def rss_mb() -> int:
    """The process's resident memory now, in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 2**20


def held_per_snapshot() -> list[int]:
    """Entries held per snapshot file identity (page results and snapshot state)."""
    from dashboard import db

    counts: dict[object, int] = {}
    for cache in [*db._caches, *db._snapshot_caches]:
        for key in list(cache._results):
            if key and isinstance(key[0], db.FileIdentity):
                counts[key[0]] = counts.get(key[0], 0) + 1
    return list(counts.values())


def run(source: Path, rounds: int) -> list[dict]:
    """The rounds' figures: RSS in MB and the entries held per snapshot after each."""
    with tempfile.TemporaryDirectory(prefix="cw-swap-") as tmp:
        live = Path(tmp) / "live.duckdb"
        shutil.copy(source, live)
        os.environ["CHUANGWEN_DB"] = str(live)
        logging.disable(logging.WARNING)
        from bench.pages import PAGES
        from bench.run import AS_OF
        from dashboard import db, metrics, startup

        out = []
        for number in range(rounds):
            units = metrics.units()
            root = int(units[units["parent_id"].isna()]["unit_id"].iloc[0])
            for page in PAGES.values():
                page(root, AS_OF)
            startup.warm_up(root, AS_OF)
            out.append({"round": number, "rss_mb": rss_mb(), "held": held_per_snapshot()})
            print(f"round {number}: RSS {out[-1]['rss_mb']} MB, held {out[-1]['held']}", flush=True)
            fresh = Path(tmp) / "fresh.duckdb"
            shutil.copy(source, fresh)
            os.replace(fresh, live)  # as store.write_snapshot swaps an import's snapshot in
        db.clear_memos()
        db.close_all()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a snapshot file (copied, never written)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    run(args.source, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
