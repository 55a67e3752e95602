"""Statistics: the "<5" rule, delivery counts without user ids, and `reminderbot stats`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from reminderbot.db.migrate import upgrade
from reminderbot.db.models import CheckinAnswer, DeliveryCount, User, UserStatus
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.dispatch import Outcome
from reminderbot.logbook import TOLERANCE_CODE
from reminderbot.stats import record_outcomes
from reminderbot.statsreport import (
    ANSWER_CODES,
    REPORTED_AS,
    SMALL,
    Stats,
    Tally,
    mask,
    report,
    table,
)
from reminderbot.texts import CHECKIN_ANSWERS, TOLERANCE_ANSWERS
from tests.test_operator import reminderbot

# --- the rule ------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**12))
def test_a_count_under_5_is_hidden_zero_included(count: int) -> None:
    assert mask(count) == (SMALL if count < 5 else count)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_a_count_from_fewer_than_5_people_is_hidden(count: int, people: int) -> None:
    assert mask(count, people) == (SMALL if count < 5 or people < 5 else count)


def test_every_dispatch_outcome_has_a_column() -> None:
    assert set(REPORTED_AS) == {outcome.value for outcome in Outcome}
    assert set(REPORTED_AS.values()) == {"sent", "skipped", "failed"}


def test_answer_codes_are_the_ones_the_logbook_stores() -> None:
    assert ANSWER_CODES == (*CHECKIN_ANSWERS,
                            *(TOLERANCE_CODE.format(code) for code in TOLERANCE_ANSWERS))


@given(st.dictionaries(st.sampled_from([s.value for s in UserStatus]),
                       st.integers(min_value=0, max_value=50)),
       st.dictionaries(st.text(min_size=1, max_size=16),
                       st.tuples(st.integers(0, 50), st.integers(0, 50))))
def test_no_number_under_5_leaves_the_report(users: dict[str, int],
                                             answers: dict[str, tuple[int, int]]) -> None:
    stats = Stats(day=date(2026, 11, 25), users=users, reminders={},
                  answers={code: Tally(*pair) for code, pair in answers.items()},
                  sources={"a": users, None: users})

    def numbers(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [n for item in value.values() for n in numbers(item)]
        if isinstance(value, list):
            return [n for item in value for n in numbers(item)]
        return [value] if not isinstance(value, str) or value == SMALL else []

    assert all(n == SMALL or (isinstance(n, int) and n >= 5) for n in numbers(report(stats)))


# --- delivery counts -----------------------------------------------------------------------

TODAY = date(2026, 11, 25)


async def _migrated(url: str) -> Any:
    engine = make_engine(url)
    await upgrade(engine)
    return engine


async def test_outcomes_add_up_per_day_kind_and_outcome(database_url: str) -> None:
    engine = await _migrated(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            await record_outcomes(session, TODAY, {("hydration", "sent"): 3,
                                                   ("checkin", "retry"): 1,
                                                   ("tolerance", "sent"): 0})
        # Two dispatchers adding to the same rows at once: neither overwrites the other.
        async def add(counts: dict[tuple[str, str], int]) -> None:
            async with sessions.begin() as session:
                await record_outcomes(session, TODAY, counts)

        await asyncio.gather(*(add({("hydration", "sent"): 2, ("checkin", "retry"): 1})
                               for _ in range(4)))
        async with sessions.begin() as session:
            await record_outcomes(session, TODAY + timedelta(days=1), {("hydration", "sent"): 1})
            await record_outcomes(session, TODAY, {})
        async with sessions() as session:
            rows = (await session.execute(
                select(DeliveryCount.day, DeliveryCount.kind, DeliveryCount.outcome,
                       DeliveryCount.count)
                .order_by(DeliveryCount.day, DeliveryCount.kind)
            )).tuples().all()
    finally:
        await engine.dispose()
    assert rows == [
        (TODAY, "checkin", "retry", 5),
        (TODAY, "hydration", "sent", 11),
        (TODAY + timedelta(days=1), "hydration", "sent", 1),
    ]


def test_delivery_counts_hold_no_user_id() -> None:
    columns = set(DeliveryCount.__table__.columns.keys())
    assert columns == {"id", "day", "kind", "outcome", "count"}


# --- `reminderbot stats` -------------------------------------------------------------------

# (partner code, status, how many users)
USERS = [
    ("clinic-a", UserStatus.ACTIVE, 5), ("clinic-a", UserStatus.STOPPED, 1),
    ("clinic-b", UserStatus.PAUSED, 2), ("clinic-c", UserStatus.PAUSED, 3),
    (None, UserStatus.ACTIVE, 4), (None, UserStatus.STOPPED, 1),
]
# (days back from today, kind, outcome, count)
DELIVERIES = [
    (0, "hydration", "sent", 5), (3, "hydration", "sent", 10), (29, "hydration", "sent", 100),
    (30, "hydration", "sent", 1000),
    (0, "hydration", "skipped_late", 2), (6, "hydration", "skipped_late", 2),
    (20, "hydration", "skipped_late", 1), (0, "hydration", "skipped_glass", 5),
    (2, "hydration", "skipped_plan", 5), (0, "plan", "sent", 6),
    (0, "checkin", "retry", 2), (0, "checkin", "deactivated", 2), (0, "checkin", "failed", 1),
    (1, "checkin", "sent", 6), (7, "checkin", "sent", 4),
    (-1, "tolerance", "sent", 50),  # tomorrow: not counted
    (0, "tolerance", "unknown", 99),  # an outcome this version does not report
]


async def _seed(url: str) -> None:
    """Users, check-in answers and delivery counts, dated relative to today (UTC)."""
    now = datetime.now(UTC)
    today = now.date()
    first_day = datetime.combine(today - timedelta(days=29), time(0), UTC)
    engine = await _migrated(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            users = []
            for source, status, count in USERS:
                for _ in range(count):
                    users.append(User(telegram_user_id=1000 + len(users), chat_id=1, language="en",
                                      status=status, created_at=now, source=source))
            session.add_all(users)
            await session.flush()

            def answers(code: str, people: int, each: int, at: datetime) -> list[CheckinAnswer]:
                return [CheckinAnswer(user_id=users[i].id, answered_at=at, answer=code)
                        for i in range(people) for _ in range(each)]

            session.add_all([
                *answers("fine", 5, 1, now), *answers("fine", 2, 1, now - timedelta(days=2)),
                *answers("headache", 2, 3, now),  # 6 answers, 2 people
                *answers("nausea", 4, 1, now),
                *answers("anxiety", 5, 1, first_day),  # the window's first moment
                *answers("anxiety", 5, 2, first_day - timedelta(seconds=1)),
                *answers("tolerance_more", 5, 1, now),
                *answers("severe", 5, 1, now), *answers("weird", 1, 1, now),
            ])
            for back, kind, outcome, count in DELIVERIES:
                await record_outcomes(session, today - timedelta(days=back),
                                      {(kind, outcome): count})
    finally:
        await engine.dispose()


def _window(sent: Any, skipped: Any, failed: Any, late: Any = SMALL,
            recent_glass: Any = SMALL, near_plan: Any = SMALL) -> dict[str, Any]:
    return {"sent": sent, "skipped": skipped, "skipped_late": late,
            "skipped_glass": recent_glass, "skipped_plan": near_plan, "failed": failed}


NOTHING = _window(SMALL, SMALL, SMALL)


def expected_json(today: date) -> dict[str, Any]:
    return {
        "day": today.isoformat(),
        "users": {"active": 9, "paused": 5, "stopped": SMALL},
        "reminders": {
            "1d": {"hydration": _window(5, 7, SMALL, SMALL, 5),
                   "checkin": _window(SMALL, SMALL, 5), "tolerance": NOTHING,
                   "plan": _window(6, SMALL, SMALL)},
            "7d": {"hydration": _window(15, 14, SMALL, SMALL, 5, 5),
                   "checkin": _window(6, SMALL, 5), "tolerance": NOTHING,
                   "plan": _window(6, SMALL, SMALL)},
            "30d": {"hydration": _window(115, 15, SMALL, 5, 5, 5),
                    "checkin": _window(10, SMALL, 5), "tolerance": NOTHING,
                    "plan": _window(6, SMALL, SMALL)},
        },
        "checkin_answers": {"30d": {
            "fine": 7, "headache": SMALL, "nausea": SMALL, "sweating": SMALL, "anxiety": 5,
            "other": SMALL, "tolerance_more": 5, "tolerance_same": SMALL, "(unlisted)": 6,
        }},
    }


TABLE = """\
Users              people
  active                9
  paused                5
  stopped              <5

