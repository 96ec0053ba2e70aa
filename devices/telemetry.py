"""The time-partitioned telemetry table `devices_reading` (one partition per day, UTC).

Ingest writes to it with one INSERT per batch; beat keeps partitions created ahead and drops
those past the retention (DESIGN §8). Dropping a day is a metadata change, not a DELETE.
"""

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection

PARENT = "devices_reading"


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def partitions() -> list[date]:
    """The days that have a partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = %s
            """,
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    return sorted(datetime.strptime(name[-8:], "%Y%m%d").date() for name in names)


def partitions_ensure(*, today: date | None = None, ahead_days: int | None = None) -> list[date]:
    """Create the partitions from the retention's first day to `ahead_days` after today."""
    today = today or datetime.now(UTC).date()
    ahead_days = settings.TELEMETRY_PARTITIONS_AHEAD_DAYS if ahead_days is None else ahead_days
    first = today - timedelta(days=settings.TELEMETRY_RETENTION_DAYS)
    existing = set(partitions())
    created = []
    with connection.cursor() as cursor:
        day = first
        while day <= today + timedelta(days=ahead_days):
            if day not in existing:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {PARENT} "
                    "FOR VALUES FROM (%s) TO (%s)",
                    [
                        datetime(day.year, day.month, day.day, tzinfo=UTC),
                        datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1),
                    ],
                )
                created.append(day)
            day += timedelta(days=1)
    return created


def partitions_drop_expired(*, today: date | None = None) -> list[date]:
    """Drop the days older than TELEMETRY_RETENTION_DAYS."""
    today = today or datetime.now(UTC).date()
    cutoff = today - timedelta(days=settings.TELEMETRY_RETENTION_DAYS)
    dropped = []
    with connection.cursor() as cursor:
        for day in partitions():
            if day < cutoff:
                cursor.execute(f"DROP TABLE IF EXISTS {partition_name(day)}")
                dropped.append(day)
    return dropped


def oldest_accepted(now: datetime) -> datetime:
    """Events older than this have no partition to go to (they are rejected as too old)."""
    first = now.date() - timedelta(days=settings.TELEMETRY_RETENTION_DAYS)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)
