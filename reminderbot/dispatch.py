"""The one place that sends reminders: claim the due rows, send them, advance each row.

Safe to run in several processes at once: a claim is an expiring lease written in one
UPDATE (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so each due row goes to one sender.
A row is advanced right after Telegram confirms the send, so a restart repeats nothing
that was confirmed sent and loses nothing that was not.

Exactly once, as far as Telegram allows (it has no idempotency key): a send that may have
reached Telegram (the answer was lost) counts as sent ("uncertain") and is never repeated;
only a send known not to have happened is tried again (``telegramhttp``). The row update
after a send is retried on a fresh connection until it lands or the lease is about to end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from time import monotonic
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import TelegramError

from reminderbot import keyboards, texts
from reminderbot.afteruse import (
    NO_PLAN,
    START_LOOKBACK,
    PlanTimes,
    asks_about_headache,
    near_a_nudge,
    nudge_number,
    plan_times,
)
from reminderbot.db.models import (
    ANNOUNCEMENT_KIND,
    Announcement,
    Schedule,
    ScheduleKind,
    ScheduleState,
    StopReason,
    User,
    UserStatus,
    UTCDateTime,
)
from reminderbot.dbretry import is_connection_lost, write_until
from reminderbot.errorlog import RepeatedErrors, is_network_error
from reminderbot.inflight import SendGate
from reminderbot.messaging import audience_of, send, send_html
from reminderbot.prompts import NewPrompt, record_prompts
from reminderbot.ratelimit import bulk_sends
from reminderbot.runtime import Runtime
from reminderbot.schedule import WakingWindow, is_late
from reminderbot.stats import record_tick
from reminderbot.subscriptions import pause, stop
from reminderbot.telegramhttp import CallFailure, Failure, failure_of
from reminderbot.texts import Key

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# How long a claim holds: a slice's wait in the rate limiter, a send with its timeouts and
# retries (under a minute), then up to a few minutes to record it while the database recovers.
LEASE = timedelta(minutes=5)
# The row update after a send gives up this long before the lease ends (then another worker
# may claim the row; the update never races it).
LEASE_MARGIN = timedelta(seconds=20)
# This many reminders refused for good in a row (for one user) pause their reminders.
REFUSALS_BEFORE_PAUSE = 3
# After a send known not to have happened (network, 5xx) the row waits this long, then twice
# as long after each further failure, give or take RETRY_JITTER (rows do not come back in step).
RETRY_BACKOFF = timedelta(seconds=30)
RETRY_JITTER = 0.2
# Tries of one reminder (each up to telegramhttp.ATTEMPTS calls) before it is counted as failed
# and its row moves to the next slot: waits of 30, 60, 120 and 240 s, about 7.5 minutes in all.
ROW_ATTEMPTS = 5
# Reminders go to the rate limiter this many at a time, each slice re-checked just before.
SLICE_SIZE = 30
# Slices in the rate limiter at once: one queued while one sends, so it never runs dry.
SLICES_AHEAD = 2
# A regular water reminder due less than this after a logged glass is skipped.
RECENT_GLASS = timedelta(hours=1)
# Within one due time, what a person answers goes first: check-ins before water nudges.
_KIND_ORDER = case(
    (Schedule.kind == ScheduleKind.CHECKIN, 0),
    (Schedule.kind == ScheduleKind.TOLERANCE, 1),
    else_=2,
)
# Reminders first, announcements after every due reminder (they are never late).
_BULK_LAST = case((Schedule.kind == ANNOUNCEMENT_KIND, 1), else_=0)
# Outcomes written in one transaction at most: the statements stay small.
MOVES_PER_WRITE = 200

_schedules = Schedule.metadata.tables[Schedule.__tablename__]
_rows = _schedules.c
# A re-plan that came in meanwhile (a settings change, /pause) changed next_due_at: it wins,
# and only the claim is released.
_unchanged = _rows.next_due_at == bindparam("b_due", type_=UTCDateTime())
# One row's outcome, as one statement for many rows (executemany): the parameters say what
# changes (a NULL leaves the column as it is).
_MOVE = (
    update(_schedules)
    .where(_rows.id == bindparam("b_id"), _rows.claimed_by == bindparam("b_worker"))
    .values(
        claimed_until=None,
        claimed_by=None,
        sent_count=_rows.sent_count + bindparam("b_sent", type_=Integer()),
        skipped_count=_rows.skipped_count + bindparam("b_skipped", type_=Integer()),
        state=case(
            (and_(_unchanged, bindparam("b_done", type_=Boolean())), ScheduleState.DONE.value),
            else_=_rows.state,
        ),
        next_due_at=case(
            (_unchanged,
             func.coalesce(bindparam("b_next", type_=UTCDateTime()), _rows.next_due_at)),
            else_=_rows.next_due_at,
        ),
        last_slot_local=case(
            (_unchanged,
             func.coalesce(bindparam("b_slot", type_=DateTime()), _rows.last_slot_local)),
            else_=_rows.last_slot_local,
        ),
        last_sent_at=func.coalesce(bindparam("b_sent_at", type_=UTCDateTime()),
                                   _rows.last_sent_at),
    )
)


class Outcome(StrEnum):
    """What happened to one claimed reminder."""

    SENT = "sent"
    # The answer was lost after the request was written: counted as sent, never repeated.
    UNCERTAIN = "uncertain"
    SKIPPED_LATE = "skipped_late"
    # A regular water reminder right after the user logged a glass: not sent, not a miss.
    SKIPPED_GLASS = "skipped_glass"
    # A regular water reminder within 45 minutes of an after-use plan's nudge: not a miss.
    SKIPPED_PLAN = "skipped_plan"
    RETRY = "retry"
    DEACTIVATED = "deactivated"
    # Refused by Telegram for good (logged with its reason; the row moves to its next slot),
    # or a bug or bad data (logged; the lease runs out and it is tried again).
    FAILED = "failed"


@dataclass(frozen=True)
class Due:
    """A claimed reminder: its schedule row and its user, as loaded when claimed."""

    schedule: Schedule
    user: User
    # The user's plan nudges and starts around the due time (afteruse), read with the claim.
    plan: PlanTimes = NO_PLAN

    @property
    def schedule_id(self) -> int:
        """The schedule row's id (the only identifier that goes into logs)."""
        return self.schedule.id

    @property
    def due_at(self) -> datetime:
        """When it was due (claimed rows always have a due time)."""
        assert self.schedule.next_due_at is not None
        return self.schedule.next_due_at


