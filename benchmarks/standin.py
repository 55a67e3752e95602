"""The Bot API stand-in in a process of its own, so that it does not share the bot's CPU time.

``python -m benchmarks.standin [--limits]`` serves :class:`BotAPIStandIn` on 127.0.0.1, prints
``PORT <n>`` and then answers one line of JSON per command read from stdin: ``stats`` (the
send times as wall-clock seconds, the most sends to one chat, 429s answered), ``reset``
(forget the sends so far) and ``quit``. :class:`StandInProcess` starts and talks to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from types import TracebackType
from typing import Any

from reminderbot.testing.botapi import BotAPIStandIn, StandInEvent

TOKEN = "123456789:AAbench-own-process-token-0123456789"


class StandInProcess:
    """A child process running the stand-in; ``base_url`` once entered."""

    def __init__(self, *, limits: bool = False) -> None:
        self.limits = limits
        self._process: asyncio.subprocess.Process | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """URL for the bot's ``base_url`` setting."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> StandInProcess:
        args = [sys.executable, "-m", "benchmarks.standin"] + (["--limits"] if self.limits else [])
        self._process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        line = await self._line()
        self.port = int(line.split()[1])
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            assert process.stdin is not None
            process.stdin.write(b"quit\n")
            await process.stdin.drain()
            await asyncio.wait_for(process.wait(), 10)
        except (OSError, TimeoutError):
            process.kill()
            await process.wait()

    async def _line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError("the stand-in process ended")
        return line.decode()

    async def command(self, name: str) -> dict[str, Any]:
        """Send one command; its JSON answer."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(f"{name}\n".encode())
        await self._process.stdin.drain()
        answer: dict[str, Any] = json.loads(await self._line())
        return answer

    async def stats(self) -> dict[str, Any]:
        """``times`` (wall-clock seconds of each send), ``max_per_chat``, ``refused_429``."""
        return await self.command("stats")

    async def reset(self) -> None:
        """Forget the sends so far."""
        await self.command("reset")


async def serve(limits: bool) -> None:
    """Serve until ``quit`` (or stdin closes)."""
    api = BotAPIStandIn(TOKEN)
    if limits:
        api.enforce_limits()
    times: list[float] = []
    chats: Counter[int] = Counter()

    def on_event(event: StandInEvent) -> None:
        if event.kind == "sent" and event.message is not None:
            times.append(time.time())
            chats[event.message.chat_id] += 1

    api.subscribe(on_event)
    await api.start()
    print(f"PORT {api.port}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "quit":
                break
            if line == "reset":
                times.clear()
                chats.clear()
                # The stand-in keeps every message; a long run would only grow.
                api.sent.clear()
                api.calls.clear()
                answer: dict[str, Any] = {"ok": True}
            else:
                answer = {"times": times, "max_per_chat": max(chats.values(), default=0),
                          "refused_429": api.refused_over_limit, "sent": len(times)}
            print(json.dumps(answer), flush=True)
    finally:
        await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.standin", description=__doc__)
    parser.add_argument("--limits", action="store_true",
                        help="answer sends over 30 a second (or 1 a second per chat) with 429")
    asyncio.run(serve(parser.parse_args().limits))


if __name__ == "__main__":
    main()
