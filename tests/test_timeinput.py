"""Typed clock times, waking windows and reminder durations."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminderbot.timeinput import (
    MAX_DURATION,
    MIN_DURATION,
    parse_clock,
    parse_duration,
    parse_window,
)

FEW = settings(max_examples=150, deadline=None)
FULL_WIDTH = str.maketrans("0123456789:", "０１２３４５６７８９：")  # noqa: RUF001

# --- clock times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", time(7, 0)),
        ("07", time(7, 0)),
        ("0", time(0, 0)),
        ("7:30", time(7, 30)),
        ("07:30", time(7, 30)),
        ("7.30", time(7, 30)),
        ("7h30", time(7, 30)),
        ("7H30", time(7, 30)),
        ("7h", time(7, 0)),
        ("19:00", time(19, 0)),
        ("23:59", time(23, 59)),
        ("0730", time(7, 30)),
        ("7am", time(7, 0)),
        ("7 AM", time(7, 0)),
        ("7 a.m.", time(7, 0)),
        ("7:30 pm", time(19, 30)),
        ("7:30PM", time(19, 30)),
        ("12am", time(0, 0)),
        ("12:30 am", time(0, 30)),
        ("12pm", time(12, 0)),
        ("  7:30  ", time(7, 30)),
        ("７：３０", time(7, 30)),  # noqa: RUF001  (full-width, as some keyboards type)
        ("\u200f7:30", time(7, 30)),  # a right-to-left mark before it
    ],
)
def test_clock(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "24:00",  # no time of day; a window's end may say it (see below)
        "24",
        "25",
        "7:60",
        "7:5",
        "730",
        "0am",
        "13pm",
        "7:30:00",
        "7 30",
        "-7",
        "seven",
        "\u0667:\u0663\u0660",  # Arabic-Indic 7:30: other scripts' digits are not read
        "",
        "🕖",
        "7" * 101,
    ],
)
def test_not_a_clock(text: str) -> None:
    assert parse_clock(text) is None


def clock_forms(t: time) -> list[str]:
    """Every way the parser promises to read ``t``."""
    h, m = t.hour, t.minute
    h12, half = (h % 12 or 12), ("am" if h < 12 else "pm")
    forms = [
        f"{h}:{m:02d}",
        f"{h:02d}:{m:02d}",
        f"{h}.{m:02d}",
        f"{h}h{m:02d}",
        f"{h:02d}{m:02d}",
        f"{h12}:{m:02d}{half}",
        f"{h12}:{m:02d} {half.upper()}",
        f"{h12}:{m:02d} {half[0]}.m.",
    ]
    if m == 0:
        forms += [f"{h}", f"{h:02d}", f"{h}h", f"{h12}{half}", f"{h12} {half}"]
    return forms


whole_minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@given(whole_minutes, st.data())
@FEW
def test_clock_round_trip(t: time, data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(clock_forms(t)))
    if data.draw(st.booleans()):
        form = form.translate(FULL_WIDTH)
    assert parse_clock(form) == t


# --- waking windows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07:30-23:00", (time(7, 30), time(23, 0))),
        ("7-23", (time(7, 0), time(23, 0))),
        ("7 - 23", (time(7, 0), time(23, 0))),
        ("22:00\u201306:00", (time(22, 0), time(6, 0))),  # en dash, across midnight
        ("22:00 \u2014 06:00", (time(22, 0), time(6, 0))),  # em dash
        ("7 to 23", (time(7, 0), time(23, 0))),
        ("from 9 to 21", (time(9, 0), time(21, 0))),
        ("7am to 11pm", (time(7, 0), time(23, 0))),
        ("7am-11pm", (time(7, 0), time(23, 0))),
        ("7 a.m. - 11 p.m.", (time(7, 0), time(23, 0))),
        ("7 a 23", (time(7, 0), time(23, 0))),
        ("de 7 a 23", (time(7, 0), time(23, 0))),
        ("7-24", (time(7, 0), time(0, 0))),  # 24 as an end is midnight
        ("7:00 to 24:00", (time(7, 0), time(0, 0))),
        ("23:30-0:30", (time(23, 30), time(0, 30))),
        ("\u202e7-23", (time(7, 0), time(23, 0))),  # a right-to-left override is dropped
    ],
)
def test_window(text: str, expected: tuple[time, time]) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize(
    "text",
    ["7-7", "07:00 - 7", "0-24", "7", "7-", "-23", "7--23", "7 23", "24-7", "7-25", "7 to", "a-b"],
)
def test_not_a_window(text: str) -> None:
    assert parse_window(text) is None


SEPARATORS = ["-", " - ", "\u2013", " \u2014 ", " to ", " TO ", " a ", "~"]


@given(whole_minutes, whole_minutes, st.sampled_from(SEPARATORS), st.data())
@FEW
def test_window_round_trip(start: time, end: time, separator: str, data: st.DataObject) -> None:
    typed = (
        data.draw(st.sampled_from(clock_forms(start)))
        + separator
        + data.draw(st.sampled_from(clock_forms(end)))
    )
    assert parse_window(typed) == (None if start == end else (start, end))


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("3D", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("1w", timedelta(weeks=1)),
        ("60m", timedelta(hours=1)),
        ("90 min", timedelta(minutes=90)),
        ("2 days", timedelta(days=2)),
        ("1 week", timedelta(weeks=1)),
        ("3 dias", timedelta(days=3)),
        ("3 días", timedelta(days=3)),
        ("12 horas", timedelta(hours=12)),
        ("1 semana", timedelta(weeks=1)),
        ("8 weeks", timedelta(weeks=8)),
        ("56 days", timedelta(days=56)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("1h30m", timedelta(minutes=90)),
        ("2 days, 3 hours", timedelta(days=2, hours=3)),
        ("1 day and 2 hours", timedelta(days=1, hours=2)),
        ("1 semana y 2 días", timedelta(days=9)),
        ("\uff13d", timedelta(days=3)),  # full-width 3
    ],
)
def test_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "30m",  # under an hour
        "59 minutes",
        "0d",
        "9w",  # over eight weeks
        "57 days",
        "8w 1m",
        "9999w",
        "99999999999999999999d",
        "3",  # a bare number
        "d",
        "3 months",
        "1h 1h",
        "3 d😀",
        "1.5h",
        "-3d",
        "",
    ],
)
def test_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


UNIT_WORDS = {
    timedelta(weeks=1): ["w", "wk", " week", " weeks", " semana", " semanas"],
    timedelta(days=1): ["d", " day", " days", " dia", " días", "D"],
    timedelta(hours=1): ["h", "hr", " hrs", " hour", " hours", " horas", "H"],
    timedelta(minutes=1): ["m", " min", " minutes", " minutos"],
}


JOINERS = [" ", "", ", ", " and ", " y "]


@given(st.integers(60, 8 * 7 * 24 * 60), st.sampled_from(JOINERS), st.data())
@FEW
def test_duration_round_trip(minutes: int, joiner: str, data: st.DataObject) -> None:
    left, parts = timedelta(minutes=minutes), []
    for unit, words in UNIT_WORDS.items():
        count, left = divmod(left, unit)
        if count:
            parts.append(f"{count}{data.draw(st.sampled_from(words))}")
    assert parse_duration(joiner.join(parts)) == timedelta(minutes=minutes)


@given(st.one_of(st.integers(0, 59), st.integers(8 * 7 * 24 * 60 + 1, 10**6)))
@FEW
def test_out_of_bounds_durations(minutes: int) -> None:
    assert parse_duration(f"{minutes}m") is None


# --- anything at all ------------------------------------------------------------------------


def assert_valid(text: str) -> None:
    clock = parse_clock(text)
    assert clock is None or (clock.second == clock.microsecond == 0 and clock.tzinfo is None)
    window = parse_window(text)
    assert window is None or (window[0] != window[1] and all(t.second == 0 for t in window))
    duration = parse_duration(text)
    assert duration is None or MIN_DURATION <= duration <= MAX_DURATION


@given(st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_value_or_none(text: str) -> None:
    assert_valid(text)


@given(st.text(alphabet="0123456789:.-\u2013 hdwmapHDWMAP,toy", max_size=16))
@settings(max_examples=300, deadline=None)
def test_time_like_text_is_a_value_or_none(text: str) -> None:
    assert_valid(text)


@pytest.mark.parametrize(
    "text", ["x" * 1_000_000, "7:30" + "\x00" * 200, "\u202e", "🕖-🕚", "\x00", "\ufeff"]
)
def test_junk(text: str) -> None:
    assert parse_clock(text) is None
    assert parse_window(text) is None
    assert parse_duration(text) is None


def test_text_over_100_characters_is_never_read() -> None:
    assert parse_clock("7:30" + " " * 96) == time(7, 30)
    assert parse_clock("7:30" + " " * 97) is None
    assert parse_window("7-23" + " " * 97) is None
    assert parse_duration("3d" + " " * 99) is None
