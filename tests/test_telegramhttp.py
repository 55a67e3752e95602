"""What a failed call to Telegram means: only a call known not to have happened is made again."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from reminderbot.telegramhttp import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    WRITE_TIMEOUT,
    CallFailure,
    Failure,
    TelegramRequest,
    failure_of,
)


def raised_from(error: TelegramError, cause: BaseException) -> TelegramError:
    """``error`` as PTB raises it: ``raise error from cause``."""
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # Nothing was written: safe to try again.
        (raised_from(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")),
         CallFailure(Failure.NOT_SENT, "connect_error")),
        (raised_from(TimedOut(), httpx.ConnectTimeout("slow")),
         CallFailure(Failure.NOT_SENT, "connect_timeout")),
        (raised_from(TimedOut("Pool timeout"), httpx.PoolTimeout("busy")),
         CallFailure(Failure.NOT_SENT, "pool_timeout")),
        (NetworkError("Bad Gateway"), CallFailure(Failure.NOT_SENT, "server_error")),
        (raised_from(NetworkError("Internal Server Error"), TelegramError("not JSON")),
         CallFailure(Failure.NOT_SENT, "server_error")),
        (RetryAfter(7), CallFailure(Failure.NOT_SENT, "flood_wait", timedelta(seconds=7))),
        (InvalidToken("Unauthorized"), CallFailure(Failure.NOT_SENT, "unauthorized")),
        # Written, then the answer was lost: treated as done.
        (raised_from(TimedOut(), httpx.ReadTimeout("late")),
         CallFailure(Failure.MAYBE_SENT, "read_timeout")),
        (raised_from(TimedOut(), httpx.WriteTimeout("stuck")),
         CallFailure(Failure.MAYBE_SENT, "write_timeout")),
        (raised_from(NetworkError("httpx.ReadError"), httpx.ReadError("reset")),
         CallFailure(Failure.MAYBE_SENT, "read_error")),
        (raised_from(NetworkError("httpx.RemoteProtocolError"),
                     httpx.RemoteProtocolError("Server disconnected")),
         CallFailure(Failure.MAYBE_SENT, "remote_protocol_error")),
        (raised_from(NetworkError("Unknown error in HTTP implementation"), RuntimeError("?")),
         CallFailure(Failure.MAYBE_SENT, "unknown")),
        (TelegramError("Invalid server response"), CallFailure(Failure.MAYBE_SENT, "unknown")),
        # Refused for good: the same call would be refused again.
        (BadRequest("Message is too long"), CallFailure(Failure.REFUSED, "too_long")),
        (BadRequest("Can't parse entities: unsupported start tag \"x\""),
         CallFailure(Failure.REFUSED, "bad_markup")),
        (BadRequest("Button_data_invalid"), CallFailure(Failure.REFUSED, "bad_button")),
        (BadRequest("Something new"), CallFailure(Failure.REFUSED, "bad_request")),
        (ChatMigrated(-100123), CallFailure(Failure.REFUSED, "chat_migrated")),
        # The person is gone.
        (Forbidden("Forbidden: bot was blocked by the user"),
         CallFailure(Failure.UNREACHABLE, "blocked")),
        (Forbidden("Forbidden: user is deactivated"),
         CallFailure(Failure.UNREACHABLE, "deactivated")),
        (BadRequest("Chat not found"), CallFailure(Failure.UNREACHABLE, "chat_not_found")),
        (BadRequest("User is deactivated"), CallFailure(Failure.UNREACHABLE, "deactivated")),
        (Forbidden("Forbidden: something else"), CallFailure(Failure.UNREACHABLE, "forbidden")),
    ],
)
def test_every_failure_has_a_kind_and_a_short_reason(
    error: TelegramError, expected: CallFailure
) -> None:
    assert failure_of(error) == expected


def test_the_timeouts_are_set_on_purpose() -> None:
    request = TelegramRequest()
    timeout = request._client.timeout
    assert (timeout.connect, timeout.read, timeout.write) == (
        CONNECT_TIMEOUT, READ_TIMEOUT, WRITE_TIMEOUT
    )
    assert READ_TIMEOUT > CONNECT_TIMEOUT  # an answer that comes late beats an uncertain send
