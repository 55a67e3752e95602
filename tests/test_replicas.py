"""Several replicas on one PostgreSQL database: migrations once, one Telegram budget (Redis) or
one leader, one poller, and a replica killed mid-burst losing nothing.

The replicas are real `reminderbot run` processes against the Bot API stand-in; one reaches
it as 127.0.0.1, the other as localhost, so the stand-in's calls tell who sent and who polled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from alembic.script import ScriptDirectory
from sqlalchemy import text, update
from telegram.ext import ExtBot

from benchmarks.replicas import FIRST_USER, HOSTS, seed_due
from benchmarks.replicas import busiest_second as most_in_a_second
from benchmarks.replicas import start_replica as launch
from reminderbot.config import setting_names
from reminderbot.db.migrate import alembic_config
from reminderbot.db.models import Schedule
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.ratelimit import TelegramRateLimiter
from reminderbot.sharedbudget import SharedBudget
from reminderbot.testing.botapi import ApiCall, BotAPIStandIn, FakeUser
from tests.conftest import _asyncpg_dsn

# The free limit (messages a second, the whole bot).
LIMIT = 30


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied."""

    async def reset() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(postgres_url))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())
    yield postgres_url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """Redis at TEST_REDIS_URL (default 127.0.0.1:6379): fails in CI when it is down."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = aioredis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        reason = f"Redis at TEST_REDIS_URL is not reachable ({type(exc).__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the replica tests")
        pytest.skip(reason)
    finally:
        await client.aclose()
    yield url


@dataclass
class Replica:
    """One `reminderbot run` process and the host name it reaches the stand-in by."""

    host: str
    process: asyncio.subprocess.Process
    log: Path

    def calls(self, api: BotAPIStandIn, method: str) -> list[ApiCall]:
        return [c for c in api.calls
                if c.method == method and c.host.partition(":")[0] == self.host]


async def start_replica(tmp_path: Path, api: BotAPIStandIn, host: str, database_url: str,
                        **env: str) -> Replica:
    process, log = await launch(tmp_path / host, api, host, database_url, **env)
    return Replica(host, process, log)


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def claimed_by(database_url: str, pid: int) -> set[int]:
    """Chat ids of the rows process ``pid`` had claimed and not advanced."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT u.chat_id FROM schedules s JOIN users u ON u.id = s.user_id "
                     "WHERE s.claimed_by LIKE :worker"), {"worker": f"%:{pid}:%"})
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


async def end_lease(database_url: str, pid: int) -> None:
    """The dead replica's leases run out (five minutes, moved to now)."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(
                update(Schedule).where(Schedule.claimed_by.like(f"%:{pid}:%"))
                .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
    finally:
        await engine.dispose()


def reminders(api: BotAPIStandIn) -> list[ApiCall]:
    return [c for c in api.calls if c.method == "sendMessage" and c.status == 200
            and int(c.params["chat_id"]) >= FIRST_USER]


def busiest_second(api: BotAPIStandIn) -> int:
    """The most messages the stand-in answered in any one second."""
    return most_in_a_second(
        sorted(c.at for c in api.calls if c.method == "sendMessage" and c.status == 200))


async def stop_all(replicas: list[Replica]) -> None:
    for replica in replicas:
        if replica.process.returncode is None:
            replica.process.kill()
            await replica.process.wait()


# A replica's start-up migration, begun at a given wall-clock time (all of them at once).
_MIGRATE_AT = """
import asyncio, sys, time
from reminderbot.db.migrate import upgrade
from reminderbot.db.session import make_engine

async def start_up() -> None:
    engine = make_engine(sys.argv[1])
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()

time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
asyncio.run(start_up())
"""


async def test_replicas_starting_together_migrate_once(pg_url: str) -> None:
    """Four processes migrate one empty database in the same instant: all of them succeed."""
    at = str(time.time() + 3)  # after every process has imported the bot
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _MIGRATE_AT, pg_url, at,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        for _ in range(4)
    ]
    results = [await asyncio.wait_for(p.communicate(), 60) for p in processes]
    failures = [err.decode()[-300:] for (_, err), p in zip(results, processes, strict=True)
                if p.returncode != 0]
    assert failures == []
    engine = make_engine(pg_url)
    try:
        async with engine.connect() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def check_lines(tmp_path: Path, **env: str) -> list[str]:
    """`reminderbot check`'s lines, with ``env`` as the settings."""
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    clean.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reminderbot", "check", cwd=tmp_path, env=clean,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    return stdout.decode().splitlines()


