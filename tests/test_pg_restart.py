"""PostgreSQL restarted while the bot sends a burst: the bot reconnects by itself and goes on,
losing nothing and sending nothing twice. On a throwaway cluster of the test's own (initdb and
pg_ctl from the PostgreSQL binaries on this machine), as it must be restarted."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reminderbot.testing.botapi import BotAPIStandIn
from tests.burst import Tally, seed_due, start, stop

DUE = 1500
RESTART_AFTER = 400  # reminders sent when the database goes down


def _bindir() -> Path | None:
    """The newest PostgreSQL server binaries here (PG_BINDIR, or Debian's layout)."""
    given = os.environ.get("PG_BINDIR")
    found = [given] if given else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                         key=lambda p: int(Path(p).parent.name))
    for path in reversed(found):
        if (Path(path) / "initdb").exists() and (Path(path) / "pg_ctl").exists():
            return Path(path)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run by the postgres user when we are root
    (initdb refuses root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="reminderbot-pg-"))
        self.data = self.base / "data"
        self.port = _free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.base, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bindir / tool), *args], check=True,
                       capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8")

    def pg_ctl(self, *args: str) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "log"), "-w",
                  "-o", options, *args)

    def remove(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of our own, started; removed afterwards."""
    bindir = _bindir()
    if bindir is None:
        reason = "no PostgreSQL server binaries (initdb, pg_ctl); set PG_BINDIR"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the database restart test")
        pytest.skip(reason)
    own = Cluster(bindir)
    try:
        own.init()
        own.pg_ctl("start")
        yield own
    finally:
        own.remove()


async def test_a_postgresql_restart_mid_burst_loses_nothing_and_doubles_nothing(
    tmp_path: Path, api: BotAPIStandIn, cluster: Cluster
) -> None:
    tally = Tally(api, await seed_due(cluster.url, DUE))
    process = await start(tmp_path, api, cluster.url, limited=False)
    try:
        await tally.wait_for(RESTART_AFTER)
        await asyncio.to_thread(cluster.pg_ctl, "restart", "-m", "fast")
        assert tally.reached < DUE  # the database went down in the middle of the burst
        await tally.wait_until_done(cluster.url)
        assert process.returncode is None  # still running
    except BaseException as failure:
        failure.add_note("the bot's log, its end:\n" + (await stop(process))[-4000:])
        raise
    log = await stop(process)
    assert process.returncode == 0, log[-2000:]
    assert sorted(set(tally.per_chat.values())) == [1]  # nothing lost, nothing twice
