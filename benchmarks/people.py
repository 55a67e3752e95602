"""People before bulk: how long a person waits for an answer while the bot sends in bulk.

Seeds ``--reminders`` users straight into the database (each with one hydration reminder due at
the same slot), starts the real bot (``build_application``, production rate limits: 30 a second
overall, one a second per chat) against the loopback Bot API stand-in, and starts one
``Dispatcher.tick`` for the slot. While the burst goes out:

- ``--tries`` times, spread over the burst, two users who are not in the burst send ``/info``
  at the same moment: the time until each one's answer reaches the stand-in;
- a few users of the burst send ``/stop``: the time until the confirmation, and whether a
  reminder reaches them after they sent it;
- the reminders' rate and the most sent in any one second.

Then, with no burst: ``--tries`` users each send ``/help`` (one after the other), first alone,
then while one user floods the bot with 200 ``/start`` in 10 s; the answer times are compared.

The stand-in runs in the same process and event loop as the bot (it shares the CPU, so the
figures are conservative). Figures go to ``results.json`` (one key per figure; ratios under keys
containing ``ratio``) and ``RESULTS.md`` in ``--out``. Nothing is asserted.

    python -m benchmarks.people [--quick] [--db sqlite|postgresql] [--out DIR] [--before FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
import telegram

from benchmarks.dispatch import (
    START,
    TELEGRAM_GLOBAL_LIMIT,
    dispatcher_of,
    only_explicit_ticks,
    peak_in_window,
    throwaway_database,
)
from reminderbot.app import build_application, running
from reminderbot.clock import ManualClock
from reminderbot.config import Settings, load_settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.preferences import Planner
from reminderbot.subscriptions import opt_in
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage, StandInEvent

TOKEN = "123456789:AAbench-people-first-token-0123456789"
FIRST_USER_ID = 20_000_000
PROBE_USER_ID = 30_000_000
STOP_TRIES = 5
FLOOD_MESSAGES = 200
FLOOD_SECONDS = 10.0
REPLY_GOAL_SECONDS = 1.0
RATE_TOLERANCE = 0.02  # the burst runs within 2 % of Telegram's limit

FULL = {"reminders": 3000, "tries": 20}
QUICK = {"reminders": 600, "tries": 20}


@dataclass
class Watch:
    """When the stand-in recorded each message, by chat (times from the loop's clock)."""

    loop: asyncio.AbstractEventLoop
    sent: dict[int, list[tuple[float, SentMessage]]] = field(default_factory=dict)
    waiters: dict[int, list[tuple[int, asyncio.Future[float]]]] = field(default_factory=dict)

    def on_event(self, event: StandInEvent) -> None:
        if event.kind != "sent" or event.message is None:
            return
        chat_id = event.message.chat_id
        messages = self.sent.setdefault(chat_id, [])
        messages.append((self.loop.time(), event.message))
        for count, future in self.waiters.pop(chat_id, []):
            if len(messages) >= count and not future.done():
                future.set_result(self.loop.time())
            else:
                self.waiters.setdefault(chat_id, []).append((count, future))

    def count(self, chat_id: int) -> int:
        return len(self.sent.get(chat_id, []))

    async def answer_after(self, chat_id: int, started: float, limit: float) -> float:
        """Seconds from ``started`` until the next message to ``chat_id`` (``limit`` if none)."""
        future: asyncio.Future[float] = self.loop.create_future()
        self.waiters.setdefault(chat_id, []).append((self.count(chat_id) + 1, future))
        try:
            async with asyncio.timeout(limit):
                return await future - started
        except TimeoutError:
            return math.inf


def is_reminder(message: SentMessage) -> bool:
    """A hydration reminder (its first button logs a glass)."""
    return any(text.startswith("Done") for text in message.button_texts())


def p99(values: Sequence[float]) -> float:
    """The 99th percentile by nearest rank (of 20 values: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def seconds(value: float) -> float | None:
    """A figure for the JSON file (None when it never came)."""
    return None if math.isinf(value) else round(value, 3)


async def seed(settings: Settings, reminders: int) -> None:
    """Migrate and opt the users in, straight into the database, all due at one slot."""
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        planner = Planner(settings.default_timezone, settings.reminder_spread_minutes)
        async with make_sessionmaker(engine).begin() as session:
            for n in range(reminders):
                user_id = FIRST_USER_ID + n
                await opt_in(session, telegram_user_id=user_id, chat_id=user_id, language="en",
                             now=START, planner=planner)
    finally:
        await engine.dispose()


async def burst(api: BotAPIStandIn, watch: Watch, application: Any, clock: ManualClock,
                reminders: int, tries: int, limit: float) -> dict[str, Any]:
    """The burst with replies and /stop meanwhile."""
    loop = watch.loop
    slot = START.replace(hour=9)
    clock.set(slot)
    started = loop.time()
    tick = asyncio.create_task(dispatcher_of(application).tick(application.bot))
    expected_seconds = reminders / TELEGRAM_GLOBAL_LIMIT
    gap = expected_seconds * 0.9 / tries

    def burst_sent() -> int:
        return sum(watch.count(FIRST_USER_ID + n) for n in range(reminders))

    async def probe(n: int) -> tuple[float, float]:
        await asyncio.sleep(gap * (n + 0.5))
        first, second = FakeUser(PROBE_USER_ID + 2 * n), FakeUser(PROBE_USER_ID + 2 * n + 1)
        at = loop.time()
        await api.send_message(first, "/info")
        await api.send_message(second, "/info")
        first_wait, second_wait = await asyncio.gather(
            watch.answer_after(first.id, at, limit), watch.answer_after(second.id, at, limit)
        )
        return first_wait, second_wait

    async def stop(n: int) -> tuple[float, int, int]:
        await asyncio.sleep(expected_seconds * (0.2 + 0.6 * n / STOP_TRIES))
        # A user some 150 reminders (5 s) ahead of the burst: claimed, not yet sent.
        user = FakeUser(FIRST_USER_ID + min(reminders - 1, burst_sent() + 150))
        before = watch.count(user.id)
        at = loop.time()
        await api.send_message(user, "/stop")
        waited = await watch.answer_after(user.id, at, limit)
        while not math.isinf(waited) and is_reminder(watch.sent[user.id][-1][1]):
            waited = await watch.answer_after(user.id, at, limit)  # a reminder came first
        await tick
        after = [m for _, m in watch.sent.get(user.id, [])[before:]]
        confirmed = next((i for i, m in enumerate(after) if not is_reminder(m)), len(after))
        return (waited, sum(1 for m in after if is_reminder(m)),
                sum(1 for m in after[confirmed:] if is_reminder(m)))

    ended: list[float] = []
    tick.add_done_callback(lambda _: ended.append(loop.time()))
    probing = asyncio.gather(*(probe(n) for n in range(tries)))
    stops = await asyncio.gather(*(stop(n) for n in range(STOP_TRIES)))
    probes = await probing
    report = await tick
    tick_seconds = ended[0] - started
    times = sorted(at for n in range(reminders)
                   for at, m in watch.sent.get(FIRST_USER_ID + n, []) if is_reminder(m))
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    # Replies take their turns inside the same 30 a second: the limit is for all messages.
    everything = sorted(at for sent in watch.sent.values() for at, _ in sent
                        if times and times[0] <= at <= times[-1])
    overall = (len(everything) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    first_users = [a for a, _ in probes]
    second_users = [b for _, b in probes]
    peak = peak_in_window(everything)
    return {
        "burst_reminders_sent": len(times),
        "burst_seconds": round(times[-1] - times[0], 2) if times else None,
        "burst_tick_seconds": round(tick_seconds, 2),
        "burst_reminders_per_second": round(rate, 2),
        "burst_reminder_rate_ratio": round(rate / TELEGRAM_GLOBAL_LIMIT, 3),
        "burst_messages_per_second": round(overall, 2),
        "burst_rate_ratio": round(overall / TELEGRAM_GLOBAL_LIMIT, 3),
        "burst_peak_in_any_second": peak,
        "burst_peak_ratio": round(peak / TELEGRAM_GLOBAL_LIMIT, 3),
        **{f"burst_outcome_{k.value}": v for k, v in report.counts.items() if v},
        "reply_tries": tries,
        "reply_p50_seconds": seconds(statistics.median(first_users)),
        "reply_p99_seconds": seconds(p99(first_users)),
        "reply_unanswered": sum(1 for v in first_users if math.isinf(v)),
        "second_user_p50_seconds": seconds(statistics.median(second_users)),
        "second_user_p99_seconds": seconds(p99(second_users)),
        "reply_p99_goal_ratio": round(p99(first_users + second_users) / REPLY_GOAL_SECONDS, 3)
        if not math.isinf(p99(first_users + second_users)) else None,
        "stop_tries": STOP_TRIES,
        "stop_reply_p99_seconds": seconds(p99([w for w, _, _ in stops])),
        "stop_reply_max_seconds": seconds(max(w for w, _, _ in stops)),
        "reminders_after_stop_command": sum(c for _, c, _ in stops),
        "reminders_after_stop_reply": sum(r for _, _, r in stops),
    }


async def replies(api: BotAPIStandIn, watch: Watch, tries: int, first_id: int,
                  limit: float) -> list[float]:
    """``tries`` users send /help one after the other; each one's answer time."""
    loop = watch.loop
    waited = []
    for n in range(tries):
        user = FakeUser(first_id + n)
        at = loop.time()
        await api.send_message(user, "/help")
        waited.append(await watch.answer_after(user.id, at, limit))
        await asyncio.sleep(FLOOD_SECONDS / tries / 2)
    return waited


async def flood(api: BotAPIStandIn, watch: Watch, tries: int, limit: float) -> dict[str, Any]:
    """Another user's answer times, alone and while one user floods."""
    alone = await replies(api, watch, tries, PROBE_USER_ID + 100_000, limit)
    flooder = FakeUser(PROBE_USER_ID + 900_000)

    async def flooding() -> None:
        for _ in range(FLOOD_MESSAGES):
            await api.send_message(flooder, "/start")
            await asyncio.sleep(FLOOD_SECONDS / FLOOD_MESSAGES)

    flood_task = asyncio.create_task(flooding())
    await asyncio.sleep(1.0)  # the flood is under way
    during = await replies(api, watch, tries, PROBE_USER_ID + 200_000, limit)
    await flood_task
    alone_p99, during_p99 = p99(alone), p99(during)
    ratio = during_p99 / alone_p99 if not math.isinf(during_p99) and alone_p99 > 0 else None
    return {
        "flood_messages": FLOOD_MESSAGES,
        "flood_seconds": FLOOD_SECONDS,
        "other_user_alone_p50_seconds": seconds(statistics.median(alone)),
        "other_user_alone_p99_seconds": seconds(alone_p99),
        "other_user_during_flood_p50_seconds": seconds(statistics.median(during)),
        "other_user_during_flood_p99_seconds": seconds(during_p99),
        "other_user_during_flood_unanswered": sum(1 for v in during if math.isinf(v)),
        "flood_p99_ratio": round(ratio, 2) if ratio is not None else None,
        "answers_to_flooder_so_far": watch.count(flooder.id),
    }


async def bench(reminders: int, tries: int, db: str, limit: float) -> dict[str, Any]:
    async with throwaway_database(db) as url, BotAPIStandIn(TOKEN) as api:
        settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base_url=api.base_url,
                                 database_url=url, default_timezone="UTC",
                                 reminder_spread_minutes=0)
        seeding = time.perf_counter()
        await seed(settings, reminders)
        seeded = time.perf_counter() - seeding
        clock = ManualClock(START)
        application = build_application(settings, clock=clock, dispatch_interval=24 * 3600)
        only_explicit_ticks(application)
        watch = Watch(asyncio.get_running_loop())
        api.subscribe(watch.on_event)
        async with running(application, poll_timeout=10):
            await api.wait_until_idle(quiet=0.2)
            figures = {"seed_seconds": round(seeded, 1)}
            figures.update(await burst(api, watch, application, clock, reminders, tries, limit))
            figures.update(await flood(api, watch, tries, limit))
            await api.wait_until_idle(quiet=0.2, timeout=limit * 2)
    return figures


