"""The delivery engine against its ceiling, at Telegram's limit, on time, and over a long burst.

Each step runs the bot in a child process (``benchmarks.botrun``) against the stand-in in
another (``benchmarks.standin``), so neither shares an event loop with the other or with
this one:

- **ceiling**: raw ``Bot.send_message`` calls a second, no database, no limiter;
- **engine**: one tick (claim, send, advance) of reminders all due at once, limit lifted, on
  SQLite and PostgreSQL, as a ratio to the ceiling;
- **at the limit**: the same with the limiter as built, the stand-in answering 429 to sends
  over 30 a second or one a second per chat;
- **lateness**: the bot as in production (real clock, its own tick schedule) under a steady
  load below the limit: sent minus due, p50 and p99;
- **long burst**: memory before and after reminders to many distinct chats (the limiter's
  per-chat state, with its overall cap lifted).
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.botrun import run_bot, settings_for
from benchmarks.dispatch import START, TELEGRAM_GLOBAL_LIMIT, peak_in_window, throwaway_database
from benchmarks.seeding import FIRST_USER_ID, all_at, seed_users
from benchmarks.standin import StandInProcess
from reminderbot.db.models import ScheduleKind

SLOT = START.replace(hour=9)
LATENESS_GOAL_SECONDS = 2.0
STEADY_PER_SECOND = 20.0  # two thirds of Telegram's limit
STARTUP_SECONDS = 15.0  # a child bot is up well within this (imports, migrations, zones)


def percentile(values: list[float], share: float) -> float:
    """By nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


async def ceiling(count: int, rounds: int = 3) -> float:
    """Raw sends a second, PTB to the stand-in: the median of ``rounds`` rounds of ``count``
    (the machine is shared: one round alone varies by a fifth)."""
    rates = []
    for _ in range(rounds):
        async with StandInProcess() as api:
            figures = await run_bot({"mode": "ceiling", "api": api.base_url,
                                     "first_chat": FIRST_USER_ID, "count": count})
        rates.append(float(figures["per_second"]))
    return statistics.median(rates)


async def one_tick(db: str, users: int, limiter: str, *, limits: bool = False
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Seed ``users`` due at once, run one tick in a child; (its figures, the stand-in's)."""
    async with throwaway_database(db) as url, StandInProcess(limits=limits) as api:
        config = {"api": api.base_url, "db": url}
        await seed_users(settings_for(config), users, all_at(SLOT), start=START)
        figures = await run_bot({**config, "mode": "tick", "limiter": limiter,
                                 "start": START.isoformat(), "slot": SLOT.isoformat()})
        seen = await api.stats()
    return figures, seen


async def engine(db: str, users: int) -> dict[str, Any]:
    """One tick of ``users`` reminders, limit lifted: messages a second, and the ratio to the
    ceiling measured with as many sends just before and just after (the machine's load
    changes meanwhile, and the stand-in answers more slowly as its record grows)."""
    before = await ceiling(users, rounds=1)
    figures, seen = await one_tick(db, users, "none")
    after = await ceiling(users, rounds=1)
    ceiling_rate = (before + after) / 2
    rate = seen["sent"] / figures["seconds"]
    return {
        f"engine_{db}_ceiling_messages_per_second": round(ceiling_rate, 1),
        f"engine_{db}_reminders": seen["sent"],
        f"engine_{db}_tick_seconds": round(figures["seconds"], 2),
        # About the tick's seconds: the bot's one event loop is bound by its CPU.
        f"engine_{db}_tick_cpu_seconds": round(figures["cpu_seconds"], 2),
        f"engine_{db}_messages_per_second": round(rate, 1),
        f"engine_{db}_ceiling_ratio": round(rate / ceiling_rate, 3),
        f"engine_{db}_max_per_chat": seen["max_per_chat"],
    }


async def at_limit(users: int) -> dict[str, Any]:
    """The limiter as built, against a stand-in that refuses sends over the limits."""
    figures, seen = await one_tick("sqlite", users, "built", limits=True)
    times = sorted(seen["times"])
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    peak = peak_in_window(times)
    return {
        "limit_reminders": seen["sent"],
        "limit_messages_per_second": round(rate, 2),
        "limit_rate_ratio": round(rate / TELEGRAM_GLOBAL_LIMIT, 4),
        "limit_peak_in_any_second": peak,
        "limit_429s_received": seen["refused_429"],
        "limit_max_per_chat": seen["max_per_chat"],
        "limit_outcomes": figures["outcomes"],
    }


async def lateness(seconds: float) -> dict[str, Any]:
    """``STEADY_PER_SECOND`` reminders due a second for ``seconds``, each at its own moment,
    the bot on a real clock; sent minus due, p50 and p99."""
    users = int(seconds * STEADY_PER_SECOND)
    async with throwaway_database("sqlite") as url, StandInProcess() as api:
        config = {"api": api.base_url, "db": url}
        begin = time.time() + STARTUP_SECONDS
        first = datetime.fromtimestamp(begin, UTC)

        def due(n: int) -> dict[str, datetime]:
            at = first + timedelta(seconds=n / STEADY_PER_SECOND)
            return {ScheduleKind.HYDRATION: at, ScheduleKind.CHECKIN: at + timedelta(hours=6),
                    ScheduleKind.TOLERANCE: at + timedelta(hours=6)}

        await seed_users(settings_for(config), users, due, start=first - timedelta(hours=1))
        await api.reset()
        figures = await run_bot({**config, "mode": "steady", "until": begin + seconds + 10})
        seen = await api.stats()
    # The stand-in does not say which chat each time belongs to: sends go out in due order,
    # so the k-th send is matched with the k-th due time (both sorted).
    sent = sorted(seen["times"])
    dues = [begin + n / STEADY_PER_SECOND for n in range(users)]
    late = [s - d for s, d in zip(sent, dues, strict=False)]
    p99 = percentile(late, 0.99) if late else math.inf
    # A stall shows as one stretch of due times all late: the worst 2 s of them, on average.
    buckets: dict[int, list[float]] = {}
    for n, lateness_of_one in enumerate(late):
        buckets.setdefault(int(n / STEADY_PER_SECOND // 2), []).append(lateness_of_one)
    worst = max((statistics.mean(values) for values in buckets.values()), default=math.inf)
    return {
        "lateness_load_per_second": STEADY_PER_SECOND,
        "lateness_reminders_due": users,
        "lateness_reminders_sent": len(sent),
        "lateness_p50_seconds": round(percentile(late, 0.5), 3) if late else None,
        "lateness_p99_seconds": round(p99, 3) if late else None,
        "lateness_p99_goal_ratio": round(p99 / LATENESS_GOAL_SECONDS, 3) if late else None,
        "lateness_worst_2s_mean_seconds": round(worst, 3) if late else None,
        "lateness_bot_peak_rss_mib": mib(figures["peak_rss_kib"]),
    }


async def long_burst(users: int) -> dict[str, Any]:
    """Reminders to ``users`` distinct chats in one tick, the limiter's cap lifted: memory."""
    figures, seen = await one_tick("sqlite", users, "lifted")
    return {
        "longburst_reminders": seen["sent"],
        "longburst_rss_before_mib": mib(figures["rss_before_kib"]),
        "longburst_rss_after_mib": mib(figures["rss_after_kib"]),
        "longburst_growth_ratio": round(figures["rss_after_kib"] / figures["rss_before_kib"], 3),
        "longburst_peak_rss_mib": mib(figures["peak_rss_kib"]),
        "longburst_limiter_chats_kept": figures["limiter_chats_kept"],
    }

