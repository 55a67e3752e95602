"""/took and "I just took some" under a water reminder: start an after-use water plan.

The plan itself is ``afteruse``'s business; here the press is checked (only on a water reminder
sent to this user, once: ``prompts``) and the reply says when the nudges come and why. Its
"Done 💧" counts a glass like a reminder's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.afteruse import StartedPlan, start_plan
from reminderbot.context import BotContext
from reminderbot.db.models import ScheduleKind, User, UserStatus
from reminderbot.display import local_label
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import (
    drop_buttons,
    language_of,
    pressed,
    refuse_press,
    reply,
)
from reminderbot.prompts import answer_prompt, record_prompt
from reminderbot.runtime import Runtime
from reminderbot.subscriptions import find_user


async def _begin(
    runtime: Runtime, user: User, now: datetime, session: AsyncSession
) -> StartedPlan:
    settings = runtime.settings
    return await start_plan(
        session, user, now, runtime.planner, count=settings.plan_nudges,
        interval=timedelta(minutes=settings.plan_interval_minutes),
    )


async def took(update: Update, context: BotContext) -> None:
    """/took: a plan from now, replacing a running one (reminders must be on, not paused)."""
    runtime = context.runtime
    assert update.effective_user is not None
    now = runtime.clock.now()
    started = None
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        status = user.status if user is not None else None
        if user is not None and status == UserStatus.ACTIVE:
            started = await _begin(runtime, user, now, session)
            user_id, zone = user.id, runtime.planner.zone(user)
    if started is None:
        paused = status == UserStatus.PAUSED
        await reply(update, context, texts.PLAN_PAUSED if paused else texts.NOT_SUBSCRIBED)
        return
    await _confirm(update, context, user_id, started, zone)


async def took_button(update: Update, context: BotContext) -> None:
    """"I just took some" under a water reminder: the same as /took, counted once."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    now = runtime.clock.now()
    started = None
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        # Only on a water reminder sent to this user, and only once (prompts).
        if (
            user is not None
            and user.status == UserStatus.ACTIVE
            and await answer_prompt(session, user.id, *pressed(update),
                                    (ScheduleKind.HYDRATION,), now)
        ):
            started = await _begin(runtime, user, now, session)
            user_id, zone = user.id, runtime.planner.zone(user)
    if started is None:
        await refuse_press(update, context)
        return
    await query.answer()
    await drop_buttons(update)
    await _confirm(update, context, user_id, started, zone)


async def _confirm(
    update: Update, context: BotContext, user_id: int, started: StartedPlan, zone: ZoneInfo
) -> None:
    """When the nudges come and why, with "Done 💧" for a glass now (a prompt of the plan)."""
    runtime = context.runtime
    markup = keyboards.plan_nudge(runtime.catalog, await language_of(update, context))
    if started.nudges:
        times = ", ".join(local_label(at, zone, started.started_at) for at in started.nudges)
        message = await reply(update, context, texts.PLAN_STARTED, markup, nudge_times=times)
    else:
        message = await reply(update, context, texts.PLAN_STARTED_NO_NUDGES, markup)
    if isinstance(message, Message):
        async with runtime.sessions.begin() as session:
            await record_prompt(session, user_id, message.chat_id, message.message_id,
                                ScheduleKind.PLAN, runtime.clock.now())


HANDLERS = [
    CommandHandler("took", took, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(took_button, pattern=f"^{keyboards.PLAN_TOOK}$"),
]
