"""Usage statistics as an operator sees them: counts with every small cell hidden.

Pure: ``stats.collect`` reads the numbers into a ``Stats``; ``report`` applies the privacy rule
to every cell (the only way a number leaves this module), and ``table`` lays the result out as
plain aligned text for ``reminderbot stats`` and the admins' ``/stats``.

The rule: a cell under ``THRESHOLD`` shows ``"<5"``, zero included. A 0 would say something
true about every person in a small deployment ("none of the three answered nausea"), and it
would make "<5" mean "at least one", which is itself a disclosure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reminderbot import texts
from reminderbot.db.models import ScheduleKind, UserStatus

THRESHOLD = 5
SMALL = f"<{THRESHOLD}"
WINDOWS = (1, 7, 30)  # days counted back from today (UTC), today included
ANSWER_WINDOW = 30  # days of check-in answers
STATUSES = tuple(UserStatus)
KINDS = tuple(ScheduleKind)
# Skipped reminders by reason (dispatch.Outcome values), each also counted in "skipped".
SKIP_REASONS = ("skipped_late", "skipped_glass", "skipped_plan")
COLUMNS = ("sent", "skipped", *SKIP_REASONS, "failed")
# The dispatcher's outcomes (dispatch.Outcome values) by the column they count in. "failed"
# counts attempts that did not reach the person: refused, network errors, a blocked bot, a bug.
REPORTED_AS = {
    "sent": "sent",
    # The answer was lost after the request was written: almost always delivered.
    "uncertain": "sent",
    "skipped_late": "skipped",
    # A water reminder right after a logged glass: not sent, and not a miss.
    "skipped_glass": "skipped",
    # A water reminder within 45 minutes of an after-use plan's nudge: not a miss either.
    "skipped_plan": "skipped",
    "retry": "failed",
    "deactivated": "failed",
    "failed": "failed",
}
# Check-in answer codes as logbook stores them: the daily answers, then the weekly tolerance
# question's ("tolerance_more"). Codes not listed here are pooled as UNLISTED, so that a new or
# rare code never gets a row of its own.
ANSWER_CODES = (*texts.CHECKIN_ANSWERS, *(f"tolerance_{code}" for code in texts.TOLERANCE_ANSWERS))
UNLISTED = "(unlisted)"
NO_SOURCE = "(none)"  # users who came without a partner code
OTHER_SOURCES = "(other)"  # partners with fewer than THRESHOLD users, pooled

Cell = int | str


@dataclass(frozen=True)
class Tally:
    """A count and how many different people are behind it."""

    count: int
    people: int


@dataclass(frozen=True)
class Stats:
    """The raw numbers; nothing here is fit to show before ``report`` masks it."""

    day: date  # today, UTC
    users: Mapping[str, int]  # status -> people
    # window in days -> (kind, column) -> reminders
    reminders: Mapping[int, Mapping[tuple[str, str], int]]
    answers: Mapping[str, Tally]  # check-in answer code -> answers in the last ANSWER_WINDOW days
    # partner code (None: none) -> status -> people; None when not asked for
    sources: Mapping[str | None, Mapping[str, int]] | None = None


def mask(count: int, people: int | None = None) -> Cell:
    """``count``, or ``"<5"`` when it is under 5 or fewer than 5 people are behind it."""
    if count < THRESHOLD or (people is not None and people < THRESHOLD):
        return SMALL
    return count


def _pooled_sources(
    sources: Mapping[str | None, Mapping[str, int]],
) -> list[tuple[str, Mapping[str, int]]]:
    """Partners with THRESHOLD users or more by name, the rest pooled, then users with none.

    The pooled and no-source rows are always there, so their presence says nothing.
    """
    named: list[tuple[str, Mapping[str, int]]] = []
    other: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for code in sorted(code for code in sources if code is not None):
        counts = sources[code]
        if sum(counts.values()) >= THRESHOLD:
            named.append((code, counts))
        else:
            for status in STATUSES:
                other[status] += counts.get(status, 0)
    return [*named, (OTHER_SOURCES, other), (NO_SOURCE, sources.get(None, {}))]


def _answer_cells(answers: Mapping[str, Tally]) -> dict[str, Cell]:
    cells = {
        code: mask(answers[code].count, answers[code].people) if code in answers else SMALL
        for code in ANSWER_CODES
    }
    unlisted = [tally for code, tally in answers.items() if code not in ANSWER_CODES]
    # The most people behind one code is the fewest people the pooled answers can come from.
    cells[UNLISTED] = mask(sum(t.count for t in unlisted), max((t.people for t in unlisted),
                                                               default=0))
    return cells


def report(stats: Stats) -> dict[str, Any]:
    """Every count of ``stats`` masked, as a JSON-ready document (the shape of ``--json``)."""
    document: dict[str, Any] = {
        "day": stats.day.isoformat(),
        "users": {status.value: mask(stats.users.get(status, 0)) for status in STATUSES},
        "reminders": {
            f"{days}d": {
                kind.value: {
                    column: mask(stats.reminders.get(days, {}).get((kind, column), 0))
                    for column in COLUMNS
                }
                for kind in KINDS
            }
            for days in WINDOWS
        },
        "checkin_answers": {f"{ANSWER_WINDOW}d": _answer_cells(stats.answers)},
    }
    if stats.sources is not None:
        document["sources"] = [
            {"source": code, **{status.value: mask(counts.get(status, 0)) for status in STATUSES}}
            for code, counts in _pooled_sources(stats.sources)
        ]
    return document


Row = tuple[str, Sequence[Cell]]


def _section(title: str, headers: Sequence[str], rows: Sequence[Row], width: int) -> list[str]:
    columns = [
        max([len(header), *(len(str(cells[i])) for _, cells in rows if cells)])
        for i, header in enumerate(headers)
    ]

    def line(label: str, cells: Sequence[Cell]) -> str:
        values = "".join(f"  {cell!s:>{size}}" for cell, size in zip(cells, columns, strict=False))
        return f"{label:<{width}}{values}".rstrip()

    return [line(title, headers), *(line(label, cells) for label, cells in rows)]


def table(document: Mapping[str, Any]) -> str:
    """A masked ``report`` as plain aligned text, one section per kind of count."""
    sections: list[tuple[str, list[str], list[Row]]] = [
        ("Users", ["people"], [(f"  {s}", [c]) for s, c in document["users"].items()]),
    ]
    windows = list(document["reminders"])
    reminder_rows: list[Row] = []
    for kind in document["reminders"][windows[0]]:
        reminder_rows.append((f"  {kind}", []))
        reminder_rows += [
            (f"    {column}", [document["reminders"][w][kind][column] for w in windows])
            for column in COLUMNS
        ]
    sections.append(("Reminders", windows, reminder_rows))
    for window, answers in document["checkin_answers"].items():
        sections.append(("Check-in answers", [window],
                         [(f"  {code}", [cell]) for code, cell in answers.items()]))
    if "sources" in document:
        sections.append(("Sources", [s.value for s in STATUSES], [
            (f"  {row['source']}", [row[s.value] for s in STATUSES])
            for row in document["sources"]
        ]))
    width = max(len(label) for title, _, rows in sections
                for label in [title, *(label for label, _ in rows)])
    lines: list[str] = []
    for title, headers, rows in sections:
        if lines:
            lines.append("")
        lines += _section(title, headers, rows, width)
    return "\n".join(lines)


def example_table(*, longest: bool = False) -> str:
    """The /stats table with made-up numbers (``longest``: the widest plausible numbers)."""
    extra = 10**9 if longest else 0
    per_day = {"sent": (130, 40, 6, 12), "skipped": (13, 1, 0, 0), "skipped_late": (3, 1, 0, 0),
               "skipped_glass": (6, 0, 0, 0), "skipped_plan": (4, 0, 0, 0),
               "failed": (2, 0, 0, 0)}
    answers = (610, 95, 40, 22, 31, 12, 9, 30)
    stats = Stats(
        day=date(2026, 11, 25),
        users={status: extra + n for status, n in zip(STATUSES, (48, 6, 11), strict=True)},
        reminders={
            days: {(kind, column): extra + per_day[column][i] * days
                   for i, kind in enumerate(KINDS) for column in COLUMNS}
            for days in WINDOWS
        },
        answers={code: Tally(extra + n, extra + n) for code, n in
                 zip(ANSWER_CODES, answers, strict=True)},
    )
    return table(report(stats))
