"""Messages that ask for a button press, and whether a press on one counts.

The dispatcher records every reminder, check-in and tolerance question it sends (and /checkin
its question). A button under one of them counts only when it is pressed on such a message, of
the kind the button belongs to, by the user it was sent to, and only once: the press is marked
in the same transaction as what it stores, with an UPDATE that matches an unanswered prompt
only, so a double tap (or a replayed callback) counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.db.models import Prompt

# A prompt is forgotten this long after it was sent: its buttons then say "no longer active".
KEPT = timedelta(days=7)


async def record_prompt(
    session: AsyncSession, user_id: int, chat_id: int, message_id: int, kind: str,
    now: datetime,
) -> None:
    """Remember that ``message_id`` in ``chat_id`` asks ``user_id`` a ``kind`` question.

    Recording it twice is harmless (a retried transaction); the user's forgotten prompts are
    dropped on the way, so the table stays a week deep.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(Prompt)
        .values(user_id=user_id, chat_id=chat_id, message_id=message_id, kind=kind, sent_at=now)
        .on_conflict_do_nothing(index_elements=[Prompt.chat_id, Prompt.message_id])
    )
    await session.execute(
        delete(Prompt)
        .where(Prompt.user_id == user_id, Prompt.sent_at < now - KEPT)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class NewPrompt:
    """One message that asks ``user_id`` a ``kind`` question, sent at ``sent_at``."""

    user_id: int
    chat_id: int
    message_id: int
    kind: str
    sent_at: datetime


async def record_prompts(session: AsyncSession, prompts: Sequence[NewPrompt]) -> None:
    """``record_prompt`` for many messages at once: one INSERT (executemany), one DELETE."""
    if not prompts:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Prompt.metadata.tables[Prompt.__tablename__]
    await session.execute(
        insert(table).on_conflict_do_nothing(index_elements=[table.c.chat_id, table.c.message_id]),
        [asdict(prompt) for prompt in prompts],
    )
    # The earliest send decides what is forgotten: nothing younger than a week goes.
    oldest = min(prompt.sent_at for prompt in prompts)
    await session.execute(
        delete(Prompt)
        .where(Prompt.user_id.in_({prompt.user_id for prompt in prompts}),
               Prompt.sent_at < oldest - KEPT)
        .execution_options(synchronize_session=False)
    )


def _matching(user_id: int, chat_id: int, message_id: int, kinds: tuple[str, ...],
              now: datetime) -> list[ColumnElement[bool]]:
    return [
        Prompt.user_id == user_id,
        Prompt.chat_id == chat_id,
        Prompt.message_id == message_id,
        Prompt.kind.in_(kinds),
        Prompt.answered_at.is_(None),
        Prompt.sent_at >= now - KEPT,
    ]


async def answer_prompt(
    session: AsyncSession, user_id: int, chat_id: int, message_id: int, kinds: tuple[str, ...],
    now: datetime,
) -> bool:
    """Mark the open prompt this press answers; False when there is none (a forged, stale or
    repeated press). Call it in the transaction that stores what the press means."""
    answered = await session.scalar(
        update(Prompt)
        .where(*_matching(user_id, chat_id, message_id, kinds, now))
        .values(answered_at=now)
        .returning(Prompt.id)
        .execution_options(synchronize_session=False)
    )
    return answered is not None


async def prompt_open(
    session: AsyncSession, user_id: int, chat_id: int, message_id: int, kinds: tuple[str, ...],
    now: datetime,
) -> bool:
    """Whether a press would count on this message, without marking it (a step on the way,
    such as "Something else" opening the red flags)."""
    found = await session.scalar(
        select(exists().where(*_matching(user_id, chat_id, message_id, kinds, now)))
    )
    return bool(found)
