"""The bot in a process of its own, for one benchmark step; its figures as one JSON line.

``python -m benchmarks.botrun '<json>'`` runs one step (``mode``) of the real bot, as
``build_application`` builds it, against the stand-in at ``api`` and the database at ``db``,
and prints ``RESULT {...}``: what it timed and its memory (``rss_kib`` now, ``peak_rss_kib``
from ``getrusage``). :func:`run_bot` starts it from a benchmark and reads the answer.

Modes: ``ceiling`` (raw ``Bot.send_message``, no database, no limiter), ``tick`` (one tick at
``slot``; ``limiter``: ``none``, ``lifted`` or ``built``), ``scale`` (idle ticks, full claims,
start-up time), ``steady`` (the bot as in production, real clock, until ``until``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import statistics
import sys
import time
from datetime import datetime
from typing import Any

from sqlalchemy import event
from telegram import Bot

from benchmarks.standin import TOKEN
from reminderbot import keyboards, texts
from reminderbot.app import DISPATCHER_KEY, BotApplication, build_application, running
from reminderbot.catalog import load_catalog
from reminderbot.clock import ManualClock
from reminderbot.config import Settings, load_settings
from reminderbot.dispatch import SLICE_SIZE, SLICES_AHEAD, Dispatcher
from reminderbot.inflight import SENDS_KEY
from reminderbot.messaging import Audience, render
from reminderbot.ratelimit import TelegramRateLimiter
from reminderbot.telegramhttp import TelegramRequest

IDLE_TICKS = 30
CLAIMS = 5
# The dispatcher's sends in flight at most (slices in the limiter at once): the ceiling's too.
IN_FLIGHT = SLICE_SIZE * SLICES_AHEAD
LIFTED_PER_SECOND = 1_000_000.0
# A step that takes longer than this is stopped (and shows "-" in the table).
STEP_TIMEOUT = 900.0


def rss_kib() -> int:
    """This process's resident memory now, in KiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kib() -> int:
    """The most resident memory this process has had, in KiB: VmHWM (``getrusage``'s
    ``ru_maxrss`` would count the parent's memory at the fork, kept across ``exec``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def settings_for(config: dict[str, Any]) -> Settings:
    """The bot's settings for a benchmark database and stand-in."""
    return load_settings(telegram_bot_token=TOKEN, telegram_api_base_url=config["api"],
                         database_url=config.get("db", "sqlite+aiosqlite:///:memory:"),
                         default_timezone="UTC", reminder_spread_minutes=0)


async def ceiling(config: dict[str, Any]) -> dict[str, Any]:
    """``count`` reminders' text and buttons sent with ``Bot.send_message``, as many in flight
    as the dispatcher has; messages a second."""
    catalog = load_catalog(None)
    first, count = int(config["first_chat"]), int(config["count"])
    bot = Bot(TOKEN, base_url=config["api"], request=TelegramRequest())
    chats = iter(range(1, count))

    async def one(n: int) -> None:
        audience = Audience(first + n, "en", False)
        await bot.send_message(
            first + n, render(catalog, audience, texts.HYDRATION_REMINDER, 0),
            parse_mode="HTML", reply_markup=keyboards.hydration(catalog, "en"))

    async def sender() -> None:
        for n in chats:  # shared: each send goes to the next free sender
            await one(n)

    async with bot:
        await one(0)  # warm: the connection pool and the catalog
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(IN_FLIGHT)))
        seconds = time.perf_counter() - started
    return {"sent": count - 1, "seconds": seconds, "per_second": (count - 1) / seconds}


def _dispatcher(application: BotApplication) -> Dispatcher:
    dispatcher = application.bot_data[DISPATCHER_KEY]
    assert isinstance(dispatcher, Dispatcher)
    return dispatcher


def _manual(settings: Settings, clock: ManualClock, limiter: str) -> BotApplication:
    """The bot with only the ticks the benchmark starts, and its limiter as asked."""
    application = build_application(settings, clock=clock, dispatch_interval=24 * 3600)
    assert application.job_queue is not None
    # The start-up forecast too: the benchmark times the dispatcher alone.
    for name in ("dispatch", "capacity-start"):
        for job in application.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    if limiter == "none":  # PTB 22 sends straight through without one
        application.bot._rate_limiter = None
    elif limiter == "lifted":  # the same limiter, per-chat state and all, with no overall cap
        application.bot._rate_limiter = TelegramRateLimiter(
            per_second=LIFTED_PER_SECOND, gate=application.bot_data[SENDS_KEY])
    return application


