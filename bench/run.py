"""Page-speed benchmark: every page's data at city and province scale, against the
straightforward ways (one SQL query over the raw tables; pandas over the loaded tables).

    python -m bench.run --scales 1,4,16 --dir /tmp/bench --repeat 7

For each scale it generates (or reuses) /tmp/bench/scale<S>.duckdb with the demo generator
(reference date 2026-11-24), then, in a fresh process per scale, for each page and for two
scopes (the root and its first district): clears the Streamlit cache and every page
result the process holds (a cold page: the snapshot's own state, read once per snapshot and
process, stays; see clear_caches) and times the engine calls the page makes
(bench/pages.py), repeat times — and once more at the root with nothing of the snapshot
held ("after open": the first page after a snapshot is swapped in);
then times the same core numbers computed straightforwardly in SQL and in pandas
(bench/baselines.py), checks all three agree, and reports p50/p95, ratios and peak RSS.
At scale ≤ 1 it also times a full AppTest run of each page. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2026, 11, 24)
# a replayed date (?as_of=): not among the days a snapshot stores (served_days, flag days)
REPLAYED = AS_OF - dt.timedelta(days=40)
SEED = 20261124
PAGE_ORDER = (
    "meeting", "rankings", "rankings_rates", "trends", "flags", "unit", "weekly", "simulator", "data",
)  # fmt: skip


# ── databases ────────────────────────────────────────────────────────────────────────────


def ensure_db(scale: float, directory: Path, *, regenerate: bool = False) -> dict:
    """Generate scale<S>.duckdb once (timed); later runs reuse it and its recorded timing."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"scale{scale:g}"
    path = directory / f"{name}.duckdb"
    info_path = directory / f"{name}.json"
    from dashboard.store import derived_version

    derived_sum = derived_version()  # derived.sql and the rule queries (precomputed flags)
    if path.exists() and info_path.exists() and not regenerate:
        info = json.loads(info_path.read_text())
        if info.get("derived") == hash_text(derived_sum):
            return info
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dashboard.demo", "--db", str(path), "--scale", f"{scale:g}",
         "--seed", str(SEED), "--reference-date", AS_OF.isoformat()],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    info = {
        "scale": scale,
        "path": str(path),
        "generate_s": round(time.perf_counter() - started, 2),
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "derived": hash_text(derived_sum),
    }
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        info["visits"], info["problems"] = con.execute(
            "select (select count(*) from visits), (select count(*) from problems)"
        ).fetchone()
    finally:
        con.close()
    info_path.write_text(json.dumps(info))
    return info


