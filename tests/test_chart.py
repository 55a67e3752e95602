"""The /history chart: a phone-sized PNG of bars and check-in dots, same bytes for same input."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib.image import imread
from numpy.typing import NDArray

from reminderbot import chart
from reminderbot.chart import (
    ChartLabels,
    HistoryDay,
    day_labels,
    format_day,
    has_data,
    render_history,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2026, 2, 20)

ES = ChartLabels(
    title="Tus últimos 14 días",
    glasses="Vasos de agua",
    symptoms_heading="¿Cómo te sentiste?",
    symptoms={"fine": "Bien", "headache": "Dolor de cabeza", "nausea": "Náuseas",
              "sweating": "Sudoración", "anxiety": "Ansiedad", "other": "Otro"},
    no_checkin="Sin respuesta",
    date_format="%a\n%-d",
    weekday_names=("L", "M", "X", "J", "V", "S", "D"),
    month_names=("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov",
                 "dic"),
)


def window(glasses: Sequence[int], symptoms: Sequence[tuple[str, ...]] | None = None,
           ) -> list[HistoryDay]:
    answers = symptoms if symptoms is not None else [()] * len(glasses)
    return [HistoryDay(START + timedelta(days=i), g, s)
            for i, (g, s) in enumerate(zip(glasses, answers, strict=True))]


def pixels(png: bytes) -> NDArray[np.int64]:
    """RGB 0-255 values, rows top to bottom."""
    return np.asarray(np.rint(imread(io.BytesIO(png))[..., :3] * 255), dtype=np.int64)


def count_colour(png: bytes, hex_colour: str) -> int:
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return int((pixels(png) == rgb).all(axis=-1).sum())


def bars(png: bytes) -> list[tuple[int, int, int]]:
    """(left x, right x, top y) of each run of columns holding bar-coloured pixels."""
    rgb = [int(chart.BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5)]
    mask = (pixels(png) == rgb).all(axis=-1)
    found: list[tuple[int, int, int]] = []
    start = None
    for x in range(mask.shape[1] + 1):
        filled = x < mask.shape[1] and bool(mask[:, x].any())
        if filled and start is None:
            start = x
        elif not filled and start is not None:
            found.append((start, x - 1, int(np.argmax(mask[:, start:x].any(axis=1)))))
            start = None
    return found


SAMPLE = window([3, 5, 0, 8, 6, 2, 0, 4, 7, 10, 1, 0, 5, 6],
                [("fine",), ("headache", "nausea"), (), ("fine",), ("anxiety",), (), (),
                 ("fine",), ("sweating", "headache"), ("fine",), ("other",), (), ("nausea",),
                 ("fine",)])


def test_the_png_is_a_portrait_1080_by_1350_image_on_white() -> None:
    png = render_history(SAMPLE, ES)
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (1080, 1350)
    assert (chart.WIDTH_PX, chart.HEIGHT_PX) == (1080, 1350)
    rgb = pixels(png)
    assert rgb.shape == (1350, 1080, 3)
    assert rgb[0, 0].tolist() == rgb[-1, -1].tolist() == [255, 255, 255]


def test_the_same_input_gives_the_same_bytes_and_a_change_gives_others() -> None:
    png = render_history(SAMPLE, ES)
    assert render_history(list(SAMPLE), replace(ES)) == png
    one_more_glass = [*SAMPLE[:-1], replace(SAMPLE[-1], glasses=7)]
    assert render_history(one_more_glass, ES) != png
    assert render_history(SAMPLE, replace(ES, title="Tus últimos días")) != png
    assert b"Software" not in png and b"tIME" not in png  # nothing that changes from run to run


def test_rendering_in_threads_at_once_gives_the_same_bytes() -> None:
    inputs = [SAMPLE, window([1] * 14), SAMPLE, window([0] * 13 + [9])]
    serial = [render_history(days, ES) for days in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda days: render_history(days, ES), inputs)) == serial


def test_one_bar_per_day_with_glasses_and_heights_in_proportion() -> None:
    glasses = [3, 5, 0, 8, 6, 2, 0, 4, 7, 10, 1, 0, 5, 6]
    png = render_history(window(glasses), ES)
    found = bars(png)
    drawn = [g for g in glasses if g]
    assert len(found) == len(drawn)
    heights = [_bar_bottom(png) - top for _, _, top in found]
    per_glass = heights[drawn.index(10)] / 10
    for height, count in zip(heights, drawn, strict=True):
        assert abs(height - count * per_glass) <= 1.5
    lefts = [left for left, _, _ in found]
    assert lefts == sorted(lefts)


def _bar_bottom(png: bytes) -> int:
    rgb = [int(chart.BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5)]
    rows = np.nonzero((pixels(png) == rgb).all(axis=-1).any(axis=1))[0]
    return int(rows.max()) + 1


def test_no_glasses_draws_no_bar_and_glasses_fill_the_top_half() -> None:
    empty = render_history(window([0] * 14, [("fine",)] * 14), ES)
    full = render_history(window([4] * 14, [("fine",)] * 14), ES)
    assert count_colour(empty, chart.BAR_COLOUR) == 0
    assert bars(empty) == []
    assert len(bars(full)) == 14

    def ink_in_top_half(png: bytes) -> int:
        return int((pixels(png)[:675] != 255).any(axis=-1).sum())

    assert ink_in_top_half(full) > ink_in_top_half(empty) + 100_000


def test_each_non_zero_bar_has_its_count_written_just_above_it() -> None:
    glasses = [2, 0, 7]
    png = render_history(window(glasses), ES)
    rgb = pixels(png)
    dark = np.asarray((rgb < 90).all(axis=-1))
    found = bars(png)
    assert len(found) == 2
    for left, right, top in found:
        assert dark[top - 60:top - 2, left:right + 1].sum() > 50
    # Over the empty middle day, from the tallest count down to the baseline: only gridlines.
    gap_left, gap_right = found[0][1] + 10, found[1][0] - 10
    assert dark[found[1][2] - 60:_bar_bottom(png), gap_left:gap_right].sum() == 0


def test_fine_is_a_green_dot_and_a_symptom_an_orange_one() -> None:
    one_fine = render_history(window([1], [("fine",)]), ES)
    one_headache = render_history(window([1], [("headache",)]), ES)
    dot = count_colour(one_fine, chart.FINE_COLOUR)
    assert dot > 200
    assert count_colour(one_fine, chart.SYMPTOM_COLOUR) == 0
    assert count_colour(one_headache, chart.FINE_COLOUR) == 0
    assert count_colour(one_headache, chart.SYMPTOM_COLOUR) == dot

    mixed = render_history(window([1, 1, 1], [("headache", "nausea"), ("fine",), ("headache",)]),
                           ES)
    assert count_colour(mixed, chart.SYMPTOM_COLOUR) == 3 * dot
    assert count_colour(mixed, chart.FINE_COLOUR) == dot


def test_days_without_a_check_in_get_a_grey_band() -> None:
    def grey(missing: int) -> int:
        answers = [()] * missing + [("fine",)] * (14 - missing)
        return count_colour(render_history(window([2] * 14, answers), ES),
                            chart.NO_CHECKIN_COLOUR)

    none_missing, one, two = grey(0), grey(1), grey(2)
    assert none_missing < 100  # only where an edge blends to the same shade
    assert one > 10_000
    assert two > one + 5_000


def test_spanish_accents_render_with_the_bundled_font() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font"
        render_history(SAMPLE, ES)


def test_a_missing_glyph_is_reported_so_the_accent_test_can_fail() -> None:
    cjk = replace(ES, symptoms={**ES.symptoms, "headache": "頭痛"})
    with pytest.warns(UserWarning, match="missing from font"):
        render_history(window([1], [("headache",)]), cjk)


def test_dollar_signs_in_labels_are_text_not_math() -> None:
    dollars = replace(ES, title="$x^$ y", glasses="$x^$", no_checkin="$x^$")
    assert render_history(window([1, 0]), dollars)[:8] == PNG_SIGNATURE


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([], False),
        (window([0] * 14), False),
        (window([0, 0, 1]), True),
        (window([0, 0], [(), ("fine",)]), True),
        (window([0], [("headache",)]), True),
    ],
)
def test_has_data(days: list[HistoryDay], expected: bool) -> None:
    assert has_data(days) is expected


def test_date_labels_use_the_callers_names_and_blank_a_repeated_second_line() -> None:
    labels = replace(ES, date_format="%-d\n%b")
    days = [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)]
    assert day_labels(days, labels) == ["27\nfeb", "28\n", "1\nmar", "2\n"]
    assert day_labels(days, ES) == ["V\n27", "S\n28", "D\n1", "L\n2"]
    assert format_day(date(2026, 3, 5), replace(ES, date_format="%d/%m/%y %Y %%")) == (
        "05/03/26 2026 %")


@pytest.mark.parametrize("bad", ["%B", "%A", "%c", "%x", "%-b", "%H"])
def test_locale_dependent_or_unknown_directives_are_refused_up_front(bad: str) -> None:
    with pytest.raises(ValueError, match="unsupported directive"):
        replace(ES, date_format=bad)


def test_names_are_needed_for_weekday_and_month_directives() -> None:
    with pytest.raises(ValueError, match="unsupported directive '%a'"):
        replace(ES, weekday_names=())
    with pytest.raises(ValueError, match="weekday_names needs 7"):
        replace(ES, weekday_names=("L",))
    with pytest.raises(ValueError, match="month_names needs 12"):
        replace(ES, month_names=("ene",))


def test_labels_keep_their_own_copy_of_the_symptom_names() -> None:
    names = {"fine": "Bien"}
    labels = replace(ES, symptoms=names)
    names["fine"] = "Mal"
    assert labels.symptoms["fine"] == "Bien"
    assert isinstance(hash(labels), int)  # frozen and usable as a cache key


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ([], "at least one day"),
        ([HistoryDay(START, 1), HistoryDay(START, 2)], "oldest first"),
        ([HistoryDay(START, 1), HistoryDay(START - timedelta(days=1), 2)], "oldest first"),
        ([HistoryDay(START, -1)], "negative glasses on 2026-02-20"),
        ([HistoryDay(START, 0, ("dizzy",))], "no label for answer code 'dizzy'"),
    ],
)
def test_bad_input_is_refused(days: list[HistoryDay], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_history(days, ES)


def test_importing_the_module_picks_no_backend_and_loads_no_pyplot() -> None:
    code = ("import sys, matplotlib, reminderbot.chart; "
            "print('matplotlib.pyplot' in sys.modules, "
            "matplotlib.rcParams._get_backend_or_none())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout == "False None\n"
