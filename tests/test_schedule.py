"""The schedule math: when reminders are due, in several zones, across DST, at window edges."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminderbot.schedule import (
    Daily,
    Hydration,
    WakingWindow,
    hydration_slots,
    is_late,
    next_due,
    spread_offset,
)

WINDOW = WakingWindow(time(9, 0), time(21, 0))
NO_OFFSET = timedelta(0)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def occurrences(rule: Hydration | Daily, zone: str, start: datetime, n: int,
                offset: timedelta = NO_OFFSET, window: WakingWindow = WINDOW) -> list[datetime]:
    """The next ``n`` due times as local wall-clock datetimes."""
    found, after = [], start
    for _ in range(n):
        after = next_due(rule, ZoneInfo(zone), window, offset, after)
        assert after.tzinfo is UTC
        found.append(after.astimezone(ZoneInfo(zone)))
    return found


def hm(values: list[datetime]) -> list[str]:
    return [v.strftime("%m-%d %H:%M") for v in values]


def test_default_hydration_slots_are_09_12_15_18_21() -> None:
    assert hydration_slots(WINDOW, 3) == [time(h) for h in (9, 12, 15, 18, 21)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                                  "Australia/Sydney", "Pacific/Chatham"])
def test_hydration_comes_at_local_slots_in_every_zone(zone: str) -> None:
    start = local(zone, 2026, 6, 10, 7, 0)
    got = occurrences(Hydration(3), zone, start, 6)
    assert hm(got) == ["06-10 09:00", "06-10 12:00", "06-10 15:00", "06-10 18:00",
                       "06-10 21:00", "06-11 09:00"]


def test_half_hour_zone_keeps_local_time() -> None:
    # Kolkata is UTC+05:30: 09:00 local is 03:30 UTC.
    due = next_due(Hydration(3), ZoneInfo("Asia/Kolkata"), WINDOW, NO_OFFSET,
                   datetime(2026, 1, 5, 0, 0, tzinfo=UTC))
    assert due == datetime(2026, 1, 5, 3, 30, tzinfo=UTC)


def test_window_edges_are_inclusive_and_nothing_outside() -> None:
    zone = "Europe/Berlin"
    # At exactly 21:00 the 21:00 slot is not "after" any more: next is 09:00 tomorrow.
    assert hm(occurrences(Hydration(3), zone, local(zone, 2026, 2, 2, 21, 0), 1)) == ["02-03 09:00"]
    # One second before the window opens, the first slot is the opening one.
    assert hm(occurrences(Hydration(3), zone, local(zone, 2026, 2, 2, 8, 59), 1)) == ["02-02 09:00"]
    # A window that ends between slots: the last slot is inside it.
    window = WakingWindow(time(8, 30), time(20, 0))
    got = occurrences(Hydration(3), zone, local(zone, 2026, 2, 2, 0, 0), 5, window=window)
    assert hm(got) == ["02-02 08:30", "02-02 11:30", "02-02 14:30", "02-02 17:30", "02-03 08:30"]


def test_window_past_midnight_for_night_shifts() -> None:
    window = WakingWindow(time(22, 0), time(6, 0))
    assert hydration_slots(window, 3) == [time(22), time(1), time(4)]
    got = occurrences(Hydration(3), "UTC", local("UTC", 2026, 2, 2, 12, 0), 4, window=window)
    assert hm(got) == ["02-02 22:00", "02-03 01:00", "02-03 04:00", "02-03 22:00"]


@pytest.mark.parametrize(
    ("zone", "day_before", "utc_hours"),
    [
        # Spring forward: 09:00 local is an hour earlier in UTC after the change.
        ("Europe/Berlin", (2026, 3, 28), [8, 7]),
        ("America/New_York", (2026, 3, 7), [14, 13]),
        # Fall back: 09:00 local is an hour later in UTC after the change.
        ("Europe/Berlin", (2026, 10, 24), [7, 8]),
        ("America/New_York", (2026, 10, 31), [13, 14]),
    ],
)
def test_checkin_keeps_local_time_across_both_dst_changes(
    zone: str, day_before: tuple[int, int, int], utc_hours: list[int]
) -> None:
    start = local(zone, *day_before, 0, 0)  # the day before the change, then the change day
    got = occurrences(Daily(time(9, 0)), zone, start, 2)
    assert [g.strftime("%H:%M") for g in got] == ["09:00", "09:00"]
    assert [g.astimezone(UTC).hour for g in got] == utc_hours
    elapsed = got[1].astimezone(UTC) - got[0].astimezone(UTC)
    assert elapsed == timedelta(hours=24 - (utc_hours[0] - utc_hours[1]))  # 23 h or 25 h


def test_slot_in_the_spring_gap_comes_once_that_day() -> None:
    # 02:30 does not exist in New York on 2026-03-08; the reminder still comes, once.
    got = occurrences(Daily(time(2, 30)), "America/New_York",
                      local("America/New_York", 2026, 3, 7, 12, 0), 3)
    days = [g.date().isoformat() for g in got]
    assert days == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert got[0].astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_slot_in_the_repeated_autumn_hour_comes_once() -> None:
    # 01:30 happens twice in New York on 2026-11-01; the check-in comes once.
    got = occurrences(Daily(time(1, 30)), "America/New_York",
                      local("America/New_York", 2026, 10, 31, 12, 0), 3)
    assert [g.date().isoformat() for g in got] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    ny = ZoneInfo("America/New_York")
    # Sent at the first 01:30 (EDT): the second 01:30 (EST) an hour later is not a new slot.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_due(Daily(time(1, 30)), ny, WINDOW, NO_OFFSET, first).astimezone(ny).date() \
        .isoformat() == "2026-11-02"
    # Someone who opts in during the repeated hour has had none that night: it comes once.
    second_pass = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # the second 01:00
    assert next_due(Daily(time(1, 30)), ny, WINDOW, NO_OFFSET, second_pass) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_spread_offset_is_stable_bounded_and_spreads() -> None:
    offsets = [spread_offset(user, 10) for user in range(1000, 3000)]
    assert offsets[:5] == [spread_offset(user, 10) for user in range(1000, 1005)]  # stable
    assert all(timedelta(0) <= o < timedelta(minutes=10) for o in offsets)
    minutes = {int(o.total_seconds() // 60) for o in offsets}
    assert minutes == set(range(10))  # every minute of the spread is used
    assert spread_offset(4242, 0) == timedelta(0)


def test_offset_shifts_every_slot_and_keeps_order() -> None:
    offset = timedelta(minutes=7, seconds=13)
    got = occurrences(Hydration(3), "Europe/Berlin", local("Europe/Berlin", 2026, 5, 1, 9, 5), 3,
                      offset=offset)
    # 09:05 is before 09:07:13, so the 09:00 slot (plus offset) is still ahead.
    assert [g.strftime("%H:%M:%S") for g in got] == ["09:07:13", "12:07:13", "15:07:13"]


def test_due_time_is_strictly_after() -> None:
    at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert next_due(Hydration(3), ZoneInfo("UTC"), WINDOW, NO_OFFSET, at) == at + timedelta(hours=3)


def test_late_reminder_is_skipped_after_thirty_minutes() -> None:
    due = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert not is_late(due, due)
    assert not is_late(due, due + timedelta(minutes=30))
    assert is_late(due, due + timedelta(minutes=30, seconds=1))
    assert is_late(due, due + timedelta(hours=5))
