"""Inline keyboards and the callback data their buttons carry (labels come from the catalog)."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from reminderbot import texts
from reminderbot.catalog import Catalog
from reminderbot.partners import partner_code
from reminderbot.preferences import HYDRATION_CHOICES

if TYPE_CHECKING:
    from reminderbot.zones import ZoneOption

CONSENT_YES = "consent:yes"
# "consent:yes:<partner code>" carries the code of a deep link to the consent (partners.py);
# a code that is not valid is ignored by the handler, not refused.
CONSENT_YES_PATTERN = rf"^{CONSENT_YES}(?::.*)?$"
CONSENT_NO = "consent:no"
DISCREET_PREFIX = "discreet:"
DISCREET_PATTERN = rf"^{DISCREET_PREFIX}(on|off)$"
# /info and /sideeffects: "show:<page>" turns the message to that page.
SHOW_PREFIX = "show:"
INFO_PAGES = ("info", "sideeffects", "helps", "tolerance", "gethelp")
SHOW_PATTERN = rf"^{SHOW_PREFIX}({'|'.join(INFO_PAGES)})$"
HYDRATION_DONE = "hydration:done"
# "I just took some" under a water reminder: starts an after-use plan (handlers/plan.py).
PLAN_TOOK = "plan:took"
CHECKIN_PREFIX = "checkin:"
CHECKIN_PATTERN = rf"^{CHECKIN_PREFIX}({'|'.join(texts.CHECKIN_ANSWERS)})$"
TOLERANCE_PREFIX = "tolerance:"
TOLERANCE_PATTERN = rf"^{TOLERANCE_PREFIX}({'|'.join(texts.TOLERANCE_ANSWERS)})$"
FLAG_PREFIX = "flag:"
FLAG_PATTERN = rf"^{FLAG_PREFIX}({'|'.join(texts.RED_FLAGS)})$"
SNOOZE_PREFIX = "snooze:"
SNOOZE_PATTERN = rf"^{SNOOZE_PREFIX}(hydration|checkin)$"
ZONE_PREFIX = "zone:"
ZONE_CHANGE = "zone:change"
PAUSE_PREFIX = "pause:"
PAUSE_PATTERN = rf"^{PAUSE_PREFIX}(1d|1w|resume)$"
STOP_PAUSE_WEEK = "stop:pause_week"
STOP_ERASE = "stop:erase"
ERASE_YES = "erase:yes"
ERASE_NO = "erase:no"
# /settings: "set:<page>" opens a page, "set:<page>:<value>" sets a value.
SETTINGS_PREFIX = "set:"

WAKE_STARTS = tuple(time(h) for h in range(5, 12))
WAKE_ENDS = tuple(time(h % 24) for h in range(19, 26))
CHECKIN_TIMES = tuple(time(h) for h in range(7, 13))


def clock_code(value: time) -> str:
    """``HHMM``: how a time of day travels in callback data."""
    return value.strftime("%H%M")


def _button(catalog: Catalog, key: texts.Key, lang: str | None, data: str,
            **params: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(catalog.render(key, lang, **params), callback_data=data)


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def consent(
    catalog: Catalog, lang: str | None, *, resume: bool = False, source: str | None = None
) -> InlineKeyboardMarkup:
    """Yes / no to reminders; worded as "resume" for someone who stopped before.

    ``source`` (a partner code) rides along on "yes" until the user presses it.
    """
    yes, no = (
        (texts.RESUME_YES, texts.RESUME_NO) if resume else (texts.CONSENT_YES, texts.CONSENT_NO)
    )
    yes_data = f"{CONSENT_YES}:{source}" if source else CONSENT_YES
    return InlineKeyboardMarkup(
        [[_button(catalog, yes, lang, yes_data), _button(catalog, no, lang, CONSENT_NO)]]
    )


def consent_source(data: str | None) -> str | None:
    """The partner code carried by a "yes" button's callback data, if it holds a valid one."""
    prefix = CONSENT_YES + ":"
    if data is None or not data.startswith(prefix):
        return None
    return partner_code(data.removeprefix(prefix))


