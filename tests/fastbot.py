"""`reminderbot run` with Telegram's limits lifted (no rate limiter, no per-chat pause), so that
the crash tests' bursts of thousands of reminders take seconds: ``python -m tests.fastbot``.

Everything else is the bot as ``reminderbot run`` builds it, its SIGTERM handling included.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from reminderbot.app import build_application
from reminderbot.config import load_settings
from reminderbot.logs import configure_logging
from reminderbot.shutdown import stop_on_signals


def main() -> None:
    """Run the bot until SIGTERM (or SIGKILL)."""
    settings = load_settings()
    configure_logging(logging.INFO, settings.log_format)
    application = build_application(settings, chat_interval=0.0)
    # ExtBot sends straight through without a rate limiter (as benchmarks.dispatch does).
    application.bot._rate_limiter = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop_on_signals(application, loop)
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                            stop_signals=None)


if __name__ == "__main__":
    main()
