"""Device ingest (DESIGN §7): authenticate the device, validate each event, store the batch in
one transaction, answer per event.

The fast path avoids the ORM: after validation, a single SQL statement (its own transaction)
authenticates and locks the device, inserts every event into the partitioned telemetry table
with ON CONFLICT DO NOTHING (the de-duplication on device + event id + timestamp), copies the
new events that need handling to the outbox, and updates the device. The answer goes out only
after that statement has committed; the alerts consumer is woken afterwards, and finds the rows
by its own sweep if that wake-up is lost.
"""

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from django.conf import settings
from django.db import connection

from devices import telemetry

EVENT_TYPES = {"heartbeat", "reading", "alarm", "fault", "tamper", "test", "battery"}
OUTBOX_TYPES = {"alarm", "fault", "tamper", "test", "battery"}
MAX_VALUES = 32
MAX_ID = 64


class IngestError(Exception):
    """The whole request is refused: `status` and a machine-readable `code`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What validation needs to know of a device (its model's metrics), per token hash, for a
# minute: a device posts every few seconds, and the statement below authenticates it again
# anyway, so a revoked token is refused at once.
_METRICS_TTL_S = 60
_metrics_cache: dict[str, tuple[float, frozenset[str]]] = {}


def _metrics_for(digest: str, cursor) -> frozenset[str]:
    cached = _metrics_cache.get(digest)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    cursor.execute(
        "SELECT m.metrics FROM devices_device d"
        " JOIN marketplace_devicemodel m ON m.id = d.device_model_id WHERE d.token_hash = %s",
        [digest],
    )
    row = cursor.fetchone()
    if row is None:
        raise IngestError(401, "unauthorized", "unknown or revoked device token")
    metrics = row[0] if isinstance(row[0], list) else orjson.loads(row[0] or "[]")
    names = frozenset(m["name"] for m in metrics if isinstance(m, dict) and m.get("name"))
    if len(_metrics_cache) > 100_000:
        _metrics_cache.clear()
    _metrics_cache[digest] = (time.monotonic() + _METRICS_TTL_S, names)
    return names


def parse_body(body: bytes) -> object:
    if len(body) > settings.INGEST_MAX_BYTES:
        raise IngestError(413, "too_large", f"at most {settings.INGEST_MAX_BYTES} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise IngestError(400, "bad_json", "the body is not JSON") from None


def _timestamp(value, now: datetime) -> datetime | str:
    """An aware datetime from ISO-8601 text or epoch milliseconds, or an error code."""
    if isinstance(value, bool):
        return "bad_ts"
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 < value < 32503680000000:
            return "bad_ts"
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not isinstance(value, str) or len(value) > 40:
        return "bad_ts"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return "bad_ts"
    if parsed.tzinfo is None:
        return "ts_without_timezone"
    return parsed


def _values(values, kind: str, metrics: set[str]) -> dict | str:
    if values is None:
        return {}
    if not isinstance(values, dict) or len(values) > MAX_VALUES:
        return "bad_values"
    for key, value in values.items():
        if not isinstance(key, str) or len(key) > 64:
            return "bad_values"
        if isinstance(value, float) and not math.isfinite(value):
            return "bad_values"
        if not isinstance(value, bool | int | float | str) or (
            isinstance(value, str) and len(value) > 200
        ):
            return "bad_values"
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            return "bad_values"
    if kind == "reading":
        if not values:
            return "bad_values"
        if metrics and any(key not in metrics for key in values):
            return "unknown_metric"
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values.values()):
            return "bad_values"
    return values


@dataclass
class Event:
    id: str
    ts: datetime
    type: str
    values: dict


def validate(raw_events, metrics: frozenset[str], now: datetime) -> tuple[list[Event], list[dict]]:
    """Split the batch into storable events and per-event results (errors filled in now)."""
    if not isinstance(raw_events, list):
        raise IngestError(400, "bad_batch", '"events" must be a list')
    if len(raw_events) > settings.INGEST_MAX_EVENTS:
        raise IngestError(413, "too_many_events", f"at most {settings.INGEST_MAX_EVENTS} events")
    latest = now + timedelta(seconds=settings.INGEST_MAX_FUTURE_S)
    oldest = telemetry.oldest_accepted(now)
    events, results, seen = [], [], set()
    for raw in raw_events:
        event_id = raw.get("id") if isinstance(raw, dict) else None
        result = {"id": event_id if isinstance(event_id, str) else None}
        results.append(result)
        if not isinstance(raw, dict):
            result["error"] = "bad_event"
            continue
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID:
            result["error"] = "bad_id"
            continue
        kind = raw.get("type")
        if kind not in EVENT_TYPES:
            result["error"] = "unknown_type"
            continue
        ts = _timestamp(raw.get("ts"), now)
        if isinstance(ts, str):
            result["error"] = ts
            continue
        if ts > latest:
            result["error"] = "ts_in_future"
            continue
        if ts < oldest:
            result["error"] = "ts_too_old"
            continue
        values = _values(raw.get("values"), kind, metrics)
        if isinstance(values, str):
            result["error"] = values
            continue
        if (event_id, ts) in seen:
            result["result"] = "duplicate"
            continue
        seen.add((event_id, ts))
        result["result"] = "pending"
        events.append(Event(id=event_id, ts=ts, type=kind, values=values))
    for result in results:
        if "error" in result:
            result["result"] = "rejected"
    return events, results


# One statement, one round trip, its own transaction (autocommit): authenticate and lock the
# device, store the new events (the primary key de-duplicates), copy those that need handling
# to the outbox, update the device, record a state change. Data-modifying CTEs all run.
_STATEMENT = """
WITH device AS (
    SELECT d.id, d.state, d.unit_id,
           COALESCE(d.heartbeat_interval_s, m.heartbeat_interval_s) AS interval_s,
           (d.state = 'claimed' AND d.unit_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM devices_placement p WHERE p.device_id = d.id))
           OR d.state = 'offline' AS activates
    FROM devices_device d JOIN marketplace_devicemodel m ON m.id = d.device_model_id
    WHERE d.token_hash = %(token)s
    FOR UPDATE OF d
), stored AS (
    INSERT INTO devices_reading (device_id, event_id, ts, kind, "values", received_at)
    SELECT device.id, e.id, e.ts, e.kind, e.vals, %(now)s
    FROM device, unnest(%(ids)s::varchar[], %(ts)s::timestamptz[], %(kinds)s::varchar[],
                        %(vals)s::jsonb[]) AS e(id, ts, kind, vals)
    ON CONFLICT DO NOTHING
    RETURNING event_id, ts, kind, "values"
), outbox AS (
    INSERT INTO devices_deviceevent (device_id, event_id, type, ts, "values", received_at)
    SELECT device.id, stored.event_id, stored.kind, stored.ts, stored."values", %(now)s
    FROM device, stored
    WHERE stored.kind IN ('alarm', 'fault', 'tamper', 'test', 'battery')
    ON CONFLICT DO NOTHING
    RETURNING 1
), updated AS (
    UPDATE devices_device d SET
        last_seen_at = %(now)s,
        next_heartbeat_due_at = %(now)s + device.interval_s * interval '1 second',
        battery_pct = COALESCE(%(battery)s, d.battery_pct),
        signal_dbm = COALESCE(%(signal)s, d.signal_dbm),
        firmware_version = COALESCE(%(firmware)s, d.firmware_version),
        state = CASE WHEN device.activates THEN 'active' ELSE d.state END
    FROM device WHERE d.id = device.id
    RETURNING device.state AS from_state, d.state AS to_state
), changed AS (
    INSERT INTO devices_devicetransition (device_id, from_state, to_state, at, reason)
    SELECT device.id, updated.from_state, updated.to_state, %(now)s,
           CASE updated.from_state WHEN 'claimed' THEN 'first report after placement'
                ELSE 'reporting again' END
    FROM device, updated WHERE updated.from_state <> updated.to_state
    RETURNING 1
)
SELECT (SELECT count(*) FROM device), new.ids, new.ts, (SELECT count(*) FROM outbox),
       (SELECT device.unit_id FROM device, changed)
