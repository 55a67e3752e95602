"""/history: the last 14 days as a picture, with the same in words."""

from __future__ import annotations

import asyncio
from collections import Counter

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import CommandHandler

from reminderbot import texts
from reminderbot.catalog import Catalog
from reminderbot.chart import ChartLabels, HistoryDay, has_data, render_history
from reminderbot.context import BotContext
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import audience_for, reply
from reminderbot.logbook import HISTORY_DAYS, history
from reminderbot.messaging import render
from reminderbot.subscriptions import find_user


def chart_labels(catalog: Catalog, language: str, days: int) -> ChartLabels:
    """Every word on the chart, from the catalog in the user's language."""
    return ChartLabels(
        title=catalog.render(texts.HISTORY_CHART_TITLE, language, days=days),
        glasses=catalog.render(texts.HISTORY_CHART_GLASSES, language),
        symptoms_heading=catalog.render(texts.HISTORY_CHART_SYMPTOMS, language),
        symptoms={
            code: catalog.render(key, language) for code, key in texts.CHECKIN_BUTTONS.items()
        },
        no_checkin=catalog.render(texts.HISTORY_CHART_NO_CHECKIN, language),
        date_format=catalog.render(texts.HISTORY_CHART_DATE_FORMAT, language),
        month_names=tuple(catalog.render(texts.HISTORY_CHART_MONTHS, language).split()),
    )


def caption_params(catalog: Catalog, language: str, days: list[HistoryDay]) -> dict[str, object]:
    """The chart's caption says the same in words (its alt text)."""
    counts = Counter(code for day in days for code in day.symptoms if code != "fine")
    symptoms = ", ".join(
        catalog.render(texts.HISTORY_SYMPTOM_COUNT, language,
                       symptom=catalog.render(texts.CHECKIN_BUTTONS[code], language), count=n)
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return {
        "days": len(days),
        "glasses": sum(day.glasses for day in days),
        "glass_days": sum(1 for day in days if day.glasses),
        "checkins": sum(len(day.symptoms) for day in days),
        "symptoms": symptoms or catalog.render(texts.HISTORY_NO_SYMPTOMS, language),
    }


async def history_command(update: Update, context: BotContext) -> None:
    """Send the picture with its caption, or one sentence when there is nothing yet."""
    runtime = context.runtime
    assert update.effective_user is not None
    async with runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
        days = (
            await history(session, user, runtime.clock.now(), runtime.planner)
            if user is not None
            else []
        )
    audience = await audience_for(update, context)
    if audience is None or not has_data(days):
        await reply(update, context, texts.HISTORY_EMPTY)
        return
    labels = chart_labels(runtime.catalog, audience.language, HISTORY_DAYS)
    await context.bot.send_chat_action(audience.chat_id, ChatAction.UPLOAD_PHOTO)
    # Drawing takes a tenth of a second: off the event loop, so other users are not held up.
    png = await asyncio.to_thread(render_history, days, labels)
    await context.bot.send_photo(
        audience.chat_id,
        InputFile(png, filename="history.png"),
        caption=render(runtime.catalog, audience, texts.HISTORY_CAPTION,
                       **caption_params(runtime.catalog, audience.language, days)),
        parse_mode=ParseMode.HTML,
    )


HANDLERS = [CommandHandler("history", history_command, filters=PRIVATE_COMMANDS)]
