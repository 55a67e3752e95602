"""Content a clinician would sign: sources named honestly, accurate facts, plain words, first
screens that fit a phone, and the rest one button away (edited in place)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reminderbot import texts
from reminderbot.catalog import CatalogError, load_catalog
from reminderbot.htmltext import plain_text
from reminderbot.messagelint import lint
from reminderbot.testing.botapi import FakeUser
from tests.conftest import BotUnderTest

ROOT = Path(__file__).resolve().parent.parent
FIRST_SCREENS = (texts.INFO, texts.SIDEEFFECTS)
# Self-care tips and emergency signs: general safety guidance, not in the source document.
SELF_CARE = re.compile(
    r"\brest\b|small sips|breathe slowly|worst you've ever had|chest pain|"
    r"descansa|sorbos pequeños|respira despacio|el peor que has tenido|dolor en el pecho",
    re.IGNORECASE,
)
GUIDANCE = (texts.CHECKIN_REPLIES["headache"], texts.CHECKIN_REPLIES["nausea"],
            texts.CHECKIN_REPLIES["sweating"], texts.CHECKIN_REPLIES["anxiety"])


def test_first_screens_fit_a_phone_in_every_language() -> None:
    catalog = load_catalog()
    for language in catalog.languages:
        for key in FIRST_SCREENS:
            lines = plain_text(catalog.render(key, language)).splitlines()
            assert len(lines) <= 12, (language, key.name, len(lines))
            assert max(map(len, lines)) <= 100, (language, key.name)


def test_self_care_and_emergency_signs_name_clinical_safety_as_their_source() -> None:
    catalog = load_catalog()
    for language in catalog.languages:
        found = []
        for key in texts.ALL_KEYS.values():
            entry = catalog.entry(key, language)
            if any(SELF_CARE.search(plain_text(text)) for text in entry.variants):
                found.append(key.name)
                assert "clinical-safety" in entry.sources, (language, key.name)
        assert len(found) == 7, (language, found)


def test_info_says_only_what_the_source_supports() -> None:
    catalog = load_catalog()
    entry = catalog.entry(texts.INFO, "en")
    assert entry.sources == ("summary", "next-day-headaches", "clinical-safety")
    text = plain_text(catalog.render(texts.INFO, "en"))
    assert "Its effects come particularly from mitragynine and 7-hydroxymitragynine." in text
    assert "These compounds act on the body's opioid receptors." in text
    for language in catalog.languages:
        assert "main active" not in catalog.render(texts.INFO, language).lower()
        assert "principales compuestos" not in catalog.render(texts.INFO, language).lower()


def test_taking_more_is_reframed_and_said_once_among_the_check_in_replies() -> None:
    catalog = load_catalog()
    for language, sentence in (
        ("en", "Taking more to chase a symptom away can make things worse and build tolerance."),
        ("es", "Tomar más para quitarte un síntoma puede empeorar las cosas y aumentar la "
               "tolerancia."),
    ):
        replies = [plain_text(catalog.render(key, language)) for key in GUIDANCE]
        assert sum(sentence in reply for reply in replies) == 1, language
        everything = " ".join(
            plain_text(catalog.render(key, language, n, **dict.fromkeys(key.params, "X")))
            for key in texts.ALL_KEYS.values()
            for n in range(catalog.variant_count(key, language))
        )
        assert "to treat it" not in everything and "para intentar que se te pase" not in everything


def test_water_is_named_plainly() -> None:
    catalog = load_catalog()
    for key in texts.ALL_KEYS.values():
        for n in range(catalog.variant_count(key, "en")):
            text = catalog.render(key, "en", n, **dict.fromkeys(key.params, "X"))
            assert not re.search(r"drink something|have a drink", text, re.IGNORECASE), key.name


def test_the_command_menu_does_not_need_the_substances_name() -> None:
    catalog = load_catalog()
    for language in catalog.languages:
        for key in texts.ALL_KEYS.values():
            if key.name.startswith("help.command_"):
                assert "kratom" not in catalog.label(key, language).lower(), (language, key)


def test_every_language_passes_the_lint() -> None:
    catalog, problems = lint()
    assert catalog is not None and catalog.languages == ["en", "es"]
    assert [str(p) for p in problems] == []


def copy_with(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", copy)
    path = copy / "en" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("source: [safe-use, blog]", "'source' must be one of"),
        ("source: [safe-use, safe-use]", "'source' names a section twice"),
        ("source: []", "'source' must be one of"),
    ],
)
def test_a_bad_source_list_names_the_key(tmp_path: Path, new: str, reason: str) -> None:
    copy = copy_with(tmp_path, "sideeffects.yaml", "source: [safe-use, clinical-safety]", new)
    with pytest.raises(CatalogError, match=r"sideeffects\.body .*: " + re.escape(reason)):
        load_catalog(copy)


def test_one_source_or_several(tmp_path: Path) -> None:
    catalog = load_catalog(copy_with(tmp_path, "sideeffects.yaml",
                                     "source: [safe-use, clinical-safety]", "source: safe-use"))
    entry = catalog.entry(texts.SIDEEFFECTS, "en")
    assert (entry.sources, entry.source) == (("safe-use",), "safe-use")
    shipped = load_catalog().entry(texts.SIDEEFFECTS, "en")
    assert (shipped.sources, shipped.source) == (("safe-use", "clinical-safety"), "safe-use")


PAGE_BUTTONS = {
    "What it is", "Side effects", "What helps", "Tolerance", "When to see a provider",
}


async def test_info_pages_turn_in_place(bot: BotUnderTest) -> None:
    [info] = await bot.send("/info")
    assert info.plain_text.splitlines()[0] == "What kratom is"
    assert info.button_texts() == ["Side effects", "What helps", "Tolerance",
                                   "When to see a provider"]
    seen = {"What kratom is"}
    for button, heading in (("Tolerance", "Tolerance"),
                            ("When to see a provider", "When to see a healthcare provider"),
                            ("What helps", "What helps"),
                            ("Side effects", "Possible side effects"),
                            ("What it is", "What kratom is")):
        replies, _ = await bot.press(info, button)
        assert replies == []  # the same message, edited
        assert info.plain_text.splitlines()[0] == heading
        assert button not in info.button_texts()  # no button to the page one is on
        assert set(info.button_texts()) == PAGE_BUTTONS - {button}
        seen.add(heading)
    assert len(seen) == 5
    assert len(bot.chat()) == 1


async def test_sideeffects_opens_on_the_side_effects_in_spanish(bot: BotUnderTest) -> None:
    ana = FakeUser(id=34002, language_code="es")
    [page] = await bot.send("/sideeffects", ana)
    assert page.plain_text.splitlines()[0] == "Posibles efectos secundarios"
    assert page.button_texts() == ["Qué es", "Qué ayuda", "Tolerancia",
                                   "Cuándo ver a un profesional"]
    await bot.press(page, "Qué ayuda", ana)
    assert page.plain_text.splitlines()[0] == "Qué ayuda"
