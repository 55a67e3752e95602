"""The user's time zone: asked after consent and by /timezone; set from a city, a zone name,
an offset or a shared location, at any time."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.display import clock
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import drop_buttons, label, language_of, reply
from reminderbot.preferences import Change, change_preferences
from reminderbot.subscriptions import find_user
from reminderbot.zones import (
    NotAZone,
    ZoneChoices,
    ZoneFound,
    display_zone,
    parse_typed_zone,
    parse_zone,
    zone_from_location,
)

# While set in user_data, the zone question is the last thing the bot asked.
ZONE_QUESTION_OPEN = "zone_question_open"


def close_zone_question(context: BotContext) -> None:
    """Any command closes the zone question."""
    if context.user_data is not None:
        context.user_data.pop(ZONE_QUESTION_OPEN, None)


def zone_question_open(context: BotContext) -> bool:
    """True while the zone question is the last thing the bot asked this user."""
    return bool(context.user_data and context.user_data.get(ZONE_QUESTION_OPEN))


async def ask_for_zone(update: Update, context: BotContext) -> None:
    """Ask where the user is, with a button that shares their location."""
    runtime = context.runtime
    lang = await language_of(update, context)
    async with runtime.sessions() as session:
        user = (
            await find_user(session, update.effective_user.id) if update.effective_user else None
        )
    zone = runtime.planner.zone(user).key if user else runtime.settings.default_timezone
    await reply(update, context, texts.ZONE_ASK, keyboards.share_location(runtime.catalog, lang),
                timezone=display_zone(zone))
    if context.user_data is not None:
        context.user_data[ZONE_QUESTION_OPEN] = True


async def set_zone(update: Update, context: BotContext, zone: str) -> bool:
    """Store ``zone`` for the user and confirm with their local time; False: not a user."""
    runtime = context.runtime
    assert update.effective_user is not None
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None:
            return False
        prefs = await change_preferences(session, user, Change(zone=zone), runtime.planner, now)
    close_zone_question(context)
    lang = await language_of(update, context)
    await reply(update, context, texts.ZONE_SET, keyboards.zone_set(runtime.catalog, lang),
                timezone=display_zone(prefs.zone.key),
                local_time=clock(now.astimezone(prefs.zone).time()))
    return True


async def typed_zone(update: Update, context: BotContext, text: str) -> bool:
    """Answer typed text that names a zone, an offset or a city; False when it names none."""
    answer = parse_typed_zone(text, asked=zone_question_open(context))
    if isinstance(answer, NotAZone):
        return False
    async with context.runtime.sessions() as session:
        if update.effective_user is None or await find_user(
            session, update.effective_user.id
        ) is None:
            return False  # only people with reminders have a zone to set
    if isinstance(answer, ZoneFound):
        return await set_zone(update, context, answer.zone)
    assert isinstance(answer, ZoneChoices)
    await reply(update, context, texts.ZONE_CHOOSE, keyboards.zone_choices(answer.options))
    return True


async def timezone_command(update: Update, context: BotContext) -> None:
    """/timezone: ask, or set it straight away from an argument (``/timezone Berlin``)."""
    if context.args:
        # /timezone itself asks the question: the argument is read as an answer to it.
        if context.user_data is not None:
            context.user_data[ZONE_QUESTION_OPEN] = True
        if await typed_zone(update, context, " ".join(context.args)):
            return
    async with context.runtime.sessions() as session:
        known = update.effective_user is not None and await find_user(
            session, update.effective_user.id
        ) is not None
    if not known:
        await reply(update, context, texts.NOT_SUBSCRIBED)
        return
    await ask_for_zone(update, context)


async def location(update: Update, context: BotContext) -> None:
    """A shared location: the zone at that point."""
    message = update.effective_message
    assert message is not None and message.location is not None
    zone = zone_from_location(message.location.latitude, message.location.longitude)
    if zone is None:
        await reply(update, context, texts.ZONE_LOCATION_UNKNOWN)
        return
    if not await set_zone(update, context, zone):
        await reply(update, context, texts.NOT_SUBSCRIBED)


async def zone_chosen(update: Update, context: BotContext) -> None:
    """One of the places offered for an ambiguous city name."""
    query = update.callback_query
    assert query is not None and query.data is not None
    zone = query.data.removeprefix(keyboards.ZONE_PREFIX)
    if parse_zone(zone) != ZoneFound(zone):
        await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
        return
    await query.answer()
    await drop_buttons(update)
    if not await set_zone(update, context, zone):
        await reply(update, context, texts.NOT_SUBSCRIBED)


async def change_zone(update: Update, context: BotContext) -> None:
    """The "Change time zone" button."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await ask_for_zone(update, context)


HANDLERS = [
    CommandHandler("timezone", timezone_command, filters=PRIVATE_COMMANDS),
    MessageHandler(PRIVATE_COMMANDS & filters.LOCATION, location),
    CallbackQueryHandler(change_zone, pattern=f"^{keyboards.ZONE_CHANGE}$"),
    CallbackQueryHandler(zone_chosen, pattern=f"^{keyboards.ZONE_PREFIX}.+$"),
]
