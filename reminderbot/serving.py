"""``reminderbot run`` with its HTTP server: long polling or Telegram's webhook, beside
``/healthz`` and ``/metrics`` (``web.py``) on ``HTTP_PORT``, until SIGTERM or SIGINT.

The port is bound before anything else starts, so a port in use is one line and nothing
half-started. uvicorn serves in the bot's own event loop; the signals are ours, not uvicorn's
(it would raise them again once it has stopped, ending the process before the bot has).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator

import uvicorn

from reminderbot.app import BotApplication, running, webhook_running
from reminderbot.config import Settings
from reminderbot.web import web_app

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Open keep-alive connections get this long to finish when the bot stops.
GRACEFUL_SECONDS = 5


class ListenError(Exception):
    """HTTP_HOST:HTTP_PORT cannot be listened on; the message is one line naming them."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (``ListenError`` when it cannot be had)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise ListenError(f"cannot listen on HTTP_HOST:HTTP_PORT {host}:{port} ({reason})"
                          ) from None


class _Server(uvicorn.Server):
    """uvicorn that leaves the signals to us (see the module docstring)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Nothing: ``serve`` handles SIGTERM and SIGINT."""
        yield


async def serve(application: BotApplication, settings: Settings) -> None:
    """Run the bot (webhook with WEBHOOK_URL, else polling) and the HTTP server until a signal.

    The HTTP server starts first (``/healthz`` says 503 while the bot starts) and stops first
    (no new webhook requests while the bot finishes the updates it was given).
    """
    port = settings.served_port
    sock = listen(settings.http_host, port) if port is not None else None
    path = settings.webhook_path if settings.webhook_url else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, _stopping, stop, number)
    server: _Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        if sock is not None:
            server = _Server(uvicorn.Config(
                web_app(application, webhook_path=path, secret=settings.webhook_secret),
                log_config=None, access_log=False, lifespan="off",
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
            ))
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            log.info("serving %s/healthz and /metrics on %s:%d",
                     "the webhook, " if path else "", settings.http_host, port)
        if path is not None and settings.webhook_url and settings.webhook_secret:
            bot = webhook_running(application, settings.webhook_url, settings.webhook_secret)
        else:
            bot = running(application)
        async with bot:
            waiting = asyncio.create_task(stop.wait())
            await asyncio.wait({waiting} | ({serving} if serving else set()),
                               return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if server is not None:
                server.should_exit = True
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
        for number in STOP_SIGNALS:
            loop.remove_signal_handler(number)
        if sock is not None:
            sock.close()


def _stopping(stop: asyncio.Event, number: int) -> None:
    log.info("%s received: stopping", signal.Signals(number).name)
    stop.set()
