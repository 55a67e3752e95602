"""A burst of due reminders for the crash tests: seeded straight into the database, sent by a
bot in its own process against the stand-in in the test's, and counted per chat afterwards."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from reminderbot.config import setting_names
from reminderbot.db.migrate import upgrade
from reminderbot.db.models import Schedule, ScheduleKind, ScheduleState, User, UserStatus
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.testing.botapi import BotAPIStandIn, StandInEvent

ROOT = Path(__file__).resolve().parents[1]
FIRST_CHAT = 5_000_000
WATER_BUTTON = "Done 💧"  # a water reminder's first button


async def seed_due(url: str, count: int) -> list[int]:
    """``count`` opted-in users, each with a water reminder due a minute ago (real time);
    their chat ids."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as session:
            users = [
                User(telegram_user_id=FIRST_CHAT + n, chat_id=FIRST_CHAT + n, language="en",
                     status=UserStatus.ACTIVE, created_at=now, consented_at=now)
                for n in range(count)
            ]
            session.add_all(users)
            await session.flush()
            session.add_all(
                Schedule(user_id=user.id, kind=ScheduleKind.HYDRATION, once=False,
                         state=ScheduleState.ON, every_hours=3,
                         next_due_at=now - timedelta(minutes=1), sent_count=0, skipped_count=0)
                for user in users
            )
    finally:
        await engine.dispose()
    return [FIRST_CHAT + n for n in range(count)]


async def still_due(url: str) -> int:
    """Water reminders not yet advanced past their due time (a minute or more ago)."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            left = await session.scalar(
                select(func.count()).select_from(Schedule).where(
                    Schedule.kind == ScheduleKind.HYDRATION,
                    Schedule.next_due_at <= datetime.now(UTC),
                )
            )
    finally:
        await engine.dispose()
    return int(left or 0)


async def claimed_rows(url: str) -> list[int]:
    """Chat ids of the rows still claimed (by a process that was killed, say)."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            chats = await session.scalars(
                select(User.chat_id).join(Schedule, Schedule.user_id == User.id)
                .where(Schedule.claimed_by.is_not(None))
            )
            return list(chats)
    finally:
        await engine.dispose()


def bot_env(api: BotAPIStandIn, url: str) -> dict[str, str]:
    """The environment of a bot process on ``url`` against the stand-in."""
    env = {k: v for k, v in os.environ.items() if k not in setting_names()}
    # `python -m tests.fastbot` from a temporary folder: the repository on the path.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url,
               DATABASE_URL=url, REMINDER_SPREAD_MINUTES="0", DEFAULT_TIMEZONE="UTC")
    return env


async def start(tmp_path: Path, api: BotAPIStandIn, url: str, *,
                limited: bool) -> asyncio.subprocess.Process:
    """``reminderbot run`` (``limited``: Telegram's 30 a second), or the same bot with the
    limits lifted (``tests.fastbot``)."""
    command = ("-m", "reminderbot", "run") if limited else ("-m", "tests.fastbot")
    return await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=tmp_path, env=bot_env(api, url),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


class Tally:
    """Water reminders per chat as the stand-in sends them (counted as they come)."""

    def __init__(self, api: BotAPIStandIn, chats: list[int]) -> None:
        self.api = api
        self.per_chat: Counter[int] = Counter(dict.fromkeys(chats, 0))
        self.reached = 0  # chats with at least one
        api.subscribe(self._on_event)

    def _on_event(self, event: StandInEvent) -> None:
        message = event.message
        if (event.kind == "sent" and message is not None and message.chat_id in self.per_chat
                and message.button_texts()[:1] == [WATER_BUTTON]):
            self.per_chat[message.chat_id] += 1
            self.reached += self.per_chat[message.chat_id] == 1

    async def wait_for(self, at_least: int, timeout: float = 60.0) -> None:
        """Until ``at_least`` chats have a reminder."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.reached < at_least:
            if loop.time() > deadline:
                raise TimeoutError(f"{self.reached} chats reached in {timeout} s, not {at_least}")
            await asyncio.sleep(0.05)

    async def wait_until_done(self, url: str, timeout: float = 60.0) -> None:
        """Until every chat has a reminder and no row is still due."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.reached < len(self.per_chat) or await still_due(url):
            if loop.time() > deadline:
                raise TimeoutError(f"{self.reached} of {len(self.per_chat)} chats reached "
                                   f"in {timeout} s")
            await asyncio.sleep(0.2)
        await self.api.wait_until_idle(quiet=0.3)


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM the bot if it runs; its stderr."""
    if process.returncode is None:
        process.terminate()
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    return stderr.decode()
