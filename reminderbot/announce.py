"""`reminderbot announce FILE`: an operator's message to every opted-in, not paused user, once.

The file is Telegram HTML, checked like catalog text. Its SHA-256 names the announcement: the
same file started again resumes it. Each recipient gets one one-shot schedule row (kind
``announcement``), all created in one INSERT ... SELECT; the dispatcher claims and sends them
like reminders (same rate limiter, bulk lane, after every due reminder), so a /stop during the
run is respected and a sent row is never sent again.

After a crash or SIGKILL, a row the dead process had claimed may have reached Telegram: it
counts as maybe sent and is not repeated (nobody gets it twice; at most a slice may miss it).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import exists, insert
from telegram.ext import ExtBot

from reminderbot.catalog import check_html
from reminderbot.db.models import (
    ANNOUNCEMENT_KIND,
    Announcement,
    Schedule,
    ScheduleState,
    User,
    UserStatus,
)
from reminderbot.dispatch import Dispatcher
from reminderbot.htmltext import telegram_length
from reminderbot.messagelint import TELEGRAM_TEXT_LIMIT

# Rows claimed at a time by `announce`: after a crash at most this many count as maybe sent.
BATCH = 10
# How long to wait when the rows left are held by another sender (the bot, or a slow send).
IDLE_WAIT = 1.0


class AnnouncementError(ValueError):
    """The announcement file cannot be sent as it is (the reason, in one line)."""


def read_announcement(path: Path) -> str:
    """The announcement's Telegram HTML from ``path``, checked like catalog text."""
    try:
        body = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnouncementError(f"cannot read {path}: {type(exc).__name__}") from None
    if not body:
        raise AnnouncementError(f"{path} is empty")
    problems = check_html(body)
    if problems:
        raise AnnouncementError(f"{path}: {problems[0]}")
    length = telegram_length(body)
    if length > TELEGRAM_TEXT_LIMIT:
        raise AnnouncementError(
            f"{path}: {length} characters; Telegram's limit is {TELEGRAM_TEXT_LIMIT}"
        )
    return body


def content_hash(body: str) -> str:
    """The announcement's identity: SHA-256 of its text."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


async def count_recipients(sessions: async_sessionmaker[AsyncSession], body: str) -> int:
    """How many opted-in, not paused users have not had this announcement yet."""
    already = exists().where(
        Schedule.user_id == User.id,
        Schedule.state == ScheduleState.DONE,
        Schedule.announcement_id == Announcement.id,
        Announcement.content_hash == content_hash(body),
    )
    async with sessions() as session:
        count = await session.scalar(
            select(func.count(User.id)).where(User.status == UserStatus.ACTIVE, ~already)
        )
    return int(count or 0)


@dataclass(frozen=True)
class Progress:
    """Where an announcement stands: rows sent or given up, of all its rows."""

    done: int
    total: int


async def prepare(sessions: async_sessionmaker[AsyncSession], body: str, now: datetime) -> int:
    """The announcement's id, with a row for every opted-in, not paused user who has none.

    Started again, it adds only users who opted in since; a row a dead process of this host
    had claimed counts as maybe sent (it may have reached Telegram) and is not repeated.
    """
    digest = content_hash(body)
    async with sessions.begin() as session:
        announcement_id = await session.scalar(
            select(Announcement.id).where(Announcement.content_hash == digest)
        )
        if announcement_id is None:
            announcement = Announcement(content_hash=digest, body=body, created_at=now)
            session.add(announcement)
            await session.flush()
            announcement_id = announcement.id
        has_row = exists().where(
            Schedule.announcement_id == announcement_id, Schedule.user_id == User.id
        )
        await session.execute(
            insert(Schedule).from_select(
                ["user_id", "kind", "once", "state", "next_due_at", "announcement_id",
                 "sent_count", "skipped_count"],
                select(
                    User.id,
                    literal(ANNOUNCEMENT_KIND),
                    literal(True),
                    literal(ScheduleState.ON.value),
                    literal(now, type_=Schedule.next_due_at.type),
                    literal(announcement_id),
                    literal(0),
                    literal(0),
                ).where(User.status == UserStatus.ACTIVE, ~has_row),
            )
        )
        claimed = await session.execute(
            select(Schedule.id, Schedule.claimed_by).where(
                Schedule.announcement_id == announcement_id,
                Schedule.state == ScheduleState.ON,
                Schedule.claimed_by.is_not(None),
            )
        )
        orphans = [row_id for row_id, worker in claimed.tuples() if _dead(worker)]
        if orphans:
            # Its send had begun (see mark_on_the_wire): maybe sent, never repeated.
            await session.execute(
                update(Schedule)
                .where(Schedule.id.in_(orphans), Schedule.last_sent_at.is_not(None))
                .values(state=ScheduleState.DONE, claimed_by=None, claimed_until=None,
                        sent_count=Schedule.sent_count + 1)
                .execution_options(synchronize_session=False)
            )
            # Still waiting for its turn when the process died: free to go now.
            await session.execute(
                update(Schedule)
                .where(Schedule.id.in_(orphans), Schedule.last_sent_at.is_(None))
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
    return announcement_id


async def mark_on_the_wire(
    sessions: async_sessionmaker[AsyncSession], announcement_id: int, chat_id: int, now: datetime
) -> None:
    """Note that the announcement's send to ``chat_id`` is about to leave (its turn came).

    A process that dies after this may have reached Telegram; one that dies before has not.
    """
    async with sessions.begin() as session:
        await session.execute(
            update(Schedule)
            .where(
                Schedule.announcement_id == announcement_id,
                Schedule.user_id.in_(select(User.id).where(User.chat_id == chat_id)),
            )
            .values(last_sent_at=now)
            .execution_options(synchronize_session=False)
        )


def _dead(worker: str | None) -> bool:
    """Whether ``worker`` (``host:pid:…``, see Dispatcher) was a process of this host that ended."""
    host, _, rest = (worker or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def progress(sessions: async_sessionmaker[AsyncSession], announcement_id: int) -> Progress:
    """Rows of the announcement done, and all of them; a row whose user stopped or paused
    meanwhile counts as done (it is not waited for)."""
    pending = and_(Schedule.state == ScheduleState.ON, User.status == UserStatus.ACTIVE)
    async with sessions() as session:
        row = (
            await session.execute(
                select(func.count(Schedule.id), func.count(Schedule.id).filter(pending))
                .join(User, User.id == Schedule.user_id)
                .where(Schedule.announcement_id == announcement_id)
            )
        ).one()
    total, left = int(row[0]), int(row[1])
    return Progress(total - left, total)


async def send_all(
    bot: ExtBot[Any],
    dispatcher: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    announcement_id: int,
    on_progress: Callable[[Progress], None],
) -> Progress:
    """Run dispatcher ticks until no row of the announcement is pending."""
    while True:
        state = await progress(sessions, announcement_id)
        on_progress(state)
        if state.done >= state.total:
            return state
        report = await dispatcher.tick(bot)
        if not report.claimed:
            await asyncio.sleep(IDLE_WAIT)