def hash_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ── measuring (in the worker process) ────────────────────────────────────────────────────


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB, from /proc or getrusage."""
    current = peak = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current or peak, peak


def clear_caches(*, snapshot: bool = False) -> None:
    """A cold page: Streamlit's data cache and every page result of this process dropped
    (db.clear_results) — what the first person to open a page for their scope finds. The
    snapshot's own state (the unit list, tests, campaigns, the served rows: read once per
    snapshot and process, db.snapshot_cache) stays, unless `snapshot`: then the process
    holds nothing of the snapshot (db.clear_memos), as for the first page after a swap."""
    import streamlit as st

    from dashboard import db

    st.cache_data.clear()
    if snapshot:
        db.clear_memos()
    else:
        db.clear_results()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def time_calls(call, repeat: int, *, clear: bool = True, snapshot: bool = False) -> list[float]:
    times = []
    for _ in range(repeat):
        if clear:
            clear_caches(snapshot=snapshot)
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def requests_for(page: str, scope_id: int, campaign_id: int | None, flag_levels: dict) -> list:
    """The core numbers each page shows, as baseline requests (bench/baselines.py)."""
    from dashboard import filters, metrics, weekly

    week = weekly.recent_weeks(AS_OF, 1)[0]
    unit = metrics.units().set_index("unit_id").loc[scope_id]
    child = filters.child_level(str(unit["kind"]))
    prev = AS_OF - dt.timedelta(days=7)
    cov = [] if campaign_id is None else [("cov", scope_id, "self", AS_OF, campaign_id)]
    if page == "meeting":
        out = [(f, scope_id, "self", d) for f in ("rect", "mat", "pts") for d in (AS_OF, prev)]
        if campaign_id is not None:
            out += [("cov", scope_id, "self", d, campaign_id) for d in (AS_OF, prev)]
        if child:
            out += [(f, scope_id, child, AS_OF) for f in ("rect", "mat", "pts")]
            out += [] if campaign_id is None else [("cov", scope_id, child, AS_OF, campaign_id)]
        return out
    if page == "rankings_rates":
        from dashboard import rankings

        level = (rankings.level_options(scope_id) or [None])[0]
        if level is None:
            return []
        out = [("rect", scope_id, level, d) for d in (AS_OF, prev)]
        if campaign_id is not None:
            out += [("cov", scope_id, level, d, campaign_id) for d in (AS_OF, prev)]
        return out
    if page == "trends":
        from dashboard import trends

        start = trends.span_start(AS_OF, "3m", "day")  # 趋势's daily line: start → as_of
        return [("rect_days", scope_id, start, AS_OF), *cov]
    if page == "flags":
        days = [AS_OF - dt.timedelta(days=7 * k) for k in range(0, 9)]
        out = []
        for d in days:
            out += [("rect", scope_id, lv, d) for lv in flag_levels["rect"]]
            if campaign_id is not None:
                out += [("cov", scope_id, lv, d, campaign_id) for lv in flag_levels["cov"]]
        return out
    if page == "unit":
        return [("rect", scope_id, "self", AS_OF), ("mat", scope_id, "self", AS_OF), *cov]
    if page == "weekly":
        out = [("rect", scope_id, "self", d) for d in (week.end, week.prev_end)]
        out += [("mat", scope_id, "self", d) for d in (week.end, week.prev_end)]
        if campaign_id is not None:
            out += [("cov", scope_id, "self", d, campaign_id) for d in (week.end, week.prev_end)]
        return out
    return []


def worker(db_path: str, repeat: int, pandas_repeat: int, apptest: bool, quick: bool) -> dict:
    """Measure one database in this (fresh) process; print a JSON result."""
    os.environ["CHUANGWEN_DB"] = db_path
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    logging.disable(logging.WARNING)
    from bench import baselines
    from bench.pages import PAGES
    from dashboard import db, flags, metrics, startup

    units = metrics.units()
    root = int(units[units["parent_id"].isna()]["unit_id"].iloc[0])
    district = int(units[units["kind"] == "district"]["unit_id"].iloc[0])
    campaign = metrics.campaign_at(AS_OF)
    campaign_id = campaign.campaign_id if campaign else None
    rules = flags.rules_or_last_good()[0]

    def levels_of(rule_id: str) -> list[str]:
        cfg = rules.get(rule_id)
        return list(cfg.param_dict().get("levels", [])) if cfg and cfg.enabled else []

    flag_levels = {"rect": levels_of("rectification_below"), "cov": levels_of("coverage_behind")}

    # where the time goes: per query name, over one cold run of each page at the root
    per_query: dict[str, dict[str, float]] = {}
    original = db.run_query

    def traced(identity, name, params):
        started = time.perf_counter()
        try:
            return original(identity, name, params)
        finally:
            spent = (time.perf_counter() - started) * 1000
            slot = per_query.setdefault(current[0], {})
            slot[name] = slot.get(name, 0.0) + spent

    current = [""]
    result: dict = {"pages": {}, "rss_start_mb": rss_mb()[0]}
    scopes = {"root": root} if quick else {"root": root, "district": district}
    if not quick:  # warm-up: import costs and DuckDB's first touches are not a page's
        for page in PAGES:
            PAGES[page](root, AS_OF)
        startup.warm_up(root, AS_OF)  # as the app does after a start: then frozen
    for page in PAGE_ORDER:
        row: dict = {}
        for scope_name, scope_id in scopes.items():
            times = time_calls(lambda p=page, s=scope_id: PAGES[p](s, AS_OF), repeat)
            row[scope_name] = times
        # the first page after a snapshot is swapped in (or the process starts) also reads
        # the snapshot's state: the root's page with nothing of the snapshot held
        row["opened"] = time_calls(
            lambda p=page: PAGES[p](root, AS_OF), max(1, min(repeat, 5)), snapshot=True
        )
        if not quick:  # the snapshot's state again as the app holds it after its warm-up
            startup.warm_up(root, AS_OF)
        db.run_query = traced
        current[0] = page
        clear_caches()
        started = time.perf_counter()
        PAGES[page](root, AS_OF)
        row["traced_total_ms"] = (time.perf_counter() - started) * 1000
        db.run_query = original
        row["rss_mb"], row["peak_rss_mb"] = rss_mb()
        row["queries"] = dict(sorted(per_query.get(page, {}).items(), key=lambda kv: -kv[1])[:4])
        result["pages"][page] = row
    if not quick:
        result["concurrent"] = concurrent_rows(units, max(1, min(repeat, 3)))
        result["replayed"] = {
            page: time_calls(lambda p=page: PAGES[p](root, REPLAYED), max(1, min(repeat, 5)))
            for page in PAGE_ORDER
        }
    result["engine_peak_rss_mb"] = rss_mb()[1]

    # baselines, side by side, after the engine (they would dwarf the app's memory)
    # through the app's own connection: a second DuckDB instance on the same file in one
    # process is not what the app does (and trips DuckDB 2.0's dictionary cache)
    con = db._cursor(db.file_identity())
    for page in PAGE_ORDER:
        row = result["pages"][page]
        for scope_name, scope_id in scopes.items():
            reqs = requests_for(page, scope_id, campaign_id, flag_levels)
            row[f"requests_{scope_name}"] = len(reqs)
            if not reqs:
                continue
            clear_caches()
            started = time.perf_counter()
            engine_out = [baselines.engine(r) for r in reqs]
            row[f"engine_core_ms_{scope_name}"] = (time.perf_counter() - started) * 1000
            try:
                sql_times, sql_out = [], None
                for _ in range(max(1, min(repeat, 3))):
                    started = time.perf_counter()
                    sql_out = [baselines.sql(con, r) for r in reqs]
                    sql_times.append((time.perf_counter() - started) * 1000)
                row[f"sql_{scope_name}"] = sql_times
                if pandas_repeat:
                    pd_times, pd_out = [], None
                    for _ in range(pandas_repeat):
                        started = time.perf_counter()
                        names = set().union(*(baselines.TABLES[r[0]] for r in reqs))
                        tables = baselines.load(con, names)
                        pd_out = [baselines.pandas(tables, r) for r in reqs]
                        pd_times.append((time.perf_counter() - started) * 1000)
                        del tables
                    row[f"pandas_{scope_name}"] = pd_times
                else:
                    pd_out = sql_out
                row[f"equal_{scope_name}"] = all(
                    baselines.equal(e, s) and baselines.equal(e, p)
                    for e, s, p in zip(engine_out, sql_out, pd_out, strict=True)
                )
            except Exception as exc:  # noqa: BLE001 - report it, measure the rest
                row[f"error_{scope_name}"] = f"{type(exc).__name__}: {str(exc)[:160]}"
    con.close()
    result["total_peak_rss_mb"] = rss_mb()[1]
    if apptest:
        result["apptest"] = apptest_times(root, 1 if quick else max(3, min(repeat, 5)))
    return result


CONCURRENT_USERS = 8


def concurrent_times(page: str, scope_ids: list[int]) -> list[float]:
    """Each scope's page loaded by its own thread, all started together, cold: ms each."""
    import threading

    from bench.pages import PAGES

    clear_caches()
    barrier = threading.Barrier(len(scope_ids))
    times: list[float] = [0.0] * len(scope_ids)
    errors: list[BaseException] = []

    def load(i: int, scope_id: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            PAGES[page](scope_id, AS_OF)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        times[i] = (time.perf_counter() - started) * 1000

    threads = [threading.Thread(target=load, args=(i, s)) for i, s in enumerate(scope_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return times


def concurrent_rows(units, repeat: int) -> dict:
    """Eight people opening at once: eight different units' 本单位 pages (streets and
    departments), and eight districts' meeting views (streets when there are fewer
    districts); the slowest thread of each round."""

    def first(kind: str, n: int) -> list[int]:
        return [int(u) for u in units[units["kind"] == kind]["unit_id"].head(n)]

    half = CONCURRENT_USERS // 2
    unit_scopes = first("street", half) + first("department", CONCURRENT_USERS - half)
    districts = first("district", CONCURRENT_USERS)
    meeting_scopes = districts + first("street", CONCURRENT_USERS - len(districts))
    out = {}
    for page, scopes in (("unit", unit_scopes), ("meeting", meeting_scopes)):
        rounds = [concurrent_times(page, scopes) for _ in range(repeat)]
        out[page] = {
            "users": len(scopes),
            "districts": len(districts) if page == "meeting" else None,
            "slowest_ms": [max(r) for r in rounds],
            "median_ms": [statistics.median(r) for r in rounds],
        }
    return out


def apptest_times(root: int, repeat: int) -> dict:
    """A full AppTest run of each page through the entry script, Streamlit cache cleared."""
    from bench.pages import PAGE_FILES
    from tests.apptest import open_app

    out = {}
    for page, file in PAGE_FILES.items():
        times, whole = [], []
        for _ in range(repeat):
            clear_caches()
            started = time.perf_counter()
            at = open_app({"as_of": AS_OF.isoformat()})  # the landing page first
            clear_caches()
            switched = time.perf_counter()
            at.switch_page(file)
            at.run()
            times.append((time.perf_counter() - switched) * 1000)
            whole.append((time.perf_counter() - started) * 1000)
            if at.exception:
                out[page] = {"error": str(at.exception[0].message)[:200]}
                break
        else:
            out[page] = {"ms": times, "with_landing_ms": whole}
    return out


# ── reporting ────────────────────────────────────────────────────────────────────────────


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def report(infos: list[dict], results: list[dict], load: str) -> str:
    lines = [f"load average at start: {load}", ""]
    lines.append("| scale | visits | problems | generate s | file MB |")
    lines.append("|---|---:|---:|---:|---:|")
    for info in infos:
        lines.append(
            f"| {info['scale']:g} | {info.get('visits', 0):,} | {info.get('problems', 0):,} "
            f"| {info['generate_s']} | {info['size_mb']} |"
        )
    lines.append("")
    lines.append(
        "| scale | page | scope | p50 ms | p95 ms | after open ms | core ms | SQL ms | pandas ms "
        "| ×SQL | ×pandas | ×SQL core | ×pandas core | equal | RSS MB (peak) "
        "| where the time goes (root, ms) |"
    )
    lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for info, res in zip(infos, results, strict=True):
        for page in PAGE_ORDER:
            row = res["pages"][page]
            for scope in ("root", "district"):
                if scope not in row:
                    continue
                times = row[scope]
                p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
                sql = statistics.median(row[f"sql_{scope}"]) if row.get(f"sql_{scope}") else None
                pdm = (
                    statistics.median(row[f"pandas_{scope}"])
                    if row.get(f"pandas_{scope}")
                    else None
                )
                core = row.get(f"engine_core_ms_{scope}")
                where = ""
                if scope == "root":
                    where = ", ".join(f"{k} {v:.0f}" for k, v in row["queries"].items())
                if row.get(f"error_{scope}"):
                    where = f"baseline failed: {row[f'error_{scope}']} {where}"
                opened = (
                    fmt_ms(percentile(row["opened"], 0.5))
                    if scope == "root" and row.get("opened")
                    else ""
                )
                lines.append(
                    f"| {info['scale']:g} | {page} | {scope} | {fmt_ms(p50)} | {fmt_ms(p95)} "
                    f"| {opened} | {fmt_ms(core)} | {fmt_ms(sql)} | {fmt_ms(pdm)} "
                    f"| {'—' if sql is None else f'{sql / p50:.1f}'} "
                    f"| {'—' if pdm is None else f'{pdm / p50:.1f}'} "
                    f"| {'—' if sql is None or not core else f'{sql / core:.1f}'} "
                    f"| {'—' if pdm is None or not core else f'{pdm / core:.1f}'} "
                    f"| {row.get(f'equal_{scope}', '—')} "
                    f"| {row['rss_mb']:.0f} ({row['peak_rss_mb']:.0f}) | {where} |"
                )
        lines.append(
            f"| {info['scale']:g} | peak RSS | | engine {res['engine_peak_rss_mb']:.0f} MB, "
            f"with baselines {res['total_peak_rss_mb']:.0f} MB | | | | | | | | | | | |"
        )
    for info, res in zip(infos, results, strict=True):
        for page, r in res.get("concurrent", {}).items():
            who = (
                f"{r['users']} units (streets, departments)"
                if page == "unit"
                else f"{r['users']} scopes ({r['districts']} districts, the rest streets)"
            )
            lines.append(
                f"concurrent at scale {info['scale']:g}, {page}: {who} opened at once, cold — "
                f"slowest thread {fmt_ms(statistics.median(r['slowest_ms']))} ms "
                f"(worst round {fmt_ms(max(r['slowest_ms']))}), median thread "
                f"{fmt_ms(statistics.median(r['median_ms']))} ms"
            )
    for info, res in zip(infos, results, strict=True):
        if res.get("replayed"):
            cells = ", ".join(
                f"{page} {fmt_ms(percentile(t, 0.5))} / {fmt_ms(percentile(t, 0.95))}"
                for page, t in res["replayed"].items()
            )
            lines.append(
                f"replayed date {REPLAYED} at scale {info['scale']:g}, root, cold "
                f"(p50 / p95 ms): {cells}"
            )
    for info, res in zip(infos, results, strict=True):
        if "apptest" in res:
            lines.append("")
            lines.append(
                f"AppTest at scale {info['scale']:g}, cache cleared: the page's own run "
                "(p50 / max ms), and with the landing page run before it (p50):"
            )
            for page, r in res["apptest"].items():
                if "error" in r:
                    lines.append(f"  {page}: ERROR {r['error']}")
                else:
                    lines.append(
                        f"  {page}: {fmt_ms(statistics.median(r['ms']))} / {fmt_ms(max(r['ms']))}"
                        f" · {fmt_ms(statistics.median(r.get('with_landing_ms', r['ms'])))}"
                    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4,16")
    parser.add_argument("--dir", default="/tmp/bench")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pandas-repeat", type=int, default=1)
    parser.add_argument("--apptest-max-scale", type=float, default=1.0)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer repeats")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--apptest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        res = worker(args.worker, args.repeat, args.pandas_repeat, args.apptest, args.quick)
        print("RESULT " + json.dumps(res, default=str))
        return 0

    load = (
        " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if Path("/proc/loadavg").exists()
        else "?"
    )
    infos, results = [], []
    for text in args.scales.split(","):
        scale = float(text)
        info = ensure_db(scale, Path(args.dir), regenerate=args.regenerate)
        infos.append(info)
        cmd = [sys.executable, "-m", "bench.run", "--worker", info["path"],
               "--repeat", str(args.repeat), "--pandas-repeat", str(args.pandas_repeat)]  # fmt: skip
        if scale <= args.apptest_max_scale:
            cmd.append("--apptest")
        if args.quick:
            cmd.append("--quick")
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        out = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        if done.returncode != 0 or not out:
            sys.stderr.write(done.stderr[-4000:])
            return 1
        results.append(json.loads(out[-1][len("RESULT ") :]))
        print(f"scale {scale:g} measured", file=sys.stderr, flush=True)
        if args.json:  # keep what is measured so far
            Path(args.json).write_text(json.dumps({"infos": infos, "results": results}))
    text = report(infos, results, load)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"infos": infos, "results": results}, indent=1))
    return 0 if all(
        r["pages"][p].get(f"equal_{s}", True) for r in results for p in PAGE_ORDER
        for s in ("root", "district")
    ) else 2  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
