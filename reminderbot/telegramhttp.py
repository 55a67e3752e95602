"""How the bot talks HTTP to Telegram, and what a failed call means.

Telegram has no idempotency key: a request that reached it may have been carried out even when
no answer came back, and sending it again would send the message twice. So every failed call
is put in one of four kinds (``failure_of``):

- ``NOT_SENT``: known not to have happened (no connection was made, no free connection, or
  Telegram answered with an error status: 5xx, 429): safe to try again;
- ``MAYBE_SENT``: the request was written, then the answer was lost (a read or write timeout,
  a dropped connection): treated as done and never repeated;
- ``REFUSED``: Telegram refused it for good (a 400 such as "message is too long"): the same
  request would be refused again;
- ``UNREACHABLE``: the user blocked the bot, deleted their account, or the chat is gone.

``TelegramRequest`` is PTB's HTTPX request with deliberate timeouts (see ``TIMEOUTS``) that
tries a call again, a few times with backoff, only when it is known not to have happened.
Every call the bot makes outside ``getUpdates`` goes through it: replies and reminders alike.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import httpx
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

log = logging.getLogger(__name__)

# Connect: nothing of the request is written before the connection is up, so a connect
# timeout is always safe to retry; 5 s is plenty for a TCP and TLS handshake.
CONNECT_TIMEOUT = 5.0
# Pool: waiting for a free connection of our own pool; nothing was written either.
POOL_TIMEOUT = 5.0
# Idle connections kept open for the next calls (more are opened while busier).
KEPT_CONNECTIONS = 16
# Write: a timeout while the request is being written leaves its fate unknown (part of it,
# or all of it, may have reached Telegram), so it is treated as sent; a message is small.
WRITE_TIMEOUT = 10.0
# Read: generous. Every read timeout is a send whose answer was lost, treated as sent and
# never repeated ("uncertain"), so an answer that comes late is better than none. Telegram
# answers in well under a second; 15 s rides out a slow moment without holding a lease long.
READ_TIMEOUT = 15.0
# How often a call known not to have happened is made in all, and the first wait between
# (doubled each time, give or take JITTER, so that many senders do not come back in step).
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
JITTER = 0.2

# Transport errors raised before any byte of the request was written.
_NOT_WRITTEN = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Telegram's descriptions of a chat that is gone, as a short code each (403 and 400 alike).
_GONE = (
    ("bot was blocked by the user", "blocked"),
    ("user is deactivated", "deactivated"),
    ("chat not found", "chat_not_found"),
    ("bot was kicked", "kicked"),
    ("bot can't initiate conversation", "not_started"),
)
# A 400's description as a short code: reasons go into logs and counts, message text never.
_REFUSALS = (
    ("message is too long", "too_long"),
    ("can't parse entities", "bad_markup"),
    ("message text is empty", "empty_text"),
    ("button_data_invalid", "bad_button"),
    ("can't parse inline keyboard", "bad_button"),
    ("reply markup", "bad_markup"),
    ("message to edit not found", "no_message"),
    ("message is not modified", "not_modified"),
    ("query is too old", "query_expired"),
)


class Failure(StrEnum):
    """What a failed call to Telegram means for the thing it tried to do."""

    NOT_SENT = "not_sent"
    MAYBE_SENT = "maybe_sent"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class CallFailure:
    """A failed call, classified: its kind, a short reason code, and Telegram's wait if any."""

    kind: Failure
    reason: str
    retry_after: timedelta | None = None


def _code(description: str, table: tuple[tuple[str, str], ...], default: str) -> str:
    lowered = description.lower()
    return next((code for fragment, code in table if fragment in lowered), default)


def _retry_after(exc: RetryAfter) -> timedelta:
    wait = exc.retry_after
    return wait if isinstance(wait, timedelta) else timedelta(seconds=wait)


