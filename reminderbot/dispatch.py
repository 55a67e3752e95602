"""The one place that sends reminders: claim the due rows, send them, advance each row.

Safe to run in several processes at once: a claim is an expiring lease written in one
UPDATE (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so each due row goes to one sender.
A row is advanced right after Telegram confirms the send, so a restart repeats nothing
that was confirmed sent and loses nothing that was not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from reminderbot import keyboards, texts
from reminderbot.db.models import (
    Schedule,
    ScheduleKind,
    ScheduleState,
    StopReason,
    User,
    UserStatus,
)
from reminderbot.messaging import audience_of, send
from reminderbot.runtime import Runtime
from reminderbot.schedule import is_late
from reminderbot.stats import record_tick
from reminderbot.subscriptions import stop
from reminderbot.texts import Key

log = logging.getLogger(__name__)

# How long a claim holds: longer than a batch takes to send at Telegram's 30 messages a second.
LEASE = timedelta(minutes=2)
# After a failed send (network, 5xx) the row waits this long before it is tried again.
RETRY_BACKOFF = timedelta(seconds=30)
# Within one due time, what a person answers goes first: check-ins before water nudges.
_KIND_ORDER = case(
    (Schedule.kind == ScheduleKind.CHECKIN, 0),
    (Schedule.kind == ScheduleKind.TOLERANCE, 1),
    else_=2,
)


class Outcome(StrEnum):
    """What happened to one claimed reminder."""

    SENT = "sent"
    SKIPPED_LATE = "skipped_late"
    RETRY = "retry"
    DEACTIVATED = "deactivated"
    FAILED = "failed"  # a bug or bad data: logged; the lease runs out and it is tried again


@dataclass(frozen=True)
class Due:
    """A claimed reminder: its schedule row and its user, as loaded when claimed."""

    schedule: Schedule
    user: User

    @property
    def schedule_id(self) -> int:
        """The schedule row's id (the only identifier that goes into logs)."""
        return self.schedule.id

    @property
    def due_at(self) -> datetime:
        """When it was due (claimed rows always have a due time)."""
        assert self.schedule.next_due_at is not None
        return self.schedule.next_due_at


