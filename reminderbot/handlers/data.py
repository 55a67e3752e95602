"""/mydata and /delete: the user's data is theirs to see and erase."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.catalog import Catalog
from reminderbot.context import BotContext
from reminderbot.db.models import CheckinAnswer, HydrationDay, User
from reminderbot.display import menu_params
from reminderbot.export import export_user
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import (
    audience_for,
    drop_buttons,
    forget_audience,
    language_of,
    reply,
)
from reminderbot.logbook import TOLERANCE_CODE
from reminderbot.messaging import render, send
from reminderbot.preferences import Preferences, preferences_of, recurring_rows
from reminderbot.subscriptions import erase, find_user


def _summary(
    catalog: Catalog, document: dict[str, list[dict[str, object]]], user: User,
    prefs: Preferences, now: datetime,
) -> dict[str, object]:
    """The one-screen summary of the exported document, in the user's language."""
    lang = prefs.language
    menu = menu_params(catalog, user, prefs, None, now)
    days = document.get(HydrationDay.__tablename__, [])
    answers = Counter(str(row["answer"]) for row in document.get(CheckinAnswer.__tablename__, []))
    labels = {**texts.CHECKIN_BUTTONS, **{TOLERANCE_CODE.format(code): key
                                          for code, key in texts.TOLERANCE_BUTTONS.items()}}
    return {
        "since": user.created_at.date().isoformat(),
        "status": catalog.render(texts.DATA_STATUS[user.status], lang),
        "timezone": menu["timezone"],
        "hydration": menu["hydration"],
        "checkin": menu["checkin"],
        "glass_days": len(days),
        "glasses": sum(int(str(row["glasses"])) for row in days),
        "checkins": ", ".join(
            f"{catalog.render(labels[code], lang) if code in labels else code} {n}"
            for code, n in sorted(answers.items())
        ) or "0",
    }


async def mydata(update: Update, context: BotContext) -> None:
    """A one-screen summary, and the whole record as a JSON file."""
    runtime = context.runtime
    assert update.effective_user is not None and update.effective_chat is not None
    async with runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None:
            await reply(update, context, texts.DATA_NOTHING)
            return
        document = await export_user(session, user)
        prefs = preferences_of(user, await recurring_rows(session, user), runtime.planner)
    summary = _summary(runtime.catalog, document, user, prefs, runtime.clock.now())
    await reply(update, context, texts.DATA_SUMMARY, **summary)
    audience = await audience_for(update, context)
    assert audience is not None
    payload = await asyncio.to_thread(
        lambda: json.dumps(document, indent=2, ensure_ascii=False).encode()
    )
    await context.bot.send_document(
        audience.chat_id,
        InputFile(payload, filename="mydata.json"),
        caption=render(runtime.catalog, audience, texts.DATA_FILE_CAPTION),
        parse_mode=ParseMode.HTML,
    )


async def delete_command(update: Update, context: BotContext) -> None:
    """Ask before erasing."""
    assert update.effective_user is not None
    async with context.runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
    if user is None:
        await reply(update, context, texts.DATA_NOTHING)
        return
    lang = await language_of(update, context)
    await reply(update, context, texts.DATA_CONFIRM_ERASE,
                keyboards.confirm_erase(context.runtime.catalog, lang))


async def erase_asked(update: Update, context: BotContext) -> None:
    """"Erase my data" under /stop's reply: the same confirmation as /delete."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await drop_buttons(update)
    await delete_command(update, context)


async def erase_confirmed(update: Update, context: BotContext) -> None:
    """Erase every row of the user, in every table, in one transaction."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    await query.answer()
    await drop_buttons(update)
    # The reply is worded in the language the user chose, though nothing is stored after it.
    audience = await audience_for(update, context)
    async with runtime.sessions.begin() as session:
        erased = await erase(session, update.effective_user.id)
    forget_audience(context)
    if context.user_data is not None:
        context.user_data.clear()
    if not erased or audience is None:
        await reply(update, context, texts.DATA_NOTHING)
        return
    await send(context.bot, runtime.catalog, audience, texts.DATA_ERASED)


async def erase_declined(update: Update, context: BotContext) -> None:
    """Keep everything."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await drop_buttons(update)
    await reply(update, context, texts.DATA_KEPT)


HANDLERS = [
    CommandHandler("mydata", mydata, filters=PRIVATE_COMMANDS),
    CommandHandler("delete", delete_command, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(erase_asked, pattern=f"^{keyboards.STOP_ERASE}$"),
    CallbackQueryHandler(erase_confirmed, pattern=f"^{keyboards.ERASE_YES}$"),
    CallbackQueryHandler(erase_declined, pattern=f"^{keyboards.ERASE_NO}$"),
]
