"""SIGTERM and SIGINT for ``reminderbot run``: the dispatcher stops claiming, then PTB stops.

PTB's own stop waits for the running dispatcher tick, which would otherwise go on until
nothing is due (minutes, in a burst at 30 a second). With the stop mark the tick gives back
what it has not begun to send and ends when the sends under way are recorded, in a second or
two, well inside the 10 s a container runtime allows before SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from reminderbot.app import DISPATCHER_KEY, BotApplication
from reminderbot.dispatch import Dispatcher

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(application: BotApplication, loop: asyncio.AbstractEventLoop) -> None:
    """On SIGTERM or SIGINT, stop the dispatcher, then stop the way PTB does on its own
    signals (``run_polling(stop_signals=None)`` must be used with this)."""
    dispatcher = application.bot_data[DISPATCHER_KEY]
    assert isinstance(dispatcher, Dispatcher)

    def on_signal(number: int) -> None:
        log.info("%s received: stopping", signal.Signals(number).name)
        dispatcher.stop()
        # What PTB's own handler does: run_polling then stops polling, handlers and jobs,
        # and shuts down, in that order.
        raise SystemExit

    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, on_signal, number)
