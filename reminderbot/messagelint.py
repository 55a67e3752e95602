"""Checks an operator runs on the message catalog, and example values for its placeholders.

``lint`` loads the catalog (its own checks come first), then looks at what loading lets
through: a key a language lacks (the bot falls back to the default language), placeholders that
differ between languages, texts over Telegram's length limit with the longest plausible values,
HTML Telegram refuses, unknown source sections, and the claim words listed in ``lint.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import available_timezones

import yaml

from reminderbot import texts
from reminderbot.catalog import (
    DEFAULT_LANGUAGE,
    Catalog,
    CatalogError,
    check_html,
    default_messages_dir,
    load_catalog,
    placeholders,
)
from reminderbot.htmltext import plain_text, telegram_length
from reminderbot.statsreport import example_table
from reminderbot.texts import Key

TELEGRAM_TEXT_LIMIT = 4096  # characters of a message after its HTML is parsed
LINT_FILE = "lint.yaml"


@dataclass(frozen=True)
class Example:
    """What a placeholder typically holds, and the longest value it can plausibly hold."""

    typical: str
    longest: str


_LONGEST_ZONE = max(available_timezones(), key=len)
# A value rendered from another catalog entry (a status word, a button-sized label).
_LABEL = "x" * 64

# Keyed by placeholder name; a new placeholder needs an entry here (`messages --lint` says so).
EXAMPLES: dict[str, Example] = {
    # numbers
    "count": Example("3", "999"),
    "every_hours": Example("3", "24"),
    "hours": Example("3", "24"),
    "times": Example("3", "999"),
    "checkins": Example("7", "9999"),
    "glasses": Example("21", "99999"),
    "glass_days": Example("5", "9999"),
    "schedules": Example("2", "99"),
    "days": Example("14", "366"),
    # times of day and moments, local to the user ("2026-11-25 09:00" when not today)
    "checkin_time": Example("10:00", "23:59"),
    "waking_start": Example("09:00", "23:59"),
    "waking_end": Example("21:00", "23:59"),
    "local_time": Example("10:30", "23:59"),
    "time": Example("12:36", "2026-11-25 23:59"),
    "first_hydration": Example("12:06", "2026-11-25 23:59"),
    # an after-use plan's nudges (PLAN_NUDGES, at most 12)
    "nudge_times": Example("15:00, 16:00, 17:00, 18:00", ", ".join(["2026-11-25 23:59"] * 12)),
    "next_reminder": Example("12:06", "2026-11-25 23:59" + _LABEL),
    "until": Example("2026-11-28 09:00", "2026-11-28 23:59"),
    "since": Example("2026-11-25", "2026-11-25 23:59"),
    "timezone": Example("Europe/Berlin", _LONGEST_ZONE),
    # texts taken from other catalog entries
    "hydration": Example("every 3 hours", _LABEL),
    "checkin": Example("10:00", _LABEL),
    "tolerance": Example("on", _LABEL),
    "language": Example("English", _LABEL),
    "discreet": Example("off", _LABEL),
    "status": Example("reminders on", _LABEL),
    "symptom": Example("headache", _LABEL),
    "symptoms": Example("headache 2, nausea 1", ", ".join([_LABEL + " 999"] * 6)),
    # the admins' /stats table
    "table": Example(example_table(), example_table(longest=True)),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the catalog; ``language``/``key`` are None when it is not one entry."""

    language: str | None
    key: str | None
    reason: str

    def __str__(self) -> str:
        where = " ".join(part for part in (self.language, self.key) if part)
        return f"{where}: {self.reason}" if where else self.reason


def example_params(key: Key, *, longest: bool = False) -> dict[str, str]:
    """Values for every placeholder of ``key``; ``<name>`` for one without an example."""
    values: dict[str, str] = {}
    for name in key.params:
        example = EXAMPLES.get(name)
        if example is None:
            values[name] = f"<{name}>"
        else:
            values[name] = example.longest if longest else example.typical
    return values


def claim_words(messages_dir: Path | None) -> list[str]:
    """The words ``lint.yaml`` forbids; an operator's copy without the file uses the shipped one."""
    candidates = [messages_dir / LINT_FILE] if messages_dir is not None else []
    candidates.append(default_messages_dir() / LINT_FILE)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise CatalogError(f"{candidates[0]} is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot be read as YAML ({type(exc).__name__})") from exc
    words = data.get("claim_words") if isinstance(data, dict) else None
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise CatalogError(f"{path}: needs 'claim_words', a list of words")
    return [w.strip() for w in words]


def claim_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """A case-insensitive pattern matching any of ``words`` as a whole word or phrase."""
    alternatives = sorted((r"\s+".join(map(re.escape, w.split())) for w in words), key=len)
    return re.compile(rf"(?<!\w)(?:{'|'.join(reversed(alternatives))})(?!\w)", re.IGNORECASE)


def lint(messages_dir: Path | None = None) -> tuple[Catalog | None, list[Problem]]:
    """Load and check the catalog; return it (None if it cannot load) and its problems."""
    try:
        catalog = load_catalog(messages_dir)
        pattern = claim_pattern(claim_words(messages_dir))
    except CatalogError as exc:
        return None, [Problem(None, None, str(exc))]
    problems: list[Problem] = []
    for key in texts.ALL_KEYS.values():
        problems += [Problem(None, key.name, f"placeholder {{{name}}} has no example in "
                     "reminderbot/messagelint.py EXAMPLES")
                     for name in sorted(key.params - set(EXAMPLES))]
    for lang in catalog.languages:
        for key in texts.ALL_KEYS.values():
            problems += [Problem(lang, key.name, reason)
                         for reason in entry_problems(catalog, key, lang, pattern)]
    return catalog, problems


def entry_problems(catalog: Catalog, key: Key, lang: str, pattern: re.Pattern[str]) -> list[str]:
    """What is wrong with ``key`` in ``lang``: one reason per problem."""
    entry = catalog.entry(key, lang)
    default = catalog.entry(key, DEFAULT_LANGUAGE)
    if lang != DEFAULT_LANGUAGE and entry is default:
        return [f"missing (users get the {DEFAULT_LANGUAGE} text)"]
    reasons: list[str] = []
    if entry.source not in catalog.sources:
        reasons.append(f"source section {entry.source!r} is not in sources.yaml")
    expected = placeholders(default.variants[0])
    longest = example_params(key, longest=True)
    for number, text in enumerate(entry.variants):
        label = f"variant {number + 1}: " if len(entry.variants) > 1 else ""
        used = placeholders(text)
        if lang != DEFAULT_LANGUAGE and used != expected:
            reasons.append(f"{label}placeholders {sorted(used)} differ from "
                           f"{DEFAULT_LANGUAGE}'s {sorted(expected)}")
        reasons += [f"{label}{problem}" for problem in check_html(text)]
        if used == key.params:
            length = telegram_length(catalog.render(key, lang, number, **longest))
            if length > TELEGRAM_TEXT_LIMIT:
                reasons.append(f"{label}{length} characters with the longest placeholder values; "
                               f"Telegram's limit is {TELEGRAM_TEXT_LIMIT}")
        for word in sorted({m.group(0).lower() for m in pattern.finditer(plain_text(text))}):
            reasons.append(f"{label}says {word!r}, a claim word listed in messages/{LINT_FILE}")
    return reasons