def failure_of(exc: TelegramError) -> CallFailure:
    """Classify a failed call by what is known about whether Telegram carried it out.

    PTB raises ``TimedOut``/``NetworkError`` from the underlying httpx exception
    (``exc.__cause__``): a connect error or timeout, or a pool timeout, means nothing was
    written; any other transport error (read timeout, dropped connection) means the request
    may have been carried out. A ``NetworkError`` without a transport cause is an error status
    Telegram answered, so it was not carried out.
    """
    if isinstance(exc, Forbidden):
        return CallFailure(Failure.UNREACHABLE, _code(exc.message, _GONE, "forbidden"))
    if isinstance(exc, BadRequest):
        gone = _code(exc.message, _GONE, "")
        if gone:
            return CallFailure(Failure.UNREACHABLE, gone)
        return CallFailure(Failure.REFUSED, _code(exc.message, _REFUSALS, "bad_request"))
    if isinstance(exc, RetryAfter):
        return CallFailure(Failure.NOT_SENT, "flood_wait", _retry_after(exc))
    if isinstance(exc, ChatMigrated):
        return CallFailure(Failure.REFUSED, "chat_migrated")
    if isinstance(exc, InvalidToken):
        return CallFailure(Failure.NOT_SENT, "unauthorized")
    if isinstance(exc, NetworkError):
        cause = exc.__cause__
        if isinstance(cause, _NOT_WRITTEN):
            return CallFailure(Failure.NOT_SENT, _transport_code(cause))
        if isinstance(cause, httpx.HTTPError):
            return CallFailure(Failure.MAYBE_SENT, _transport_code(cause))
        if cause is None or isinstance(cause, TelegramError):
            return CallFailure(Failure.NOT_SENT, "server_error")
    # Anything else (an unreadable answer, an unknown error in the HTTP layer): the request
    # may have been carried out, and a double is worse than a miss.
    return CallFailure(Failure.MAYBE_SENT, "unknown")


def _transport_code(cause: BaseException) -> str:
    """``ReadTimeout`` -> ``read_timeout``: the httpx error's name as a code."""
    name = type(cause).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): doubling, with jitter."""
    return BACKOFF_SECONDS * 2.0 ** (attempt - 1) * random.uniform(1 - JITTER, 1 + JITTER)


class TelegramRequest(HTTPXRequest):
    """PTB's HTTPX request with deliberate timeouts, trying a call again (``ATTEMPTS`` in all,
    with backoff) only when Telegram is known not to have carried it out."""

    def __init__(
        self, connection_pool_size: int = 256, *, read_timeout: float | None = None
    ) -> None:
        super().__init__(
            connection_pool_size=connection_pool_size,
            connect_timeout=CONNECT_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
            write_timeout=WRITE_TIMEOUT,
            read_timeout=READ_TIMEOUT if read_timeout is None else read_timeout,
            # Connections beyond these are closed when idle: httpx looks at every pooled
            # connection on every call, and a burst once opened could double each send's cost.
            httpx_kwargs={"limits": httpx.Limits(max_connections=connection_pool_size,
                                                 max_keepalive_connections=KEPT_CONNECTIONS)},
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One call, made again while it is known not to have reached Telegram."""
        endpoint = url.rsplit("/", 1)[-1]
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS
            try:
                code, payload = await super().do_request(
                    url, method, request_data, read_timeout, write_timeout, connect_timeout,
                    pool_timeout,
                )
            except TelegramError as exc:
                failure = failure_of(exc)
                if last or failure.kind != Failure.NOT_SENT:
                    raise
                reason = failure.reason
            else:
                # A 5xx answer: Telegram did not carry it out (429 is the rate limiter's).
                if code < 500 or last:
                    return code, payload
                reason = "server_error"
            log.info("%s not carried out (%s); trying again (%d of %d)", endpoint, reason,
                     attempt + 1, ATTEMPTS)
            await asyncio.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # the last attempt returns or raises

