"""What `reminderbot capacity` prints: the forecast as a document (``--json``) and as text."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reminderbot.capacity import Forecast, backlogs, headroom, minutes_over, peak_minutes
from reminderbot.spread import minute_of_day

PEAKS = 5
_STAMP = "%Y-%m-%d %H:%M"


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _queue(minutes: dict[datetime, int], limit: int) -> dict[str, Any]:
    found = backlogs(minutes, limit)
    return {
        "late": sum(b.late for b in found),
        "skipped": sum(b.skipped for b in found),
        "worst_late_minutes": max((_minutes(b.worst) for b in found), default=0),
        "backlogs": [
            {"from": b.start.strftime(_STAMP), "due": b.due, "late": b.late,
             "skipped": b.skipped, "worst_late_minutes": _minutes(b.worst)}
            for b in found
        ],
    }


def report(forecast: Forecast, limit_source: str) -> dict[str, Any]:
    """The forecast as plain data: peaks and headroom as spread today, then with the
    adaptive spread the bot applies."""
    today, planned, limit = forecast.today, forecast.planned, forecast.limit
    stretched = []
    for slot, count in sorted(forecast.demand.hydration.items()):
        stretch = forecast.plan.stretches.get(minute_of_day(slot))
        if stretch is not None:
            first = slot - timedelta(minutes=stretch.lead)
            stretched.append({"slot": slot.strftime(_STAMP), "reminders": count,
                              "from": first.strftime(_STAMP),
                              "to": (first + timedelta(minutes=stretch.width)).strftime(_STAMP)})
    return {
        "from": forecast.start.strftime(_STAMP),
        "hours": 24,
        "due": forecast.total,
        "limit_per_minute": limit,
        "limit_from": limit_source,
        "peak_minutes": [{"minute": m.strftime(_STAMP), "due": n, "headroom": limit - n}
                         for m, n in peak_minutes(today, PEAKS)],
        "headroom": headroom(today, limit),
        "minutes_over": minutes_over(today, limit),
        "as_spread_today": _queue(today, limit),
        "adaptive_spread": {
            "stretched_slots": stretched,
            "peak": max(planned.values(), default=0),
            "headroom": headroom(planned, limit),
            "minutes_over": minutes_over(planned, limit),
            **_queue(planned, limit),
        },
    }


def _n(value: int) -> str:
    return f"{value:,}"


def _outcome(queue: dict[str, Any]) -> str:
    late, skipped = queue["late"], queue["skipped"]
    if not late and not skipped:
        return "none late, none skipped"
    parts = [f"{_n(late)} late by up to {queue['worst_late_minutes']} minutes" if late
             else "none late", f"{_n(skipped)} skipped" if skipped else "none skipped"]
    return ", ".join(parts)


def text(document: dict[str, Any]) -> str:
    """The report as an operator reads it (times in UTC)."""
    limit = document["limit_per_minute"]
    lines = [
        f"Forecast for 24 hours from {document['from']} UTC: {_n(document['due'])} reminders",
        f"Limit: {_n(limit)} a minute ({document['limit_from']})",
        "",
        "Busiest minutes (UTC)   due  headroom",
    ]
    for peak in document["peak_minutes"]:
        lines.append(f"  {peak['minute']}  {_n(peak['due']):>5}  {_n(peak['headroom']):>8}")
    lines += [
        f"Headroom at the busiest minute: {_n(document['headroom'])} a minute; "
        f"{document['minutes_over']} minutes over the limit",
        "",
    ]
    today = document["as_spread_today"]
    if not today["backlogs"]:
        lines.append("As spread today: every slot goes out on time.")
    for backlog in today["backlogs"]:
        verdict = "is skipped in part" if backlog["skipped"] else "runs late"
        lines.append(f"As spread today: the queue from {backlog['from']} UTC {verdict}: "
                     f"{_n(backlog['due'])} due, {_outcome(backlog)}.")
    adaptive = document["adaptive_spread"]
    for slot in adaptive["stretched_slots"]:
        lines.append(f"Adaptive spread: the {slot['slot']} UTC slot's {_n(slot['reminders'])} "
                     f"water reminders go out from {slot['from'][-5:]} to {slot['to'][-5:]}.")
    lines.append(f"With the adaptive spread: busiest minute {_n(adaptive['peak'])} "
                 f"(headroom {_n(adaptive['headroom'])}); {_outcome(adaptive)}.")
    return "\n".join(lines) + "\n"
