"""Emergency help as operator data: ``messages/emergency.yaml``, one entry per language.

Wherever a message mentions emergency help it says ``{emergency}``; the catalog puts in the
words for the user's language when it loads: the emergency number the operator filled in (with
the poison centre's, if any), or "your local emergency number" until they do.

    en:
      emergency_number: "112"
      poison_centre: ""
      without_number: your local emergency number
      with_poison_centre: "{emergency} (poison centre: {poison_centre})"
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EMERGENCY_FILE = "emergency.yaml"
_FIELDS = ("emergency_number", "poison_centre", "without_number", "with_poison_centre")


class EmergencyError(ValueError):
    """``emergency.yaml`` cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class EmergencyHelp:
    """One language's emergency numbers and how they read after "call"."""

    emergency_number: str
    poison_centre: str
    without_number: str
    with_poison_centre: str

    @property
    def filled_in(self) -> bool:
        """True once the operator has put in an emergency number."""
        return bool(self.emergency_number)

    def words(self) -> str:
        """What ``{emergency}`` becomes, as Telegram HTML (plain text, escaped)."""
        words = self.emergency_number or self.without_number
        if self.poison_centre:
            words = self.with_poison_centre.format(
                emergency=words, poison_centre=self.poison_centre
            )
        return html.escape(words, quote=False)


def emergency_path(messages_dir: Path, shipped_dir: Path) -> Path:
    """The operator's ``emergency.yaml``, or the shipped one when their copy has none."""
    own = messages_dir / EMERGENCY_FILE
    return own if own.is_file() else shipped_dir / EMERGENCY_FILE


def load_emergency(path: Path) -> dict[str, EmergencyHelp]:
    """Every language's entry; raise ``EmergencyError`` naming the first field at fault."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EmergencyError(f"{path}: cannot be read as YAML ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or not data:
        raise EmergencyError(f"{path}: expected one entry per language (en: ..., es: ...)")
    return {str(lang): _parse(entry, f"{path} ({lang})") for lang, entry in data.items()}


def _parse(entry: Any, where: str) -> EmergencyHelp:
    if not isinstance(entry, dict):
        raise EmergencyError(f"{where}: expected the fields {', '.join(_FIELDS)}")
    unknown = sorted(set(map(str, entry)) - set(_FIELDS))
    if unknown:
        raise EmergencyError(f"{where}: unknown field {unknown[0]}")
    values = {name: "" if entry.get(name) is None else str(entry[name]).strip()
              for name in _FIELDS}
    if not values["without_number"]:
        raise EmergencyError(f"{where}: without_number is empty (the words for "
                             "\"your local emergency number\")")
    template = values["with_poison_centre"]
    if "{emergency}" not in template or "{poison_centre}" not in template:
        raise EmergencyError(f"{where}: with_poison_centre must hold {{emergency}} and "
                             "{poison_centre}")
    bare = {**values, "with_poison_centre": template.replace("{emergency}", "").replace(
        "{poison_centre}", "")}
    for name, value in bare.items():
        if "{" in value or "}" in value:
            raise EmergencyError(f"{where}: {name} may not contain curly braces")
    return EmergencyHelp(**values)


def for_language(entries: Mapping[str, EmergencyHelp], language: str,
                 default: str) -> EmergencyHelp:
    """The entry for ``language``, else the default language's."""
    found = entries.get(language) or entries.get(default)
    if found is None:
        raise EmergencyError(f"{EMERGENCY_FILE} has no entry for {language} or {default}")
    return found