def regular_water(due: Due) -> bool:
    """Whether ``due`` is a regular (not a snoozed) water reminder."""
    return due.schedule.kind == ScheduleKind.HYDRATION and not due.schedule.once


def drank_recently(due: Due) -> bool:
    """Whether ``due`` is a regular water reminder due within an hour after a logged glass."""
    glass = due.user.last_glass_at
    return (
        due.schedule.kind == ScheduleKind.HYDRATION
        and not due.schedule.once
        and glass is not None
        and due.due_at - glass < RECENT_GLASS
    )


@dataclass(frozen=True)
class _Slice:
    """Reminders handed to the rate limiter together, and their outcomes to come."""

    dues: list[Due]
    outcomes: asyncio.Future[list[Outcome | BaseException]]


@dataclass(frozen=True)
class _Move:
    """A claimed row's outcome waiting to be written (see ``Dispatcher._advance``)."""

    due: Due
    following: datetime | None
    sent: bool
    refused: bool
    prompt: NewPrompt | None  # a confirmed send whose buttons count
    at: datetime
    landed: asyncio.Future[None]


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

    # Monotonic time of the latest look for due rows (every claim): what /healthz reads.
    last_tick: float | None = None
    # Told each claimed reminder's outcome as it is counted (the metrics); None: nobody.
    observe: Callable[[Due, Outcome], None] | None = None

    def __init__(
        self,
        runtime: Runtime,
        *,
        batch_size: int = 500,
        slice_size: int = SLICE_SIZE,
        worker_id: str | None = None,
        sends: SendGate | None = None,
        kinds: frozenset[str] | None = None,
    ):
        self.runtime = runtime
        self.batch_size = batch_size
        self.slice_size = slice_size
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Stop marks and sends on the wire, shared with /stop and the rate limiter.
        self.sends = sends
        self.errors = RepeatedErrors(log)
        # Only rows of these kinds are claimed (None: all); `announce` claims only its own.
        self.kinds = kinds
        self._bodies: dict[int, str] = {}  # announcement id -> body, read once
        # Failed tries per row and due time, in this process (see retry_wait); a restart or
        # another replica starts counting again, the 30-minute lateness limit still bounds it.
        self._tries: dict[int, tuple[datetime, int]] = {}
        # Set on shutdown: no more claims; rows claimed but not yet sending are given back.
        self.stopping = False
        self._moves: list[_Move] = []  # outcomes waiting for the next write
        self._unlanded: list[_Move] = []  # outcomes the tick has not yet seen written
        self._writer: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """Shut down: the running tick claims nothing more, gives back the rows it has not
        handed to the rate limiter (one UPDATE) and ends when the sends under way are recorded.
        """
        self.stopping = True

    async def tick(self, bot: Bot) -> TickReport:
        """Send every reminder due now, batch after batch; return what happened.

        A claimed batch goes to the rate limiter a slice at a time, as bulk sends (replies to
        people go first), at most ``SLICES_AHEAD`` slices at once. Just before a slice goes,
        its users are read again (one query): a user who stopped or paused meanwhile is
        skipped and their rows released.
        """
        report = TickReport()
        by_kind: Counter[tuple[str, str]] = Counter()  # for the statistics
        with bulk_sends():
            skipped = await self._send_batches(bot, report, by_kind)
        await record_tick(self.runtime.sessions, self.runtime.clock.now(), by_kind)
        if report.claimed or skipped:
            counts = {k.value: v for k, v in report.counts.items() if v}
            log.info("dispatch tick: %s; %d skipped (stopped or paused meanwhile)", counts, skipped)
        return report

    async def _send_batches(
        self, bot: Bot, report: TickReport, by_kind: Counter[tuple[str, str]]
    ) -> int:
        """Claim, send and record batch after batch until nothing is due; how many claimed
        rows were skipped because their user stopped or paused meanwhile.

        A slice's sends are done when Telegram answered: their records are written meanwhile
        (``_advance``), and a batch is wholly recorded before the next claim.
        """
        skipped = 0
        while not self.stopping:
            try:
                batch = await self.claim(self.runtime.clock.now())
                # A late row skipped now may have moved to a slot due right now: claim again
                # until nothing is due (rows that failed keep their lease or back off).
                if not batch:
                    break
                sending: deque[_Slice] = deque()
                for start in range(0, len(batch), self.slice_size):
                    if len(sending) >= SLICES_AHEAD:
                        await self._finish(sending.popleft(), report, by_kind)
                    if self.stopping:
                        # Shutting down: what is not sending yet goes back now, not at lease end.
                        await self._give_back(batch[start:])
                        log.info("shutting down: %d claimed reminders given back unsent",
                                 len(batch) - start)
                        break
                    part, stale = await self._patiently(
                        self._still_active, batch[start : start + self.slice_size])
                    skipped += stale
                    delivering = asyncio.gather(
                        *(self.deliver(bot, due) for due in part), return_exceptions=True
                    )
                    sending.append(_Slice(part, delivering))
                while sending:
                    await self._finish(sending.popleft(), report, by_kind)
            finally:
                await self._recorded()
        return skipped

    async def _recorded(self) -> None:
        """Wait until every outcome handed to the writer so far is written. One that could
        not be (after its retries) is logged: its row keeps the lease, then goes again."""
        moves, self._unlanded = self._unlanded, []
        landed = await asyncio.gather(*(asyncio.shield(move.landed) for move in moves),
                                      return_exceptions=True)
        for move, result in zip(moves, landed, strict=True):
            if isinstance(result, BaseException):
                self.errors.log(
                    logging.ERROR,
                    f"reminder not recorded: {type(result).__name__} "
                    f"(schedule {move.due.schedule_id})",
                    result,
                    key=f"reminder not recorded: {type(result).__name__}",
                    traceback=not is_connection_lost(result),
                )

    async def _patiently(
        self, read: Callable[[list[Due]], Awaitable[_T]], dues: list[Due]
    ) -> _T:
        """``read(dues)`` again on a lost connection (the database restarting) until their
        lease nearly ends: a tick that gave up would leave its claimed rows for the lease."""
        deadline = monotonic() + (LEASE - LEASE_MARGIN).total_seconds()
        wait = 0.1
        while True:
            try:
                return await read(dues)
            except Exception as exc:
                if not is_connection_lost(exc) or monotonic() + wait >= deadline:
                    raise
                log.warning("database read failed (%s); trying again", type(exc).__name__)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 2.0)

    async def _finish(
        self, sent: _Slice, report: TickReport, by_kind: Counter[tuple[str, str]]
    ) -> None:
        """Wait for a slice's sends and count their outcomes."""
        for due, outcome in zip(sent.dues, await sent.outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # One bad row must not stop the others; no user data in the log line.
                self.errors.log(
                    logging.WARNING if is_network_error(outcome) else logging.ERROR,
                    f"reminder failed: {type(outcome).__name__} (schedule {due.schedule_id})",
                    outcome,
                    key=f"reminder failed: {type(outcome).__name__}",
                    traceback=not is_network_error(outcome),
                )
                outcome = Outcome.FAILED
            report.counts[outcome] += 1
            by_kind[(due.schedule.kind, outcome.value)] += 1
            if self.observe is not None:
                self.observe(due, outcome)

    async def _still_active(self, part: list[Due]) -> tuple[list[Due], int]:
        """The slice's reminders whose user is still active, and how many were not.

        One query for the slice's users, plus this process's stop marks (a /stop committed
        after the query began). The others' rows are released for when their user is back.
        """
        seen = self.sends.generation if self.sends is not None else 0
        async with self.runtime.sessions() as session:
            active = set(
                await session.scalars(
                    select(User.id).where(
                        User.id.in_({due.user.id for due in part}),
                        User.status == UserStatus.ACTIVE,
                    )
                )
            )
        keep = [
            due for due in part
            if due.user.id in active
            and not (self.sends and self.sends.is_stopped(due.user.chat_id, checked_since=seen))
        ]
        if len(keep) < len(part):
            kept = {due.schedule_id for due in keep}
            await self._give_back([due for due in part if due.schedule_id not in kept])
        return keep, len(part) - len(keep)

    async def _give_back(self, dues: list[Due]) -> None:
        """Release claimed rows unsent (their user stopped or paused): one UPDATE."""
        try:
            async with self.runtime.sessions.begin() as session:
                await session.execute(
                    update(Schedule)
                    .where(
                        Schedule.id.in_([due.schedule_id for due in dues]),
                        Schedule.claimed_by == self.worker_id,
                    )
                    .values(claimed_by=None, claimed_until=self.runtime.clock.now())
                    .execution_options(synchronize_session=False)
                )
        except Exception as exc:  # the lease runs out instead; their users are not active
            self.errors.log(logging.WARNING, f"could not release rows: {type(exc).__name__}", exc)

    async def claim(self, now: datetime) -> list[Due]:
        """Lease up to ``batch_size`` due rows to this worker and return them.

        Timed pauses that have ended are lifted first, in the same transaction.
        """
        self.last_tick = monotonic()
        claimable = (
            Schedule.next_due_at <= now,
            Schedule.state == ScheduleState.ON,
            # Not a join: the databases would read every user rather than look up the due rows'.
            select(User.status).where(User.id == Schedule.user_id).scalar_subquery()
            == UserStatus.ACTIVE,
            or_(Schedule.claimed_until.is_(None), Schedule.claimed_until < now),
            *([Schedule.kind.in_(self.kinds)] if self.kinds is not None else []),
        )
        ended = (User.status == UserStatus.PAUSED, User.paused_until <= now)
        # Most ticks find nothing to do: one read says so, with no write transaction.
        async with self.runtime.sessions() as session:
            if not await session.scalar(
                select(or_(exists().where(*claimable), exists().where(*ended)))
            ):
                return []
        due_ids = (
            select(Schedule.id)
            .where(*claimable)
            .order_by(_BULK_LAST, Schedule.next_due_at, _KIND_ORDER, Schedule.id)
            .limit(self.batch_size)
            .with_for_update(of=Schedule, skip_locked=True)
        )
        async with self.runtime.sessions.begin() as session:
            await session.execute(
                update(User)
                .where(*ended)
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
                .order_by(_BULK_LAST, Schedule.next_due_at, _KIND_ORDER, Schedule.id)
            )
            dues = [
                Due(schedule, user)
                for schedule, user in rows.tuples()
                if schedule.next_due_at is not None
            ]
            return await self._with_plans(session, dues)

    @staticmethod
    async def _with_plans(session: AsyncSession, dues: list[Due]) -> list[Due]:
        """``dues`` with their users' after-use plans (one query for the batch)."""
        if not dues:
            return dues
        times = [due.due_at for due in dues]
        plans = await plan_times(session, {due.user.id for due in dues},
                                 min(times) - START_LOOKBACK, max(times) + START_LOOKBACK)
        return [Due(due.schedule, due.user, plans.get(due.user.id, NO_PLAN)) for due in dues]

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

    async def next_wake(self, now: datetime) -> datetime | None:
        """The first due time after ``now`` (one step along the due-time index). Rows waiting
        on a lease or a backoff are left to the regular ticks."""
        async with self.runtime.sessions() as session:
            due: datetime | None = await session.scalar(
                select(Schedule.next_due_at)
                .where(
                    Schedule.next_due_at > now,
                    Schedule.state == ScheduleState.ON,
                    *([Schedule.kind.in_(self.kinds)] if self.kinds is not None else []),
                )
                .order_by(Schedule.next_due_at)
                .limit(1)
            )
        return due

    def message_for(self, due: Due) -> tuple[Key, InlineKeyboardMarkup, int]:
        """The catalog key, buttons and wording variant of a reminder, in the user's language."""
        catalog, lang = self.runtime.catalog, due.user.language
        if due.schedule.kind == ScheduleKind.HYDRATION:
            markup = keyboards.hydration(catalog, lang)
            return texts.HYDRATION_REMINDER, markup, due.schedule.sent_count
        if due.schedule.kind == ScheduleKind.TOLERANCE:
            return texts.TOLERANCE_QUESTION, keyboards.tolerance(catalog, lang), 0
        if due.schedule.kind == ScheduleKind.PLAN:
            interval = timedelta(minutes=self.runtime.settings.plan_interval_minutes)
            # Its place in the plan turns the wording (a one-shot row's sent count is 0).
            number = nudge_number(due.due_at, due.plan, interval) + due.schedule.sent_count
            return texts.PLAN_NUDGE, keyboards.plan_nudge(catalog, lang), number
        zone, user = self.runtime.planner.zone(due.user), due.user
        window = WakingWindow(user.wake_start, user.wake_end)
        if asks_about_headache(due.due_at, due.plan.starts, zone, window):
            return texts.CHECKIN_AFTER_PLAN, keyboards.checkin(catalog, lang), 0
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
        announcement = due.schedule.announcement_id
        if is_late(due.due_at, now) and announcement is None:
            self._advance(due, following, sent=False)
            return Outcome.SKIPPED_LATE
        if drank_recently(due):
            self._advance(due, following, sent=False)
            return Outcome.SKIPPED_GLASS
        if regular_water(due) and near_a_nudge(due.due_at, due.plan):
            self._advance(due, following, sent=False)
            return Outcome.SKIPPED_PLAN
        key, markup, variant = self.message_for(due)
        paid = self.runtime.settings.telegram_paid_broadcast
        try:
            if announcement is not None:  # operator text, not a catalog key
                body = await self._body(announcement)
                message = await send_html(bot, audience_of(due.user), body, paid=paid)
            else:
                message = await send(
                    bot, self.runtime.catalog, audience_of(due.user), key, markup, variant, paid
                )
        except TelegramError as exc:
            return await self._not_delivered(due, following, failure_of(exc))
        self._advance(due, following, sent=True, message=message)
        return Outcome.SENT

    async def _body(self, announcement_id: int) -> str:
        """The text of an announcement (read once per process; it never changes)."""
        if announcement_id not in self._bodies:
            async with self.runtime.sessions() as session:
                body = await session.scalar(
                    select(Announcement.body).where(Announcement.id == announcement_id)
                )
            if body is None:
                raise LookupError(f"announcement {announcement_id} is gone")
            self._bodies[announcement_id] = body
        return self._bodies[announcement_id]

    async def _not_delivered(
        self, due: Due, following: datetime | None, failure: CallFailure
    ) -> Outcome:
        """What a failed send means: see ``telegramhttp.Failure``. Reasons are short codes."""
        if failure.kind == Failure.UNREACHABLE:
            return await self._deactivate(due)
        if failure.kind == Failure.MAYBE_SENT:
            log.warning("reminder %s may have been sent (%s): counted as sent, not repeated",
                        due.schedule_id, failure.reason)
            self._advance(due, following, sent=True)
            return Outcome.UNCERTAIN
        if failure.kind == Failure.REFUSED:
            log.warning("reminder %s refused by Telegram (%s): not retried, moved on",
                        due.schedule_id, failure.reason)
            self._advance(due, following, sent=False, refused=True)
            return Outcome.FAILED
        if failure.retry_after is not None:  # Telegram's own wait (429): not a failed try
            wait = failure.retry_after * random.uniform(1, 1 + RETRY_JITTER)
            log.warning("reminder %s not sent (%s); trying again in %d s", due.schedule_id,
                        failure.reason, wait.total_seconds())
            await self._release(due, wait)
            return Outcome.RETRY
        tries = self._count_try(due)
        if tries >= ROW_ATTEMPTS:
            log.warning("reminder %s not sent after %d tries (%s): counted as failed, moved on",
                        due.schedule_id, tries, failure.reason)
            self._tries.pop(due.schedule_id, None)
            self._advance(due, following, sent=False)
            return Outcome.FAILED
        wait = retry_wait(tries)
        log.warning("reminder %s not sent (%s); trying again in %d s (try %d of %d)",
                    due.schedule_id, failure.reason, wait.total_seconds(), tries + 1,
                    ROW_ATTEMPTS)
        await self._release(due, wait)
        return Outcome.RETRY

    def _count_try(self, due: Due) -> int:
        """One more failed try of ``due``'s slot; how many so far (forgets old slots)."""
        if len(self._tries) > 1024:
            gone = self.runtime.clock.now() - timedelta(hours=1)  # every try is over
            self._tries = {k: v for k, v in self._tries.items() if v[0] > gone}
        slot, tries = self._tries.get(due.schedule_id, (due.due_at, 0))
        tries = tries + 1 if slot == due.due_at else 1
        self._tries[due.schedule_id] = (due.due_at, tries)
        return tries

    async def _write(
        self, due: Due, work: Callable[[AsyncSession], Awaitable[None]]
    ) -> None:
        """Run a write about ``due`` in its own transaction, on a fresh connection after a
        lost one, until it lands or the lease is about to end."""
        now = self.runtime.clock.now()
        lease_end = due.schedule.claimed_until or now + LEASE
        left = (lease_end - LEASE_MARGIN - now).total_seconds()
        await write_until(self.runtime.sessions, work, deadline=monotonic() + left,
                          what=f"reminder {due.schedule_id}")

    def _advance(
        self,
        due: Due,
        following: datetime | None,
        *,
        sent: bool,
        message: Message | None = None,
        refused: bool = False,
    ) -> None:
        """Record the outcome and move the row on: to its next slot, or done if one-shot.

        ``sent`` with the ``message`` Telegram confirmed (its buttons then count, see
        ``prompts``), or without one (uncertain); ``refused``: Telegram refused it for good.
        Returns at once: outcomes that come in while a write is under way go together in the
        next one (one UPDATE for all their rows), so a burst costs a few transactions a
        slice, not one each, and sends never wait for records. The tick waits for them all
        (``_recorded``) before it claims again.
        """
        now = self.runtime.clock.now()
        prompt = None
        if message is not None and due.schedule.announcement_id is None:
            prompt = NewPrompt(due.user.id, message.chat_id, message.message_id,
                               due.schedule.kind, now)
        move = _Move(due, following, sent, refused, prompt, now,
                     asyncio.get_running_loop().create_future())
        self._moves.append(move)
        self._unlanded.append(move)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_moves())

    async def _write_moves(self) -> None:
        """Write the waiting outcomes, all that came in by then each time, until none wait."""
        try:
            while self._moves:
                moves = self._moves[:MOVES_PER_WRITE]
                del self._moves[:MOVES_PER_WRITE]
                await self._land(moves)
        except BaseException:
            for move in self._moves:
                move.landed.cancel()
            self._moves.clear()
            raise

    async def _land(self, moves: list[_Move]) -> None:
        """Write ``moves`` together; after a bug or bad data, each on its own (one bad row
        must not fail the others, whose sends would go again after the lease)."""
        try:
            await self._write_together(moves)
        except Exception as exc:
            if len(moves) > 1 and not is_connection_lost(exc):
                for move in moves:
                    await self._land([move])
                return
            for move in moves:
                if not move.landed.done():
                    move.landed.set_exception(exc)
            return
        except BaseException:
            for move in moves:
                move.landed.cancel()
            raise
        for move in moves:
            if not move.landed.done():
                move.landed.set_result(None)

    def _move_params(self, move: _Move) -> dict[str, Any]:
        """The parameters of ``_MOVE`` for one row."""
        due, once = move.due, move.following is None
        return {
            "b_id": due.schedule_id,
            "b_worker": self.worker_id,
            "b_due": due.due_at,
            "b_sent": int(move.sent and not move.refused),
            "b_skipped": int(not move.sent and not move.refused),
            "b_done": once,
            "b_next": move.following,
            "b_slot": None if once else self.runtime.planner.slot_of(due.schedule, due.user),
            "b_sent_at": move.at if move.sent else None,
        }

    async def _write_together(self, moves: list[_Move]) -> None:
        """One transaction for ``moves``, on a fresh connection after a lost one, until it
        lands or the first of their leases is about to end."""
        now = self.runtime.clock.now()
        lease_end = min(move.due.schedule.claimed_until or now + LEASE for move in moves)
        left = (lease_end - LEASE_MARGIN - now).total_seconds()
        plain = [self._move_params(move) for move in moves if not move.refused]
        prompts = [move.prompt for move in moves if move.prompt is not None]
        # A confirmed send ends a run of refusals.
        reset = {move.due.user.id for move in moves
                 if move.prompt is not None and move.due.user.failures_in_a_row}

        async def write(session: AsyncSession) -> None:
            if plain:
                await session.execute(_MOVE, plain)
            for move in moves:
                if not move.refused:
                    continue
                moved = await session.execute(_MOVE, self._move_params(move))
                # Counted only with the row's own update: a repeated write counts nothing twice.
                if getattr(moved, "rowcount", 0) == 1:
                    await self._count_refusal(session, move.due, move.at)
            await record_prompts(session, prompts)
            if reset:
                await session.execute(
                    update(User).where(User.id.in_(reset)).values(failures_in_a_row=0)
                    .execution_options(synchronize_session=False)
                )

        first = moves[0].due.schedule_id
        what = f"reminder {first}" if len(moves) == 1 else f"{len(moves)} reminders ({first}, ...)"
        await write_until(self.runtime.sessions, write, deadline=monotonic() + left, what=what)

    async def _count_refusal(self, session: AsyncSession, due: Due, now: datetime) -> None:
        """One more refused reminder in a row for the user; the third pauses them (logged once).

        Their reminders would only be refused again (a message Telegram cannot take in their
        language, say); /resume turns them back on.
        """
        failures = await session.scalar(
            update(User)
            .where(User.id == due.user.id)
            .values(failures_in_a_row=User.failures_in_a_row + 1)
            .returning(User.failures_in_a_row)
        )
        if failures is None or failures < REFUSALS_BEFORE_PAUSE:
            return
        user = await session.get(User, due.user.id)
        if user is None or user.status != UserStatus.ACTIVE:
            return
        await pause(session, user, None, self.runtime.planner, now)
        user.failures_in_a_row = 0
        log.warning("reminders paused: %d refused in a row by Telegram (schedule %s)",
                    failures, due.schedule_id)

    async def _release(self, due: Due, wait: timedelta) -> None:
        """Give the row back, not to be claimed again for ``wait``."""

        async def write(session: AsyncSession) -> None:
            await session.execute(
                update(Schedule)
                .where(Schedule.id == due.schedule_id, Schedule.claimed_by == self.worker_id)
                .values(claimed_by=None, claimed_until=self.runtime.clock.now() + wait)
                .execution_options(synchronize_session=False)
            )

        await self._write(due, write)

    async def _deactivate(self, due: Due) -> Outcome:
        """The user blocked the bot (or the chat is gone): handled like /stop."""

        async def write(session: AsyncSession) -> None:
            await stop(session, due.user.telegram_user_id, self.runtime.clock.now(),
                       StopReason.BLOCKED)

        await self._write(due, write)
        await self._release(due, timedelta(0))
        log.info("user deactivated after Telegram refused delivery (schedule %s)", due.schedule_id)
        return Outcome.DEACTIVATED


def retry_wait(tries: int) -> timedelta:
    """How long a row waits after its ``tries``-th failed try: ``RETRY_BACKOFF`` doubled each
    time, give or take ``RETRY_JITTER``."""
    return RETRY_BACKOFF * 2.0 ** (tries - 1) * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
