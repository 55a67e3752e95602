"""The alternative: one APScheduler job per user, as PTB's timerbot example keeps reminders.

APScheduler 3 (python-telegram-bot's job queue) runs in a child process
(``python -m benchmarks.alternative '<json>'``), once per job store:

- **load**: ``jobs`` repeating jobs (every 3 hours, first runs spread over a day) added to a
  running ``AsyncIOScheduler``; seconds to add them all and the process's peak memory;
- **fire**: ``fire`` one-off jobs due at the same moment, each sending a reminder's text
  through ``Bot.send_message`` to the stand-in (no limiter, as the engine figure): jobs fired a
  second (no grace limit, so that every job runs); with ``default_grace`` (PTB's setting, one
  second) how many the scheduler drops as missed instead.

Stores: ``memory`` (``MemoryJobStore``) and ``sqlalchemy`` (``SQLAlchemyJobStore`` on a
SQLite file, each job pickled into a row).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Bot

from benchmarks.botrun import peak_rss_kib, run_child
from benchmarks.seeding import FIRST_USER_ID
from benchmarks.standin import TOKEN
from reminderbot.telegramhttp import TelegramRequest

EVERY = timedelta(hours=3)
GOLDEN = 0.6180339887498949
TEXT = "Time for a glass of water 💧"

_bot: Bot | None = None
_fired: list[float] = []
_settled = asyncio.Event()  # every job due at once fired, missed or failed
_expected = 0
_others: list[str] = []  # missed or failed


async def remind(chat_id: int) -> None:
    """A job: one reminder to ``chat_id`` (module level, so that a SQL store can pickle it)."""
    assert _bot is not None
    await _bot.send_message(chat_id, TEXT)
    _fired.append(time.perf_counter())
    _check()


def _check() -> None:
    if len(_fired) + len(_others) >= _expected:
        _settled.set()


def remind_later(chat_id: int) -> None:
    """A repeating job's callable (never runs here: first runs are an hour away at least)."""


def store_of(kind: str, folder: str) -> BaseJobStore:
    if kind == "memory":
        return MemoryJobStore()
    return SQLAlchemyJobStore(url=f"sqlite:///{Path(folder) / 'jobs.sqlite'}")


async def load(config: dict[str, Any]) -> dict[str, Any]:
    """Add ``jobs`` repeating jobs to a running scheduler: seconds."""
    with tempfile.TemporaryDirectory(prefix="reminderbot-alt-") as folder:
        scheduler = AsyncIOScheduler(jobstores={"default": store_of(config["store"], folder)},
                                     timezone=UTC)
        scheduler.start()
        first = datetime.now(UTC) + timedelta(hours=1)
        started = time.perf_counter()
        for n in range(int(config["jobs"])):
            scheduler.add_job(remind_later, "interval", seconds=EVERY.total_seconds(),
                              start_date=first + timedelta(days=(n * GOLDEN) % 1.0),
                              args=[FIRST_USER_ID + n], id=str(n))
        seconds = time.perf_counter() - started
        scheduler.shutdown(wait=False)
    return {"load_seconds": seconds}


async def fire(config: dict[str, Any]) -> dict[str, Any]:
    """``fire`` one-off jobs due at once, each sending a message: jobs a second, missed."""
    global _bot, _expected
    count = _expected = int(config["fire"])
    # PTB's job queue keeps APScheduler's default: a job more than 1 s late is dropped.
    grace = {} if config.get("default_grace") else {"misfire_grace_time": None}
    missed: list[str] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="reminderbot-alt-") as folder:
        _bot = Bot(TOKEN, base_url=config["api"], request=TelegramRequest())
        async with _bot:
            await _bot.send_message(FIRST_USER_ID, TEXT)  # warm the connection pool
            scheduler = AsyncIOScheduler(
                jobstores={"default": store_of(config["store"], folder)}, timezone=UTC)

            def on_missed(event: JobEvent) -> None:
                missed.append(event.job_id)
                _others.append(event.job_id)
                _check()

            def on_error(event: JobEvent) -> None:
                failed.append(event.job_id)
                _others.append(event.job_id)
                _check()

            scheduler.add_listener(on_missed, EVENT_JOB_MISSED)
            scheduler.add_listener(on_error, EVENT_JOB_ERROR)
            scheduler.start()
            # Room to add them all first (a SQL store writes each job in a transaction).
            per_job = 0.03 if config["store"] == "sqlalchemy" else 0.001
            due = datetime.now(UTC) + timedelta(seconds=2 + count * per_job)
            for n in range(count):
                scheduler.add_job(remind, "date", run_date=due, args=[FIRST_USER_ID + n],
                                  id=f"fire-{n}", **grace)
            wait = (due - datetime.now(UTC)).total_seconds()
            started = time.perf_counter() + max(0.0, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_settled.wait(), wait + 120)
            seconds = (max(_fired) if _fired else time.perf_counter()) - started
            scheduler.shutdown(wait=False)
    return {"fired": len(_fired), "missed": len(missed), "failed": len(failed),
            "fire_seconds": seconds,
            "fired_per_second": len(_fired) / seconds if seconds > 0 else 0.0}


async def run_alternative(config: dict[str, Any]) -> dict[str, Any]:
    """One step in a child process; its figures (``peak_rss_kib`` among them)."""
    return await run_child("benchmarks.alternative", config, "APScheduler step")


def main() -> None:
    config = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.ERROR)
    step = load if config["step"] == "load" else fire
    figures = asyncio.run(step(config))
    figures["peak_rss_kib"] = peak_rss_kib()
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
