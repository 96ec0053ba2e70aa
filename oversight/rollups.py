"""Daily roll-ups behind the jurisdiction dashboards (issue 7 §4): the dashboards read a few
hundred small rows per region instead of the alerts, units and devices beneath it.

- `AlertDailyRollup`: per region (every level), Shanghai day the alert was *raised* and
  scenario: alerts, acknowledged, resolved, false alarms, and histograms of the time to
  acknowledge and to resolve.
- `AlertSolutionRollup`: the same days per vendor and solution of the alerting device, for
  the false-alarm rates.
- `AlertWindowRollup`: the daily rows summed over the closed part of the dashboards' 90-day
  window (all but the last RECENT_DAYS days), written nightly: a dashboard adds one row per
  scenario to the few recent daily rows.
- `RegionSnapshot`: units and active/offline devices under each region, now.

Histograms are log-scale: bucket 0 holds times under a second, bucket k ≥ 1 holds
[2^((k-1)/8), 2^(k/8)) seconds (eight buckets per doubling, up to about a year). A percentile
read from summed histograms is the geometric middle of the bucket holding the nearest-rank
value, so it is within 2^(1/16) − 1 ≈ 4.4 % of the exact value (times of a second and more).
Each row stores only the buckets it uses, as two parallel arrays.

An alert counts on the day it was raised, so a day's row changes while its alerts are being
handled. Beat refreshes the last RECENT_DAYS days every few minutes (today shows at once) and
the last NIGHTLY_DAYS (more than the dashboards' 90-day window) once a night, so that the
late handling of an older alert is counted by the next morning. A refresh rewrites its days in
one transaction, set-based in PostgreSQL; concurrent refreshes queue on an advisory lock.
"""

import math
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Alert
from billing.models import Order, OrderLine
from devices.models import Device
from marketplace.models import SolutionRevision
from oversight.models import (
    AlertDailyRollup,
    AlertSolutionRollup,
    AlertWindowRollup,
    RegionSnapshot,
)
from units.models import Region, Unit

BUCKETS_PER_DOUBLING = 8
MAX_BUCKET = 25 * BUCKETS_PER_DOUBLING  # 2^25 s ≈ 388 days; anything longer lands here
# Relative error bound of a percentile read from the histograms (see the module docstring).
PERCENTILE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1

RECENT_DAYS = 3
NIGHTLY_DAYS = 100
WINDOW_DAYS = 90  # the dashboards' window for response times and false-alarm rates

# pg_advisory_xact_lock key: "rollup" in ASCII, so that it names itself in pg_locks.
ROLLUP_LOCK = 0x726F6C6C7570
# The histogram sorts of a long refresh fit in memory with this (for this transaction only);
# with the default 4 MB they spill to disk and take several times longer.
_WORK_MEM = "SET LOCAL work_mem = '64MB'"

_TABLES = {
    "alert": Alert._meta.db_table,
    "region": Region._meta.db_table,
    "unit": Unit._meta.db_table,
    "device": Device._meta.db_table,
    "line": OrderLine._meta.db_table,
    "order": Order._meta.db_table,
    "revision": SolutionRevision._meta.db_table,
    "daily": AlertDailyRollup._meta.db_table,
    "by_solution": AlertSolutionRollup._meta.db_table,
    "snapshot": RegionSnapshot._meta.db_table,
    "window": AlertWindowRollup._meta.db_table,
}


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration (the SQL in _BUCKET does the same)."""
    if seconds < 1:
        return 0
    return min(MAX_BUCKET, math.floor(math.log(seconds) / math.log(2) * BUCKETS_PER_DOUBLING) + 1)


def bucket_seconds(bucket: int) -> float:
    """The value a bucket stands for: the geometric middle of its range (half a second for
    bucket 0)."""
    if bucket <= 0:
        return 0.5
    return 2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING)


# ln(s) / ln(2) in both languages (the C library's log either way), so that Python and
# PostgreSQL put a value on a bucket boundary in the same bucket.
_BUCKET = (
    "CASE WHEN {s} < 1 THEN 0 ELSE LEAST({max}, floor(ln({s}) / ln(2.0::float8) * {per})::int + 1)"
    " END"
)


def _bucket_sql(seconds_sql: str) -> str:
    return _BUCKET.format(s=seconds_sql, max=MAX_BUCKET, per=BUCKETS_PER_DOUBLING)


# Every region on a grid's path (itself included), found by code through the unique index.
_ANCESTRY = """
    SELECT leaf.id AS leaf_id, up.id AS region_id
    FROM {region} leaf
    JOIN {region} up ON up.code = ANY (string_to_array(trim(BOTH '/' FROM leaf.path), '/'))