Reminders          1d  7d  30d
  hydration
    sent            5  15  115
    skipped         7  14   15
    skipped_late   <5  <5    5
    skipped_glass   5   5    5
    skipped_plan   <5   5    5
    failed         <5  <5   <5
  checkin
    sent           <5   6   10
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed          5   5    5
  tolerance
    sent           <5  <5   <5
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed         <5  <5   <5
  plan
    sent            6   6    6
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed         <5  <5   <5

Check-in answers   30d
  fine               7
  headache          <5
  nausea            <5
  sweating          <5
  anxiety            5
  other             <5
  tolerance_more     5
  tolerance_same    <5
  (unlisted)         6
"""

SOURCES_TABLE = """\
Sources            active  paused  stopped
  clinic-a              5      <5       <5
  (other)              <5       5       <5
  (none)               <5      <5       <5
"""


def test_stats_prints_the_table(tmp_path: Path, database_url: str) -> None:
    asyncio.run(_seed(database_url))
    result = reminderbot("stats", cwd=tmp_path, DATABASE_URL=database_url)
    assert (result.returncode, result.stdout, result.stderr) == (0, TABLE, "")


def test_stats_json(tmp_path: Path, database_url: str) -> None:
    asyncio.run(_seed(database_url))
    result = reminderbot("stats", "--json", cwd=tmp_path, DATABASE_URL=database_url)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == expected_json(datetime.now(UTC).date())


def test_stats_by_source(tmp_path: Path, database_url: str) -> None:
    asyncio.run(_seed(database_url))
    result = reminderbot("stats", "--by-source", cwd=tmp_path, DATABASE_URL=database_url)
    assert (result.returncode, result.stderr) == (0, "")
    # Same columns as the other sections once the source names widen nothing.
    assert result.stdout == TABLE + "\n" + SOURCES_TABLE
    as_json = reminderbot("stats", "--by-source", "--json", cwd=tmp_path,
                          DATABASE_URL=database_url)
    assert json.loads(as_json.stdout) == {
        **expected_json(datetime.now(UTC).date()),
        "sources": [
            {"source": "clinic-a", "active": 5, "paused": SMALL, "stopped": SMALL},
            # clinic-b (2) and clinic-c (3) have too few users to be named: pooled.
            {"source": "(other)", "active": SMALL, "paused": 5, "stopped": SMALL},
            {"source": "(none)", "active": SMALL, "paused": SMALL, "stopped": SMALL},
        ],
    }


def test_stats_of_an_empty_database_hides_every_cell(tmp_path: Path) -> None:
    assert reminderbot("migrate", cwd=tmp_path).returncode == 0
    result = reminderbot("stats", "--json", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert document["users"] == {"active": SMALL, "paused": SMALL, "stopped": SMALL}
    assert document["reminders"]["30d"]["hydration"] == NOTHING
    assert set(document["checkin_answers"]["30d"].values()) == {SMALL}
    assert result.returncode == 0


def test_stats_without_a_database_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = reminderbot("stats", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", f"reminderbot: cannot count: the SQLite file {tmp_path / 'reminderbot.db'} does "
        "not exist yet; `reminderbot migrate` (or `run`) creates it\n",
    )
    assert not (tmp_path / "reminderbot.db").exists()


def test_stats_on_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    (tmp_path / "old.db").touch()
    result = reminderbot("stats", cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/old.db")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("reminderbot: cannot count: database is ")
    assert result.stderr.endswith(" migrations behind; `reminderbot migrate` (or `run`) "
                                  "applies them\n")


def test_stats_on_an_unreachable_database_names_no_password(tmp_path: Path) -> None:
    result = reminderbot("stats", cwd=tmp_path,
                         DATABASE_URL="postgresql+asyncpg://u:secret@127.0.0.1:1/x")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", "reminderbot: cannot count: cannot connect to the PostgreSQL at 127.0.0.1:1/x: "
        "Connect call failed ('127.0.0.1', 1)\n",
    )


@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        (["--bogus"], {}, "reminderbot: unrecognized arguments: --bogus "
                          "(see `reminderbot --help`)"),
        ([], {"ADMIN_USER_IDS": "12,abc"}, "reminderbot: ADMIN_USER_IDS must be Telegram user "
                                           "ids (numbers) separated by commas, e.g. "
                                           "12345678,87654321"),
    ],
)
def test_stats_bad_usage_or_configuration_is_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], error: str
) -> None:
    result = reminderbot("stats", *args, cwd=tmp_path, **env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", error + "\n")


def test_table_is_aligned_for_a_long_partner_code() -> None:
    stats = Stats(day=TODAY, users={}, reminders={}, answers={},
                  sources={"x" * 32: {"active": 5}})
    lines = table(report(stats)).splitlines()
    assert lines[-3:] == [
        "  " + "x" * 32 + "  " + "     5      <5       <5",
        "  (other)" + " " * 27 + "    <5      <5       <5",
        "  (none)" + " " * 28 + "    <5      <5       <5",
    ]
    assert len({len(line) for line in lines if line.startswith("    ")}) == 1
