"""``python -m benchmarks``: every figure of issue 13's benchmark section in one run.

Runs, in order: the raw send ceiling, the engine on SQLite and PostgreSQL against it, the
rate at Telegram's limit, reply latency during a burst (``benchmarks.people``), lateness
under a steady load, memory over a long burst, a million users on both databases, and the
same users as APScheduler jobs. Prints a table, merges the figures into ``results.json``
(one key per figure; other benchmarks' keys stay) and writes ``RESULTS.md``.

    python -m benchmarks [--quick] [--only ceiling,engine,...] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
import telegram

from benchmarks import engine, people
from benchmarks.alternative import run_alternative
from benchmarks.scale import scale
from benchmarks.standin import StandInProcess

FULL: dict[str, int] = {
    "ceiling": 1000, "engine": 3000, "limit": 1800, "people": 3000, "lateness": 60,
    "longburst": 20_000, "scale": 1_000_000, "alt_memory": 100_000, "alt_sql": 5000,
    "alt_fire": 1000, "alt_fire_sql": 300,
}
QUICK: dict[str, int] = {
    "ceiling": 500, "engine": 1000, "limit": 300, "people": 300, "lateness": 15,
    "longburst": 2000, "scale": 100_000, "alt_memory": 10_000, "alt_sql": 500,
    "alt_fire": 300, "alt_fire_sql": 100,
}
STEPS = ("ceiling", "engine", "limit", "people", "lateness", "longburst", "scale", "alternative")
ENGINE_GOAL = 0.8
RATE_TOLERANCE = 0.02
IDLE_TICK_GOAL_MS = 5.0
RSS_TOLERANCE = 0.15

# (key, what it is, the goal it is held to); a key missing from a run is left out.
ROWS: list[tuple[str, str, str]] = [
    ("ceiling_messages_per_second", "ceiling: raw Bot.send_message/s (median of 3 x 1,000)", ""),
    ("engine_sqlite_messages_per_second", "engine, SQLite: messages/s (limit lifted)", ""),
    ("engine_sqlite_ceiling_messages_per_second", "ceiling, as many sends, around it", ""),
    ("engine_sqlite_ceiling_ratio", "engine, SQLite : ceiling", ">= 0.8"),
    ("engine_postgresql_messages_per_second", "engine, PostgreSQL: messages/s", ""),
    ("engine_postgresql_ceiling_messages_per_second", "ceiling, as many sends, around it",
     ""),
    ("engine_postgresql_ceiling_ratio", "engine, PostgreSQL : ceiling", ">= 0.8"),
    ("limit_messages_per_second", "at the limit: messages/s (stand-in refuses over it)", ""),
    ("limit_rate_ratio", "at the limit : 30/s", "0.98 to 1.02"),
    ("limit_peak_in_any_second", "at the limit: most sends in any 1 s", "<= 30"),
    ("limit_429s_received", "at the limit: 429s received", "0"),
    ("reply_p99_seconds", "reply during a burst at the limit, p99 (s)", "< 1"),
    ("stop_reply_p99_seconds", "/stop during the burst, p99 (s)", ""),
    ("reminders_after_stop_reply", "reminders after the /stop confirmation", "0"),
    ("burst_rate_ratio", "burst, all messages/s : 30/s", ""),
    ("other_user_during_flood_p99_seconds", "another user's reply while one floods, p99 (s)", ""),
    ("lateness_p50_seconds", "lateness (sent - due), p50 (s), steady 20/s", ""),
    ("lateness_p99_seconds", "lateness, p99 (s)", "< 2"),
    ("lateness_p99_goal_ratio", "lateness p99 : 2 s", "< 1"),
    ("lateness_worst_2s_mean_seconds", "lateness, worst 2 s of due times, mean (s)", ""),
    ("longburst_reminders", "long burst: reminders to distinct chats", ""),
    ("longburst_rss_before_mib", "long burst: RSS before (MiB)", ""),
    ("longburst_rss_after_mib", "long burst: RSS after (MiB)", ""),
    ("longburst_growth_ratio", "long burst: RSS after : before", ""),
    ("longburst_limiter_chats_kept", "long burst: chats the limiter still holds", "bounded"),
]
for _db in ("postgresql", "sqlite"):
    ROWS += [
        (f"scale_{_db}_users", f"scale, {_db}: users", ""),
        (f"scale_{_db}_seed_seconds", f"scale, {_db}: seeding them (s)", ""),
        (f"scale_{_db}_idle_tick_ms", f"scale, {_db}: tick with nothing due, median (ms)",
         "< 5"),
        (f"scale_{_db}_idle_tick_small_ms", f"scale, {_db}: the same at 1,000 users (ms)", ""),
        (f"scale_{_db}_claim_500_ms", f"scale, {_db}: full 500-row claim, median (ms)", ""),
        (f"scale_{_db}_claim_uses_index", f"scale, {_db}: the claim uses the due-time index",
         "true"),
        (f"scale_{_db}_startup_seconds", f"scale, {_db}: bot start-up (s)", ""),
        (f"scale_{_db}_peak_rss_small_mib", f"scale, {_db}: bot peak RSS at 1,000 (MiB)", ""),
        (f"scale_{_db}_peak_rss_mib", f"scale, {_db}: bot peak RSS at all users (MiB)", ""),
        (f"scale_{_db}_peak_rss_ratio", f"scale, {_db}: peak RSS all : 1,000", "<= 1.15"),
    ]
for _store in ("memory", "sqlalchemy"):
    ROWS += [
        (f"alt_{_store}_jobs", f"APScheduler {_store} store: jobs loaded", ""),
        (f"alt_{_store}_load_seconds", f"APScheduler {_store}: time to load them (s)", ""),
        (f"alt_{_store}_peak_rss_mib", f"APScheduler {_store}: peak RSS (MiB)", ""),
        (f"alt_{_store}_fired_per_second", f"APScheduler {_store}: jobs fired/s (each a send)",
         ""),
        (f"alt_{_store}_missed_default_grace",
         f"APScheduler {_store}: of those, dropped as missed with PTB's 1 s grace", ""),
        (f"alt_{_store}_rss_ours_ratio", f"our bot's peak RSS : APScheduler {_store}'s", ""),
        (f"alt_{_store}_load_ours_ratio", f"our start-up : APScheduler {_store} load", ""),
        (f"alt_{_store}_fire_ours_ratio", f"our engine messages/s : APScheduler {_store} jobs/s",
         ""),
    ]


async def alternative(sizes: dict[str, int], figures: dict[str, Any]) -> dict[str, Any]:
    """APScheduler's figures per store, and ours beside them as ratios."""
    out: dict[str, Any] = {}
    ours_rss = figures.get("scale_sqlite_peak_rss_mib") or figures.get(
        "scale_postgresql_peak_rss_mib")
    ours_start = figures.get("scale_sqlite_startup_seconds")
    ours_rate = figures.get("engine_sqlite_messages_per_second")
    for store, jobs, fire in (("memory", sizes["alt_memory"], sizes["alt_fire"]),
                              ("sqlalchemy", sizes["alt_sql"], sizes["alt_fire_sql"])):
        key = f"alt_{store}"
        loaded = await run_alternative({"step": "load", "store": store, "jobs": jobs})
        async with StandInProcess() as api:
            fired = await run_alternative({"step": "fire", "store": store, "fire": fire,
                                           "api": api.base_url})
        if store == "memory":  # the SQL store drops nearly all of them: shown by the rate
            async with StandInProcess() as api:
                dropped = await run_alternative({"step": "fire", "store": store, "fire": fire,
                                                 "api": api.base_url, "default_grace": True})
            out[f"{key}_missed_default_grace"] = dropped["missed"]
        rss = round(loaded["peak_rss_kib"] / 1024, 1)
        out.update({
            f"{key}_jobs": jobs,
            f"{key}_load_seconds": round(loaded["load_seconds"], 2),
            f"{key}_peak_rss_mib": rss,
            f"{key}_fire_jobs": fire,
            f"{key}_fired": fired["fired"],
            f"{key}_failed": fired["failed"],
            f"{key}_fired_per_second": round(fired["fired_per_second"], 1),
        })
        if ours_rss:
            out[f"{key}_rss_ours_ratio"] = round(ours_rss / rss, 3)
        if ours_start:
            out[f"{key}_load_ours_ratio"] = round(ours_start / loaded["load_seconds"], 3)
        if ours_rate and fired["fired_per_second"]:
            out[f"{key}_fire_ours_ratio"] = round(ours_rate / fired["fired_per_second"], 2)
    return out


