"""``python -m benchmarks.replicas``: the highest rate one and two replicas reach with paid
broadcasts (``TELEGRAM_PAID_BROADCAST=true``: a shared limit of 1,000 messages a second).

Each run seeds a throwaway PostgreSQL database with ``--users`` users whose water reminder is
due now, starts one or two real ``reminderbot run`` processes sharing one budget in Redis, and
waits until every user has their reminder. The Bot API stand-in runs in this process (not in
the bots'); its answer times give the rate: reminders over the time from the first to the
last, and the most in any one second. Figures go into ``benchmarks/results.json`` under
``replicas_*`` keys (other keys stay). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from benchmarks.dispatch import throwaway_database
from reminderbot.config import setting_names
from reminderbot.db.migrate import upgrade
from reminderbot.db.models import Schedule, ScheduleKind, User
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.preferences import Planner
from reminderbot.ratelimit import PAID_BROADCAST_PER_SECOND
from reminderbot.subscriptions import opt_in
from reminderbot.testing.botapi import BotAPIStandIn

TOKEN = "123456789:AAbench-replicas-token-0123456789"
FIRST_USER = 50_000_000
# One replica reaches the stand-in as 127.0.0.1, the other as localhost: the calls say who.
HOSTS = ("127.0.0.1", "localhost")
RESULTS = Path(__file__).parent / "results.json"


async def seed_due(database_url: str, users: int) -> None:
    """Migrate, then ``users`` opted-in users whose water reminder is due now (nothing else
    due): one real opt-in, copied row for row in two INSERT ... SELECT statements."""
    now = datetime.now(UTC).replace(microsecond=0)
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as session:
            await opt_in(session, telegram_user_id=FIRST_USER, chat_id=FIRST_USER,
                         language="en", now=now, planner=Planner("UTC", 0))
            user_cols = [c.name for c in User.__table__.columns
                         if c.name not in ("id", "telegram_user_id", "chat_id")]
            await session.execute(text(
                f"INSERT INTO users (telegram_user_id, chat_id, {', '.join(user_cols)}) "
                f"SELECT :first + n, :first + n, {', '.join(user_cols)} "
                "FROM users, generate_series(1, :more) AS n WHERE telegram_user_id = :first"
            ), {"first": FIRST_USER, "more": users - 1})
            row_cols = [c.name for c in Schedule.__table__.columns
                        if c.name not in ("id", "user_id")]
            await session.execute(text(
                f"INSERT INTO schedules (user_id, {', '.join(row_cols)}) "
                f"SELECT u.id, {', '.join('s.' + c for c in row_cols)} "
                "FROM schedules s JOIN users t ON t.id = s.user_id, users u "
                "WHERE t.telegram_user_id = :first AND u.telegram_user_id > :first"
            ), {"first": FIRST_USER})
            await session.execute(update(Schedule).values(next_due_at=now + timedelta(days=1)))
            await session.execute(update(Schedule).where(Schedule.kind == ScheduleKind.HYDRATION)
                                  .values(next_due_at=now))
    finally:
        await engine.dispose()


async def start_replica(folder: Path, api: BotAPIStandIn, host: str, database_url: str,
                        **env: str) -> tuple[asyncio.subprocess.Process, Path]:
    """A `reminderbot run` process in ``folder`` reaching the stand-in as ``host``; its
    standard error goes to ``folder/stderr.log``."""
    os.makedirs(folder, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    clean.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=f"http://{host}:{api.port}/bot",
        DATABASE_URL=database_url,
        REMINDER_SPREAD_MINUTES="0",
        **env,
    )
    log = folder / "stderr.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reminderbot", "run", cwd=folder, env=clean,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )
    return process, log


def busiest_second(times: list[float]) -> int:
    """The most of ``times`` (sorted) in any one second."""
    best, end = 0, 0
    for start, at in enumerate(times):
        end = max(end, start)
        while end < len(times) and times[end] < at + 1.0:
            end += 1
        best = max(best, end - start)
    return best


@dataclass
class RunFigures:
    """What one run measured."""

    replicas: int
    shared: bool  # through the budget in Redis
    sent: int
    seconds: float
    peak: int
    by_replica: list[int]

    @property
    def rate(self) -> float:
        """Reminders a second from the first to the last."""
        return (self.sent - 1) / self.seconds if self.seconds > 0 else 0.0


async def run(replicas: int, users: int, redis_url: str | None, folder: Path) -> RunFigures:
    """One burst of ``users`` reminders through ``replicas`` processes (None: one replica
    without Redis, its own limiter only)."""
    async with throwaway_database("postgresql") as url:
        await seed_due(url, users)
        async with BotAPIStandIn(TOKEN) as api:
            env = {"TELEGRAM_PAID_BROADCAST": "true"}
            if redis_url is not None:
                env["REDIS_URL"] = redis_url
            run_name = f"{replicas}-{'redis' if redis_url else 'alone'}"
            processes = [await start_replica(folder / f"{run_name}-{host}", api, host, url, **env)
                         for host in HOSTS[:replicas]]
            try:
                deadline = time.monotonic() + 300
                while len({c.params["chat_id"] for c in _reminders(api)}) < users:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"not every reminder went out; see {folder}")
                    await asyncio.sleep(0.1)
            finally:
                for process, _ in processes:
                    process.kill()
                    await process.wait()
            sends = _reminders(api)
    times = sorted(c.at for c in sends)
    by_host = [sum(1 for c in sends if c.host.partition(":")[0] == host)
               for host in HOSTS[:replicas]]
    return RunFigures(replicas, redis_url is not None, len(sends), times[-1] - times[0],
                      busiest_second(times), by_host)


def _reminders(api: BotAPIStandIn) -> list[Any]:
    return [c for c in api.calls if c.method == "sendMessage" and c.status == 200
            and int(c.params["chat_id"]) >= FIRST_USER]


def figures_of(runs: list[RunFigures], users: int) -> dict[str, Any]:
    """The ``replicas_*`` keys of results.json."""
    out: dict[str, Any] = {"replicas_users": users, "replicas_limit": PAID_BROADCAST_PER_SECOND}
    for figures in runs:
        name = {1: "one", 2: "two"}[figures.replicas] + ("" if figures.shared else "_alone")
        out[f"replicas_{name}_rate"] = round(figures.rate, 1)
        out[f"replicas_{name}_limit_ratio"] = round(figures.rate / PAID_BROADCAST_PER_SECOND, 3)
        out[f"replicas_{name}_peak_in_any_second"] = figures.peak
        out[f"replicas_{name}_sent_by_replica"] = figures.by_replica
        out[f"replicas_{name}_sent"] = figures.sent
    shared = {f.replicas: f for f in runs if f.shared}
    if 1 in shared and 2 in shared and shared[1].rate:
        out["replicas_two_vs_one_ratio"] = round(shared[2].rate / shared[1].rate, 2)
    alone = [f for f in runs if not f.shared]
    if alone and 1 in shared and alone[0].rate:
        out["replicas_redis_vs_alone_ratio"] = round(shared[1].rate / alone[0].rate, 2)
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the figures and merge them into results.json."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replicas", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3000, help="reminders due at once")
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/0"))
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results.json to update")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"reminderbot-replicas-{os.getpid()}"

    async def both() -> list[RunFigures]:
        # One replica alone first: the bot's own speed, without the shared budget.
        return [await run(1, args.users, None, folder)] + [
            await run(n, args.users, args.redis, folder) for n in (1, 2)]

    runs = asyncio.run(both())
    figures = figures_of(runs, args.users)
    figures["replicas_meta"] = {
        "command": "python -m benchmarks.replicas" + (
            f" --users {args.users}" if args.users != 3000 else ""),
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run_seconds": round(time.perf_counter() - started, 1),
        # Other work on the machine slows the bots: the 1-minute load before and after.
        "cpus": os.cpu_count(),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    # Read, modify, write: every other benchmark's keys stay.
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    result.update(figures)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for figures_run in runs:
        how = "sharing Redis" if figures_run.shared else "alone, no Redis"
        print(f"{figures_run.replicas} replica(s), {how}: {figures_run.sent} reminders in "
              f"{figures_run.seconds:.2f} s = {figures_run.rate:.0f}/s "
              f"({figures_run.rate / PAID_BROADCAST_PER_SECOND:.2f} of "
              f"{PAID_BROADCAST_PER_SECOND}/s); most in one second {figures_run.peak}; "
              f"by replica {figures_run.by_replica}")
    print(f"(load average {figures['replicas_meta']['load_average']} on {os.cpu_count()} CPUs; "
          f"written to {args.out})", file=sys.stderr)


if __name__ == "__main__":
    main()
