"""People before bulk: users are answered side by side, each in order, floods cut, /stop final,
and replies go ahead of queued reminders (issue 12, section 1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from reminderbot.clock import ManualClock
from reminderbot.db.models import Schedule, ScheduleKind, User
from reminderbot.dispatch import SLICE_SIZE, SLICES_AHEAD, Outcome
from reminderbot.inflight import KEEP_MARKS_SECONDS, SENDS_KEY, SendGate
from reminderbot.preferences import Planner
from reminderbot.ratelimit import Lane, TelegramRateLimiter
from reminderbot.subscriptions import opt_in, stop
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage, StandInEvent
from reminderbot.updates import (
    FLOOD_LIMIT,
    FLOOD_WINDOW_SECONDS,
    FloodWatch,
    PerChatUpdateProcessor,
    Verdict,
)
from tests.conftest import START, BotUnderTest, bot_settings

NINE = START.replace(hour=9)
HYDRATION_BUTTONS = ["Done 💧", "Snooze 30 min", "I just took some"]


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (a sync point, not a speed check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def seed(bot: BotUnderTest, users: list[FakeUser]) -> None:
    """Opt ``users`` in straight in the database (no messages), hydration due at 09:00."""
    planner = Planner("UTC", 0)
    async with bot.dispatcher.runtime.sessions.begin() as session:
        for user in users:
            await opt_in(session, telegram_user_id=user.id, chat_id=user.id, language="en",
                         now=START, planner=planner)


async def set_due(bot: BotUnderTest, user: FakeUser, kind: str, when: datetime) -> None:
    async with bot.dispatcher.runtime.sessions.begin() as session:
        row = await session.scalar(select(User.id).where(User.telegram_user_id == user.id))
        await session.execute(update(Schedule).where(Schedule.user_id == row,
                                                     Schedule.kind == kind)
                              .values(next_due_at=when))


def gate_of(bot: BotUnderTest) -> SendGate:
    assert bot.application is not None
    gate = bot.application.bot_data[SENDS_KEY]
    assert isinstance(gate, SendGate)
    return gate


def processor_of(bot: BotUnderTest) -> PerChatUpdateProcessor:
    assert bot.application is not None
    processor = bot.application.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    return processor


def limiter_of(bot: BotUnderTest) -> TelegramRateLimiter:
    assert bot.application is not None
    limiter = bot.application.bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    return limiter


def plain(messages: list[SentMessage]) -> list[str]:
    return [m.plain_text for m in messages]


# ---------------------------------------------------------------- side by side, in order


async def test_a_slow_user_does_not_hold_up_another(bot: BotUnderTest) -> None:
    slow, other = FakeUser(id=5001), FakeUser(id=5002)
    [expected] = plain(await bot.send("/help", other))
    bot.api.hold(slow.id)  # every answer to the slow user's chat hangs for now
    await bot.api.send_message(slow, "/info")
    await eventually(lambda: bot.api.held_calls(slow.id) == 1)
    await bot.api.send_message(other, "/help")
    answers = await bot.api.wait_for_messages(other.id, 2)
    assert plain(answers[1:]) == [expected]
    assert bot.api.messages_to(slow.id) == []  # still held: the other user did not wait for it
    bot.api.release(slow.id)
    [info] = await bot.api.wait_for_messages(slow.id, 1)
    assert bot.api.sent.index(answers[1]) < bot.api.sent.index(info)


async def test_one_users_updates_are_answered_in_the_order_sent(bot: BotUnderTest) -> None:
    calm, busy = FakeUser(id=5003), FakeUser(id=5004)
    commands = ["/info", "/help", "/sideeffects", "/help", "/info"]
    expected = [plain(await bot.send(command, calm)) for command in commands]
    bot.api.hold(busy.id, calls=1)  # the first answer hangs, later ones would not
    for command in commands:
        await bot.api.send_message(busy, command)
    await eventually(lambda: bot.api.held_calls(busy.id) == 1)
    await eventually(lambda: processor_of(bot).busy_chats == 1 and bot.api.pending_updates == 0)
    bot.api.release(busy.id)
    await bot.api.wait_for_messages(busy.id, len(commands))
    await bot.api.wait_until_idle(quiet=0.15)
    assert [[m] for m in plain(bot.api.messages_to(busy.id))] == expected
    assert processor_of(bot).busy_chats == 0  # idle chats keep no lock


# ---------------------------------------------------------------- floods


async def test_a_flood_is_answered_once_and_leaves_others_alone(bot: BotUnderTest) -> None:
    flooder, other = FakeUser(id=5005), FakeUser(id=5006)
    [expected] = plain(await bot.send("/help", other))
    bot.api.hold(flooder.id)
    for _ in range(25):
        await bot.api.send_message(flooder, "/start")
    await eventually(lambda: bot.api.pending_updates == 0)
    await bot.api.send_message(other, "/help")
    answers = await bot.api.wait_for_messages(other.id, 2)
    assert plain(answers[1:]) == [expected]  # answered while the flooder's replies hang
    bot.api.release(flooder.id)
    await bot.api.wait_for_messages(flooder.id, FLOOD_LIMIT + 1)
    await bot.api.wait_until_idle(quiet=0.3)
    got = plain(bot.api.messages_to(flooder.id))
    [welcome] = plain(await bot.send("/start", FakeUser(id=5007)))
    one_moment = ("One moment, please: I'm still working through your last messages. "
                  "Give me a few seconds and try again.")
    assert got == [welcome] * FLOOD_LIMIT + [one_moment]
    async with bot.dispatcher.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
    # Still within the window: dropped without an answer; once it has passed, answered again.
    assert await bot.send("/help", flooder) == []
    bot.clock.set(bot.clock.now() + timedelta(seconds=FLOOD_WINDOW_SECONDS))
    assert plain(await bot.send("/help", flooder)) == [expected]


async def test_the_one_moment_is_in_the_users_language(bot: BotUnderTest) -> None:
    flooder = FakeUser(id=5008, language_code="es")
    bot.api.hold(flooder.id)
    for _ in range(FLOOD_LIMIT + 3):
        await bot.api.send_message(flooder, "/help")
    await eventually(lambda: bot.api.pending_updates == 0)
    bot.api.release(flooder.id)
    messages = await bot.api.wait_for_messages(flooder.id, FLOOD_LIMIT + 1)
    await bot.api.wait_until_idle(quiet=0.3)
    assert len(bot.api.messages_to(flooder.id)) == FLOOD_LIMIT + 1
    assert messages[-1].plain_text == (
        "Un momento, por favor: todavía estoy con tus últimos mensajes. "
        "Dame unos segundos y vuelve a intentarlo."
    )


async def test_an_update_without_a_sender_is_handled_without_a_lock(bot: BotUnderTest) -> None:
    bot.api.deliver_update({"channel_post": {
        "message_id": 1, "date": 0, "text": "hello",
        "chat": {"id": -100123, "type": "channel", "title": "News"}}})
    await bot.api.wait_until_idle(quiet=0.15)
    assert bot.api.sent == [] and processor_of(bot).busy_chats == 0


# ---------------------------------------------------------------- /stop is final and quick


async def test_stop_while_a_reminder_waits_in_a_tick_drops_it(bot: BotUnderTest) -> None:
    # Two reminders ahead of ours hang on the wire, so our slice waits for its turn.
    first, second, user = FakeUser(id=5101), FakeUser(id=5102), bot.user
    await seed(bot, [first, second, user])
    await set_due(bot, user, ScheduleKind.HYDRATION, NINE + timedelta(minutes=1))  # last
    bot.dispatcher.slice_size = 1
    bot.api.hold(first.id)
    bot.api.hold(second.id)
    bot.clock.set(NINE + timedelta(minutes=1))
    assert bot.application is not None
    tick = asyncio.create_task(bot.dispatcher.tick(bot.application.bot))
    await eventually(lambda: bot.api.held_calls(first.id) + bot.api.held_calls(second.id) == 2)
    await bot.api.send_message(user, "/stop")
    [confirmation] = await bot.api.wait_for_messages(user.id, 1)  # while the others hang
    assert confirmation.plain_text.startswith("All reminders are stopped")
    bot.api.release(first.id)
    bot.api.release(second.id)
    report = await tick
    await bot.api.wait_until_idle(quiet=0.15)
    assert bot.chat() == [confirmation]  # nothing before or after it
    assert report.counts[Outcome.SENT] == 2 and report.claimed == 2
    async with bot.dispatcher.runtime.sessions() as session:
        claimed = await session.scalar(select(func.count()).select_from(Schedule)
                                       .where(Schedule.claimed_by.is_not(None)))
    assert claimed == 0  # its row was given back, unsent


async def test_a_stop_from_another_process_is_seen_before_the_slice_goes(
    bot: BotUnderTest,
) -> None:
    first, second, user = FakeUser(id=5103), FakeUser(id=5104), bot.user
    await seed(bot, [first, second, user])
    await set_due(bot, user, ScheduleKind.HYDRATION, NINE + timedelta(minutes=1))  # last
    bot.dispatcher.slice_size = 1
    bot.api.hold(first.id)
    bot.api.hold(second.id)
    bot.clock.set(NINE + timedelta(minutes=1))
    assert bot.application is not None
    tick = asyncio.create_task(bot.dispatcher.tick(bot.application.bot))
    await eventually(lambda: bot.api.held_calls(first.id) + bot.api.held_calls(second.id) == 2)
    async with bot.dispatcher.runtime.sessions.begin() as session:  # no in-process mark
        await stop(session, user.id, NINE)
    bot.api.release(first.id)
    bot.api.release(second.id)
    report = await tick
    assert bot.chat() == [] and report.counts[Outcome.SENT] == 2


async def test_stop_while_a_reminder_is_on_the_wire_confirms_after_it(bot: BotUnderTest) -> None:
    await seed(bot, [bot.user])
    bot.clock.set(NINE)
    bot.api.hold(bot.user.id, calls=1)  # the reminder hangs on the wire; a reply would not
    assert bot.application is not None
    tick = asyncio.create_task(bot.dispatcher.tick(bot.application.bot))
    await eventually(lambda: bot.api.held_calls(bot.user.id) == 1)
    await bot.api.send_message(bot.user, "/stop")
    gate = gate_of(bot)
    await eventually(lambda: gate.is_stopped(bot.user.id))  # committed
    await asyncio.sleep(0.3)  # time enough for a confirmation that does not wait to go out
    assert gate.on_wire(bot.user.id) == 1 and bot.chat() == []
    bot.api.release(bot.user.id)
    report = await tick
    reminder, confirmation = await bot.api.wait_for_messages(bot.user.id, 2)
    assert reminder.button_texts() == HYDRATION_BUTTONS
    assert confirmation.plain_text.startswith("All reminders are stopped")
    assert report.counts[Outcome.SENT] == 1
    report, sent = await bot.at(NINE.replace(hour=12))
    assert sent == [] and report.claimed == 0


# ---------------------------------------------------------------- replies before bulk


@pytest.fixture
async def spaced(api: BotAPIStandIn, database_url: str) -> AsyncIterator[BotUnderTest]:
    """The bot with Telegram's real one-a-second pause per chat."""
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600, chat_interval=1.0)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_stop_drops_a_reminder_queued_in_the_rate_limiter(spaced: BotUnderTest) -> None:
    bot = spaced
    await seed(bot, [bot.user])
    [info] = await bot.send("/info")  # the chat's next turn is a second away from here
    bot.clock.set(NINE)
    assert bot.application is not None
    tick = asyncio.create_task(bot.dispatcher.tick(bot.application.bot))
    limiter = limiter_of(bot)
    await eventually(lambda: limiter.waiting(Lane.BULK) == 1)  # queued for the chat's turn
    await bot.api.send_message(bot.user, "/stop")
    report = await tick
    await bot.api.wait_for_messages(bot.user.id, 2)
    await bot.api.wait_until_idle(quiet=1.2)
    [_, confirmation] = bot.chat()
    assert bot.chat()[0] is info
    assert confirmation.plain_text.startswith("All reminders are stopped")
    assert report.counts[Outcome.SENT] == 0
    _, sent = await bot.at(NINE.replace(hour=12))
    assert sent == []