def machine() -> str:
    cpus = os.cpu_count() or 0
    return (f"{cpus} CPUs, {platform.machine()}, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, python-telegram-bot {telegram.__version__}, "
            f"SQLAlchemy {sqlalchemy.__version__}")


ROWS = [
    ("reply_p50_seconds", "a user's /info during the burst, median (s)"),
    ("reply_p99_seconds", "a user's /info during the burst, p99 (s)"),
    ("second_user_p99_seconds", "a second user at the same moment, p99 (s)"),
    ("reply_p99_goal_ratio", "reply p99 : 1 s goal"),
    ("stop_reply_p99_seconds", "/stop mid-burst, p99 of 5 (s)"),
    ("reminders_after_stop_command", "reminders that reached a user after their /stop"),
    ("reminders_after_stop_reply", "reminders after the /stop confirmation"),
    ("burst_reminders_sent", "reminders sent in the burst"),
    ("burst_reminders_per_second", "reminders/s during the burst"),
    ("burst_messages_per_second", "all messages/s during the burst (replies included)"),
    ("burst_rate_ratio", "all messages/s : 30/s"),
    ("burst_peak_ratio", "most in any 1 s : 30"),
    ("other_user_alone_p99_seconds", "another user's /help, nobody flooding, p99 (s)"),
    ("other_user_during_flood_p99_seconds", "the same while one user floods, p99 (s)"),
    ("flood_p99_ratio", "p99 during flood : alone"),
    ("answers_to_flooder_so_far", "answers to the flooder (200 sent)"),
]


