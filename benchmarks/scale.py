"""A million users: what a tick, a claim and the running bot cost as the user count grows.

For each database the bot runs (in a child process, ``benchmarks.botrun`` mode ``scale``) once
with ``SMALL`` users and once with ``--users`` (a million; 100,000 with ``--quick``), their
reminders due over a real day (a fixed pseudo-random spread over 24 hours from 09:00). It
reports: one tick with nothing due (median of 30), a full 500-row claim with a few minutes'
reminders due (median of 5), the bot's start-up time and its resident memory (now and peak),
and the database's plan for each statement of a claim.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from benchmarks.botrun import run_bot, settings_for
from benchmarks.dispatch import START, throwaway_database
from benchmarks.seeding import seed_users
from benchmarks.standin import StandInProcess
from reminderbot.db.models import ScheduleKind

SMALL = 1_000
DAY = timedelta(hours=24)
FIRST_DUE = START + timedelta(hours=1)
BACKLOG = timedelta(minutes=5)  # claimed at FIRST_DUE + BACKLOG: five minutes' reminders due
GOLDEN = 0.6180339887498949  # a low-discrepancy spread: user n at frac(n * GOLDEN) of the day


def over_a_day(n: int) -> dict[str, datetime]:
    """User n's due times, spread evenly over the day (check-in and weekly question apart)."""
    share = (n * GOLDEN) % 1.0
    return {
        ScheduleKind.HYDRATION: FIRST_DUE + DAY * share,
        ScheduleKind.CHECKIN: FIRST_DUE + DAY * ((share + 0.37) % 1.0),
        ScheduleKind.TOLERANCE: FIRST_DUE + DAY * 7 * ((share + 0.71) % 1.0),
    }


async def one(db: str, users: int) -> dict[str, Any]:
    """Seed ``users`` and run the ``scale`` step; its figures and the seeding time."""
    async with throwaway_database(db) as url, StandInProcess() as api:
        config = {"api": api.base_url, "db": url}
        started = time.perf_counter()
        await seed_users(settings_for(config), users, over_a_day, start=START)
        seeded = time.perf_counter() - started
        figures = await run_bot({**config, "mode": "scale", "idle": START.isoformat(),
                                 "busy": (FIRST_DUE + BACKLOG).isoformat()})
    figures["seed_seconds"] = seeded
    return figures


def uses_index(plans: list[dict[str, Any]]) -> bool:
    """Whether the claim's search for due rows goes through the due-time index."""
    return any("ix_schedules_next_due_at" in line for p in plans for line in p["plan"])


async def scale(db: str, users: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Figures for ``db`` at ``SMALL`` and ``users`` users; and the claim's query plans."""
    small = await one(db, SMALL)
    big = await one(db, users)
    key = f"scale_{db}"
    figures = {
        f"{key}_users": users,
        f"{key}_seed_seconds": round(big["seed_seconds"], 1),
        f"{key}_idle_tick_ms": round(big["idle_tick_median"] * 1000, 2),
        f"{key}_idle_tick_max_ms": round(big["idle_tick_max"] * 1000, 2),
        f"{key}_idle_tick_small_ms": round(small["idle_tick_median"] * 1000, 2),
        f"{key}_claim_500_ms": round(big["claim_median"] * 1000, 1),
        f"{key}_claim_500_small_ms": round(small["claim_median"] * 1000, 1),
        f"{key}_claimed_rows": big["claim_rows"][0],
        f"{key}_startup_seconds": round(big["startup_seconds"], 2),
        f"{key}_peak_rss_small_mib": round(small["peak_rss_kib"] / 1024, 1),
        f"{key}_peak_rss_mib": round(big["peak_rss_kib"] / 1024, 1),
        f"{key}_peak_rss_ratio": round(big["peak_rss_kib"] / small["peak_rss_kib"], 3),
        f"{key}_rss_mib": round(big["rss_kib"] / 1024, 1),
        f"{key}_claim_uses_index": uses_index(big["plans"]),
    }
    return figures, big["plans"]