"""

# The alerts raised in [start, end), one row each, read through alert_region_recent_idx (the
# scan starts from the regions, so each region's range of the index is read in order).
_RAISED = """
    SELECT a.region_id AS leaf_id,
           (a.raised_at AT TIME ZONE %(tz)s)::date AS day,
           a.scenario_id,
           a.device_id,
           a.acknowledged_at IS NOT NULL AS acknowledged,
           a.status = 'resolved' AS resolved,
           a.outcome = 'false_alarm' AS false_alarm,
           CASE WHEN a.acknowledged_at IS NOT NULL THEN {ack_bucket} END AS ack_bucket,
           CASE WHEN a.status = 'resolved' THEN {resolve_bucket} END AS resolve_bucket
    FROM {region} r
    JOIN {alert} a ON a.region_id = r.id
    WHERE a.raised_at >= %(start)s AND a.raised_at < %(end)s
"""

# Per grid first (few rows), then each grid's sums added to every region on its path.
_REFRESH = """
WITH raised AS MATERIALIZED ({raised}),
ancestry AS MATERIALIZED ({ancestry}
    WHERE leaf.id IN (SELECT DISTINCT leaf_id FROM raised)),
leaf_counts AS (
    SELECT leaf_id, day, scenario_id,
           count(*) AS alerts,
           count(*) FILTER (WHERE acknowledged) AS acknowledged,
           count(*) FILTER (WHERE resolved) AS resolved,
           count(*) FILTER (WHERE false_alarm) AS false_alarms
    FROM raised GROUP BY leaf_id, day, scenario_id
),
counts AS (
    SELECT an.region_id, c.day, c.scenario_id,
           sum(c.alerts) AS alerts, sum(c.acknowledged) AS acknowledged,
           sum(c.resolved) AS resolved, sum(c.false_alarms) AS false_alarms
    FROM leaf_counts c JOIN ancestry an ON an.leaf_id = c.leaf_id
    GROUP BY an.region_id, c.day, c.scenario_id
),
leaf_buckets AS (
    SELECT r.leaf_id, r.day, r.scenario_id, h.measure, h.bucket, count(*) AS n
    FROM raised r
    CROSS JOIN LATERAL (VALUES ('a', r.ack_bucket), ('r', r.resolve_bucket)) AS h(measure, bucket)
    WHERE h.bucket IS NOT NULL
    GROUP BY r.leaf_id, r.day, r.scenario_id, h.measure, h.bucket
),
buckets AS (
    SELECT an.region_id, b.day, b.scenario_id, b.measure, b.bucket, sum(b.n) AS n
    FROM leaf_buckets b JOIN ancestry an ON an.leaf_id = b.leaf_id
    GROUP BY an.region_id, b.day, b.scenario_id, b.measure, b.bucket
),
histograms AS (
    SELECT region_id, day, coalesce(scenario_id, 0) AS scenario_key,
           array_agg(bucket ORDER BY bucket) FILTER (WHERE measure = 'a') AS ack_buckets,
           array_agg(n ORDER BY bucket) FILTER (WHERE measure = 'a') AS ack_counts,
           array_agg(bucket ORDER BY bucket) FILTER (WHERE measure = 'r') AS resolve_buckets,
           array_agg(n ORDER BY bucket) FILTER (WHERE measure = 'r') AS resolve_counts
    FROM buckets GROUP BY region_id, day, coalesce(scenario_id, 0)
),
daily AS (
    INSERT INTO {daily} (
        region_id, day, scenario_id, alerts, acknowledged, resolved, false_alarms,
        ack_buckets, ack_counts, resolve_buckets, resolve_counts, refreshed_at
    )
    SELECT c.region_id, c.day, c.scenario_id, c.alerts, c.acknowledged, c.resolved,
           c.false_alarms,
           coalesce(h.ack_buckets, '{{}}'), coalesce(h.ack_counts, '{{}}'),
           coalesce(h.resolve_buckets, '{{}}'), coalesce(h.resolve_counts, '{{}}'),
           %(now)s
    FROM counts c
    LEFT JOIN histograms h ON h.region_id = c.region_id AND h.day = c.day
     AND h.scenario_key = coalesce(c.scenario_id, 0)
    RETURNING 1
),
leaf_solutions AS (
    SELECT r.leaf_id, r.day, d.vendor_id, bought.solution_id,
           count(*) AS alerts,
           count(*) FILTER (WHERE r.resolved) AS resolved,
           count(*) FILTER (WHERE r.false_alarm) AS false_alarms
    FROM raised r
    JOIN {device} d ON d.id = r.device_id
    LEFT JOIN {line} l ON l.id = d.order_line_id
    LEFT JOIN {order} o ON o.id = l.order_id
    LEFT JOIN {revision} bought ON bought.id = o.revision_id
    GROUP BY r.leaf_id, r.day, d.vendor_id, bought.solution_id
),
by_solution AS (
    INSERT INTO {by_solution} (
        region_id, day, vendor_id, solution_id, alerts, resolved, false_alarms, refreshed_at
    )
    SELECT an.region_id, s.day, s.vendor_id, s.solution_id,
           sum(s.alerts), sum(s.resolved), sum(s.false_alarms), %(now)s
    FROM leaf_solutions s JOIN ancestry an ON an.leaf_id = s.leaf_id
    GROUP BY an.region_id, s.day, s.vendor_id, s.solution_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM daily), (SELECT count(*) FROM by_solution)