def cell(value: Any, limit: float) -> str:
    if value is None:
        return f"> {limit:g} s (gave up)"
    return str(value)


def markdown(after: dict[str, Any], before: dict[str, Any] | None) -> str:
    """RESULTS.md: the figures (next to the ones from before, if given), machine, command."""
    meta = after["meta"]
    limit = float(meta.get("max_wait_seconds", 60.0))
    lines = [
        "# Benchmark results: people before bulk",
        "",
        f"Command: `{meta['command']}`  ",
        f"Mode: {meta['mode']} ({meta['reminders']} reminders, {meta['tries']} tries), "
        f"database: {meta['db']}, run {meta['when']}  ",
        f"Machine: {meta['machine']}  ",
        "The Bot API stand-in runs in the same process and event loop as the bot. "
        "p99 is by nearest rank (of 20 tries: the slowest).",
        "",
    ]
    if before is not None:
        lines += [f"Before: `{before['meta']['command']}` on {before['meta'].get('code', '?')}",
                  "", "| figure | before | after |", "|---|---|---|"]
        for key, label in ROWS:
            lines.append(f"| {label} | {cell(before.get(key), limit)} | "
                         f"{cell(after.get(key), limit)} |")
    else:
        lines += ["| figure | value |", "|---|---|"]
        for key, label in ROWS:
            lines.append(f"| {label} | {cell(after.get(key), limit)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.people", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['reminders']} reminders instead of {FULL['reminders']} "
                        "(under 2 minutes)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent,
                        help="folder for results.json and RESULTS.md (default: benchmarks/)")
    parser.add_argument("--before", type=Path,
                        help="a results.json of the code before, shown next to these figures")
    parser.add_argument("--code", default="this checkout", help="what code ran (for the notes)")
    parser.add_argument("--max-wait", type=float, default=60.0,
                        help="give up on an answer after this many seconds")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    figures = asyncio.run(bench(sizes["reminders"], sizes["tries"], args.db, args.max_wait))
    result: dict[str, Any] = {
        **figures,
        "meta": {
            "command": "python -m benchmarks.people" + (" --quick" if args.quick else "")
            + (f" --db {args.db}" if args.db != "sqlite" else ""),
            "mode": "quick" if args.quick else "full",
            "reminders": sizes["reminders"],
            "tries": sizes["tries"],
            "db": args.db,
            "machine": machine(),
            "code": args.code,
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "run_seconds": round(time.perf_counter() - started, 1),
            "max_wait_seconds": args.max_wait,
        },
    }
    before = json.loads(args.before.read_text()) if args.before else None
    if before is not None:
        result["before"] = before
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "RESULTS.md").write_text(markdown(result, before))
    width = max(len(label) for _, label in ROWS)
    for key, label in ROWS:
        print(f"{label.ljust(width)}  {cell(figures.get(key), args.max_wait)}")
    print(f"({result['meta']['run_seconds']} s; written to {args.out}/results.json and "
          f"RESULTS.md)", file=sys.stderr)


if __name__ == "__main__":
    main()