def discreet_offer(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Discreet mode on or off, offered after consent."""
    return InlineKeyboardMarkup(
        [
            [
                _button(catalog, texts.DISCREET_BUTTON_ON, lang, DISCREET_PREFIX + "on"),
                _button(catalog, texts.DISCREET_BUTTON_OFF, lang, DISCREET_PREFIX + "off"),
            ]
        ]
    )


_PAGE_BUTTONS = {
    "info": texts.INFO_BUTTON_BASICS,
    "sideeffects": texts.INFO_BUTTON_SIDEEFFECTS,
    "helps": texts.INFO_BUTTON_WHAT_HELPS,
    "tolerance": texts.INFO_BUTTON_TOLERANCE,
    "gethelp": texts.INFO_BUTTON_GET_HELP,
}


def info_pages(catalog: Catalog, lang: str | None, current: str) -> InlineKeyboardMarkup:
    """Under a page of /info or /sideeffects: every other page, "When to see a provider" last."""
    others = [page for page in INFO_PAGES if page not in (current, "gethelp")]
    buttons = [_button(catalog, _PAGE_BUTTONS[page], lang, SHOW_PREFIX + page) for page in others]
    rows = _rows(buttons, 2)
    if current != "gethelp":
        rows.append([_button(catalog, texts.INFO_BUTTON_GET_HELP, lang, SHOW_PREFIX + "gethelp")])
    return InlineKeyboardMarkup(rows)


def hydration(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """"Done 💧" and "Snooze 30 min" under a hydration reminder, "I just took some" below."""
    return InlineKeyboardMarkup(
        [
            [
                _button(catalog, texts.HYDRATION_BUTTON_DONE, lang, HYDRATION_DONE),
                _button(catalog, texts.SNOOZE_BUTTON, lang, SNOOZE_PREFIX + "hydration"),
            ],
            [_button(catalog, texts.PLAN_BUTTON_TOOK, lang, PLAN_TOOK)],
        ]
    )


def plan_nudge(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """"Done 💧" under a plan's nudge and under the reply that starts a plan."""
    return InlineKeyboardMarkup(
        [[_button(catalog, texts.HYDRATION_BUTTON_DONE, lang, HYDRATION_DONE)]]
    )


def checkin(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """The check-in answers, three to a row, and a snooze button."""
    buttons = [
        _button(catalog, texts.CHECKIN_BUTTONS[code], lang, CHECKIN_PREFIX + code)
        for code in texts.CHECKIN_ANSWERS
    ]
    snooze = _button(catalog, texts.SNOOZE_BUTTON, lang, SNOOZE_PREFIX + "checkin")
    return InlineKeyboardMarkup([*_rows(buttons, 3), [snooze]])


def red_flags(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """What "Something else" opens: the red flags, one to a row (their labels are long)."""
    return InlineKeyboardMarkup(
        [
            [_button(catalog, texts.RED_FLAG_BUTTONS[code], lang, FLAG_PREFIX + code)]
            for code in texts.RED_FLAGS
        ]
    )


def tolerance(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Yes / no to the weekly tolerance question."""
    return InlineKeyboardMarkup(
        [
            [
                _button(catalog, texts.TOLERANCE_BUTTONS[code], lang, TOLERANCE_PREFIX + code)
                for code in texts.TOLERANCE_ANSWERS
            ]
        ]
    )


def share_location(catalog: Catalog, lang: str | None) -> ReplyKeyboardMarkup:
    """A one-time keyboard whose button shares the user's location (Telegram asks first)."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(catalog.label(texts.ZONE_BUTTON_LOCATION, lang), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def zone_set(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """"Change time zone" under the confirmation."""
    return InlineKeyboardMarkup([[_button(catalog, texts.ZONE_BUTTON_CHANGE, lang, ZONE_CHANGE)]])


def zone_choices(options: tuple[ZoneOption, ...]) -> InlineKeyboardMarkup:
    """One button per place an ambiguous city name could mean."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(option.label, callback_data=ZONE_PREFIX + option.zone)]
            for option in options
            if len((ZONE_PREFIX + option.zone).encode()) <= 64
        ]
    )


def pause(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """How long to pause."""
    return InlineKeyboardMarkup(
        [
            [
                _button(catalog, texts.PAUSE_BUTTON_DAY, lang, PAUSE_PREFIX + "1d"),
                _button(catalog, texts.PAUSE_BUTTON_WEEK, lang, PAUSE_PREFIX + "1w"),
            ],
            [_button(catalog, texts.PAUSE_BUTTON_UNTIL_RESUME, lang, PAUSE_PREFIX + "resume")],
        ]
    )


def stopped(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """What /stop offers instead: a week's pause, or erasing the data."""
    return InlineKeyboardMarkup(
        [
            [_button(catalog, texts.STOP_BUTTON_PAUSE, lang, STOP_PAUSE_WEEK)],
            [_button(catalog, texts.STOP_BUTTON_ERASE, lang, STOP_ERASE)],
        ]
    )


def confirm_erase(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Erase everything, or keep it."""
    return InlineKeyboardMarkup(
        [
            [_button(catalog, texts.DATA_BUTTON_ERASE, lang, ERASE_YES)],
            [_button(catalog, texts.DATA_BUTTON_KEEP, lang, ERASE_NO)],
        ]
    )


def settings_menu(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """The main /settings page: one button per line of the menu."""
    pages = (
        (texts.SETTINGS_BUTTON_ZONE, "zone"),
        (texts.SETTINGS_BUTTON_WAKING, "wake"),
        (texts.SETTINGS_BUTTON_HYDRATION, "hyd"),
        (texts.SETTINGS_BUTTON_CHECKIN, "chk"),
        (texts.SETTINGS_BUTTON_LANGUAGE, "lang"),
        (texts.SETTINGS_BUTTON_DISCREET, "disc"),
        (texts.SETTINGS_BUTTON_CLOSE, "close"),
    )
    buttons = [_button(catalog, key, lang, SETTINGS_PREFIX + page) for key, page in pages]
    return InlineKeyboardMarkup(_rows(buttons, 2))


def _back(catalog: Catalog, lang: str | None) -> list[InlineKeyboardButton]:
    return [_button(catalog, texts.SETTINGS_BUTTON_BACK, lang, SETTINGS_PREFIX + "menu")]


def _times(values: tuple[time, ...], prefix: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(value.strftime("%H:%M"), callback_data=prefix + clock_code(value))
        for value in values
    ]


def settings_wake_start(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Start of the waking window."""
    buttons = _times(WAKE_STARTS, SETTINGS_PREFIX + "ws:")
    return InlineKeyboardMarkup([*_rows(buttons, 4), _back(catalog, lang)])


def settings_wake_end(catalog: Catalog, lang: str | None, start: time) -> InlineKeyboardMarkup:
    """End of the waking window (the chosen start travels along)."""
    buttons = _times(WAKE_ENDS, f"{SETTINGS_PREFIX}we:{clock_code(start)}:")
    return InlineKeyboardMarkup([*_rows(buttons, 4), _back(catalog, lang)])


def settings_hydration(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Off, or every 1 to 4 hours."""
    buttons = [
        _button(catalog, texts.SETTINGS_BUTTON_EVERY_HOURS, lang, f"{SETTINGS_PREFIX}hyd:{n}",
                hours=n)
        for n in HYDRATION_CHOICES
    ]
    off = _button(catalog, texts.SETTINGS_BUTTON_OFF, lang, f"{SETTINGS_PREFIX}hyd:0")
    return InlineKeyboardMarkup([*_rows(buttons, 2), [off], _back(catalog, lang)])


def settings_checkin(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """A check-in time, off, and the weekly tolerance question on or off."""
    buttons = _times(CHECKIN_TIMES, SETTINGS_PREFIX + "chk:")
    off = _button(catalog, texts.SETTINGS_BUTTON_OFF, lang, f"{SETTINGS_PREFIX}chk:off")
    tolerance_toggle = _button(
        catalog, texts.SETTINGS_BUTTON_TOLERANCE, lang, f"{SETTINGS_PREFIX}tol"
    )
    return InlineKeyboardMarkup(
        [*_rows(buttons, 3), [off], [tolerance_toggle], _back(catalog, lang)]
    )


def settings_language(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Each language, named in itself."""
    buttons = [
        _button(catalog, texts.LANGUAGE_NAME, code, f"{SETTINGS_PREFIX}lang:{code}")
        for code in catalog.languages
    ]
    return InlineKeyboardMarkup([buttons, _back(catalog, lang)])


def settings_zone(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """Back to the menu (the zone itself is typed or shared)."""
    return InlineKeyboardMarkup([_back(catalog, lang)])
