"""Inline keyboards and the callback data their buttons carry (labels come from the catalog)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from reminderbot import texts
from reminderbot.catalog import Catalog

CONSENT_YES = "consent:yes"
CONSENT_NO = "consent:no"
SHOW_SIDEEFFECTS = "show:sideeffects"
HYDRATION_DONE = "hydration:done"
CHECKIN_PREFIX = "checkin:"
CHECKIN_PATTERN = rf"^{CHECKIN_PREFIX}({'|'.join(texts.CHECKIN_ANSWERS)})$"


def _button(catalog: Catalog, key: texts.Key, lang: str | None, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(catalog.label(key, lang), callback_data=data)


def consent(catalog: Catalog, lang: str | None, *, resume: bool = False) -> InlineKeyboardMarkup:
    """Yes / no to reminders; worded as "resume" for someone who stopped before."""
    yes, no = (
        (texts.RESUME_YES, texts.RESUME_NO) if resume else (texts.CONSENT_YES, texts.CONSENT_NO)
    )
    return InlineKeyboardMarkup(
        [[_button(catalog, yes, lang, CONSENT_YES), _button(catalog, no, lang, CONSENT_NO)]]
    )


def info(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """The button under /info that opens the side effects."""
    return InlineKeyboardMarkup(
        [[_button(catalog, texts.INFO_BUTTON_SIDEEFFECTS, lang, SHOW_SIDEEFFECTS)]]
    )


def hydration(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """The "Done 💧" button under a hydration reminder."""
    return InlineKeyboardMarkup(
        [[_button(catalog, texts.HYDRATION_BUTTON_DONE, lang, HYDRATION_DONE)]]
    )


def checkin(catalog: Catalog, lang: str | None) -> InlineKeyboardMarkup:
    """The check-in answers, three to a row."""
    buttons = [
        _button(catalog, texts.CHECKIN_BUTTONS[code], lang, CHECKIN_PREFIX + code)
        for code in texts.CHECKIN_ANSWERS
    ]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:]])
