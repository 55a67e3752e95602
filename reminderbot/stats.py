"""Usage statistics without personal data: daily delivery counts, and the numbers behind a report.

The dispatcher adds each tick's outcomes to ``delivery_counts`` (a UTC day, a kind, an outcome,
a count: no user ids). ``collect`` reads those counts, users by status (and by partner) and
check-in answers; ``statsreport`` masks and lays them out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reminderbot.checks import Status, check_database
from reminderbot.db.models import CheckinAnswer, DeliveryCount, User
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.statsreport import (
    ANSWER_WINDOW,
    REPORTED_AS,
    SKIP_REASONS,
    WINDOWS,
    Stats,
    Tally,
)

log = logging.getLogger(__name__)


class StatsUnavailable(Exception):
    """The database cannot be counted (missing, unreachable, not migrated); one line says why."""


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of an aware ``moment``."""
    return moment.astimezone(UTC).date()


async def record_outcomes(
    session: AsyncSession, day: date, counts: Mapping[tuple[str, str], int]
) -> None:
    """Add ``counts`` by (schedule kind, outcome) to ``day``'s totals, in the caller's transaction.

    One upsert on SQLite and PostgreSQL: concurrent dispatchers add up rather than overwrite.
    """
    # Sorted, so two dispatchers lock the same rows in the same order (no deadlock).
    rows = [
        {"day": day, "kind": kind, "outcome": outcome, "count": count}
        for (kind, outcome), count in sorted(counts.items())
        if count > 0
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(DeliveryCount).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[DeliveryCount.day, DeliveryCount.kind, DeliveryCount.outcome],
        set_={"count": DeliveryCount.count + statement.excluded["count"]},
    )
    await session.execute(statement)


async def record_tick(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    counts: Mapping[tuple[str, str], int],
) -> None:
    """Store one dispatcher tick's counts in their own transaction.

    A failure is logged, not raised: a count that cannot be stored must not stop reminders.
    """
    if not any(counts.values()):
        return
    try:
        async with sessions.begin() as session:
            await record_outcomes(session, utc_day(now), counts)
    except SQLAlchemyError as exc:
        log.error("could not store delivery counts: %s", type(exc).__name__)


async def _reminders(session: AsyncSession, today: date) -> dict[int, dict[tuple[str, str], int]]:
    first = today - timedelta(days=max(WINDOWS) - 1)
    rows = await session.execute(
        select(DeliveryCount.day, DeliveryCount.kind, DeliveryCount.outcome,
               DeliveryCount.count)
        .where(DeliveryCount.day >= first, DeliveryCount.day <= today)
    )
    totals: dict[int, dict[tuple[str, str], int]] = {days: defaultdict(int) for days in WINDOWS}
    for day, kind, outcome, count in rows.tuples():
        column = REPORTED_AS.get(outcome)
        if column is None:
            continue  # an outcome this version does not report
        for days in WINDOWS:
            if (today - day).days < days:
                totals[days][(kind, column)] += count
                if outcome in SKIP_REASONS:  # and by reason
                    totals[days][(kind, outcome)] += count
    return {days: dict(counts) for days, counts in totals.items()}


async def _answers(session: AsyncSession, today: date) -> dict[str, Tally]:
    since = datetime.combine(today - timedelta(days=ANSWER_WINDOW - 1), time(0), UTC)
    rows = await session.execute(
        select(CheckinAnswer.answer, func.count(), func.count(distinct(CheckinAnswer.user_id)))
        .where(CheckinAnswer.answered_at >= since)
        .group_by(CheckinAnswer.answer)
    )
    return {answer: Tally(count, people) for answer, count, people in rows.tuples()}


async def _users(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(User.status, func.count()).group_by(User.status))
    return dict(rows.tuples().all())


async def _sources(session: AsyncSession) -> dict[str | None, dict[str, int]]:
    rows = await session.execute(
        select(User.source, User.status, func.count()).group_by(User.source, User.status)
    )
    found: dict[str | None, dict[str, int]] = defaultdict(dict)
    for source, status, count in rows.tuples():
        found[source][status] = count
    return dict(found)


async def collect(session: AsyncSession, now: datetime, *, by_source: bool = False) -> Stats:
    """Every number of a report as of ``now`` (days are UTC days, today included)."""
    today = utc_day(now)
    return Stats(
        day=today,
        users=await _users(session),
        reminders=await _reminders(session, today),
        answers=await _answers(session, today),
        sources=await _sources(session) if by_source else None,
    )


async def read_stats(url: str, now: datetime, *, by_source: bool = False) -> Stats:
    """``collect`` from the database at ``url``, which must exist and be fully migrated.

    Never creates or changes anything; ``StatsUnavailable`` says what is wrong in one line.
    """
    problems = [line for line in await check_database(url) if line.status is not Status.OK]
    if problems:
        raise StatsUnavailable(problems[0].text)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await collect(session, now, by_source=by_source)
    finally:
        await engine.dispose()
