"""The message catalog: complete, checked at load, and within the content rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from reminderbot import texts
from reminderbot.catalog import CatalogError, load_catalog

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "seeds" / "000_910a8c14e4a6f1a8.txt"


def rendered() -> dict[str, list[str]]:
    catalog = load_catalog()
    out = {}
    for key in texts.ALL_KEYS.values():
        params = {name: "X" for name in key.params}
        out[key.name] = [catalog.render(key, "en", v, **params)
                         for v in range(catalog.variant_count(key))]
    return out


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", copy)
    path = copy / "en" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return copy


def test_every_key_loads_and_names_a_known_source_section() -> None:
    catalog = load_catalog()
    for key in texts.ALL_KEYS.values():
        assert catalog.entry(key).source in catalog.sources


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        ("stop.yaml", "stop.done:", "stop.finished:", "stop.finished"),
        ("hydration.yaml", "{count}", "{glasses}", "hydration.thanks"),
        ("info.yaml", "source: ", "source: blog-", "info.body"),
        ("help.yaml", "<b>", "<blink>", "help.body"),
    ],
)
def test_a_broken_catalog_names_the_key(tmp_path: Path, file: str, old: str, new: str,
                                        named: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(named)):
        load_catalog(broken_copy(tmp_path, file, old, new))


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", copy)
    path = copy / "en" / "general.yaml"
    data = yaml.safe_load(path.read_text())
    del data["general.unknown"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(CatalogError, match=r"general\.unknown"):
        load_catalog(copy)


def test_hydration_reminders_rotate_among_several_wordings() -> None:
    assert len(set(rendered()["hydration.reminder"])) >= 4


PROMOTIONAL = re.compile(
    r"less addictive|natural remedy|natural (alternative|solution)|safer|risk[- ]free|\bcures?\b|"
    r"relie(f|ve)|effective|holistic|recommended dose|start (with )?low|gradually increase",
    re.IGNORECASE,
)


def test_no_promotion_no_efficacy_no_dose_advice() -> None:
    for key, variants in rendered().items():
        for text in variants:
            assert not PROMOTIONAL.search(text), (key, PROMOTIONAL.search(text))


@pytest.mark.parametrize("key", ["info.body", "sideeffects.body", "checkin.reply_headache",
                                 "checkin.reply_nausea", "checkin.reply_sweating",
                                 "checkin.reply_anxiety", "checkin.reply_other"])
def test_guidance_points_to_a_provider_and_emergency_help(key: str) -> None:
    [text] = rendered()[key]
    lower = text.lower()
    assert "provider" in lower and "emergency number" in lower and "not medical advice" in lower


def test_start_says_it_is_not_medical_advice() -> None:
    assert "not medical advice" in rendered()["start.welcome"][0].lower()


@pytest.mark.skipif(not SOURCE.exists(), reason="the source document is not beside the repo")
def test_no_sentence_of_the_source_is_copied() -> None:
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9-]+", re.sub(r"<[^>]+>", " ", text.lower()))

    source = words(SOURCE.read_text())
    source_runs = {" ".join(source[i:i + 6]) for i in range(len(source) - 5)}
    for key, variants in rendered().items():
        for text in variants:
            mine = words(text)
            copied = {" ".join(mine[i:i + 6]) for i in range(len(mine) - 5)} & source_runs
            assert not copied, (key, copied)