async def test_check_says_whether_the_shared_budget_answers(
    tmp_path: Path, redis_url: str
) -> None:
    where = redis_url.removeprefix("redis://").partition("/")[0]
    assert f"✓ Redis at {where} answers: the replicas share one Telegram budget" in (
        await check_lines(tmp_path, REDIS_URL=redis_url))
    assert ("✗ cannot reach Redis at 127.0.0.1:9 (REDIS_URL); without it each replica sends "
            "within its own limits") in await check_lines(
                tmp_path, REDIS_URL="redis://:secret@127.0.0.1:9/0")


async def test_replicas_sharing_redis_send_to_a_chat_once_a_second(
    api: BotAPIStandIn, redis_url: str
) -> None:
    """Two replicas' limiters, each with the stand-in: one chat gets their messages 1 s apart."""
    bots = [
        ExtBot(api.token, base_url=api.base_url, rate_limiter=TelegramRateLimiter(
            shared=SharedBudget(redis_url, bot_id="9001", per_second=LIMIT)))
        for _ in range(2)
    ]
    user = FakeUser(id=777004)
    for bot in bots:
        await bot.initialize()
    try:
        await asyncio.gather(*(bot.send_message(user.id, f"from replica {n}")
                               for n, bot in enumerate(bots) for _ in range(2)))
    finally:
        for bot in bots:
            await bot.shutdown()
    times = sorted(c.at for c in api.calls if c.method == "sendMessage")
    assert len(times) == 4
    assert all(b - a >= 0.95 for a, b in pairwise(times))