async def test_a_reply_mid_burst_waits_only_for_sends_on_the_wire(bot: BotUnderTest) -> None:
    users = [FakeUser(id=6000 + n) for n in range(120)]
    await seed(bot, users)
    asker = FakeUser(id=5999)
    limiter = limiter_of(bot)
    most_queued = 0
    order: list[int] = []

    def on_event(event: StandInEvent) -> None:
        nonlocal most_queued
        if event.kind == "sent" and event.message is not None:
            order.append(event.message.chat_id)
            most_queued = max(most_queued, limiter.waiting(Lane.BULK))

    bot.api.subscribe(on_event)
    bot.clock.set(NINE)
    assert bot.application is not None
    tick = asyncio.create_task(bot.dispatcher.tick(bot.application.bot))
    await eventually(lambda: len(order) >= 10)
    asked_after = len(order)
    await bot.api.send_message(asker, "/help")
    await bot.api.wait_for_messages(asker.id, 1)
    report = await tick
    assert report.counts[Outcome.SENT] == len(users)
    # Before the change the reply waited for the whole claimed batch (~110 reminders);
    # now only for sends already handed over while the handler ran.
    assert order.index(asker.id) - asked_after < SLICE_SIZE
    assert most_queued <= SLICE_SIZE * SLICES_AHEAD  # the limiter gets small slices


