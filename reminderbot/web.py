"""The bot's HTTP side, one small Starlette app: Telegram's webhook, ``/healthz``, ``/metrics``.

Modelled on python-telegram-bot's custom webhook example: a webhook request carrying the
right ``X-Telegram-Bot-Api-Secret-Token`` is turned into an ``Update`` and put into the
Application's update queue; any other gets 403 and is not read.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from time import monotonic

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from reminderbot.app import DISPATCHER_KEY, LEADER_KEY, BotApplication
from reminderbot.dispatch import Dispatcher
from reminderbot.leader import Leadership
from reminderbot.metrics import CONTENT_TYPE, metrics_of
from reminderbot.runtime import RUNTIME_KEY, Runtime

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The dispatcher looks for due rows every few seconds, and at least once per batch of a burst
# (500 rows, under 20 s at 30/s); this long without a look is a stuck dispatcher.
TICK_STALE_SECONDS = 120.0
# A database that takes longer than this to answer SELECT 1 counts as unreachable.
DATABASE_TIMEOUT_SECONDS = 5.0


async def health_problem(
    application: BotApplication, *, stale_after: float = TICK_STALE_SECONDS
) -> str | None:
    """Why the bot is not healthy, in one line; None when it is.

    Healthy: the database answers ``SELECT 1`` and the dispatcher looked for due reminders
    within ``stale_after`` seconds, or stands by while another replica sends.
    """
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    dispatcher: Dispatcher = application.bot_data[DISPATCHER_KEY]
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # whatever it is, the database does not answer
        return f"database unreachable ({type(exc).__name__})"
    if standing_by(application):
        return None
    if dispatcher.last_tick is None:
        return "dispatcher has not ticked yet"
    age = monotonic() - dispatcher.last_tick
    if age > stale_after:
        return f"dispatcher has not ticked for {age:.0f} s"
    return None


def standing_by(application: BotApplication) -> bool:
    """Whether this replica's dispatcher waits while the leading replica sends (no Redis)."""
    leadership = application.bot_data.get(LEADER_KEY)
    return (isinstance(leadership, Leadership) and leadership.running and leadership.sends
            and not leadership.is_leader)


def web_app(
    application: BotApplication,
    *,
    webhook_path: str | None = None,
    secret: str | None = None,
    stale_after: float = TICK_STALE_SECONDS,
) -> Starlette:
    """The ASGI app: ``/healthz`` and ``/metrics``, and with ``webhook_path`` the webhook."""

    last: list[str | None] = [None]  # the previous answer's problem: logged when it changes

    async def health(_: Request) -> Response:
        problem = await health_problem(application, stale_after=stale_after)
        if problem != last[0]:
            if problem is not None:
                log.warning("health check fails: %s", problem)
            else:
                log.info("health check passes")
            last[0] = problem
        if problem is not None:
            return PlainTextResponse(f"{problem}\n", status_code=503)
        if standing_by(application):
            return PlainTextResponse("ok: standing by, another replica sends\n")
        return PlainTextResponse("ok\n")

    async def metrics(_: Request) -> Response:
        exported = metrics_of(application)
        await exported.refresh()
        return Response(exported.render(), media_type=CONTENT_TYPE)

    routes = [
        Route(HEALTH_PATH, health, methods=["GET"]),
        Route(METRICS_PATH, metrics, methods=["GET"]),
    ]
    if webhook_path is not None:
        if not secret:
            raise ValueError("a webhook needs its secret token")
        routes.append(Route(webhook_path, _webhook(application, secret), methods=["POST"]))
    return Starlette(routes=routes)


def _webhook(
    application: BotApplication, secret: str
) -> Callable[[Request], Awaitable[Response]]:
    """The handler Telegram posts updates to."""
    expected = secret.encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        # Constant time: the comparison tells nothing about how much of a guess was right.
        if not hmac.compare_digest(given, expected):
            log.warning("webhook request refused: wrong or missing secret token")
            return Response(status_code=403)
        if not application.running:
            # Not started, or stopping: Telegram delivers it again later, nothing is lost.
            return Response(status_code=503)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except Exception as exc:  # not JSON, or not an update: nothing to handle
            log.warning("webhook request is not an update (%s)", type(exc).__name__)
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response()

    return telegram
