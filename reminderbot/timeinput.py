"""Typed clock times, waking windows and durations, read leniently and never raising.

Choices made here:
- Input is NFKC-normalised first, so full-width digits and colons (U+FF10-U+FF1A) read as
  plain ones; invisible format characters (RTL/LTR marks, zero-width spaces) are dropped. Other
  scripts' digits (Arabic-Indic) are not read.
- ``parse_clock("24:00")`` is None: 24:00 is no time of day. Only a window's end may be
  ``24``/``24:00``, meaning midnight (``7-24`` is 07:00 to 00:00).
- Four digits are a 24-hour time (``0730``); with am/pm the hour is 1 to 12.
- Control characters count as spaces, so a stray NUL at an end is ignored.
- Durations are whole numbers with a unit (English or Spanish), optionally several
  (``1d 12h``, ``1 semana y 2 días``), each unit once; ``m`` is minutes, never months.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import time, timedelta

# Longer input is none of these: answered before any normalisation work.
MAX_INPUT = 100
MIN_DURATION = timedelta(hours=1)
MAX_DURATION = timedelta(weeks=8)

_CLOCK_24 = re.compile(
    r"(?P<hour>[0-9]{1,2})(?:[:.h](?P<minute>[0-9]{2})|h)?|(?P<hour4>[0-9]{2})(?P<minute4>[0-9]{2})"
)
_CLOCK_12 = re.compile(
    r"(?P<hour>[0-9]{1,2})(?:[:.](?P<minute>[0-9]{2}))? ?(?P<half>a\.?m\.?|p\.?m\.?)"
)
_MIDNIGHT_END = re.compile(r"24(?:(?:[:.h]00)|h|00)?")
# Between a window's two times: a dash of any kind, or a word with spaces around it.
_WINDOW_SEPARATOR = re.compile(r" ?[-\u2010-\u2015\u2212~] ?| (?:to|until|till|a|hasta) ")
_WINDOW_PREFIX = re.compile(r"(?:from|between|de|desde) ")
_DURATION_PART = re.compile(r"(?P<amount>[0-9]{1,4}) ?(?P<unit>[a-z]+)\.?")
_DURATION_JOINER = re.compile(r" ?, ?| and | y | ?")

_UNIT_WORDS: dict[int, tuple[str, ...]] = {
    1: ("m", "min", "mins", "minute", "minutes", "minuto", "minutos"),
    60: ("h", "hr", "hrs", "hs", "hour", "hours", "hora", "horas"),
    24 * 60: ("d", "day", "days", "dia", "dias"),
    7 * 24 * 60: ("w", "wk", "wks", "week", "weeks", "sem", "semana", "semanas"),
}
_MINUTES_PER_UNIT = {word: minutes for minutes, words in _UNIT_WORDS.items() for word in words}


def parse_clock(text: str) -> time | None:
    """A time of day: "7", "07:30", "7.30", "7h30", "19:00", "0730", "7am", "7:30 pm"; else None."""
    cleaned = _clean(text)
    return None if cleaned is None else _clock(cleaned)


def parse_window(text: str) -> tuple[time, time] | None:
    """Two times of day: "07:30-23:00", "7-23", "22:00-06:00" (any dash), "7am to 11pm", "7 a 23".

    The window may cross midnight; an empty one (start equals end) is None.
    """
    cleaned = _clean(text)
    if cleaned is None:
        return None
    prefix = _WINDOW_PREFIX.match(cleaned)
    if prefix is not None:
        cleaned = cleaned[prefix.end() :]
    for separator in _WINDOW_SEPARATOR.finditer(cleaned):
        start = _clock(cleaned[: separator.start()])
        end_text = cleaned[separator.end() :]
        end = time(0, 0) if _MIDNIGHT_END.fullmatch(end_text) else _clock(end_text)
        if start is not None and end is not None:
            return None if start == end else (start, end)
    return None


def parse_duration(text: str) -> timedelta | None:
    """A span like "3d", "12h", "1w", "90m", "2 days", "1 semana", "3 días", "1d 12h".

    None unless it is from one hour to eight weeks; a bare number is None.
    """
    cleaned = _clean(text)
    if cleaned is None:
        return None
    # Accents off, so "días" reads as "dias".
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFKD", cleaned) if not unicodedata.combining(ch)
    )
    minutes = 0
    seen_units: set[int] = set()
    position = 0
    while True:
        part = _DURATION_PART.match(cleaned, position)
        if part is None:
            return None
        unit = _MINUTES_PER_UNIT.get(part["unit"])
        if unit is None or unit in seen_units:
            return None
        seen_units.add(unit)
        minutes += int(part["amount"]) * unit
        position = part.end()
        if position == len(cleaned):
            break
        joiner = _DURATION_JOINER.match(cleaned, position)
        if joiner is None:
            return None
        position = joiner.end()
    # Compared in whole minutes first: a huge count never reaches timedelta.
    if not _whole_minutes(MIN_DURATION) <= minutes <= _whole_minutes(MAX_DURATION):
        return None
    return timedelta(minutes=minutes)


def _clean(text: str) -> str | None:
    """Normalised, lower-case, single-spaced text; None for input too long or not text."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    text = unicodedata.normalize("NFKC", text)
    # Format characters (RTL marks, zero-width spaces) are invisible; control characters are gaps.
    text = "".join(
        " " if category == "Cc" else ch
        for ch in text
        if (category := unicodedata.category(ch)) != "Cf"
    )
    return " ".join(text.casefold().split())


def _clock(text: str) -> time | None:
    match = _CLOCK_24.fullmatch(text)
    if match is not None:
        hour = int(match["hour"] or match["hour4"])
        minute = int(match["minute"] or match["minute4"] or 0)
        return time(hour, minute) if hour <= 23 and minute <= 59 else None
    match = _CLOCK_12.fullmatch(text)
    if match is not None:
        hour, minute = int(match["hour"]), int(match["minute"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        hour %= 12
        if match["half"].startswith("p"):
            hour += 12
        return time(hour, minute)
    return None


def _whole_minutes(span: timedelta) -> int:
    return int(span.total_seconds()) // 60