@dataclass
class TickReport:
    """Counts of one tick, by outcome."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    @property
    def claimed(self) -> int:
        """How many rows this tick claimed."""
        return sum(self.counts.values())


class Dispatcher:
    """Claims due schedule rows in batches, sends them through the bot, and advances them."""

    def __init__(self, runtime: Runtime, *, batch_size: int = 500, worker_id: str | None = None):
        self.runtime = runtime
        self.batch_size = batch_size
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    async def tick(self, bot: Bot) -> TickReport:
        """Send every reminder due now, batch after batch; return what happened."""
        report = TickReport()
        by_kind: Counter[tuple[str, str]] = Counter()  # for the statistics
        while True:
            batch = await self.claim(self.runtime.clock.now())
            outcomes = await asyncio.gather(
                *(self.deliver(bot, due) for due in batch), return_exceptions=True
            )
            for due, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    # One bad row must not stop the others; no user data in the log line.
                    log.error(
                        "reminder %s failed: %s",
                        due.schedule_id,
                        type(outcome).__name__,
                        exc_info=outcome,
                    )
                    outcome = Outcome.FAILED
                report.counts[outcome] += 1
                by_kind[(due.schedule.kind, outcome.value)] += 1
            # A late row skipped now may have moved to a slot due right now: claim again
            # until nothing is due (rows that failed keep their lease or back off).
            if not batch:
                break
        await record_tick(self.runtime.sessions, self.runtime.clock.now(), by_kind)
        if report.claimed:
            log.info("dispatch tick: %s", {k.value: v for k, v in report.counts.items() if v})
        return report

    async def claim(self, now: datetime) -> list[Due]:
        """Lease up to ``batch_size`` due rows to this worker and return them.

        Timed pauses that have ended are lifted first, in the same transaction.
        """
        due_ids = (
            select(Schedule.id)
            .join(User, User.id == Schedule.user_id)
            .where(
                Schedule.next_due_at <= now,
                Schedule.state == ScheduleState.ON,
                User.status == UserStatus.ACTIVE,
                or_(Schedule.claimed_until.is_(None), Schedule.claimed_until < now),
            )
            .order_by(Schedule.next_due_at, _KIND_ORDER)
            .limit(self.batch_size)
            .with_for_update(of=Schedule, skip_locked=True)
        )
        async with self.runtime.sessions.begin() as session:
            await session.execute(
                update(User)
                .where(User.status == UserStatus.PAUSED, User.paused_until <= now)
                .values(status=UserStatus.ACTIVE, paused_until=None)
                .execution_options(synchronize_session=False)
            )
            claimed = (
                await session.scalars(
                    update(Schedule)
                    .where(Schedule.id.in_(due_ids.scalar_subquery()))
                    .values(claimed_until=now + LEASE, claimed_by=self.worker_id)
                    .returning(Schedule.id)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            if not claimed:
                return []
            rows = await session.execute(
                select(Schedule, User)
                .join(User, User.id == Schedule.user_id)
                .where(Schedule.id.in_(claimed))
                .order_by(Schedule.next_due_at, _KIND_ORDER)
            )
            return [
                Due(schedule, user)
                for schedule, user in rows.tuples()
                if schedule.next_due_at is not None
            ]

    async def earliest_due(self) -> datetime | None:
        """When a tick could next send something (None: nothing scheduled).

        A row backing off after a failed send counts from the end of its wait.
        """
        ready_at = case(
            (Schedule.claimed_until > Schedule.next_due_at, Schedule.claimed_until),
            else_=Schedule.next_due_at,
        )
        async with self.runtime.sessions() as session:
            earliest: datetime | None = await session.scalar(
                select(func.min(ready_at))
                .join(User, User.id == Schedule.user_id)
                .where(
                    Schedule.state == ScheduleState.ON,
                    or_(
                        User.status == UserStatus.ACTIVE,
                        and_(User.status == UserStatus.PAUSED, User.paused_until.is_not(None)),
                    ),
                )
            )
        return earliest

    def message_for(self, due: Due) -> tuple[Key, InlineKeyboardMarkup, int]:
        """The catalog key, buttons and wording variant of a reminder, in the user's language."""
        catalog, lang = self.runtime.catalog, due.user.language
        if due.schedule.kind == ScheduleKind.HYDRATION:
            markup = keyboards.hydration(catalog, lang)
            return texts.HYDRATION_REMINDER, markup, due.schedule.sent_count
        if due.schedule.kind == ScheduleKind.TOLERANCE:
            return texts.TOLERANCE_QUESTION, keyboards.tolerance(catalog, lang), 0
        return texts.CHECKIN_QUESTION, keyboards.checkin(catalog, lang), 0

    def next_due(self, due: Due, now: datetime) -> datetime | None:
        """The row's next occurrence after the slot being sent (None: a one-shot row).

        A slot due exactly ``now`` counts (a late row skipped now moves to it, not past it);
        the slot being sent never comes again, as the next slot is after it.
        """
        if due.schedule.once:
            return None
        planner = self.runtime.planner
        return planner.due_after(
            due.schedule,
            due.user,
            now - timedelta(microseconds=1),
            last_slot=planner.slot_of(due.schedule, due.user),
        )

    async def deliver(self, bot: Bot, due: Due) -> Outcome:
        """Send one claimed reminder (or skip it when too late) and record the outcome."""
        now = self.runtime.clock.now()
        # Worked out before sending: a row that cannot be advanced is never sent.
        following = self.next_due(due, now)
        if is_late(due.due_at, now):
            await self._advance(due, following, sent=False)
            return Outcome.SKIPPED_LATE
        key, markup, variant = self.message_for(due)
        try:
            await send(
                bot, self.runtime.catalog, audience_of(due.user), key, markup, variant
            )
        except Forbidden:
            return await self._deactivate(due)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return await self._deactivate(due)
            log.error("reminder %s refused by Telegram: %s", due.schedule_id, exc.message)
            await self._release(due, RETRY_BACKOFF)
            return Outcome.RETRY
        except RetryAfter as exc:
            retry = exc.retry_after
            await self._release(
                due, retry if isinstance(retry, timedelta) else timedelta(seconds=retry)
            )
            return Outcome.RETRY
        except TelegramError as exc:
            log.warning(
                "reminder %s not sent (%s); will retry", due.schedule_id, type(exc).__name__
            )
            await self._release(due, RETRY_BACKOFF)
            return Outcome.RETRY
        await self._advance(due, following, sent=True)
        return Outcome.SENT

    async def _advance(self, due: Due, following: datetime | None, *, sent: bool) -> None:
        """Record the outcome and move the row on: to its next slot, or done if one-shot."""
        now = self.runtime.clock.now()
        counter = Schedule.sent_count if sent else Schedule.skipped_count
        # A re-plan that came in meanwhile (a settings change, /pause) changed next_due_at:
        # it wins, and only the claim is released.
        unchanged = Schedule.next_due_at == due.due_at
        values: dict[str, Any] = {
            "claimed_until": None,
            "claimed_by": None,
            counter.key: counter + 1,
        }
        if following is None:
            values["state"] = case((unchanged, ScheduleState.DONE), else_=Schedule.state)
        else:
            values["next_due_at"] = case((unchanged, following), else_=Schedule.next_due_at)
            values["last_slot_local"] = case(
                (unchanged, self.runtime.planner.slot_of(due.schedule, due.user)),
                else_=Schedule.last_slot_local,
            )
        if sent:
            values["last_sent_at"] = now
        async with self.runtime.sessions.begin() as session:
            await session.execute(
                update(Schedule)
                .where(Schedule.id == due.schedule_id, Schedule.claimed_by == self.worker_id)
                .values(values)
                .execution_options(synchronize_session=False)
            )

    async def _release(self, due: Due, wait: timedelta) -> None:
        """Give the row back, not to be claimed again for ``wait``."""
        async with self.runtime.sessions.begin() as session:
            await session.execute(
                update(Schedule)
                .where(Schedule.id == due.schedule_id, Schedule.claimed_by == self.worker_id)
                .values(claimed_by=None, claimed_until=self.runtime.clock.now() + wait)
                .execution_options(synchronize_session=False)
            )

    async def _deactivate(self, due: Due) -> Outcome:
        """The user blocked the bot: handled like /stop."""
        async with self.runtime.sessions.begin() as session:
            await stop(session, due.user.telegram_user_id, self.runtime.clock.now(),
                       StopReason.BLOCKED)
        await self._release(due, timedelta(0))
        log.info("user deactivated after Telegram refused delivery (schedule %s)", due.schedule_id)
        return Outcome.DEACTIVATED
