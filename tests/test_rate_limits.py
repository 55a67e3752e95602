"""Telegram's limits, with the real limiter: 30 messages a second overall, one a second per chat."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import time, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import update
from telegram.error import RetryAfter

from reminderbot.clock import ManualClock
from reminderbot.db.models import Schedule, ScheduleKind
from reminderbot.dispatch import Outcome
from reminderbot.ratelimit import Lane, TelegramRateLimiter
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import START, BotUnderTest, bot_settings


@pytest.fixture
async def limited(api: BotAPIStandIn, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[BotUnderTest]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('limits') / 'bot.db'}"
    harness = BotUnderTest(api, bot_settings(api, url), ManualClock(START),
                           dispatch_interval=3600, chat_interval=1.0)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def send_times(api: BotAPIStandIn, chat_id: int | None = None) -> list[float]:
    return [c.at for c in api.calls if c.method == "sendMessage" and c.status == 200
            and (chat_id is None or c.params.get("chat_id") == chat_id)]


async def test_two_reminders_due_together_come_a_second_apart(limited: BotUnderTest) -> None:
    api, user = limited.api, limited.user
    await api.send_message(user, "/start")
    [welcome] = await api.wait_for_messages(user.id, 1)
    await api.press_button(user, welcome, "Yes, remind me")
    # The confirmation, the zone question and the discreet-mode offer.
    await api.wait_for_messages(user.id, 4)
    async with limited.dispatcher.runtime.sessions.begin() as session:
        await session.execute(  # the check-in at 09:00, with the first hydration reminder
            update(Schedule).where(Schedule.kind == ScheduleKind.CHECKIN)
            .values(at_time=time(9, 0), next_due_at=START.replace(hour=9))
        )
    report, sent = await limited.at(START.replace(hour=9))
    assert report.counts[Outcome.SENT] == 2 and len(sent) == 2
    first, second = send_times(limited.api, limited.user.id)[-2:]
    assert second - first >= 0.95


async def test_replies_to_one_chat_are_spaced(limited: BotUnderTest) -> None:
    for text in ("/info", "/help", "/sideeffects"):
        await limited.api.send_message(limited.user, text)
    await limited.api.wait_for_messages(limited.user.id, 3)
    times = send_times(limited.api, limited.user.id)
    assert all(b - a >= 0.95 for a, b in pairwise(times))


async def test_no_second_carries_more_than_thirty_messages(limited: BotUnderTest) -> None:
    users = [FakeUser(id=9000 + n) for n in range(45)]
    for user in users:
        await limited.api.send_message(user, "/help")
    for user in users:
        await limited.api.wait_for_messages(user.id, 1, timeout=30)
    times = sorted(send_times(limited.api))
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert len(times) == 45 and busiest <= 31
    assert max(Counter(c.params.get("chat_id") for c in limited.api.calls
                       if c.method == "sendMessage").values()) == 1
    assert times[-1] - times[0] >= timedelta(seconds=1).total_seconds()


async def sends_through(limiter: TelegramRateLimiter, count: int, first_chat: int,
                        refuse_first: bool = False) -> list[float]:
    """``count`` sends to as many chats through ``limiter``; when each went out (loop time).
    With ``refuse_first`` Telegram answers the first one 429 (retry after 0 s) once."""
    loop = asyncio.get_running_loop()
    times: list[float] = []
    refusals = [refuse_first]

    async def send() -> bool:
        if refusals[0]:
            refusals[0] = False
            raise RetryAfter(0)
        times.append(loop.time())
        return True

    await asyncio.gather(*(
        limiter.process_request(send, (), {}, "sendMessage", {"chat_id": first_chat + n},
                                Lane.BULK)
        for n in range(count)
    ))
    return sorted(times)


async def test_after_a_429_a_seconds_worth_of_sends_spans_a_wider_margin() -> None:
    limiter = TelegramRateLimiter(chat_interval=1.0)
    # As many sends a second as Telegram allows, and a little more than a second for 30.
    before = await sends_through(limiter, 31, first_chat=100)
    assert before[30] - before[0] >= 1.015
    # Once refused, sends keep 50 ms more for 10 minutes: this machine bunches them up.
    after = await sends_through(limiter, 32, first_chat=200, refuse_first=True)
    assert len(after) == 32 and after[30] - after[0] >= 1.05