async def test_replies_take_the_next_turn_ahead_of_queued_bulk_sends() -> None:
    limiter = TelegramRateLimiter(chat_interval=0, per_second=50)
    started: list[str] = []

    def send(name: str) -> Callable[[], object]:
        async def call() -> dict[str, object]:
            started.append(name)
            return {}
        return call

    async def request(name: str, lane: Lane, chat_id: int) -> None:
        await limiter.process_request(send(name), (), {}, "sendMessage",
                                      {"chat_id": chat_id}, lane)

    bulk = [asyncio.create_task(request(f"bulk{n}", Lane.BULK, 100 + n)) for n in range(20)]
    await eventually(lambda: len(started) >= 3)
    handed_over = len(bulk) - limiter.waiting(Lane.BULK)  # turns given, sent or about to be
    await request("reply", Lane.REPLY, 99)
    await asyncio.gather(*bulk)
    assert started.index("reply") == handed_over  # the very next turn
    assert [name for name in started if name != "reply"] == [f"bulk{n}" for n in range(20)]


# ---------------------------------------------------------------- the parts on their own


def test_the_flood_window_slides_and_forgets_quiet_users() -> None:
    now = [0.0]
    watch = FloodWatch(clock=lambda: now[0])
    verdicts = [watch.admit(1) for _ in range(FLOOD_LIMIT + 3)]
    assert verdicts == [Verdict.HANDLE] * FLOOD_LIMIT + [Verdict.NOTICE, Verdict.DROP,
                                                         Verdict.DROP]
    assert watch.admit(2) == Verdict.HANDLE  # another user is counted apart
    now[0] = FLOOD_WINDOW_SECONDS - 0.001
    assert watch.admit(1) == Verdict.DROP
    now[0] = FLOOD_WINDOW_SECONDS
    assert watch.admit(1) == Verdict.HANDLE  # the window passed
    assert [watch.admit(1) for _ in range(FLOOD_LIMIT)][-1] == Verdict.NOTICE  # a new flood
    for user_id in range(100, 3100):
        watch.admit(user_id)
    now[0] = 3 * FLOOD_WINDOW_SECONDS
    watch.admit(99)
    assert watch.watched <= 1024 + 1  # bounded: quiet users were forgotten


def test_a_stop_mark_holds_until_a_later_read_finds_the_user_back() -> None:
    now = [0.0]
    gate = SendGate(clock=lambda: now[0])
    before = gate.generation
    gate.stop(7)
    assert gate.is_stopped(7) and gate.is_stopped(7, checked_since=before)  # read began earlier
    after = gate.generation
    assert not gate.is_stopped(7, checked_since=after)  # read began later: they came back
    assert not gate.is_stopped(7)
    gate.stop(8)
    now[0] = KEEP_MARKS_SECONDS + 1
    gate.stop(9)
    assert not gate.is_stopped(8) and gate.is_stopped(9)  # old marks are dropped


async def test_waiting_for_the_wire_ends_with_the_last_send() -> None:
    gate = SendGate()
    assert await gate.wait_idle(7)
    gate.begin(7)
    gate.begin(7)
    waiting = asyncio.create_task(gate.wait_idle(7))
    gate.end(7)
    await asyncio.sleep(0)
    assert not waiting.done()
    gate.end(7)
    assert await waiting and gate.on_wire(7) == 0
    gate.begin(8)
    assert not await gate.wait_idle(8, timeout=0.01)
