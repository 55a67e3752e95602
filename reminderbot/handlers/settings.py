"""/settings: one message with buttons, edited in place as the user moves through it."""

from __future__ import annotations

import re
from datetime import time

from sqlalchemy import func, select
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import Schedule, ScheduleState, User
from reminderbot.display import clock, menu_params
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import forget_audience, label, replace, reply
from reminderbot.handlers.zone import ask_for_zone
from reminderbot.preferences import (
    Change,
    PreferenceError,
    change_preferences,
    preferences_of,
    recurring_rows,
)
from reminderbot.schedule import WakingWindow
from reminderbot.subscriptions import find_user
from reminderbot.texts import Key

# set:<page> or set:<page>:<value>[:<value>]
_DATA = re.compile(
    r"^set:(?:(?P<page>menu|zone|wake|hyd|chk|lang|close|tol|disc)"
    r"|ws:(?P<ws>\d{4})|we:(?P<we_start>\d{4}):(?P<we>\d{4})"
    r"|hyd:(?P<hyd>[0-4])|chk:(?P<chk>\d{4}|off)|lang:(?P<lang>[a-z]{2}))$"
)


def _clock(code: str) -> time | None:
    hours, minutes = int(code[:2]), int(code[2:])
    return time(hours, minutes) if hours < 24 and minutes < 60 else None


async def _menu(context: BotContext, user: User) -> tuple[Key, InlineKeyboardMarkup,
                                                         dict[str, object]]:
    """The main page: every setting with its value and the next reminder's local time."""
    runtime = context.runtime
    async with runtime.sessions() as session:
        rows = await recurring_rows(session, user)
        next_due = await session.scalar(
            select(func.min(Schedule.next_due_at)).where(
                Schedule.user_id == user.id, Schedule.state == ScheduleState.ON
            )
        )
    prefs = preferences_of(user, rows, runtime.planner)
    params = menu_params(runtime.catalog, user, prefs, next_due, runtime.clock.now())
    return texts.SETTINGS_MENU, keyboards.settings_menu(runtime.catalog, user.language), params


async def settings_command(update: Update, context: BotContext) -> None:
    """Open the menu."""
    assert update.effective_user is not None
    async with context.runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
    if user is None:
        await reply(update, context, texts.NOT_SUBSCRIBED)
        return
    key, markup, params = await _menu(context, user)
    await reply(update, context, key, markup, **params)


def _change_for(match: re.Match[str]) -> Change | None:
    """The preference change a button stands for (None: it only moves between pages)."""
    if match["we"]:
        start, end = _clock(match["we_start"]), _clock(match["we"])
        return Change(window=WakingWindow(start, end)) if start and end else None
    if match["hyd"]:
        return Change(every_hours=int(match["hyd"]))
    if match["chk"] == "off":
        return Change(checkin_on=False)
    if match["chk"]:
        at = _clock(match["chk"])
        return Change(checkin_at=at) if at else None
    if match["lang"]:
        return Change(language=match["lang"])  # checked against the catalog by the caller
    return None


async def settings_button(update: Update, context: BotContext) -> None:
    """Move through the menu, or change one setting and show the menu again."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    match = _DATA.match(query.data)
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if (
            match is None
            or user is None
            or (match["lang"] and match["lang"] not in runtime.catalog.languages)
        ):
            await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
            return
        change = _change_for(match)
        if match["page"] == "tol":
            rows = await recurring_rows(session, user)
            tolerance = preferences_of(user, rows, runtime.planner).tolerance
            change = Change(tolerance_on=not tolerance)
        if match["page"] == "disc":
            change = Change(discreet=not user.discreet)
        if change is not None:
            try:
                await change_preferences(session, user, change, runtime.planner,
                                         runtime.clock.now())
            except PreferenceError:
                await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
                return
    await query.answer()
    forget_audience(context)
    lang = user.language
    catalog = runtime.catalog
    page = match["page"]
    if page == "close":
        await replace(update, context, texts.SETTINGS_CLOSED)
    elif page == "zone":
        await replace(update, context, texts.SETTINGS_MENU, None,
                      **(await _menu(context, user))[2])
        await ask_for_zone(update, context)
    elif page == "wake":
        await replace(update, context, texts.SETTINGS_PICK_WAKE_START,
                      keyboards.settings_wake_start(catalog, lang))
    elif match["ws"] and (start := _clock(match["ws"])) is not None:
        await replace(update, context, texts.SETTINGS_PICK_WAKE_END,
                      keyboards.settings_wake_end(catalog, lang, start),
                      waking_start=clock(start))
    elif page == "hyd":
        await replace(update, context, texts.SETTINGS_PICK_HYDRATION,
                      keyboards.settings_hydration(catalog, lang),
                      waking_start=clock(user.wake_start), waking_end=clock(user.wake_end))
    elif page == "chk":
        await replace(update, context, texts.SETTINGS_PICK_CHECKIN,
                      keyboards.settings_checkin(catalog, lang))
    elif page == "lang":
        await replace(update, context, texts.SETTINGS_PICK_LANGUAGE,
                      keyboards.settings_language(catalog, lang))
    else:
        key, markup, params = await _menu(context, user)
        await replace(update, context, key, markup, **params)


HANDLERS = [
    CommandHandler("settings", settings_command, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(settings_button, pattern=f"^{keyboards.SETTINGS_PREFIX}"),
]
