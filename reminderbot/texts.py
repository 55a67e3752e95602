"""Every message key the code uses, with the placeholders each one takes.

The catalog in ``messages/`` must define exactly these keys with exactly these
placeholders; ``catalog.load_catalog`` checks it at start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A message key and the names of the placeholders its text uses."""

    name: str
    params: frozenset[str] = frozenset()
    rotates: bool = False  # True: the entry holds several variants that take turns

    def __str__(self) -> str:
        return self.name


def _key(name: str, *params: str, rotates: bool = False) -> Key:
    key = Key(name, frozenset(params), rotates)
    ALL_KEYS[name] = key
    return key


ALL_KEYS: dict[str, Key] = {}

# start.yaml
WELCOME = _key("start.welcome")
WELCOME_ACTIVE = _key("start.already_active")
WELCOME_BACK = _key("start.welcome_back")
CONSENT_YES = _key("start.button_yes")
CONSENT_NO = _key("start.button_no")
RESUME_YES = _key("start.button_resume")
RESUME_NO = _key("start.button_not_now")
CONSENT_DONE = _key(
    "start.consent_done", "first_hydration", "checkin_time", "timezone", "every_hours",
    "waking_start", "waking_end",
)
CONSENT_DECLINED = _key("start.consent_declined")

# info.yaml
INFO = _key("info.body")
INFO_BUTTON_SIDEEFFECTS = _key("info.button_sideeffects")

# sideeffects.yaml
SIDEEFFECTS = _key("sideeffects.body")

# help.yaml
HELP = _key("help.body")
COMMAND_START = _key("help.command_start")
COMMAND_INFO = _key("help.command_info")
COMMAND_SIDEEFFECTS = _key("help.command_sideeffects")
COMMAND_HELP = _key("help.command_help")
COMMAND_STOP = _key("help.command_stop")

# stop.yaml
STOP_DONE = _key("stop.done")
STOP_NOTHING = _key("stop.nothing_to_stop")

# hydration.yaml
HYDRATION_REMINDER = _key("hydration.reminder", rotates=True)
HYDRATION_BUTTON_DONE = _key("hydration.button_done")
HYDRATION_THANKS = _key("hydration.thanks", "count")

# checkin.yaml
CHECKIN_QUESTION = _key("checkin.question")
CHECKIN_ANSWERS = ("fine", "headache", "nausea", "sweating", "anxiety", "other")
CHECKIN_BUTTONS = {code: _key(f"checkin.button_{code}") for code in CHECKIN_ANSWERS}
CHECKIN_REPLIES = {code: _key(f"checkin.reply_{code}") for code in CHECKIN_ANSWERS}

# general.yaml
UNKNOWN_TEXT = _key("general.unknown")
PRIVATE_ONLY = _key("general.private_only")
BUTTON_EXPIRED = _key("general.button_expired")
ERROR = _key("general.error")
