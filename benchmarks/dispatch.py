"""How fast one dispatcher tick delivers a slot's reminders, against the loopback Bot API.

Seeds ``--users`` users straight into the database (``subscriptions.opt_in``, spread 0, so every
hydration reminder is due at the same slot), starts the real bot (``build_application``, the
real python-telegram-bot client over HTTP to :class:`BotAPIStandIn`), moves a manual clock to
the slot and times one ``Dispatcher.tick``.  Then it puts every schedule back at the slot and
times ``Dispatcher.claim`` alone.  Figures and ratios are printed; nothing is asserted.

    python -m benchmarks.dispatch [--users N] [--db sqlite|postgresql] [--no-rate-limit]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from reminderbot.app import DISPATCHER_KEY, BotApplication, build_application, running
from reminderbot.clock import ManualClock
from reminderbot.config import Settings, load_settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.models import Schedule
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.dispatch import Dispatcher, Outcome, TickReport
from reminderbot.preferences import Planner
from reminderbot.subscriptions import opt_in
from reminderbot.testing.botapi import BotAPIStandIn, StandInEvent

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TOKEN = "123456789:AAbench-stand-in-token-0123456789"
# Wednesday 2026-11-25, 08:00 UTC: before the day's first hydration slot (09:00 UTC).
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FIRST_USER_ID = 10_000_000
CLAIM_ROUNDS = 5  # timed claim rounds after one untimed warm-up round
TELEGRAM_GLOBAL_LIMIT = 30.0  # messages a second, all chats together
WINDOW_SECONDS = 1.0


@dataclass
class TickFigures:
    """What one timed tick did, as the bot and as the stand-in saw it."""

    report: TickReport
    seconds: float
    send_calls: int
    peak_in_window: int  # most sends in any 1 s window
    first_window: int  # sends in the first 1 s after the first one (the limiter's burst)
    steady_peak: int  # most sends in any 1 s window after that first second
    max_per_chat: int
    sends_end: float  # seconds from the tick's start to the last send the stand-in got


@dataclass
class ClaimFigures:
    """Claiming every schedule again, batch after batch, without sending (median of rounds)."""

    rows: int
    calls: int
    seconds: float
    fastest: float
    slowest: float


@dataclass
class SeedFigures:
    """Seeding the users straight into the database."""

    users: int
    seconds: float
    slot: datetime


@asynccontextmanager
async def throwaway_database(kind: str) -> AsyncIterator[str]:
    """A fresh, empty database URL; removed afterwards (existing tables are never touched)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="reminderbot-bench-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    name = f"reminderbot_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(
            base, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}, poolclass=NullPool
        )
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    try:
        await admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # refused, timed out, bad role or password, ...
        raise SystemExit(
            f"PostgreSQL at {make_url(base).render_as_string()} is not usable "
            f"({type(exc).__name__}: {exc}); set TEST_DATABASE_URL"
        ) from exc
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seed(settings: Settings, users: int) -> SeedFigures:
    """Migrate and opt ``users`` users in, in one session; return when they are all due."""
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        planner = Planner(settings.default_timezone, settings.reminder_spread_minutes)
        slots: set[datetime] = set()
        started = time.perf_counter()
        async with sessions.begin() as session:
            for n in range(users):
                user_id = FIRST_USER_ID + n
                plan = await opt_in(
                    session,
                    telegram_user_id=user_id,
                    chat_id=user_id,
                    language="en",
                    now=START,
                    planner=planner,
                )
                if plan.first_hydration is not None:
                    slots.add(plan.first_hydration)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    if len(slots) != 1:
        raise RuntimeError(f"expected one shared hydration slot, got {len(slots)}")
    return SeedFigures(users, seconds, slots.pop())


