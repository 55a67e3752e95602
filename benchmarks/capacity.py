"""A simulated day at Telegram's limit: 300,000 users over the world's time zones, with and
without the adaptive spread.

No database, no sending, no real clock: every user's reminders for one UTC day are planned
with the bot's own pure functions (``capacity.project`` and ``slots_of`` for the slots,
``schedule.spread_offset`` and ``spread.SpreadPlan`` for the offsets, ``spread.plan_spreads``
for the stretches), then sent in due order by a simulated sender doing exactly 30 a second,
which skips what is more than 30 minutes late (``schedule.is_late``) as the dispatcher does.

Users: the default plan (water every 3 hours from 09:00 to 21:00, the check-in at 10:00, the
weekly question on one weekday in seven), spread over time zones by world population (the
table is ``ZONES``; its source and accuracy are in ``benchmarks/README.md``).

    python -m benchmarks.capacity            # 300,000 users (about a minute)
    python -m benchmarks.capacity --quick    # 60,000 users
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time as clock
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from reminderbot.capacity import Demand, Group, project, slots_of
from reminderbot.db.models import ScheduleKind
from reminderbot.ratelimit import OVERALL_PER_SECOND
from reminderbot.schedule import WakingWindow, is_late, spread_offset
from reminderbot.spread import SpreadPlan, plan_spreads

# World population by UTC offset, millions (2024; see benchmarks/README.md). Whole-hour offsets
# use fixed Etc zones (no daylight saving: the sign in Etc names is reversed, Etc/GMT-8 is
# UTC+8); the others their main IANA zone, on the simulated day (late November).
ZONES: dict[str, float] = {
    "Etc/GMT+8": 65, "Etc/GMT+7": 45, "Etc/GMT+6": 270, "Etc/GMT+5": 300,
    "Etc/GMT+4": 75, "America/St_Johns": 0.5, "Etc/GMT+3": 285, "Etc/GMT+1": 0.5,
    "Etc/GMT": 250, "Etc/GMT-1": 860, "Etc/GMT-2": 520, "Etc/GMT-3": 760,
    "Asia/Tehran": 90, "Etc/GMT-4": 50, "Asia/Kabul": 42, "Etc/GMT-5": 310,
    "Asia/Kolkata": 1450, "Asia/Kathmandu": 31, "Etc/GMT-6": 200, "Asia/Yangon": 54,
    "Etc/GMT-7": 420, "Etc/GMT-8": 1650, "Etc/GMT-9": 215, "Australia/Adelaide": 2,
    "Etc/GMT-10": 15, "Etc/GMT-11": 25, "Etc/GMT-12": 2, "Etc/GMT-13": 6,
}
DAY = datetime(2026, 11, 25, tzinfo=UTC)  # a Wednesday
SPREAD_MINUTES = 10  # REMINDER_SPREAD_MINUTES' default
LIMIT_PER_MINUTE = OVERALL_PER_SECOND * 60
WINDOW = WakingWindow()  # 09:00-21:00
EVERY_HOURS = 3
CHECKIN_AT = time(10, 0)
# Telegram's 30 a second; the dispatcher reaches 0.975 of it (the measure).
SEND_GAP = 1 / OVERALL_PER_SECOND
LATE_BOUND = timedelta(minutes=15)
RESULTS = Path(__file__).parent / "results.json"


def users_per_zone(total: int) -> dict[str, int]:
    """``total`` users shared by population, largest remainders rounded up."""
    weight = sum(ZONES.values())
    exact = {zone: total * share / weight for zone, share in ZONES.items()}
    counts = {zone: int(value) for zone, value in exact.items()}
    for zone in sorted(exact, key=lambda z: exact[z] - counts[z], reverse=True)[
        : total - sum(counts.values())
    ]:
        counts[zone] += 1
    return counts


def groups(counts: dict[str, int]) -> list[Group]:
    """The rows of the users as ``capacity.read_groups`` would return them."""
    found = []
    for zone, count in counts.items():
        found.append(Group(ScheduleKind.HYDRATION, count, every_hours=EVERY_HOURS, zone=zone,
                           window=WINDOW))
        found.append(Group(ScheduleKind.CHECKIN, count, at_time=CHECKIN_AT, zone=zone,
                           window=WINDOW))
        for weekday in range(7):  # the weekly question: the weekday the user opted in
            share = count // 7 + (1 if weekday < count % 7 else 0)
            found.append(Group(ScheduleKind.TOLERANCE, share, at_time=CHECKIN_AT,
                               weekday=weekday, zone=zone, window=WINDOW))
    return found


@dataclass(frozen=True)
class Reminder:
    """One planned send: when it is due, the slot it stands for, and its kind."""

    due: datetime
    slot: datetime
    kind: str


def plan_day(counts: dict[str, int], plan: SpreadPlan | None) -> list[Reminder]:
    """Every reminder of the day, each user with their stable offset (``plan``: adaptive)."""
    start, end = DAY, DAY + timedelta(days=1)
    reminders: list[Reminder] = []
    key = 0
    for zone, count in counts.items():
        slots = {
            group.kind: slots_of(group, start, end)
            for group in groups({zone: 1})
            if group.kind != ScheduleKind.TOLERANCE
        }
        tolerance = {group.weekday: slots_of(group, start, end)
                     for group in groups({zone: 7}) if group.kind == ScheduleKind.TOLERANCE}
        for _ in range(count):
            key += 1
            base = spread_offset(key, SPREAD_MINUTES)
            for slot in slots[ScheduleKind.HYDRATION]:
                offset = plan.offset(key, slot) if plan is not None else base
                reminders.append(Reminder(slot + offset, slot, ScheduleKind.HYDRATION))
            for slot in slots[ScheduleKind.CHECKIN]:
                reminders.append(Reminder(slot + base, slot, ScheduleKind.CHECKIN))
            for slot in tolerance[key % 7]:
                reminders.append(Reminder(slot + base, slot, ScheduleKind.TOLERANCE))
    return reminders


_ORDER: dict[str, int] = {
    ScheduleKind.CHECKIN: 0, ScheduleKind.TOLERANCE: 1, ScheduleKind.HYDRATION: 2,
}


@dataclass
class Tally:
    """What the simulated sender did."""

    sent: int = 0
    late: int = 0  # sent more than 15 minutes after its slot
    skipped: int = 0  # more than 30 minutes after its due time: not sent
    early: int = 0  # sent before its slot (the adaptive spread's lead)
    worst_late: float = 0.0  # seconds after the slot, of a sent one
    worst_early: float = 0.0  # seconds before the slot
    checkin_worst_late: float = 0.0  # check-ins and the weekly question
    water_late: int = 0  # hydration reminders sent more than 15 minutes after the slot
    water_worst_late: float = 0.0
    busy_seconds: float = 0.0


def send_all(reminders: Iterable[Reminder]) -> Tally:
    """Send in due order (check-ins first within a second), one every 1/30 s at most."""
    tally = Tally()
    free = float("-inf")
    ordered = sorted(reminders, key=lambda r: (r.due, _ORDER[r.kind]))
    for reminder in ordered:
        due = reminder.due.timestamp()
        at = max(due, free)
        if is_late(reminder.due, datetime.fromtimestamp(at, UTC)):
            tally.skipped += 1
            continue
        free = at + SEND_GAP
        tally.busy_seconds += SEND_GAP
        tally.sent += 1
        after = at - reminder.slot.timestamp()
        if after > LATE_BOUND.total_seconds():
            tally.late += 1
        if after < 0:
            tally.early += 1
            tally.worst_early = max(tally.worst_early, -after)
        tally.worst_late = max(tally.worst_late, after)
        if reminder.kind != ScheduleKind.HYDRATION:
            tally.checkin_worst_late = max(tally.checkin_worst_late, after)
        else:
            tally.water_worst_late = max(tally.water_worst_late, after)
            tally.water_late += after > LATE_BOUND.total_seconds()
    return tally


def adaptive_plan(demand: Demand) -> SpreadPlan:
    """The stretches the bot would plan for this day."""
    return plan_spreads(demand.hydration, demand.fixed, SPREAD_MINUTES, LIMIT_PER_MINUTE)


def run(users: int) -> dict[str, object]:
    """Both days, and the figures."""
    counts = users_per_zone(users)
    demand = project(groups(counts), DAY, SPREAD_MINUTES)
    plan = adaptive_plan(demand)
    figures: dict[str, object] = {"capacity_users": users, "capacity_zones": len(counts)}
    for name, chosen in (("today", None), ("adaptive", plan)):
        started = clock.perf_counter()
        tally = send_all(plan_day(counts, chosen))
        figures.update({
            f"capacity_{name}_reminders": tally.sent + tally.skipped,
            f"capacity_{name}_sent": tally.sent,
            f"capacity_{name}_late_over_15_min": tally.late,
            f"capacity_{name}_skipped": tally.skipped,
            f"capacity_{name}_worst_late_minutes": round(tally.worst_late / 60, 1),
            f"capacity_{name}_early": tally.early,
            f"capacity_{name}_worst_early_minutes": round(tally.worst_early / 60, 1),
            f"capacity_{name}_checkin_worst_late_minutes": round(tally.checkin_worst_late / 60, 1),
            f"capacity_{name}_water_late_over_15_min": tally.water_late,
            f"capacity_{name}_water_worst_late_minutes": round(tally.water_worst_late / 60, 1),
            f"capacity_{name}_simulation_seconds": round(clock.perf_counter() - started, 1),
        })
    figures["capacity_stretched_slots"] = len(plan.stretches)
    figures["capacity_widest_stretch_minutes"] = max(
        (s.width for s in plan.stretches.values()), default=0)
    busiest = max(demand.hydration.items(), key=lambda item: item[1])
    figures["capacity_busiest_slot_utc"] = busiest[0].strftime("%H:%M")
    figures["capacity_busiest_slot_users"] = busiest[1]
    return figures


def table(figures: dict[str, object]) -> str:
    """The figures side by side."""
    rows = [("reminders due", "reminders"), ("sent", "sent"),
            ("late (> 15 min after the slot)", "late_over_15_min"), ("skipped", "skipped"),
            ("worst lateness, minutes", "worst_late_minutes"),
            ("  water reminders late", "water_late_over_15_min"),
            ("  water reminders' worst, minutes", "water_worst_late_minutes"),
            ("  check-ins' worst, minutes", "checkin_worst_late_minutes"),
            ("sent before the slot", "early"), ("earliest, minutes before", "worst_early_minutes")]
    busiest = figures["capacity_busiest_slot_utc"], figures["capacity_busiest_slot_users"]
    lines = [f"{figures['capacity_users']:,} users in {figures['capacity_zones']} zones, "
             f"{LIMIT_PER_MINUTE // 60} a second; busiest slot {busiest[0]} UTC "
             f"({busiest[1]:,} users)",
             f"{'':36}{'spread today':>14}{'adaptive':>12}"]
    for label, key in rows:
        today, adaptive = figures[f"capacity_today_{key}"], figures[f"capacity_adaptive_{key}"]
        lines.append(f"{label:36}{today:>14,}{adaptive:>12,}")
    lines.append(f"stretched slots: {figures['capacity_stretched_slots']}, widest "
                 f"{figures['capacity_widest_stretch_minutes']} minutes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, merge the figures into results.json."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capacity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="60,000 users instead of 300,000")
    parser.add_argument("--users", type=int, help="this many users")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results.json to update")
    args = parser.parse_args(argv)
    users = args.users or (60_000 if args.quick else 300_000)
    figures = run(users)
    arguments = argv if argv is not None else sys.argv[1:]
    figures["capacity_command"] = " ".join(["python -m benchmarks.capacity", *arguments])
    figures["capacity_machine"] = f"{platform.machine()}, Python {platform.python_version()}"
    print(table(figures))
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing.update(figures)
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