async def run(steps: list[str], sizes: dict[str, int], log: Callable[[str], None],
              save: Callable[[dict[str, Any], dict[str, Any]], None],
              earlier: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figures of ``steps``, and the claim's query plans by database; ``save`` gets them
    after every step (a step that fails loses only its own figures)."""
    figures: dict[str, Any] = {}
    plans: dict[str, Any] = {}

    async def step(name: str, work: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        started = time.perf_counter()
        try:
            figures.update(await work())
        except Exception as exc:  # the other steps still run; the table shows "-"
            log(f"{name}: failed ({type(exc).__name__}: {exc})")
            return
        log(f"{name}: {time.perf_counter() - started:.0f} s")
        save(figures, plans)

    if "ceiling" in steps:
        async def ceiling() -> dict[str, Any]:
            rate = await engine.ceiling(sizes["ceiling"])
            return {"ceiling_messages_per_second": round(rate, 1)}
        await step("ceiling", ceiling)
    if "engine" in steps:
        for db in ("sqlite", "postgresql"):
            await step(f"engine {db}",
                       lambda db=db: engine.engine(db, sizes["engine"]))
    if "limit" in steps:
        await step("at the limit", lambda: engine.at_limit(sizes["limit"]))
    if "people" in steps:
        await step("replies during a burst",
                   lambda: people.bench(sizes["people"], 20, "sqlite", 60.0))
    if "lateness" in steps:
        await step("lateness", lambda: engine.lateness(float(sizes["lateness"])))
    if "longburst" in steps:
        await step("long burst", lambda: engine.long_burst(sizes["longburst"]))
    if "scale" in steps:
        for db in ("postgresql", "sqlite"):
            async def one(db: str = db) -> dict[str, Any]:
                found, plans[db] = await scale(db, sizes["scale"])
                return found
            await step(f"scale {db}", one)
    if "alternative" in steps:
        await step("APScheduler", lambda: alternative(sizes, {**earlier, **figures}))
    return figures, plans


def machine() -> str:
    """The machine line of RESULTS.md."""
    return (f"{os.cpu_count()} CPUs (shared with other work while this ran), "
            f"{platform.machine()}, {platform.system()} {platform.release()}; Python "
            f"{platform.python_version()}, python-telegram-bot {telegram.__version__}, "
            f"SQLAlchemy {sqlalchemy.__version__}")


def value(figures: dict[str, Any], key: str) -> str:
    found = figures.get(key)
    if found is None:
        return "-"
    if isinstance(found, bool):
        return str(found).lower()
    return str(found)


def table(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, value, goal) for every row this run measured."""
    return [(label, value(figures, key), goal) for key, label, goal in ROWS if key in figures]


def markdown(result: dict[str, Any]) -> str:
    """RESULTS.md: the table, the machine and command, notes, the query plans."""
    meta = result["meta"]
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{meta['command']}` ({meta['mode']}, run {meta['when']}, "
        f"{meta['run_seconds']:.0f} s)  ",
        f"Machine: {meta['machine']}  ",
        "The Bot API stand-in and each bot under measure run in processes of their own "
        "(`benchmarks/standin.py`, `benchmarks/botrun.py`), except for the reply-latency "
        "figures (`benchmarks/people.py`: stand-in in the bot's event loop). Two cores, shared "
        "with other jobs during the run: rates vary by some 20 % from run to run.",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {found} | {goal} |" for label, found, goal in table(result)]
    others = sorted(k for k in result if k not in {key for key, _, _ in ROWS}
                    and k not in ("meta", "before", "plans") and not isinstance(result[k], dict))
    if others:
        lines += ["", "Other figures in `results.json` (this run and other benchmarks):", ""]
        lines += [f"- `{k}`: {result[k]}" for k in others]
    for db, found in result.get("plans", {}).items():
        lines += ["", f"## The claim's query plans, {db} ({result.get(f'scale_{db}_users')} "
                  "users)", ""]
        for statement in found:
            lines += ["```", statement["statement"][:400], "--", *statement["plan"], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes (100,000 users, 1,000-reminder engine tick)")
    parser.add_argument("--only", default=",".join(STEPS),
                        help=f"comma-separated steps out of {','.join(STEPS)}")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent,
                        help="folder for results.json and RESULTS.md (default: benchmarks/)")
    args = parser.parse_args(argv)
    steps = [s for s in args.only.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    path = args.out / "results.json"
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if args.only != ",".join(STEPS) else "")
    earlier: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def save(figures: dict[str, Any], plans: dict[str, Any]) -> None:
        # Read, modify, write: other benchmarks' keys (capacity_*, replicas_*) stay.
        result: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        result.update(figures)
        if plans:
            result["plans"] = {**result.get("plans", {}), **plans}
        result["meta"] = {
            "command": command, "mode": "quick" if args.quick else "full", "sizes": sizes,
            "machine": machine(), "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "run_seconds": round(time.perf_counter() - started, 1),
        }
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "RESULTS.md").write_text(markdown(result))

    figures, _ = asyncio.run(run(steps, sizes, lambda line: print(line, file=sys.stderr),
                                 save, earlier))
    save(figures, {})
    rows = table(figures)
    width = max((len(label) for label, _, _ in rows), default=0)
    for label, found, goal in rows:
        print(f"{label.ljust(width)}  {found:>10}  {goal}")
    print(f"({time.perf_counter() - started:.0f} s; written to {path} and RESULTS.md)",
          file=sys.stderr)