FROM (SELECT array_agg(event_id ORDER BY event_id, ts) AS ids,
             array_agg(ts ORDER BY event_id, ts) AS ts
      FROM stored) AS new
"""


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _device_facts(events: list[Event]) -> dict:
    """Battery, signal and firmware from the newest values that carry them."""
    newest = {}
    for event in sorted(events, key=lambda e: e.ts):
        newest.update(event.values)
    battery = newest.get("battery_pct", newest.get("battery"))
    signal = newest.get("signal_dbm", newest.get("rssi"))
    firmware = newest.get("firmware", newest.get("fw_version"))
    return {
        "battery": int(battery) if _number(battery) and 0 <= battery <= 100 else None,
        "signal": int(signal) if _number(signal) and -200 <= signal <= 50 else None,
        "firmware": str(firmware)[:32] if isinstance(firmware, str) and firmware else None,
    }


def ingest(*, token: str, raw_events, now: datetime | None = None) -> list[dict]:
    """Store one request's events; per-event results. Raises IngestError for the request.
    Returns only after the events are committed."""
    now = now or datetime.now(UTC)
    if not token or len(token) > 200:
        raise IngestError(401, "unauthorized", "missing or malformed device token")
    digest = token_hash(token)
    with connection.cursor() as cursor:
        metrics = _metrics_for(digest, cursor)
        events, results = validate(raw_events, metrics, now)
        if not events:
            return results
        # Server-side binding and a prepared statement: PostgreSQL parses and plans this
        # statement once per connection instead of once per request.
        prepared = psycopg.Cursor(cursor.connection)
        prepared.execute(
            _STATEMENT,
            {
                "token": digest,
                "now": now,
                "ids": [e.id for e in events],
                "ts": [e.ts for e in events],
                "kinds": [e.type for e in events],
                "vals": [orjson.dumps(e.values).decode() for e in events],
                **_device_facts(events),
            },
            prepare=True,
        )
        found, new_ids, new_ts, outboxed, activated_in = prepared.fetchone()
    if not found:
        raise IngestError(401, "unauthorized", "unknown or revoked device token")
    new = set(zip(new_ids or (), new_ts or (), strict=True))
    pending = iter(events)
    for result in results:
        if result["result"] == "pending":
            event = next(pending)
            result["result"] = "accepted" if (event.id, event.ts) in new else "duplicate"
    if outboxed:
        _wake(settings.DEVICE_EVENTS_WAKE_TASK)
    if activated_in:
        _wake("devices.tasks.monitoring_sync", activated_in)  # billing counts active devices
    return results


def _wake(task: str, *args) -> None:
    if not task:
        return
    from celery import current_app

    # If the broker is down, the consumer's own sweep finds the rows a little later.
    with contextlib.suppress(Exception):
        current_app.send_task(task, args=args)