"""

_DELETE_DAYS = """
    DELETE FROM {table} WHERE day >= %(first_day)s AND day <= %(last_day)s
"""

# Units and reporting devices per grid, added to every region on the grid's path; every region
# gets a row (zeros included), so the dashboards always find one once a pass has run.
_SNAPSHOT = """
WITH leaf AS (
    SELECT region_id AS leaf_id, sum(units) AS units, sum(active) AS active,
           sum(offline) AS offline
    FROM (
        SELECT u.region_id, count(*) AS units, 0 AS active, 0 AS offline
        FROM {unit} u GROUP BY u.region_id
        UNION ALL
        SELECT u.region_id, 0, count(*) FILTER (WHERE d.state = 'active'),
               count(*) FILTER (WHERE d.state = 'offline')
        FROM {device} d JOIN {unit} u ON u.id = d.unit_id
        WHERE d.state IN ('active', 'offline')
        GROUP BY u.region_id
    ) parts
    GROUP BY region_id
),
ancestry AS ({ancestry} WHERE leaf.id IN (SELECT leaf_id FROM leaf)),
totals AS (
    SELECT an.region_id, sum(l.units) AS units, sum(l.active) AS active,
           sum(l.offline) AS offline
    FROM leaf l JOIN ancestry an ON an.leaf_id = l.leaf_id
    GROUP BY an.region_id
)
INSERT INTO {snapshot} AS s (region_id, units, devices_active, devices_offline, refreshed_at)
SELECT r.id, coalesce(t.units, 0), coalesce(t.active, 0), coalesce(t.offline, 0), %(now)s
FROM {region} r LEFT JOIN totals t ON t.region_id = r.id
ON CONFLICT (region_id) DO UPDATE SET
    units = EXCLUDED.units, devices_active = EXCLUDED.devices_active,
    devices_offline = EXCLUDED.devices_offline, refreshed_at = EXCLUDED.refreshed_at
"""


# The daily rows of first_day..last_day summed per region and scenario, histograms included.
_WINDOW = """
WITH days AS MATERIALIZED (
    SELECT * FROM {daily} WHERE day >= %(first_day)s AND day <= %(last_day)s
),
counts AS (
    SELECT region_id, scenario_id, coalesce(scenario_id, 0) AS scenario_key,
           sum(alerts) AS alerts, sum(acknowledged) AS acknowledged,
           sum(resolved) AS resolved, sum(false_alarms) AS false_alarms
    FROM days GROUP BY region_id, scenario_id
),
buckets AS (
    SELECT d.region_id, coalesce(d.scenario_id, 0) AS scenario_key, 'a' AS measure, u.bucket,
           sum(u.n) AS n
    FROM days d, unnest(d.ack_buckets, d.ack_counts) AS u(bucket, n)
    GROUP BY d.region_id, coalesce(d.scenario_id, 0), u.bucket
    UNION ALL
    SELECT d.region_id, coalesce(d.scenario_id, 0), 'r', u.bucket, sum(u.n)
    FROM days d, unnest(d.resolve_buckets, d.resolve_counts) AS u(bucket, n)
    GROUP BY d.region_id, coalesce(d.scenario_id, 0), u.bucket
),
histograms AS (
    SELECT region_id, scenario_key,
           array_agg(bucket ORDER BY bucket) FILTER (WHERE measure = 'a') AS ack_buckets,
           array_agg(n ORDER BY bucket) FILTER (WHERE measure = 'a') AS ack_counts,
           array_agg(bucket ORDER BY bucket) FILTER (WHERE measure = 'r') AS resolve_buckets,
           array_agg(n ORDER BY bucket) FILTER (WHERE measure = 'r') AS resolve_counts
    FROM buckets GROUP BY region_id, scenario_key
)
INSERT INTO {window} (
    region_id, scenario_id, first_day, last_day, alerts, acknowledged, resolved, false_alarms,
    ack_buckets, ack_counts, resolve_buckets, resolve_counts, refreshed_at
)
SELECT c.region_id, c.scenario_id, %(first_day)s, %(last_day)s, c.alerts, c.acknowledged,
       c.resolved, c.false_alarms,
       coalesce(h.ack_buckets, '{{}}'), coalesce(h.ack_counts, '{{}}'),
       coalesce(h.resolve_buckets, '{{}}'), coalesce(h.resolve_counts, '{{}}'), %(now)s
