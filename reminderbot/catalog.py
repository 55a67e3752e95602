"""Loads the message catalog in ``messages/`` and renders its entries.

Layout: ``messages/sources.yaml`` names the sections of the source document;
``messages/<lang>/<topic>.yaml`` maps keys (``<topic>.<name>``) to entries:

    start.welcome:
      source: safe-use          # a section from sources.yaml, or a list of them
      text: |
        Hello ...               # Telegram HTML; placeholders as {name}

An entry that rotates has ``variants:`` (a list of texts) instead of ``text:``.
``{emergency}`` in any text becomes the emergency help of ``messages/emergency.yaml`` for that
language, when the catalog loads.
"""

from __future__ import annotations

import html
import logging
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from reminderbot import texts
from reminderbot.emergency import (
    EMERGENCY_FILE,
    EmergencyError,
    EmergencyHelp,
    emergency_path,
    for_language,
    load_emergency,
)
from reminderbot.texts import Key

DEFAULT_LANGUAGE = "en"
# Files in a language folder that hold data, not message entries (the typed-word lists).
DATA_FILES = frozenset({"words.yaml"})

log = logging.getLogger(__name__)

# Tags Telegram's HTML parse mode accepts.
_TELEGRAM_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)


class CatalogError(Exception):
    """The catalog cannot be used; the message names the file or key at fault."""


@dataclass(frozen=True)
class Entry:
    """One catalog entry: its variants (one unless it rotates) and its source sections."""

    key: str
    variants: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def source(self) -> str:
        """The first (main) source section."""
        return self.sources[0]


class _TagChecker(HTMLParser):
    """Collects what Telegram would refuse in an HTML text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"closing tag </{tag}> does not match")
        else:
            self.open.pop()


def check_html(text: str) -> list[str]:
    """Return what is wrong with ``text`` as Telegram HTML (empty when it is fine)."""
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    problems = list(checker.problems)
    if checker.open:
        problems.append(f"tag <{checker.open[-1]}> is never closed")
    bare = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").replace("&quot;", "")
    if "&" in bare:
        problems.append("a bare '&' must be written &amp;")
    return problems


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders used in ``text``."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


class Catalog:
    """The loaded, checked catalog: renders a key for a language and a variant."""

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, Entry]],
        sources: Mapping[str, str],
        emergency: Mapping[str, EmergencyHelp] | None = None,
    ):
        self._entries = entries
        self.sources = sources
        # The emergency help each language's texts were filled in with (emergency.yaml).
        self.emergency: Mapping[str, EmergencyHelp] = emergency or {}

    @property
    def languages(self) -> list[str]:
        """Languages present in the catalog, the default first."""
        return sorted(self._entries, key=lambda lang: (lang != DEFAULT_LANGUAGE, lang))

    def resolve_language(self, language_code: str | None) -> str:
        """The catalog language to use for a Telegram language code such as ``pt-br``."""
        if language_code:
            code = language_code.lower()
            for candidate in (code, code.split("-")[0]):
                if candidate in self._entries:
                    return candidate
        return DEFAULT_LANGUAGE

    def entry(self, key: Key, language: str | None = None) -> Entry:
        """The entry for ``key`` in ``language``, falling back to the default language."""
        lang = self.resolve_language(language)
        found = self._entries[lang].get(key.name)
        return found if found is not None else self._entries[DEFAULT_LANGUAGE][key.name]

    def variant_count(self, key: Key, language: str | None = None) -> int:
        """How many wordings ``key`` has (rotating keys have several)."""
        return len(self.entry(key, language).variants)

    def render(
        self, key: Key, language: str | None = None, variant: int = 0, /, **params: object
    ) -> str:
        """Render ``key`` as Telegram HTML; every parameter value is HTML-escaped."""
        if set(params) != key.params:
            raise TypeError(f"{key.name} takes {sorted(key.params)}, got {sorted(params)}")
        variants = self.entry(key, language).variants
        template = variants[variant % len(variants)]
        escaped = {name: html.escape(str(value), quote=False) for name, value in params.items()}
        return template.format_map(escaped).strip()

    def label(self, key: Key, language: str | None = None) -> str:
        """A button label or command description: plain text, no placeholders."""
        return self.render(key, language)


def default_messages_dir() -> Path:
    """``messages/`` shipped inside the package, or beside it in a source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "messages", package.parent / "messages"):
        if (candidate / "sources.yaml").is_file():
            return candidate
    raise CatalogError(f"no messages/ directory found near {package}")


