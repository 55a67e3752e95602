"""Errors an operator can read: one line each with the error's type, repeats summarised.

Polling and network errors happen now and then (a blip, a second instance polling with the same
token); their traceback says nothing more, so it is logged only at DEBUG. The same error again
within the window is counted instead of logged, and the count is logged once when the window is
over: "… 57 more in the last minute". No error message text is logged (an HTTP error can carry
the request URL, which contains the token).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from telegram.error import BadRequest, Conflict, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop

from reminderbot.context import BotContext

log = logging.getLogger(__name__)

SUMMARY_WINDOW_SECONDS = 60.0
# Where build_application keeps the application's NetworkErrorLog (``application.bot_data``).
ERRORS_KEY = "reminderbot.errors"


@dataclass(eq=False)
class _Window:
    since: float
    level: int
    line: str
    key: str
    count: int = 0
    timer: asyncio.TimerHandle | None = None


class RepeatedErrors:
    """Logs a line once per window; the same line again in the window is only counted."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        window: float = SUMMARY_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.window = window
        self.clock = clock
        self._open: dict[str, _Window] = {}

    def log(
        self,
        level: int,
        line: str,
        exc: BaseException | None = None,
        *,
        key: str | None = None,
        traceback: bool = False,
    ) -> None:
        """Log ``line``, or count it if its ``key`` (the line itself by default) came within
        the window. ``exc``'s traceback goes with it at DEBUG, or always with ``traceback``
        (an unexpected error, not a network one)."""
        key = line if key is None else key
        now = self.clock()
        window = self._open.get(key)
        if window is not None and now - window.since < self.window:
            window.count += 1
            self._flush_later(window)
            return
        if window is not None:
            self._summarise(window)
        show_traceback = exc is not None and (traceback or self.logger.isEnabledFor(logging.DEBUG))
        self.logger.log(level, line, exc_info=exc if show_traceback else None)
        self._open[key] = _Window(now, level, line, key)

    def flush(self) -> None:
        """Log the summary of every window that is over (the timers do this on their own)."""
        now = self.clock()
        for window in list(self._open.values()):
            if now - window.since >= self.window:
                self._summarise(window)

    def _flush_later(self, window: _Window) -> None:
        if window.timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: the summary comes with the next line after the window
            return
        delay = max(0.0, window.since + self.window - self.clock())
        window.timer = loop.call_later(delay, self._summarise, window)

    def _summarise(self, window: _Window) -> None:
        if self._open.get(window.key) is window:
            del self._open[window.key]
        if window.timer is not None:
            window.timer.cancel()
            window.timer = None
        if window.count:
            self.logger.log(window.level, "%s … %d more in the last %s", window.line,
                            window.count, _span(self.window))
            window.count = 0


def _span(seconds: float) -> str:
    return "minute" if seconds == 60 else f"{seconds:g} s"


def is_network_error(error: BaseException) -> bool:
    """Whether ``error`` is a network failure (Telegram's or the database's), not a bug."""
    if isinstance(error, BadRequest):  # PTB's BadRequest is a NetworkError: Telegram refused it
        return False
    if isinstance(error, (NetworkError, OSError, TimeoutError)):
        return True
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated) or isinstance(
            error, (OperationalError, InterfaceError)
        )
    return False


def polling_line(error: TelegramError) -> tuple[int, str]:
    """The level and the one line for an error while polling Telegram for updates."""
    if isinstance(error, Conflict):
        return logging.WARNING, (
            "another bot instance is polling Telegram with the same token (409 Conflict); "
            "backing off until it stops"
        )
    if is_network_error(error):
        return logging.WARNING, (
            f"polling Telegram failed: {type(error).__name__} (network); retrying"
        )
    return logging.ERROR, f"polling Telegram failed: {type(error).__name__}; retrying"


class NetworkErrorLog:
    """The application's polling and network errors, as one (summarised) line each."""

    def __init__(self, repeated: RepeatedErrors | None = None) -> None:
        self.repeated = repeated if repeated is not None else RepeatedErrors(log)

    def polling_error(self, error: TelegramError) -> None:
        """``Updater.start_polling``'s error callback (PTB backs off between tries)."""
        level, line = polling_line(error)
        self.repeated.log(level, line, error)

    async def on_error(self, update: object, context: BotContext) -> None:
        """First error handler: polling errors, and network errors in jobs, end here as one
        line; the rest go on to ``handlers.errors.on_error`` (which answers the user)."""
        error = context.error
        if update is None and context.job is None and isinstance(error, TelegramError):
            self.polling_error(error)  # run_polling sends polling errors to error handlers
            raise ApplicationHandlerStop
        if update is None and context.job is not None and error is not None:
            if is_network_error(error):
                line = f"job {context.job.name} failed: {type(error).__name__} (network)"
                self.repeated.log(logging.WARNING, line, error)
                raise ApplicationHandlerStop
