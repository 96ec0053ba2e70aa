"""Health sweeps (DESIGN §3.5): every 15 s, devices whose heartbeat is overdue go offline and
get an offline alert; devices with a low battery get a battery alert; and the alerts whose
condition has cleared (the device reports again, the battery was changed) resolve themselves.

Set-based SQL throughout: the cost follows the overdue devices (the partial index on
`next_heartbeat_due_at`), not the fleet, and two sweeps at once never double-alert (the devices
are claimed with SKIP LOCKED and a state condition; the alert insert meets the one-open-alert
index). New alerts are written with step 0 due now; the escalation tick tells their people.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.services import devices_mark_offline

# Opens one alert per device in the arrays (or counts one more event on the open one) and
# writes the first timeline line of each new alert.
_ALERTS_OPEN = """
WITH input AS (
    SELECT * FROM unnest(%(devices)s::bigint[], %(at)s::timestamptz[]) AS i(device_id, at)
), opened AS (
    INSERT INTO alerts_alert (
        public_id, device_id, unit_id, region_id, scenario_id, rule_id, kind, severity,
        life_safety, status, outcome, summary, event_count, first_event_at, last_event_at,
        raised_at, next_step, next_step_at, policy_id
    )
    SELECT gen_random_uuid(), d.id, d.unit_id, u.region_id,
           (SELECT min(s.scenario_id) FROM marketplace_devicemodel_scenarios s
            WHERE s.devicemodel_id = d.device_model_id),
           NULL, %(kind)s, 'minor', false, 'open', '', %(summary)s, 1, input.at, input.at,
           %(now)s, 0, %(now)s, NULL
    FROM input
    JOIN devices_device d ON d.id = input.device_id
    JOIN units_unit u ON u.id = d.unit_id
    ON CONFLICT (device_id, kind) WHERE NOT (status = 'resolved')
    DO UPDATE SET event_count = alerts_alert.event_count + 1,
                  last_event_at = GREATEST(alerts_alert.last_event_at, EXCLUDED.last_event_at)
    RETURNING id, (xmax = 0) AS created
)
INSERT INTO alerts_alertentry (alert_id, at, action, via, from_status, to_status, note)
SELECT id, %(now)s, 'raised', 'system', '', '', %(summary)s FROM opened WHERE created
RETURNING alert_id
"""

# Resolves the open self-clearing alerts of `kind` whose condition no longer holds.
_ALERTS_CLEAR = """
WITH cleared AS (
    SELECT a.id, a.status FROM alerts_alert a
    JOIN devices_device d ON d.id = a.device_id
    WHERE a.kind = %(kind)s AND NOT (a.status = 'resolved') AND ({condition})
    FOR UPDATE OF a SKIP LOCKED
), resolved AS (
    UPDATE alerts_alert a SET status = 'resolved', outcome = 'cleared', resolved_at = %(now)s,
                              next_step_at = NULL
    FROM cleared WHERE a.id = cleared.id
    RETURNING a.id
)
INSERT INTO alerts_alertentry (alert_id, at, action, via, from_status, to_status, note)
SELECT cleared.id, %(now)s, 'resolved', 'system', cleared.status, 'resolved', %(note)s
FROM cleared JOIN resolved ON resolved.id = cleared.id
RETURNING alert_id
"""

# Reporting devices under the battery threshold without an open battery alert (the partial
# index `device_battery_low_idx` holds only those under it).
_BATTERY_LOW = """
SELECT d.id, COALESCE(d.last_seen_at, %(now)s) FROM devices_device d
WHERE d.battery_pct < %(threshold)s AND d.unit_id IS NOT NULL
  AND d.state IN ('active', 'offline', 'faulty', 'maintenance')
  AND NOT EXISTS (
      SELECT 1 FROM alerts_alert a
      WHERE a.device_id = d.id AND a.kind = 'battery' AND NOT (a.status = 'resolved')
  )
LIMIT %(limit)s
"""


def _open(cursor, *, kind: str, devices: list[int], at: list, summary: str, now) -> int:
    if not devices:
        return 0
    cursor.execute(
        _ALERTS_OPEN,
        {"devices": devices, "at": at, "kind": kind, "summary": summary, "now": now},
    )
    return len(cursor.fetchall())


def _clear(cursor, *, kind: str, condition: str, note: str, now, **params) -> int:
    cursor.execute(
        _ALERTS_CLEAR.format(condition=condition),
        {"kind": kind, "note": note, "now": now, **params},
    )
    return len(cursor.fetchall())


@transaction.atomic
def offline_sweep(*, now: datetime | None = None) -> dict:
    """Overdue devices → offline + an offline alert each; devices reporting again → their
    offline alert resolved."""
    now = now or timezone.now()
    flipped = devices_mark_offline(now=now)
    with connection.cursor() as cursor:
        opened = _open(
            cursor,
            kind="offline",
            devices=[device_id for device_id, _unit, _due in flipped],
            at=[due for _device, _unit, due in flipped],
            summary=_("No heartbeat since it was due."),
            now=now,
        )
        cleared = _clear(
            cursor,
            kind="offline",
            condition="d.state <> 'offline'",
            note=_("The device reports again."),
            now=now,
        )
    return {"offline": len(flipped), "opened": opened, "cleared": cleared}


@transaction.atomic
def battery_sweep(*, now: datetime | None = None, limit: int = 20_000) -> dict:
    now = now or timezone.now()
    threshold = settings.ALERT_LOW_BATTERY_PCT
    with connection.cursor() as cursor:
        cursor.execute(_BATTERY_LOW, {"now": now, "threshold": threshold, "limit": limit})
        low = cursor.fetchall()
        opened = _open(
            cursor,
            kind="battery",
            devices=[device_id for device_id, _at in low],
            at=[at for _device, at in low],
            summary=_("Battery under %(pct)s%%.") % {"pct": threshold},
            now=now,
        )
        cleared = _clear(
            cursor,
            kind="battery",
            condition="d.battery_pct >= %(threshold)s",
            note=_("The battery is back above the threshold."),
            now=now,
            threshold=threshold,
        )
    return {"opened": opened, "cleared": cleared}


def health_sweep(*, now: datetime | None = None) -> dict:
    """The beat task's body: both sweeps, each in its own transaction."""
    return {"offline": offline_sweep(now=now), "battery": battery_sweep(now=now)}
