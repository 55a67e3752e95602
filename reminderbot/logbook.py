"""What users log: glasses of water per local day and check-in answers (codes only)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.chart import HistoryDay
from reminderbot.db.models import CheckinAnswer, HydrationDay, User
from reminderbot.preferences import Planner
from reminderbot.texts import CHECKIN_ANSWERS, RED_FLAGS, TOLERANCE_ANSWERS

# Answers that report a symptom (not "fine"): the ones whose repetition is worth a word.
SYMPTOMS = tuple(code for code in CHECKIN_ANSWERS if code != "fine")
TOLERANCE_CODE = "tolerance_{}"
RED_FLAG_CODE = "flag_{}"  # e.g. flag_severe: at most 16 characters, like every answer code
# A suggestion to see a provider about a repeated symptom comes at most this often.
SUGGESTION_INTERVAL = timedelta(days=7)
HISTORY_DAYS = 14


@dataclass(frozen=True)
class RepeatedSymptom:
    """The same symptom reported in ``times`` of the last ``checkins`` check-ins."""

    symptom: str
    times: int
    checkins: int


async def log_glass(session: AsyncSession, user: User, now: datetime, planner: Planner) -> int:
    """Add one glass to the user's local today and note when; return today's count."""
    day = now.astimezone(planner.zone(user)).date()
    row = await session.scalar(
        select(HydrationDay)
        .where(HydrationDay.user_id == user.id, HydrationDay.day == day)
        .with_for_update()
    )
    if row is None:
        row = HydrationDay(user_id=user.id, day=day, glasses=0)
        session.add(row)
    row.glasses += 1
    user.last_glass_at = now
    await session.flush()
    return row.glasses


async def record_checkin(
    session: AsyncSession,
    user: User,
    answer: str,
    now: datetime,
    *,
    repeat_count: int,
    repeat_window: int,
) -> RepeatedSymptom | None:
    """Store a check-in answer code; say whether a symptom keeps coming back.

    A repeated symptom is reported at most once a week per user.
    """
    if answer not in CHECKIN_ANSWERS:
        raise ValueError("unknown check-in answer")
    session.add(CheckinAnswer(user_id=user.id, answered_at=now, answer=answer))
    await session.flush()
    if answer not in SYMPTOMS:
        return None
    last = (
        await session.scalars(
            select(CheckinAnswer.answer)
            .where(
                CheckinAnswer.user_id == user.id,
                CheckinAnswer.answer.in_(CHECKIN_ANSWERS),
            )
            .order_by(CheckinAnswer.answered_at.desc(), CheckinAnswer.id.desc())
            .limit(repeat_window)
        )
    ).all()
    times = last.count(answer)
    if times < repeat_count:
        return None
    if (
        user.provider_suggested_at is not None
        and now - user.provider_suggested_at < SUGGESTION_INTERVAL
    ):
        return None
    user.provider_suggested_at = now
    return RepeatedSymptom(answer, times, len(last))


async def record_tolerance(session: AsyncSession, user: User, answer: str, now: datetime) -> None:
    """Store the answer to the weekly tolerance question, as a code."""
    if answer not in TOLERANCE_ANSWERS:
        raise ValueError("unknown tolerance answer")
    session.add(
        CheckinAnswer(user_id=user.id, answered_at=now, answer=TOLERANCE_CODE.format(answer))
    )


async def record_red_flag(session: AsyncSession, user: User, flag: str, now: datetime) -> None:
    """Store a red flag picked after "Something else", as a code (never any text)."""
    if flag not in RED_FLAGS or flag == "other":
        raise ValueError("unknown red flag")
    session.add(CheckinAnswer(user_id=user.id, answered_at=now, answer=RED_FLAG_CODE.format(flag)))


async def history(
    session: AsyncSession, user: User, now: datetime, planner: Planner, days: int = HISTORY_DAYS
) -> list[HistoryDay]:
    """The user's last ``days`` local days, oldest first: glasses and check-in answers."""
    zone = planner.zone(user)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    glasses: dict[date, int] = {
        row.day: row.glasses
        for row in await session.scalars(
            select(HydrationDay).where(
                HydrationDay.user_id == user.id, HydrationDay.day >= first
            )
        )
    }
    answers: dict[date, list[str]] = defaultdict(list)
    # A day's answers are found by the user's local day; fetch a day more on each side.
    since = datetime.combine(first, datetime.min.time(), zone) - timedelta(days=1)
    for answered_at, code in await session.execute(
        select(CheckinAnswer.answered_at, CheckinAnswer.answer)
        .where(
            CheckinAnswer.user_id == user.id,
            CheckinAnswer.answered_at >= since,
            CheckinAnswer.answer.in_(CHECKIN_ANSWERS),
        )
        .order_by(CheckinAnswer.answered_at)
    ):
        day = answered_at.astimezone(zone).date()
        if first <= day <= today:
            answers[day].append(code)
    return [
        HistoryDay(
            day=first + timedelta(days=i),
            glasses=glasses.get(first + timedelta(days=i), 0),
            symptoms=tuple(answers.get(first + timedelta(days=i), ())),
        )
        for i in range(days)
    ]