async def test_a_429_to_one_replica_pauses_every_replica(
    api: BotAPIStandIn, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram tells one replica to wait 2 s: the other's next send waits as long."""
    caplog.set_level("INFO", logger="reminderbot.ratelimit")
    first, second = (
        ExtBot(api.token, base_url=api.base_url, rate_limiter=TelegramRateLimiter(
            shared=SharedBudget(redis_url, bot_id="9003", per_second=LIMIT)))
        for _ in range(2)
    )
    told, other = FakeUser(id=777020), FakeUser(id=777021)
    api.fail_next("sendMessage", status=429, retry_after=2, chat_id=told.id)
    async with first, second:
        retried = asyncio.create_task(first.send_message(told.id, "hello"))
        await wait_until(lambda: any("pausing sends" in r.getMessage() for r in caplog.records),
                         10, "the 429")
        await second.send_message(other.id, "hello")
        await retried
    [refused] = [c for c in api.calls if c.status == 429]
    [sent] = [c for c in api.calls if c.method == "sendMessage" and c.status == 200
              and int(c.params["chat_id"]) == other.id]
    assert sent.at - refused.at >= 1.9


async def test_a_replica_whose_redis_is_gone_still_sends(
    api: BotAPIStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis unreachable: sends go out within the process's own limits, one log line says so."""
    limiter = TelegramRateLimiter(
        shared=SharedBudget("redis://127.0.0.1:9/0", bot_id="9002", per_second=LIMIT))
    bot = ExtBot(api.token, base_url=api.base_url, rate_limiter=limiter)
    users = [FakeUser(id=777010 + n) for n in range(3)]
    async with bot:
        await asyncio.wait_for(
            asyncio.gather(*(bot.send_message(user.id, "hello") for user in users)), 20)
    assert sorted(c.params["chat_id"] for c in api.calls if c.method == "sendMessage") == [
        user.id for user in users]
    assert [r.getMessage() for r in caplog.records if r.name == "reminderbot.ratelimit"] == [
        "Redis unreachable (ConnectionError): sending within this process's limits only"]


async def test_two_replicas_share_one_budget_and_a_killed_one_loses_nothing(
    tmp_path: Path, api: BotAPIStandIn, pg_url: str, redis_url: str
) -> None:
    users = 540  # more than one claim (500): both replicas get rows
    await seed_due(pg_url, users)
    replicas = [await start_replica(tmp_path, api, host, pg_url, REDIS_URL=redis_url)
                for host in HOSTS]
    try:
        # Both replicas send from the one budget; then the poller dies in the middle.
        await wait_until(lambda: all(
            sum(1 for c in reminders(api) if c.host.startswith(r.host)) >= 20 for r in replicas
        ), 40, "both replicas sending")
        [poller] = [r for r in replicas if "this replica leads" in r.log.read_text()]
        [survivor] = [r for r in replicas if r is not poller]
        poller.process.send_signal(signal.SIGKILL)
        await poller.process.wait()
        polls_before_kill = {r.host: len(r.calls(api, "getUpdates")) for r in replicas}
        # What was on the wire at the kill: sent, not yet recorded as sent.
        leased = await claimed_by(pg_url, poller.process.pid)
        sent_by_dead = {int(c.params["chat_id"]) for c in reminders(api)
                        if c.host.startswith(poller.host)}
        in_flight = leased & sent_by_dead
        await end_lease(pg_url, poller.process.pid)
        # The survivor takes over polling: a person's /help is answered.
        asker = FakeUser(id=777002)
        await api.send_message(asker, "/help")
        await api.wait_for_messages(asker.id, 1, timeout=15)
        await wait_until(lambda: len({c.params["chat_id"] for c in reminders(api)}) >= users,
                         40, "every reminder sent")
        await api.wait_until_idle(quiet=0.5)
    finally:
        await stop_all(replicas)
    per_chat = Counter(int(c.params["chat_id"]) for c in reminders(api))
    doubled = {chat for chat, n in per_chat.items() if n > 1}
    print(f"\n{users} due; {len(leased)} leased by the killed replica, {len(in_flight)} of them "
          f"on the wire at the kill; {len(doubled)} sent twice; busiest second "
          f"{busiest_second(api)}")
    assert set(per_chat) == {FIRST_USER + n for n in range(users)}  # nothing lost
    assert doubled <= in_flight and max(per_chat.values()) <= 2
    # At most one over: the stand-in timestamps answers in this test's event loop, which a
    # loaded machine holds up for tens of ms (as in test_rate_limits); two budgets make ~60.
    assert busiest_second(api) <= LIMIT + 1
    assert polls_before_kill[survivor.host] == 0  # one poller at a time
    assert survivor.calls(api, "getUpdates")
    assert not [c for c in api.calls if c.method == "getUpdates" and c.status == 409]
    assert {c.host.partition(":")[0] for c in reminders(api)} == set(HOSTS)
    log = survivor.log.read_text()
    assert "Traceback" not in log, log[log.find("Traceback") - 500:][:4000]


async def test_without_redis_one_replica_sends_and_another_takes_over(
    tmp_path: Path, api: BotAPIStandIn, pg_url: str
) -> None:
    users = 600  # more than one claim (500): a second sender would get rows
    await seed_due(pg_url, users)
    paid = {"TELEGRAM_PAID_BROADCAST": "true"}  # 1,000 a second: a quick burst
    replicas = [await start_replica(tmp_path, api, host, pg_url, **paid) for host in HOSTS]
    try:
        await wait_until(lambda: all(r.calls(api, "setMyCommands") for r in replicas),
                         60, "both replicas up")
        await wait_until(lambda: len(reminders(api)) >= 300, 40, "the burst under way")
        [leader] = [r for r in replicas if "this replica leads" in r.log.read_text()]
        [other] = [r for r in replicas if r is not leader]
        leader.process.send_signal(signal.SIGKILL)
        await leader.process.wait()
        sends_before = Counter(c.host.partition(":")[0] for c in reminders(api))
        polls_before = len(other.calls(api, "getUpdates"))
        await end_lease(pg_url, leader.process.pid)
        # Another replica leads within 10 s: it answers a person, then sends the rest.
        asker = FakeUser(id=777003)
        await api.send_message(asker, "/help")
        [answer] = await api.wait_for_messages(asker.id, 1, timeout=10)
        await wait_until(lambda: len({c.params["chat_id"] for c in reminders(api)}) >= users,
                         30, "every reminder sent")
    finally:
        await stop_all(replicas)
    assert sends_before == {leader.host: sends_before[leader.host]}  # only the leader sent
    assert polls_before == 0
    assert other.calls(api, "getUpdates")
    assert set(Counter(int(c.params["chat_id"]) for c in reminders(api))) == {
        FIRST_USER + n for n in range(users)}
    # Reminders are paid broadcasts (form data, as PTB sends it); the reply to a person is not.
    assert all(c.params.get("allow_paid_broadcast") == "true" for c in reminders(api))
    [reply] = [c for c in api.calls if c.method == "sendMessage"
               and c.params["chat_id"] == asker.id]
    assert "allow_paid_broadcast" not in reply.params
    assert "/sideeffects" in answer.plain_text

