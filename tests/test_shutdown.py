"""SIGTERM in the middle of a burst: `reminderbot run` stops within 10 s, exit status 0, and the
next run sends what is left: every reminder exactly once. On SQLite and PostgreSQL.

`pytest -s` prints how long the stop took."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reminderbot.testing.botapi import BotAPIStandIn
from tests.burst import Tally, seed_due, start, stop

DUE = 600
# The container runtime's grace period before it sends SIGKILL.
GRACE_SECONDS = 10


async def test_sigterm_mid_burst_stops_in_time_and_the_restart_sends_the_rest_once(
    tmp_path: Path, api: BotAPIStandIn, database_url: str
) -> None:
    tally = Tally(api, await seed_due(database_url, DUE))
    process = await start(tmp_path, api, database_url, limited=True)  # 30 a second
    try:
        await tally.wait_for(60)
    except BaseException:
        await stop(process)
        raise
    asked = asyncio.get_running_loop().time()
    process.terminate()
    _, stderr = await asyncio.wait_for(process.communicate(), GRACE_SECONDS)
    took = asyncio.get_running_loop().time() - asked
    log = stderr.decode()
    assert process.returncode == 0, log[-2000:]
    assert "Traceback" not in log
    sent_before = sum(tally.per_chat.values())
    assert sent_before < DUE // 2  # it was stopped mid-burst
    print(f"\nSIGTERM after {sent_before} of {DUE} reminders: exit 0 in {took:.1f} s")
    # The same database, started again (limits lifted, so that the rest takes seconds).
    again = await start(tmp_path, api, database_url, limited=False)
    try:
        await tally.wait_until_done(database_url)
    finally:
        log = await stop(again)
    assert again.returncode == 0, log[-2000:]
    assert sorted(set(tally.per_chat.values())) == [1]  # none lost, none twice