async def tick(config: dict[str, Any]) -> dict[str, Any]:
    """One tick at ``slot``; memory before and after."""
    clock = ManualClock(datetime.fromisoformat(config["start"]))
    application = _manual(settings_for(config), clock, config["limiter"])
    async with running(application, poll_timeout=1):
        await asyncio.sleep(0.5)  # start-up's own calls are over
        before = rss_kib()
        clock.set(datetime.fromisoformat(config["slot"]))
        started, cpu = time.perf_counter(), time.process_time()
        report = await _dispatcher(application).tick(application.bot)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        limiter = application.bot._rate_limiter
        chats = len(limiter._turns._chat_next) if isinstance(limiter, TelegramRateLimiter) else 0
        after = rss_kib()
    return {"seconds": seconds, "cpu_seconds": cpu,
            "outcomes": {k.value: v for k, v in report.counts.items() if v},
            "rss_before_kib": before, "rss_after_kib": after, "limiter_chats_kept": chats}


async def scale(config: dict[str, Any]) -> dict[str, Any]:
    """Start-up time, ticks with nothing due, and full claims, at ``idle`` then ``busy``."""
    clock = ManualClock(datetime.fromisoformat(config["idle"]))
    started = time.perf_counter()
    application = _manual(settings_for(config), clock, "none")
    async with running(application, poll_timeout=1):
        startup = time.perf_counter() - started
        dispatcher = _dispatcher(application)
        await dispatcher.tick(application.bot)  # warm: connections, statements
        idle = []
        for _ in range(IDLE_TICKS):
            at = time.perf_counter()
            await dispatcher.tick(application.bot)
            idle.append(time.perf_counter() - at)
        now = datetime.fromisoformat(config["busy"])
        claims, sizes = [], []
        for _ in range(CLAIMS):
            at = time.perf_counter()
            sizes.append(len(await dispatcher.claim(now)))
            claims.append(time.perf_counter() - at)
        plans = await query_plans(dispatcher, now)
        await asyncio.sleep(2)  # the polling loop and the job queue at rest
        current = rss_kib()
    return {"startup_seconds": startup, "idle_tick_median": statistics.median(idle),
            "idle_tick_max": max(idle), "claim_median": statistics.median(claims),
            "claim_rows": sizes, "rss_kib": current, "plans": plans}


async def query_plans(dispatcher: Dispatcher, now: datetime) -> list[dict[str, Any]]:
    """Each statement of one more claim at ``now``, with the database's plan for it."""
    engine = dispatcher.runtime.engine
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await dispatcher.claim(now)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    plans = []
    async with engine.connect() as conn:
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
                continue
            rows = await conn.exec_driver_sql(explain + statement, parameters)
            plan = [" ".join(str(cell) for cell in row) for row in rows]
            plans.append({"statement": " ".join(statement.split()), "plan": plan})
        await conn.rollback()
    return plans


async def steady(config: dict[str, Any]) -> dict[str, Any]:
    """The bot as production runs it (real clock, its own tick schedule) until ``until``."""
    application = build_application(settings_for(config))
    async with running(application, poll_timeout=1):
        await asyncio.sleep(max(0.0, float(config["until"]) - time.time()))
    return {}


MODES = {"ceiling": ceiling, "tick": tick, "scale": scale, "steady": steady}


async def run_bot(config: dict[str, Any]) -> dict[str, Any]:
    """Run one step in a child process; its figures (``peak_rss_kib`` among them)."""
    return await run_child("benchmarks.botrun", config, f"benchmark step {config['mode']}")


async def run_child(module: str, config: dict[str, Any], what: str) -> dict[str, Any]:
    """``python -m module CONFIG`` in a child process; the figures of its ``RESULT`` line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, json.dumps(config), stdout=asyncio.subprocess.PIPE)
    try:
        out, _ = await asyncio.wait_for(process.communicate(), STEP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    for line in out.decode().splitlines():
        if line.startswith("RESULT "):
            figures: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return figures
    raise RuntimeError(f"{what} failed (exit {process.returncode})")


def main() -> None:
    config = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    figures = asyncio.run(MODES[config["mode"]](config))
    figures["peak_rss_kib"] = peak_rss_kib()
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
