"""What users read about their own plan and settings: pure formatting of stored values."""

from __future__ import annotations

from datetime import datetime, time, tzinfo

from reminderbot import texts
from reminderbot.catalog import Catalog
from reminderbot.db.models import User, UserStatus
from reminderbot.preferences import Preferences
from reminderbot.subscriptions import Plan
from reminderbot.zones import display_zone


def clock(value: time) -> str:
    """A time of day as ``HH:MM``."""
    return value.strftime("%H:%M")


def local_label(when: datetime, zone: tzinfo, now: datetime) -> str:
    """``HH:MM`` local, with the date in front when it is not today."""
    local = when.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def plan_params(catalog: Catalog, language: str, plan: Plan, now: datetime) -> dict[str, object]:
    """The placeholders of the consent confirmation."""
    prefs = plan.preferences
    off = catalog.render(texts.SETTINGS_OFF, language)
    return {
        "first_hydration": (
            local_label(plan.first_hydration, prefs.zone, now) if plan.first_hydration else off
        ),
        "checkin_time": clock(prefs.checkin_at) if prefs.checkin_at else off,
        "timezone": display_zone(prefs.zone.key),
        "every_hours": prefs.every_hours or 0,
        "waking_start": clock(prefs.window.start),
        "waking_end": clock(prefs.window.end),
    }


def menu_params(
    catalog: Catalog,
    user: User,
    prefs: Preferences,
    next_reminder: datetime | None,
    now: datetime,
) -> dict[str, object]:
    """The placeholders of the /settings menu."""
    lang = prefs.language

    def on_off(value: bool) -> str:
        return catalog.render(texts.SETTINGS_ON if value else texts.SETTINGS_OFF, lang)

    if user.status == UserStatus.PAUSED and user.paused_until is None:
        upcoming = catalog.render(texts.SETTINGS_PAUSED_INDEFINITELY, lang)
    elif user.status == UserStatus.PAUSED and user.paused_until is not None:
        upcoming = catalog.render(
            texts.SETTINGS_PAUSED, lang, until=local_label(user.paused_until, prefs.zone, now)
        )
    elif next_reminder is not None and user.status == UserStatus.ACTIVE:
        upcoming = local_label(next_reminder, prefs.zone, now)
    else:
        upcoming = catalog.render(texts.SETTINGS_NO_REMINDER, lang)
    return {
        "timezone": display_zone(prefs.zone.key),
        "local_time": clock(now.astimezone(prefs.zone).time()),
        "waking_start": clock(prefs.window.start),
        "waking_end": clock(prefs.window.end),
        "hydration": (
            catalog.render(texts.SETTINGS_EVERY_HOURS, lang, hours=prefs.every_hours)
            if prefs.every_hours
            else on_off(False)
        ),
        "checkin": clock(prefs.checkin_at) if prefs.checkin_at else on_off(False),
        "tolerance": on_off(prefs.tolerance),
        "language": catalog.render(texts.LANGUAGE_NAME, lang),
        "discreet": on_off(prefs.discreet),
        "next_reminder": upcoming,
    }
