"""Logs an operator can read: a second poller is one WARNING, network errors one line each,
tracebacks only at DEBUG, repeats summarised (issue 12, section 4)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from telegram.error import BadRequest, Conflict, NetworkError, TimedOut
from telegram.ext import ApplicationHandlerStop

from reminderbot.context import BotContext
from reminderbot.errorlog import ERRORS_KEY, NetworkErrorLog, RepeatedErrors, is_network_error
from reminderbot.testing.botapi import BotAPIStandIn
from tests.conftest import BotUnderTest

CONFLICT_LINE = (
    "another bot instance is polling Telegram with the same token (409 Conflict); "
    "backing off until it stops"
)


async def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until ``condition()`` holds (a sync point, not a speed check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def polls(api: BotAPIStandIn) -> list[int]:
    return [call.status for call in api.calls if call.method == "getUpdates"]


def warnings_and_worse(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_second_poller_is_one_warning_without_a_traceback(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = len(polls(bot.api))
    bot.api.conflict_polls(3)
    # PTB backs off 1, 1.5, 2.25 s between the tries.
    await eventually(lambda: polls(bot.api)[before:].count(409) == 3 and polls(bot.api)[-1] == 200)
    [record] = warnings_and_worse(caplog)
    assert (record.name, record.levelname, record.getMessage()) == (
        "reminderbot.errorlog", "WARNING", CONFLICT_LINE
    )
    assert record.exc_info is None and record.exc_text is None
    [answer] = await bot.send("/help")  # polling goes on once the other instance is gone
    assert "/stop" in answer.plain_text


async def test_polling_network_errors_are_one_line_each_type(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = len(polls(bot.api))
    bot.api.fail_next("getUpdates", status=502, times=2)
    await eventually(lambda: polls(bot.api)[before:].count(502) == 2 and polls(bot.api)[-1] == 200)
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in warnings_and_worse(caplog)] == [
        ("WARNING", "polling Telegram failed: NetworkError (network); retrying", None)
    ]


async def test_run_pollings_errors_reach_the_same_line(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    # run_polling (the `run` command) hands polling errors to the error handlers instead.
    caplog.set_level(logging.INFO)
    assert bot.application is not None
    for _ in range(2):
        context = BotContext.from_error(update=None, error=Conflict("terminated by other "
                                        "getUpdates request"), application=bot.application)
        errors = bot.application.bot_data[ERRORS_KEY]
        assert isinstance(errors, NetworkErrorLog)
        with pytest.raises(ApplicationHandlerStop):
            await errors.on_error(None, context)
    assert [r.getMessage() for r in warnings_and_worse(caplog)] == [CONFLICT_LINE]


def test_repeats_within_a_minute_are_summarised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    now = [1000.0]
    repeated = RepeatedErrors(logging.getLogger("reminderbot.test_repeats"), clock=lambda: now[0])
    for _ in range(58):
        repeated.log(logging.WARNING, "polling Telegram failed: NetworkError (network); retrying",
                     NetworkError("x"))
        now[0] += 1.0
    repeated.log(logging.ERROR, "something else", None)
    now[0] = 1060.0
    repeated.flush()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "polling Telegram failed: NetworkError (network); retrying"),
        ("ERROR", "something else"),
        ("WARNING", "polling Telegram failed: NetworkError (network); retrying … 57 more in the "
                    "last minute"),
    ]
    assert all(r.exc_info is None for r in caplog.records)
    caplog.clear()
    repeated.log(logging.WARNING, "polling Telegram failed: NetworkError (network); retrying")
    assert [r.getMessage() for r in caplog.records] == [
        "polling Telegram failed: NetworkError (network); retrying"  # a new window
    ]


async def test_the_summary_comes_on_its_own_when_the_window_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    repeated = RepeatedErrors(logging.getLogger("reminderbot.test_repeats"), window=0.2)
    for _ in range(3):
        repeated.log(logging.WARNING, "job dispatch failed: TimedOut (network)")
    await asyncio.sleep(0.4)  # nothing else is logged meanwhile
    assert [r.getMessage() for r in caplog.records] == [
        "job dispatch failed: TimedOut (network)",
        "job dispatch failed: TimedOut (network) … 2 more in the last 0.2 s",
    ]


def test_the_traceback_is_there_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reminderbot.test_repeats")
    repeated = RepeatedErrors(logging.getLogger("reminderbot.test_repeats"))
    error = TimedOut()
    repeated.log(logging.WARNING, "polling Telegram failed: TimedOut (network); retrying", error)
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[1] is error


def test_what_counts_as_a_network_error() -> None:
    assert is_network_error(NetworkError("Bad Gateway")) and is_network_error(TimedOut())
    assert is_network_error(ConnectionResetError()) and is_network_error(TimeoutError())
    assert not is_network_error(BadRequest("Message is too long"))  # refused, not the network
    assert not is_network_error(ValueError("a bug"))