FROM counts c
LEFT JOIN histograms h ON h.region_id = c.region_id AND h.scenario_key = c.scenario_key
"""


def window_bounds(today: date) -> tuple[date, date]:
    """The closed part of the window ending `today`: WINDOW_DAYS days but the last
    RECENT_DAYS, which the frequent refresh keeps rewriting."""
    return today - timedelta(days=WINDOW_DAYS - 1), today - timedelta(days=RECENT_DAYS)


def _sql(template: str) -> str:
    parts = dict(_TABLES)
    parts["ancestry"] = _ANCESTRY.format(**parts)
    parts["raised"] = _RAISED.format(
        ack_bucket=_bucket_sql("extract(epoch FROM a.acknowledged_at - a.raised_at)::float8"),
        resolve_bucket=_bucket_sql("extract(epoch FROM a.resolved_at - a.raised_at)::float8"),
        **parts,
    )
    return template.format(**parts)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


@transaction.atomic
def alert_rollups_refresh(
    *, first_day: date, last_day: date, now: datetime | None = None
) -> dict[str, int]:
    """Rewrite both alert roll-ups for the Shanghai days first_day..last_day (inclusive)
    from the alerts raised on them. Returns the rows written to each."""
    now = now or timezone.now()
    params = {
        "tz": settings.TIME_ZONE,
        "start": _local_midnight(first_day),
        "end": _local_midnight(last_day + timedelta(days=1)),
        "first_day": first_day,
        "last_day": last_day,
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(_WORK_MEM)
        for table in (_TABLES["daily"], _TABLES["by_solution"]):
            cursor.execute(_DELETE_DAYS.format(table=table), params)
        cursor.execute(_sql(_REFRESH), params)
        daily, by_solution = cursor.fetchone()
    return {"daily": daily, "by_solution": by_solution}


@transaction.atomic
def alert_window_refresh(*, today: date | None = None, now: datetime | None = None) -> int:
    """Rewrite AlertWindowRollup from the daily rows of the closed part of the window ending
    `today` (window_bounds). Returns the rows written."""
    now = now or timezone.now()
    first_day, last_day = window_bounds(today or timezone.localdate(now))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(_WORK_MEM)
        cursor.execute(f"DELETE FROM {_TABLES['window']}")
        cursor.execute(_sql(_WINDOW), {"first_day": first_day, "last_day": last_day, "now": now})
        return cursor.rowcount


@transaction.atomic
def region_snapshots_refresh(*, now: datetime | None = None) -> int:
    """Recount units and active/offline devices under every region. Returns the rows written."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(_sql(_SNAPSHOT), {"now": now})
        return cursor.rowcount


def rollups_refresh_recent(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every few minutes: the region snapshots and the alerts of the last RECENT_DAYS
    days, so that today's alerts and devices show within minutes."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = alert_rollups_refresh(
        first_day=today - timedelta(days=RECENT_DAYS - 1), last_day=today, now=now
    )
    counts["snapshots"] = region_snapshots_refresh(now=now)
    return counts


def rollups_refresh_nightly(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, once a night: the last NIGHTLY_DAYS days, which counts the handling of older
    alerts (acknowledged or resolved after RECENT_DAYS) and outlasts the 90-day window; then
    the window's closed part from them."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = alert_rollups_refresh(
        first_day=today - timedelta(days=NIGHTLY_DAYS - 1), last_day=today, now=now
    )
    counts["window"] = alert_window_refresh(today=today, now=now)
    return counts
