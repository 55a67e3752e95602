"""Fixtures: real SQLite and PostgreSQL databases, and the real bot against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from telegram import Update

from reminderbot.app import DISPATCHER_KEY, BotApplication, build_application, running
from reminderbot.clock import ManualClock
from reminderbot.config import Settings, load_settings
from reminderbot.dispatch import Dispatcher, TickReport
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TOKEN = "123456789:AAtest-stand-in-token-0123456789"
# Wednesday 2026-11-25, 08:00 UTC: before the first hydration slot of the day.
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    name = f"reminderbot_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(base), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL at TEST_DATABASE_URL is not reachable ({type(exc).__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind; the bot migrates it when it starts."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")

    async def reset() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())
    yield url


class BotUnderTest:
    """The real Application, talking HTTP to the stand-in, with a clock the test moves."""

    def __init__(self, api: BotAPIStandIn, settings: Settings, clock: ManualClock,
                 dispatch_interval: float, chat_interval: float = 0.0) -> None:
        self.api = api
        self.settings = settings
        self.clock = clock
        self.dispatch_interval = dispatch_interval
        # The per-chat pause (1 s in production) is off here so that "idle" means "done";
        # tests/test_rate_limits.py runs with the real one.
        self.chat_interval = chat_interval
        self.user = FakeUser(id=424242, first_name="Sam", language_code="en")
        self.application: BotApplication | None = None
        self._stack: AsyncExitStack | None = None
        self.handled: set[int] = set()  # ids of updates the bot has finished with
        self._first_update = api.update_ids.stop  # earlier ones were another harness's

    @property
    def dispatcher(self) -> Dispatcher:
        assert self.application is not None
        dispatcher = self.application.bot_data[DISPATCHER_KEY]
        assert isinstance(dispatcher, Dispatcher)
        return dispatcher

    async def start(self) -> None:
        """Start a fresh Application (a new process, as far as the bot can tell)."""
        self.application = build_application(
            self.settings, clock=self.clock, dispatch_interval=self.dispatch_interval,
            chat_interval=self.chat_interval,
        )
        processor = self.application.update_processor
        handle = processor.do_process_update

        async def handled(update: object, coroutine: Any) -> None:
            try:
                await handle(update, coroutine)
            finally:
                if isinstance(update, Update):
                    self.handled.add(update.update_id)

        processor.do_process_update = handled  # type: ignore[method-assign]
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(running(self.application, poll_timeout=1))

    async def stop(self) -> None:
        if self._stack is not None:
            # Leave while a long poll waits, not while its answer is on the way: PTB would
            # lose its polling connection and its last getUpdates fail with a pool timeout.
            await self.api.wait_for_poll(timeout=3, margin=0.25)
            await self._stack.aclose()
            self._stack = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def settle(self) -> None:
        """Wait until the bot has handled every update it got and its answers are out.

        The stand-in alone cannot tell a handler still reading the database from one that is
        done; the update processor knows which chats have an update in hand.
        """
        assert self.application is not None
        processor = self.application.update_processor
        # Every update the stand-in created has been handled (or dropped) by the bot.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while self._unhandled() and loop.time() < deadline:  # noqa: ASYNC110 (polled set)
            await asyncio.sleep(0.01)
        await self.api.wait_until_idle(quiet=0.15)
        while (getattr(processor, "busy_chats", 0) or not self.application.update_queue.empty()
               or self.api.pending_updates):
            await asyncio.sleep(0.01)
            await self.api.wait_until_idle(quiet=0.05)

    def _unhandled(self) -> bool:
        return any(
            i not in self.handled for i in self.api.update_ids if i >= self._first_update
        )

    def chat(self) -> list[SentMessage]:
        return self.api.messages_to(self.user.id)

    async def send(self, text: str, user: FakeUser | None = None) -> list[SentMessage]:
        """A user sends ``text``; return what the bot sent to them in answer."""
        who = user or self.user
        before = len(self.api.messages_to(who.id))
        await self.api.send_message(who, text)
        await self.settle()
        return self.api.messages_to(who.id)[before:]

    async def press(
        self, message: SentMessage, button: str, user: FakeUser | None = None
    ) -> tuple[list[SentMessage], Any]:
        """A user presses a button; return the new messages to them and the callback answer."""
        who = user or self.user
        before = len(self.api.messages_to(who.id))
        query_id = await self.api.press_button(who, message, button)
        answer = await self.api.wait_for_callback_answer(query_id)
        await self.settle()
        return self.api.messages_to(who.id)[before:], answer

    async def opt_in(self) -> SentMessage:
        """/start and "Yes, remind me"; return the confirmation (the zone question follows)."""
        welcome = (await self.send("/start"))[-1]
        replies, _ = await self.press(welcome, "Yes, remind me")
        return replies[0]

    async def at(
        self, when: datetime, user: FakeUser | None = None
    ) -> tuple[TickReport, list[SentMessage]]:
        """Move the clock to ``when`` and run one dispatcher tick; return what it sent a user."""
        assert self.application is not None
        who = user or self.user
        before = len(self.api.messages_to(who.id))
        self.clock.set(when)
        report = await self.dispatcher.tick(self.application.bot)
        await self.api.wait_until_idle(quiet=0.15)
        return report, self.api.messages_to(who.id)[before:]

    async def opt_in_as(self, user: FakeUser, yes: str = "Yes, remind me") -> SentMessage:
        """Another user's /start and consent; return their confirmation."""
        welcome = (await self.send("/start", user))[-1]
        replies, _ = await self.press(welcome, yes, user)
        return replies[0]


@pytest.fixture
async def api() -> AsyncIterator[BotAPIStandIn]:
    """The loopback Bot API stand-in."""
    stand_in = BotAPIStandIn(TOKEN, clock=None)
    async with stand_in:
        yield stand_in


def bot_settings(api: BotAPIStandIn, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": api.token,
        "telegram_api_base_url": api.base_url,
        "database_url": database_url,
        "default_timezone": "UTC",
        "reminder_spread_minutes": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
async def bot(api: BotAPIStandIn, database_url: str) -> AsyncIterator[BotUnderTest]:
    """The bot, started; reminders are sent by explicit ticks (``bot.at``)."""
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
