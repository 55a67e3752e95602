"""Conversation handlers, one module per conversation; ``register`` adds them in order."""

from __future__ import annotations

from telegram.ext import Application

from reminderbot.handlers import (
    admin,
    checkin,
    data,
    errors,
    fallback,
    history,
    hydration,
    info,
    pause,
    plan,
    settings,
    start,
    stop,
    text,
    zone,
)
from reminderbot.logs import UPDATE_ID_GROUP, UPDATE_ID_GUARD


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add every handler; the fallbacks come last so they only take what nothing else did."""
    application.add_handler(UPDATE_ID_GUARD, group=UPDATE_ID_GROUP)  # log lines name the update
    application.add_handlers(fallback.GUARDS, group=-1)
    for module in (start, info, stop, pause, settings, zone, hydration, plan, checkin, history,
                   data, admin, text, fallback):
        application.add_handlers(module.HANDLERS)
    application.add_error_handler(errors.on_error)