def load_catalog(directory: Path | None = None, keys: Iterable[Key] | None = None) -> Catalog:
    """Load and check the catalog; raise ``CatalogError`` naming the first key at fault."""
    root = directory if directory is not None else default_messages_dir()
    wanted = {key.name: key for key in (keys if keys is not None else texts.ALL_KEYS.values())}
    sources = _load_sources(root / "sources.yaml")
    languages = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not any(p.name == DEFAULT_LANGUAGE for p in languages):
        raise CatalogError(f"{root}: no {DEFAULT_LANGUAGE}/ folder")
    try:
        numbers = load_emergency(emergency_path(root, _shipped_dir()))
        emergency = {
            p.name: for_language(numbers, p.name, DEFAULT_LANGUAGE) for p in languages
        }
    except EmergencyError as exc:
        raise CatalogError(str(exc)) from exc
    entries: dict[str, dict[str, Entry]] = {}
    for lang_dir in languages:
        entries[lang_dir.name] = _load_language(
            lang_dir, wanted, sources, emergency[lang_dir.name].words()
        )
    missing = sorted(set(wanted) - set(entries[DEFAULT_LANGUAGE]))
    if missing:
        raise CatalogError(f"message key {missing[0]} is missing from {root / DEFAULT_LANGUAGE}")
    for lang, found in entries.items():
        gaps = sorted(set(wanted) - set(found))
        if gaps:
            log.warning(
                "%d message keys missing in %s/ fall back to %s, e.g. %s",
                len(gaps), lang, DEFAULT_LANGUAGE, gaps[0],
            )
    return Catalog(entries, sources, emergency)


def _shipped_dir() -> Path:
    """Where the shipped ``emergency.yaml`` is, for an operator's copy made before it existed."""
    try:
        return default_messages_dir()
    except CatalogError:
        raise CatalogError(f"{EMERGENCY_FILE} is missing") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot be read as YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping of keys to entries")
    return data


def _load_sources(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise CatalogError(f"{path} is missing")
    sections = _read_yaml(path).get("sections")
    if not isinstance(sections, dict) or not sections:
        raise CatalogError(f"{path}: needs a 'sections' mapping")
    return {str(name): str(title) for name, title in sections.items()}


def _load_language(
    lang_dir: Path, wanted: Mapping[str, Key], sources: Mapping[str, str], emergency: str
) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for path in sorted(lang_dir.glob("*.yaml")):
        if path.name in DATA_FILES:
            continue
        for name, raw in _read_yaml(path).items():
            name = str(name)
            where = f"message key {name} ({path})"
            if name in entries:
                raise CatalogError(f"{where}: defined twice")
            if name.split(".", 1)[0] != path.stem:
                raise CatalogError(f"{where}: belongs in {name.split('.', 1)[0]}.yaml")
            key = wanted.get(name)
            if key is None:
                raise CatalogError(f"{where}: not a key the bot uses")
            entries[name] = _parse_entry(key, raw, where, sources, emergency)
    return entries


def _parse_sources(raw: Any, where: str, sources: Mapping[str, str]) -> tuple[str, ...]:
    """``source:`` is one section id or a list of them, each one of ``sources``."""
    named = raw if isinstance(raw, list) else [raw]
    if not named or any(not isinstance(s, str) or s not in sources for s in named):
        raise CatalogError(
            f"{where}: 'source' must be one of {sorted(sources)}, or a list of them"
        )
    if len(set(named)) != len(named):
        raise CatalogError(f"{where}: 'source' names a section twice")
    return tuple(named)


def _parse_entry(
    key: Key, raw: Any, where: str, sources: Mapping[str, str], emergency: str
) -> Entry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected 'source' and 'text' (or 'variants')")
    named = _parse_sources(raw.get("source"), where, sources)
    if key.rotates:
        variants = raw.get("variants")
        if not isinstance(variants, list) or len(variants) < 2:
            raise CatalogError(f"{where}: needs 'variants', a list of at least two texts")
    else:
        variants = [raw.get("text")]
    for text in variants:
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}: empty text")
    # The operator's emergency help goes in before anything is checked.
    variants = [text.replace("{" + texts.EMERGENCY_PLACEHOLDER + "}", emergency)
                for text in variants]
    for text in variants:
        used = placeholders(text)
        if used != key.params:
            raise CatalogError(
                f"{where}: placeholders {sorted(used)} do not match {sorted(key.params)}"
            )
        problems = check_html(text)
        if problems:
            raise CatalogError(f"{where}: {problems[0]}")
    return Entry(key.name, tuple(variants), named)
