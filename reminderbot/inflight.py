"""Reminders on their way, per chat: which chats stopped meanwhile, which have a send on the wire.

/stop marks the chat here after its change is committed. From then on a reminder for that chat
that is still waiting (claimed, or queued in the rate limiter) is dropped, and the /stop reply
waits only for a reminder already handed to the network. In-process only: the dispatcher also
re-reads the users of every slice it sends, which covers other processes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, MutableMapping
from typing import Any

# Where build_application keeps the one SendGate of a process (``application.bot_data``).
SENDS_KEY = "reminderbot.sends"
# A stop mark outlives every reminder claimed before it (a claim lease is 5 minutes).
KEEP_MARKS_SECONDS = 600.0
# However long a send on the wire takes, /stop answers after this (PTB's write + read timeouts).
WIRE_WAIT_SECONDS = 10.0


class SendGate:
    """Stop marks and sends on the wire, by chat id; all methods run in the event loop."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sequence = itertools.count(1)
        self._last = 0  # the sequence number of the newest mark
        self._marks: dict[int, tuple[int, float]] = {}  # chat -> (sequence, when)
        self._on_wire: dict[int, int] = {}  # chat -> sends handed to the network
        self._idle: dict[int, asyncio.Event] = {}  # chat -> set when its last send is back

    @property
    def generation(self) -> int:
        """The newest mark's number: read it before a database check of users' status."""
        return self._last

    def stop(self, chat_id: int) -> None:
        """The chat's user stopped (committed): drop every reminder for it not yet sent."""
        self._prune()
        self._last = next(self._sequence)
        self._marks[chat_id] = (self._last, self._clock())

    def is_stopped(self, chat_id: int, *, checked_since: int | None = None) -> bool:
        """Whether reminders for ``chat_id`` are to be dropped.

        ``checked_since``: the :attr:`generation` read before a database read that found the
        user active. A mark older than that read is stale (they came back since): forgotten.
        """
        mark = self._marks.get(chat_id)
        if mark is None:
            return False
        if checked_since is not None and mark[0] <= checked_since:
            del self._marks[chat_id]
            return False
        return True

    def begin(self, chat_id: int) -> None:
        """A send to ``chat_id`` is handed to the network now."""
        self._on_wire[chat_id] = self._on_wire.get(chat_id, 0) + 1

    def end(self, chat_id: int) -> None:
        """A send to ``chat_id`` came back (sent or failed)."""
        left = self._on_wire.get(chat_id, 0) - 1
        if left > 0:
            self._on_wire[chat_id] = left
            return
        self._on_wire.pop(chat_id, None)
        idle = self._idle.pop(chat_id, None)
        if idle is not None:
            idle.set()

    def on_wire(self, chat_id: int) -> int:
        """How many sends to ``chat_id`` are on the network right now."""
        return self._on_wire.get(chat_id, 0)

    async def wait_idle(self, chat_id: int, *, timeout: float = WIRE_WAIT_SECONDS) -> bool:
        """Wait until no send to ``chat_id`` is on the network; False if it took too long."""
        if not self._on_wire.get(chat_id):
            return True
        idle = self._idle.setdefault(chat_id, asyncio.Event())
        try:
            async with asyncio.timeout(timeout):
                await idle.wait()
        except TimeoutError:
            return False
        return True

    def _prune(self) -> None:
        cutoff = self._clock() - KEEP_MARKS_SECONDS
        for chat_id, (_, when) in list(self._marks.items()):
            if when < cutoff:
                del self._marks[chat_id]


def sends_of(bot_data: MutableMapping[str, Any]) -> SendGate | None:
    """The process's SendGate kept in ``bot_data`` (None when the bot was built without one)."""
    gate = bot_data.get(SENDS_KEY)
    return gate if isinstance(gate, SendGate) else None
