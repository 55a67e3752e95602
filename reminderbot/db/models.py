"""Tables. Only ids, settings, timestamps and answer codes: no names, usernames or free text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and gives them back aware, on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can rely on."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UserStatus(StrEnum):
    """Where a user stands with reminders."""

    ACTIVE = "active"
    PAUSED = "paused"  # nothing is sent until ``paused_until`` (None: until /resume)
    STOPPED = "stopped"


class StopReason(StrEnum):
    """Why a user's status is ``stopped``."""

    USER = "user"  # /stop, or a typed stop word
    BLOCKED = "blocked"  # Telegram refused delivery: the user blocked the bot


class ScheduleKind(StrEnum):
    """What a schedule row sends."""

    HYDRATION = "hydration"
    CHECKIN = "checkin"
    TOLERANCE = "tolerance"  # the weekly "needed more to feel the same?" question
    PLAN = "plan"  # a one-shot water nudge of an after-use plan (/took, afteruse.py)


# The kind of an operator's one-off message (`reminderbot announce`): not a reminder, so not
# a ScheduleKind (statistics and settings list reminders).
ANNOUNCEMENT_KIND = "announcement"


class ScheduleState(StrEnum):
    """Whether a schedule row may be claimed."""

    ON = "on"
    OFF = "off"  # the user turned this reminder off in /settings
    DONE = "done"  # a one-shot row that was sent or skipped


class User(Base):
    """A person who agreed to reminders (people who only read /info are not stored)."""

    __tablename__ = "users"
    # Each claim looks for users whose timed pause has ended (migration 0008).
    __table_args__ = (Index("ix_users_status_paused_until", "status", "paused_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8), default="en")  # a catalog language
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the operator's default
    wake_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    wake_end: Mapped[time] = mapped_column(Time, default=time(21, 0))
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the bot last suggested a provider for a repeated symptom (at most once a week).
    provider_suggested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Discreet mode: what the bot sends on its own names no substance and no symptom.
    discreet: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Why a stopped user stopped (StopReason); a block erases them after a grace period.
    stop_reason: Mapped[str | None] = mapped_column(String(8))
    # The partner code of the link the user first opted in through (partners.py), if any.
    source: Mapped[str | None] = mapped_column(String(32))
    # Reminders Telegram refused for good, in a row (reset by a sent one): 3 pause the user.
    failures_in_a_row: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the user last logged a glass (Done 💧): a regular water reminder within the hour
    # after is skipped. Only the time, never an amount.
    last_glass_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Schedule(Base):
    """Something the bot sends a user on its own, with its next due time (UTC).

    A recurring row (one per user and kind) follows its rule; a one-shot row (``once``: a
    snoozed reminder) is sent once and then ``done``. The dispatcher claims rows that are
    ``on`` and due by setting ``claimed_until`` (an expiring lease), sends, then advances.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        Index(
            "uq_schedules_recurring",
            "user_id",
            "kind",
            unique=True,
            sqlite_where=text("once = 0"),
            postgresql_where=text("once = false"),
        ),
        Index("ix_schedules_next_due_at", "next_due_at"),
        Index("ix_schedules_user_id", "user_id"),
        # An announcement reaches each recipient through one row: a resumed run adds none.
        UniqueConstraint("announcement_id", "user_id", name="uq_schedules_announcement_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    once: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(8), default=ScheduleState.ON)
    every_hours: Mapped[int | None] = mapped_column(Integer)  # hydration
    at_time: Mapped[time | None] = mapped_column(Time)  # check-in and tolerance question
    weekday: Mapped[int | None] = mapped_column(Integer)  # tolerance question: 0 is Monday
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The local wall-clock slot last sent or skipped, so a re-plan never repeats it.
    last_slot_local: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    # Kind ``announcement``: the announcement this one-shot row sends.
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE")
    )

    user: Mapped[User] = relationship(back_populates="schedules")


class Announcement(Base):
    """An operator's message to every opted-in user (``reminderbot announce``), by content."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the body: the same file started again resumes the same announcement.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)  # Telegram HTML, checked like catalog text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HydrationDay(Base):
    """Glasses of water a user logged on one local day."""

    __tablename__ = "hydration_days"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    glasses: Mapped[int] = mapped_column(Integer, default=0)


class CheckinAnswer(Base):
    """One check-in answer, as a code (fine, headache, ...)."""

    __tablename__ = "checkin_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(String(16))


class Prompt(Base):
    """A message the bot sent that asks for a button press (a reminder, a check-in, the
    tolerance question): a press counts only on one of these, of its kind, and only once."""

    __tablename__ = "prompts"
    __table_args__ = (
        UniqueConstraint("chat_id", "message_id"),
        Index("ix_prompts_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # a ScheduleKind
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryCount(Base):
    """How many reminders of a kind had an outcome on one UTC day: counts only, no user ids."""

    __tablename__ = "delivery_counts"
    __table_args__ = (UniqueConstraint("day", "kind", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # UTC
    kind: Mapped[str] = mapped_column(String(16))  # a ScheduleKind
    outcome: Mapped[str] = mapped_column(String(16))  # a dispatch.Outcome
    count: Mapped[int] = mapped_column(Integer, default=0)
