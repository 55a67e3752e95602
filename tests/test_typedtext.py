"""Typed text: which word list a message answers to, with the shipped English and Spanish lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminderbot.catalog import CatalogError
from reminderbot.typedtext import (
    LIST_NAMES,
    MAX_CHARS,
    Intent,
    WordLists,
    classify,
    load_word_lists,
    words,
)

MESSAGES = Path(__file__).resolve().parent.parent / "messages"
LISTS = load_word_lists(MESSAGES)
EN = LISTS["en"]
ES = LISTS["es"]


def test_english_and_spanish_lists_are_shipped() -> None:
    assert sorted(LISTS) == ["en", "es"]


# Every entry of every shipped list reads as its own intent: as the caller uses it (the user's
# language with English behind it) and on its own.
@pytest.mark.parametrize("intent", list(Intent))
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_entry_of_the_list_is_its_intent(language: str, intent: Intent) -> None:
    lists = LISTS[language]
    entries = lists.entries(intent)
    assert entries
    assert [e for e in entries if classify(e, lists, EN) is not intent] == []
    assert [e for e in entries if classify(e, lists) is not intent] == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_filler_alone_is_nothing(language: str) -> None:
    lists = LISTS[language]
    assert [e for e in lists.filler if classify(e, lists, EN) is not None] == []


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("I can't breathe", "en", Intent.EMERGENCY),
        ("i cant breathe!!", "en", Intent.EMERGENCY),
        ("I can\u2019t breathe", "en", Intent.EMERGENCY),
        ("i can t breath", "en", Intent.EMERGENCY),
        ("CHEST PAIN", "en", Intent.EMERGENCY),
        ("overdoze", "en", Intent.EMERGENCY),
        ("emergancy", "en", Intent.EMERGENCY),
        ("my friend passed out and won\u2019t wake up", "en", Intent.EMERGENCY),
        ("help, I can't breathe", "en", Intent.EMERGENCY),
        ("I want to quit but now I can't breathe", "en", Intent.EMERGENCY),
        ("I want to quit", "en", Intent.SUPPORT),
        ("how do I quit kratom?", "en", Intent.SUPPORT),
        ("stop, I want to quit", "en", Intent.SUPPORT),
        ("STOP", "en", Intent.STOP),
        ("/stop", "en", Intent.STOP),
        ("Stop please!", "en", Intent.STOP),
        ("unsubscribe", "en", Intent.STOP),
        ("unsubscibe", "en", Intent.STOP),
        ("stop talking", "en", Intent.STOP),
        ("Help", "en", Intent.HELP),
        ("help?", "en", Intent.HELP),
        ("hi, help please", "en", Intent.HELP),
        ("parar", "es", Intent.STOP),
        ("basta", "es", Intent.STOP),
        ("Para, por favor", "es", Intent.STOP),
        ("no puedo respirar", "es", Intent.EMERGENCY),
        ("NO PUEDO RESPIRAR!!", "es", Intent.EMERGENCY),
        ("tengo dolor en el pecho", "es", Intent.EMERGENCY),
        ("quiero dejarlo", "es", Intent.SUPPORT),
        ("ayuda", "es", Intent.HELP),
        ("Ayúdame", "es", Intent.HELP),
        ("ayudame por favor", "es", Intent.HELP),
        # Spanish speakers also reach the English lists.
        ("unsubscribe", "es", Intent.STOP),
        ("help", "es", Intent.HELP),
        ("overdose", "es", Intent.EMERGENCY),
    ],
)
def test_examples(text: str, language: str, intent: Intent) -> None:
    assert classify(text, LISTS[language], EN) is intent


@pytest.mark.parametrize(
    "text",
    [
        "how do I stop feeling sick",
        "hello",
        "Berlin",
        "stopwatch",
        "I helped",
        "help wanted",
        "subscribe",
        "don't stop the reminders",
        "in addition to that",
        "I looked it up",
        "I'm doing fine",
        "I backed out",
        "I can breathe fine",
        "the chest of drawers was a pain to move",
        "this is confusing",
        "that's odd",
        "paper",
        "please",
        "09:30",
        "",
        "?!",
        "🙂",
    ],
)
def test_everyday_english_is_nothing(text: str) -> None:
    assert classify(text, EN, EN) is None


@pytest.mark.parametrize(
    "text",
    ["quiero saber más", "hola", "Madrid", "para mañana", "me duele la cabeza", "gracias"],
)
def test_everyday_spanish_is_nothing(text: str) -> None:
    assert classify(text, ES, EN) is None


def test_a_spanish_word_does_not_reach_an_english_user_without_spanish_lists() -> None:
    assert classify("ayuda", EN) is None
    assert classify("ayuda", ES) is Intent.HELP


def test_only_the_first_4096_characters_count() -> None:
    pad = "x" * (MAX_CHARS - len(" overdose"))
    assert classify(pad + " overdose", EN) is Intent.EMERGENCY
    assert classify("x" + pad + " overdose", EN) is Intent.EMERGENCY  # "overdos": one letter off
    assert classify("xx" + pad + " overdose", EN) is None  # "overdo": two letters off
    assert classify("x" * MAX_CHARS + " overdose", EN) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can\u2019t BREATHE!!", ("i", "cant", "breathe")),
        ("can t", ("cant",)),
        ("I m sure he s fine, you re right", ("im", "sure", "hes", "fine", "youre", "right")),
        ("vitamin d, plan b", ("vitamin", "d", "plan", "b")),
        ("he\u00b4s", ("hes",)),
        ("Ayúdame, por favor", ("ayudame", "por", "favor")),
        ("STRAẞE", ("strasse",)),
        ("ﬁne\u00a0\t\n\uff11\uff12", ("fine", "12")),
        ("", ()),
    ],
)
def test_words(text: str, expected: tuple[str, ...]) -> None:
    assert words(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=()), max_size=5000))
def test_any_text_gives_an_intent_or_none(text: str) -> None:
    assert classify(text, ES, EN) in (*Intent, None)


# Three letters or more: a lone "t" or "s" after the phrase could read as a split contraction.
surrounding = st.lists(st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"),
                               min_size=3, max_size=12), max_size=40)
separator = st.sampled_from([" ", ", ", "! ", "\n", " - ", "... "])


@given(
    language=st.sampled_from(["en", "es"]),
    data=st.data(),
    before=surrounding,
    after=surrounding,
    sep=separator,
    shout=st.booleans(),
)
def test_an_emergency_phrase_is_found_among_other_words(
    language: str, data: st.DataObject, before: list[str], after: list[str], sep: str,
    shout: bool,
) -> None:
    phrase = data.draw(st.sampled_from(LISTS[language].emergency))
    text = sep.join([*before, phrase.upper() if shout else phrase, *after])
    assert classify(text, LISTS[language], EN) is Intent.EMERGENCY


@given(
    language=st.sampled_from(["en", "es"]),
    data=st.data(),
    letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
)
def test_one_wrong_letter_after_the_first_still_matches(
    language: str, data: st.DataObject, letter: str
) -> None:
    lists = LISTS[language]
    phrase = data.draw(st.sampled_from(
        [p for p in lists.phrases("emergency") + lists.phrases("support") if max(map(len, p)) >= 5]
    ))
    index = data.draw(st.sampled_from([i for i, word in enumerate(phrase) if len(word) >= 5]))
    word = phrase[index]
    spot = data.draw(st.integers(1, len(word) - 1))
    typo = word[:spot] + letter + word[spot + 1:]
    text = " ".join((*phrase[:index], typo, *phrase[index + 1:]))
    expected = Intent.EMERGENCY if phrase in lists.phrases("emergency") else Intent.SUPPORT
    assert classify(text, lists) is expected


def test_a_wrong_first_letter_or_a_short_word_must_be_exact() -> None:
    assert classify("averdose", EN) is None
    assert classify("chest pein", EN) is None  # "pain" has 4 letters
    assert classify("stap", EN) is None


def write(tmp_path: Path, language: str, text: str) -> Path:
    (tmp_path / language).mkdir(parents=True, exist_ok=True)
    path = tmp_path / language / "words.yaml"
    path.write_text(text, encoding="utf-8")
    return path


VALID = "".join(f"{name}:\n  - {name} word\n" for name in LIST_NAMES)


def test_a_language_without_words_yaml_is_left_out(tmp_path: Path) -> None:
    write(tmp_path, "en", VALID)
    (tmp_path / "fr").mkdir()
    loaded = load_word_lists(tmp_path)
    assert list(loaded) == ["en"]
    assert loaded["en"] == WordLists(*((f"{name} word",) for name in LIST_NAMES))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (VALID.replace("help:\n  - help word\n", ""),
         "'help' must be a list with at least one entry"),
        (VALID.replace("stop:\n  - stop word\n", "stop: []\n"),
         "'stop' must be a list with at least one entry"),
        (VALID.replace("stop:\n  - stop word\n", "stop: stop\n"),
         "'stop' must be a list with at least one entry"),
        (VALID + "  - no\n", "'filler' entry 2 must be text (put False in quotes)"),
        (VALID.replace("- support word", "- '?!'"), "'support' entry 1 has no word in it"),
        (VALID.replace("- support word", "- ''"), "'support' entry 1 has no word in it"),
        (VALID + "emergncy:\n  - x\n",
         "unknown list 'emergncy' (lists: emergency, support, stop, help, filler)"),
        ("- stop\n", "expected the lists emergency, support, stop, help, filler"),
        ("stop: [unclosed\n", "cannot be read as YAML (ParserError)"),
    ],
)
def test_a_broken_words_file_is_named(tmp_path: Path, text: str, problem: str) -> None:
    write(tmp_path, "en", VALID)
    path = write(tmp_path, "es", text)
    with pytest.raises(CatalogError) as caught:
        load_word_lists(tmp_path)
    assert str(caught.value) == f"{path}: {problem}"


def test_english_lists_are_required(tmp_path: Path) -> None:
    write(tmp_path, "es", VALID)
    with pytest.raises(CatalogError) as caught:
        load_word_lists(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'en' / 'words.yaml'} is missing"
