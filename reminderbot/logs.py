"""Logging: plain lines or JSON lines on stderr, each tagged with the update that caused it.

Log calls carry counts, row ids and error types, never message text, names or Telegram ids.
The Telegram ``update_id`` is a counter of the bot's own updates, not personal data: it ties
together every line one update causes.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

LogFormat = Literal["text", "json"]

# The update being handled in this task; PTB awaits a blocking handler in the task that
# processes the update, so a value set in group -2 is seen by every later handler of it.
CURRENT_UPDATE_ID: ContextVar[int | None] = ContextVar("reminderbot_update_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(update_suffix)s"
# These loggers are muted below WARNING: httpx logs request URLs, which contain the token.
_NOISY = ("httpx", "httpcore", "apscheduler.executors.default")


async def remember_update_id(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Note the update's id for the log lines the following handlers write."""
    CURRENT_UPDATE_ID.set(update.update_id)


# Registered in handler group -2, before every other handler; block=True keeps it in the task.
UPDATE_ID_GUARD = TypeHandler(Update, remember_update_id, block=True)
UPDATE_ID_GROUP = -2


class UpdateIdFilter(logging.Filter):
    """Adds ``update`` (the id or ``None``) and ``update_suffix`` (`` update=<id>``) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        update_id = CURRENT_UPDATE_ID.get()
        record.update = update_id
        record.update_suffix = f" update={update_id}" if update_id is not None else ""
        return True


class StartupAbortFilter(logging.Filter):
    """Drops PTB's traceback when its start-up retry loop gives up: the CLI says it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("telegram.ext") and "Aborting" in str(record.msg))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update, and exc when present."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = getattr(record, "update", None)
        if update_id is not None:
            payload["update"] = update_id
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def make_handler(log_format: LogFormat, stream: Any = None) -> logging.Handler:
    """A stderr handler (or ``stream``) in the given format, with the update id and filters."""
    handler = logging.StreamHandler(stream)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(UpdateIdFilter())
    handler.addFilter(StartupAbortFilter())
    return handler


def configure_logging(level: int = logging.INFO, log_format: LogFormat = "text") -> None:
    """Send every log line to stderr in ``log_format``; replaces handlers set up before."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(log_format))
    root.setLevel(level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
