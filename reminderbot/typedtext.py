"""Reads what a user types (not a command) and says which word list it answers to.

The lists live in ``messages/<lang>/words.yaml`` so operators can edit them. ``classify`` is pure:
it tells the caller the intent; sending the matching text is the caller's job.

Matching: text is normalized (NFKC, casefold, accents and apostrophes dropped, punctuation to
spaces) and split into words. A list word of 5 to 8 letters matches a typed word at edit distance
1, a longer one at distance 2, shorter ones only exactly; a fuzzy match must keep the first letter.
Emergency and support entries match as consecutive words anywhere in the message; stop and help
entries only when they are the whole message, give or take the ``filler`` words at either end.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz.distance import Levenshtein

from reminderbot.catalog import DEFAULT_LANGUAGE, CatalogError

WORDS_FILE = "words.yaml"
MAX_CHARS = 4096  # Telegram's own message limit; anything longer is cut before matching

# Typographic apostrophes and accents people type in place of "'".
_APOSTROPHES = str.maketrans(
    dict.fromkeys("\u2019\u2018`\u00b4\u02bc\u02bb\u02b9\u2032\uff07", "'")
)
# The words whose English contraction may arrive split at the apostrophe: "he s", "you re".
_PRONOUNS = frozenset("i you he she it we they that there what who".split())
# A stop or help message longer than this many words is never "just that word".
_MAX_WHOLE_WORDS = 24


class Intent(StrEnum):
    """What typed text asks for, in the order it is checked."""

    EMERGENCY = "emergency"
    SUPPORT = "support"
    STOP = "stop"
    HELP = "help"


Phrase = tuple[str, ...]


def words(text: str) -> Phrase:
    """The normalized words of ``text``: ``"I CAN'T breathe!!"`` -> ``("i", "cant", "breathe")``."""
    # Apostrophes first: NFKC would turn an acute accent used as one into a combining mark.
    folded = unicodedata.normalize("NFKC", text[:MAX_CHARS].translate(_APOSTROPHES)).casefold()
    bare = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    spaced = "".join(c if c.isalnum() else " " for c in bare.replace("'", ""))
    out: list[str] = []
    for word in spaced.split():
        if out and _contraction(out[-1], word):
            out[-1] += word  # "can t" reads as "cant", as "can't" does
        else:
            out.append(word)
    return tuple(out)


def _contraction(before: str, tail: str) -> bool:
    """Whether ``before tail`` is a contraction split at its apostrophe ("don t", "i m")."""
    if tail == "t":
        return before.endswith("n") and before.isalpha()
    if tail == "m":
        return before == "i"
    return tail in ("s", "d", "ll", "ve", "re") and before in _PRONOUNS


def _tolerance(word: str) -> int:
    """How many edits a typed word may be away from the list word ``word``."""
    return 2 if len(word) >= 9 else 1 if len(word) >= 5 else 0


def _same(typed: str, word: str) -> bool:
    """Whether the typed word reads as the list word ``word`` (see the module docstring)."""
    if typed == word:
        return True
    limit = _tolerance(word)
    if limit == 0 or typed[:1] != word[:1] or abs(len(typed) - len(word)) > limit:
        return False
    return Levenshtein.distance(typed, word, score_cutoff=limit) <= limit


@dataclass(frozen=True)
class WordLists:
    """One language's word lists, as written in its ``words.yaml``."""

    emergency: tuple[str, ...]
    support: tuple[str, ...]
    stop: tuple[str, ...]
    help: tuple[str, ...]
    filler: tuple[str, ...]  # may stand before or after a stop or help word
    _phrases: Mapping[str, tuple[Phrase, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        phrases: dict[str, tuple[Phrase, ...]] = {}
        for name in LIST_NAMES:
            normalized = tuple(words(entry) for entry in getattr(self, name))
            if not normalized or not all(normalized):
                raise ValueError(f"'{name}' needs entries that each have a word in them")
            phrases[name] = normalized
        object.__setattr__(self, "_phrases", phrases)

    def entries(self, intent: Intent) -> tuple[str, ...]:
        """The entries of the list for ``intent``, as written."""
        return tuple(getattr(self, intent.value))

    def phrases(self, name: str) -> tuple[Phrase, ...]:
        """The normalized entries of list ``name`` (an intent's value or ``"filler"``)."""
        return self._phrases[name]


# The lists every words.yaml must have, in file order.
LIST_NAMES: tuple[str, ...] = tuple(f.name for f in fields(WordLists) if f.init)


def load_word_lists(messages_dir: Path) -> dict[str, WordLists]:
    """Each language's lists from ``<messages_dir>/<lang>/words.yaml``; English must have one.

    Raises ``CatalogError`` naming the file (and list) at fault.
    """
    found: dict[str, WordLists] = {}
    for lang_dir in sorted(p for p in messages_dir.iterdir() if p.is_dir()):
        path = lang_dir / WORDS_FILE
        if not lang_dir.name.startswith(".") and path.is_file():
            found[lang_dir.name] = _read_word_lists(path)
    if DEFAULT_LANGUAGE not in found:
        raise CatalogError(f"{messages_dir / DEFAULT_LANGUAGE / WORDS_FILE} is missing")
    return found


def _read_word_lists(path: Path) -> WordLists:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot be read as YAML ({exc.__class__.__name__})") from exc
    names = ", ".join(LIST_NAMES)
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected the lists {names}")
    unknown = sorted(str(name) for name in data if name not in LIST_NAMES)
    if unknown:
        raise CatalogError(f"{path}: unknown list '{unknown[0]}' (lists: {names})")
    lists: dict[str, tuple[str, ...]] = {}
    for name in LIST_NAMES:
        raw = data.get(name)
        if not isinstance(raw, list) or not raw:
            raise CatalogError(f"{path}: '{name}' must be a list with at least one entry")
        for number, entry in enumerate(raw, start=1):
            if not isinstance(entry, str):
                raise CatalogError(
                    f"{path}: '{name}' entry {number} must be text (put {entry!r} in quotes)"
                )
            if not words(entry):
                raise CatalogError(f"{path}: '{name}' entry {number} has no word in it")
        lists[name] = tuple(raw)
    return WordLists(**lists)


class _Positions:
    """Where each list word occurs in a message, worked out once per distinct typed word."""

    def __init__(self, typed: Phrase) -> None:
        self._at: dict[str, list[int]] = {}
        for index, word in enumerate(typed):
            self._at.setdefault(word, []).append(index)
        self._by_initial: dict[str, list[str]] = {}
        for word in self._at:
            self._by_initial.setdefault(word[0], []).append(word)
        self._cache: dict[str, frozenset[int]] = {}

    def of(self, word: str) -> frozenset[int]:
        """The indexes of the typed words that read as ``word``."""
        cached = self._cache.get(word)
        if cached is None:
            candidates = self._by_initial.get(word[0], ())  # a fuzzy match keeps the first letter
            cached = self._cache[word] = frozenset(
                index for typed in candidates if _same(typed, word) for index in self._at[typed]
            )
        return cached

    def contains(self, phrase: Phrase) -> bool:
        """Whether ``phrase`` occurs as consecutive words."""
        first = self.of(phrase[0])
        rest = [self.of(word) for word in phrase[1:]] if first else []
        return any(all(start + 1 + i in hits for i, hits in enumerate(rest)) for start in first)


def _strip_filler(typed: Phrase, filler: Iterable[Phrase]) -> Phrase:
    """``typed`` without filler phrases at either end."""
    fillers = tuple(filler)
    changed = True
    while typed and changed:
        changed = False
        for phrase in fillers:
            size = len(phrase)
            if len(typed) >= size and all(map(_same, typed[:size], phrase)):
                typed, changed = typed[size:], True
            if len(typed) >= size and all(map(_same, typed[-size:], phrase)):
                typed, changed = typed[:-size], True
    return typed


def _is_whole(typed: Phrase, phrases: Iterable[Phrase]) -> bool:
    return any(len(p) == len(typed) and all(map(_same, typed, p)) for p in phrases)


def classify(text: str, lists: WordLists, fallback: WordLists | None = None) -> Intent | None:
    """The intent of typed ``text`` per the user's ``lists`` and the ``fallback`` (English) ones.

    Checks emergency, support, stop, help in that order, each in ``lists`` then ``fallback``;
    ``None`` when nothing matches. Never raises for any text; only its first 4096 characters count.
    """
    typed = words(text)
    if not typed:
        return None
    sources: Sequence[WordLists] = (
        (lists,) if fallback is None or fallback is lists else (lists, fallback)
    )
    positions = _Positions(typed)
    for intent in (Intent.EMERGENCY, Intent.SUPPORT):
        if any(positions.contains(p) for source in sources for p in source.phrases(intent)):
            return intent
    if len(typed) > _MAX_WHOLE_WORDS:
        return None
    core = _strip_filler(typed, (p for source in sources for p in source.phrases("filler")))
    for intent in (Intent.STOP, Intent.HELP):
        if any(_is_whole(core, source.phrases(intent)) for source in sources):
            return intent
    return None