def peak_in_window(times: list[float], window: float = WINDOW_SECONDS) -> int:
    """The most events inside any half-open interval of ``window`` seconds."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def dispatcher_of(application: BotApplication) -> Dispatcher:
    dispatcher = application.bot_data[DISPATCHER_KEY]
    assert isinstance(dispatcher, Dispatcher)
    return dispatcher


def only_explicit_ticks(application: BotApplication) -> None:
    """Drop the repeating dispatch job (it fires once at start-up even with a long interval)."""
    assert application.job_queue is not None
    for job in application.job_queue.get_jobs_by_name("dispatch"):
        job.schedule_removal()


async def timed_tick(
    application: BotApplication, api: BotAPIStandIn, clock: ManualClock, slot: datetime
) -> TickFigures:
    """Move the clock to ``slot`` and time one tick, recording when the stand-in got each send."""
    sent_at: list[float] = []

    def on_event(event: StandInEvent) -> None:
        if event.kind == "sent":
            sent_at.append(time.monotonic())

    api.subscribe(on_event)
    calls_before, sent_before = len(api.calls), len(api.sent)
    clock.set(slot)
    started = time.monotonic()
    report = await dispatcher_of(application).tick(application.bot)
    seconds = time.monotonic() - started
    send_calls = sum(1 for call in api.calls[calls_before:] if call.method.lower() == "sendmessage")
    per_chat = Counter(message.chat_id for message in api.sent[sent_before:])
    first = min(sent_at, default=0.0)
    return TickFigures(
        report=report,
        seconds=seconds,
        send_calls=send_calls,
        peak_in_window=peak_in_window(sent_at),
        first_window=sum(1 for at in sent_at if at - first < WINDOW_SECONDS),
        steady_peak=peak_in_window([at for at in sent_at if at - first >= WINDOW_SECONDS]),
        max_per_chat=max(per_chat.values(), default=0),
        sends_end=max(sent_at, default=started) - started,
    )


async def claim_round(dispatcher: Dispatcher, slot: datetime) -> tuple[int, int, float]:
    """Put every schedule back at ``slot`` (unclaimed) and time claiming them all, batch after
    batch as a tick does; return ``(rows, claim calls, seconds)``."""
    async with dispatcher.runtime.sessions.begin() as session:
        await session.execute(
            update(Schedule).values(next_due_at=slot, claimed_until=None, claimed_by=None)
        )
        total = await session.scalar(select(func.count()).select_from(Schedule))
    rows, calls = 0, 0
    started = time.perf_counter()
    while True:
        batch = await dispatcher.claim(slot)
        rows, calls = rows + len(batch), calls + 1
        if len(batch) < dispatcher.batch_size:
            break
    seconds = time.perf_counter() - started
    if rows != total:
        print(f"note: claimed {rows} of {total} schedules")
    return rows, calls, seconds


async def timed_claim(dispatcher: Dispatcher, slot: datetime) -> ClaimFigures:
    """One warm-up round, then the median of ``CLAIM_ROUNDS`` timed rounds."""
    await claim_round(dispatcher, slot)
    rounds = [await claim_round(dispatcher, slot) for _ in range(CLAIM_ROUNDS)]
    times = [seconds for _, _, seconds in rounds]
    rows, calls, _ = rounds[0]
    return ClaimFigures(rows, calls, statistics.median(times), min(times), max(times))


async def bench(users: int, db: str, rate_limit: bool) -> None:
    async with throwaway_database(db) as url, BotAPIStandIn(TOKEN) as api:
        settings = load_settings(
            telegram_bot_token=TOKEN,
            telegram_api_base_url=api.base_url,
            database_url=url,
            default_timezone="UTC",
            reminder_spread_minutes=0,
        )
        seeded = await seed(settings, users)
        clock = ManualClock(START)
        application = build_application(settings, clock=clock, dispatch_interval=24 * 3600)
        only_explicit_ticks(application)
        if not rate_limit:
            # ExtBot sends straight through when it has no rate limiter (PTB 22 _do_post).
            application.bot._rate_limiter = None
        async with running(application, poll_timeout=1):
            await api.wait_until_idle(quiet=0.1)
            tick = await timed_tick(application, api, clock, seeded.slot)
            claim = await timed_claim(dispatcher_of(application), seeded.slot)
    print_results(users, db, rate_limit, seeded, tick, claim)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def print_results(
    users: int,
    db: str,
    rate_limit: bool,
    seeded: SeedFigures,
    tick: TickFigures,
    claim: ClaimFigures,
) -> None:
    """A short table, then one line per ratio."""
    limit = TELEGRAM_GLOBAL_LIMIT
    sent = tick.report.counts[Outcome.SENT]
    tick_rate = _rate(sent, tick.seconds)
    claim_rate = _rate(claim.rows, claim.seconds)
    outcomes = ", ".join(f"{k.value}={v}" for k, v in tick.report.counts.items() if v) or "none"
    calls = f"{claim.calls} call" if claim.calls == 1 else f"{claim.calls} calls"
    table = [
        ("step", "rows", "seconds", "rows/s"),
        ("seed (opt_in, one session)", str(seeded.users), f"{seeded.seconds:.2f}",
         f"{_rate(seeded.users, seeded.seconds):.0f}"),
        ("tick (claim + send + advance)", str(sent), f"{tick.seconds:.2f}", f"{tick_rate:.1f}"),
        (f"claim alone ({calls}, median)", str(claim.rows), f"{claim.seconds:.3f}",
         f"{claim_rate:.0f}"),
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    limiter = "TelegramRateLimiter (as built)" if rate_limit else "none (--no-rate-limit)"
    slot = f"{seeded.slot:%Y-%m-%d %H:%M} UTC"
    print(f"db={db}  users={users}  rate limiter={limiter}  slot={slot}")
    for step, *figures in table:
        cells = [step.ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(figures, widths[1:], strict=True)]
        print("  ".join(cells))
    print(f"tick outcomes: {outcomes}; sendMessage calls at the stand-in: {tick.send_calls}")
    print(
        f"last send reached the stand-in {tick.sends_end:.2f} s into the tick "
        f"(the rest is advancing the rows)"
    )
    print(f"claim rounds: fastest {claim.fastest:.3f} s, slowest {claim.slowest:.3f} s")
    print(f"max messages to one chat in the tick: {tick.max_per_chat} (should be 1)")
    print(f"ratio tick messages/s : Telegram's {limit:.0f}/s = {tick_rate / limit:.2f}")
    after = f"at most {tick.steady_peak} in any second after" if tick.steady_peak else "none after"
    print(
        f"ratio peak sendMessage in any {WINDOW_SECONDS:.0f} s : {limit:.0f} = "
        f"{tick.peak_in_window / limit:.2f} ({tick.peak_in_window} sends; "
        f"{tick.first_window} in the first second, {after})"
    )
    if sent:
        print(f"ratio claim rows/s : tick messages/s = {claim_rate / tick_rate:.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dispatch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=300, help="users due at the slot")
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="sqlite: a temporary file; postgresql: a throwaway database "
        "created next to TEST_DATABASE_URL",
    )
    parser.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="send without the rate limiter (DB + HTTP overhead alone)",
    )
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(bench(args.users, args.db, rate_limit=not args.no_rate_limit))


if __name__ == "__main__":
    main()
