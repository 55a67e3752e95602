"""SIGKILL in the middle of a burst of 5,000 due reminders, then a restart: nothing lost, and
nothing sent twice but the sends on the wire at the kill. On SQLite and PostgreSQL.

The figure (how many were in flight, how many went twice) is printed: `pytest -s`.
"""

from __future__ import annotations

from pathlib import Path

from reminderbot.dispatch import SLICE_SIZE, SLICES_AHEAD
from reminderbot.testing.botapi import BotAPIStandIn
from tests.burst import Tally, claimed_rows, seed_due, start, stop

DUE = 5000
# Mid-batch (the dispatcher claims 500 at a time): some claimed rows are still waiting.
KILL_AFTER = 2137


async def test_sigkill_mid_burst_loses_nothing_and_repeats_only_sends_in_flight(
    tmp_path: Path, api: BotAPIStandIn, database_url: str
) -> None:
    tally = Tally(api, await seed_due(database_url, DUE))
    process = await start(tmp_path, api, database_url, limited=False)
    try:
        await tally.wait_for(KILL_AFTER)
    finally:
        process.kill()
        await process.wait()
    await api.wait_until_idle(quiet=0.3)  # requests the stand-in had in hand are answered
    reached = {chat for chat, count in tally.per_chat.items() if count}
    # Claimed by the dead process and already at Telegram: sent, not yet recorded.
    claimed = set(await claimed_rows(database_url))
    in_flight = reached & claimed
    assert len(reached) < DUE and len(claimed) > len(in_flight)  # some were still waiting
    again = await start(tmp_path, api, database_url, limited=False)
    try:
        await tally.wait_until_done(database_url, timeout=120)
    finally:
        log = await stop(again)
    assert again.returncode == 0, log[-2000:]
    got = tally.per_chat
    lost = sorted(chat for chat, count in got.items() if count == 0)
    twice = {chat for chat, count in got.items() if count > 1}
    print(f"\nSIGKILL after {len(reached)} of {DUE} reminders: {len(in_flight)} sends in "
          f"flight, {len(twice)} sent twice, {len(lost)} lost")
    assert lost == []
    assert max(got.values()) == 2 if twice else max(got.values()) == 1
    assert twice <= in_flight  # only a send that had reached Telegram goes again
    assert len(in_flight) <= SLICES_AHEAD * SLICE_SIZE  # the sends a tick has under way
    assert "claimed by a process that died were given back" in log
