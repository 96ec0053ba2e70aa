"""Device ingest (DESIGN §7): authenticate the device, validate each event, store the batch in
one transaction, answer per event.

The fast path avoids the ORM: after validation, a single prepared SQL statement (its own
transaction) authenticates and locks the device, inserts every event into the partitioned
telemetry table with ON CONFLICT DO NOTHING (the de-duplication on device + event id +
timestamp), copies the new events that need handling to the outbox, and updates the device.
Requests that arrive together in one process share that statement (_Group). The answer goes
out only after the statement has committed; the alerts consumer is woken afterwards, and finds
the rows by its own sweep if that wake-up is lost.
"""

import hashlib
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from devices import telemetry

logger = logging.getLogger(__name__)

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
# anyway, so a revoked token is refused at once. Only readings need it.
_METRICS_TTL_S = 60
_metrics_cache: dict[str, tuple[float, frozenset[str]]] = {}
_METRICS_QUERY = (
    "SELECT m.metrics FROM devices_device d"
    " JOIN marketplace_devicemodel m ON m.id = d.device_model_id WHERE d.token_hash = %s"
)


def _metrics_for(digest: str, cursor) -> frozenset[str]:
    cached = _metrics_cache.get(digest)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    cursor.execute(_METRICS_QUERY, (digest,), prepare=True)
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


def _timestamp(value) -> datetime | str:
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


def _text(value: str, limit: int) -> bool:
    """Fits a text column: PostgreSQL's text and jsonb hold no NUL character."""
    return len(value) <= limit and "\x00" not in value


def _values(values, kind: str, metrics: Callable[[], frozenset[str]]) -> dict | str:
    if values is None:
        return {}
    if not isinstance(values, dict) or len(values) > MAX_VALUES:
        return "bad_values"
    for key, value in values.items():
        if not isinstance(key, str) or not _text(key, 64):
            return "bad_values"
        if isinstance(value, float) and not math.isfinite(value):
            return "bad_values"
        if not isinstance(value, bool | int | float | str) or (
            isinstance(value, str) and not _text(value, 200)
        ):
            return "bad_values"
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            return "bad_values"
    if kind == "reading":
        if not values:
            return "bad_values"
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values.values()):
            return "bad_values"
        names = metrics()
        if names and any(key not in names for key in values):
            return "unknown_metric"
    return values


@dataclass(slots=True)
class Event:
    id: str
    ts: datetime  # in UTC
    type: str
    values: dict


def validate(
    raw_events, metrics: Callable[[], frozenset[str]], now: datetime
) -> tuple[list[Event], list[dict]]:
    """Split the batch into storable events and per-event results (errors filled in now).
    `metrics()` gives the device model's metric names; it is called only for readings."""
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
        if not isinstance(event_id, str) or not event_id or not _text(event_id, MAX_ID):
            result["error"] = "bad_id"
            continue
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in EVENT_TYPES:
            result["error"] = "unknown_type"
            continue
        ts = _timestamp(raw.get("ts"))
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
        events.append(Event(id=event_id, ts=ts.astimezone(UTC), type=kind, values=values))
    for result in results:
        if "error" in result:
            result["result"] = "rejected"
    return events, results


# One statement, one round trip, its own transaction (autocommit), for one request or for a
# group of concurrent requests (see _Group): authenticate and lock the devices (in id order,
# so that two groups never wait on each other), store the new events (the primary key
# de-duplicates), copy those that need handling to the outbox, update each device once (the
# last request's battery, signal and firmware win), record state changes. Data-modifying
# CTEs all run. Requests come as one JSON array of {r, token, now, battery, signal,
# firmware}, their events as another of {r, n, id, ts, kind, vals} (n: the event's place in
# its request); one row answers each request: the device was found, the places stored. An
# event sent twice in one group is stored for the first request that sent it.
_STATEMENT = """
WITH request AS (
    SELECT * FROM json_to_recordset(%(requests)s::json) AS r(
        r bigint, token varchar, now timestamptz, battery int, signal int, firmware varchar)
), device AS (
    SELECT request.r, d.id, d.state, d.unit_id,
           COALESCE(d.heartbeat_interval_s, m.heartbeat_interval_s) AS interval_s,
           (d.state = 'claimed' AND d.unit_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM devices_placement p WHERE p.device_id = d.id))
           OR d.state = 'offline' AS activates
    FROM request
    JOIN devices_device d ON d.token_hash = request.token
    JOIN marketplace_devicemodel m ON m.id = d.device_model_id
    ORDER BY d.id
    FOR UPDATE OF d
), input AS (
    SELECT * FROM json_to_recordset(%(events)s::json)
        AS e(r bigint, n int, id varchar, ts timestamptz, kind varchar, vals jsonb)
), stored AS (
    INSERT INTO devices_reading (device_id, event_id, ts, kind, "values", received_at)
    SELECT device.id, input.id, input.ts, input.kind, input.vals, request.now
    FROM input JOIN device USING (r) JOIN request USING (r)
    ORDER BY input.r, input.n
    ON CONFLICT DO NOTHING
    RETURNING device_id, event_id, ts, kind, "values", received_at
), outbox AS (
    INSERT INTO devices_deviceevent (device_id, event_id, type, ts, "values", received_at)
    SELECT device_id, event_id, kind, ts, "values", received_at FROM stored
    WHERE kind IN ('alarm', 'fault', 'tamper', 'test', 'battery')
    ON CONFLICT DO NOTHING
    RETURNING 1
), facts AS (
    SELECT device.id, device.state, device.interval_s, device.activates,
           max(request.now) AS now,
           (array_agg(request.battery ORDER BY request.r DESC)
                FILTER (WHERE request.battery IS NOT NULL))[1] AS battery,
           (array_agg(request.signal ORDER BY request.r DESC)
                FILTER (WHERE request.signal IS NOT NULL))[1] AS signal,
           (array_agg(request.firmware ORDER BY request.r DESC)
                FILTER (WHERE request.firmware IS NOT NULL))[1] AS firmware
    FROM device JOIN request USING (r)
    GROUP BY device.id, device.state, device.interval_s, device.activates
), updated AS (
    UPDATE devices_device d SET
        last_seen_at = facts.now,
        next_heartbeat_due_at = facts.now + facts.interval_s * interval '1 second',
        battery_pct = COALESCE(facts.battery, d.battery_pct),
        signal_dbm = COALESCE(facts.signal, d.signal_dbm),
        firmware_version = COALESCE(facts.firmware, d.firmware_version),
        state = CASE WHEN facts.activates THEN 'active' ELSE d.state END
    FROM facts WHERE d.id = facts.id
    RETURNING d.id, d.unit_id, facts.state AS from_state, d.state AS to_state, facts.now
), changed AS (
    INSERT INTO devices_devicetransition (device_id, from_state, to_state, at, reason)
    SELECT id, from_state, to_state, now,
           CASE from_state WHEN 'claimed' THEN 'first report after placement'
                ELSE 'reporting again' END
    FROM updated WHERE from_state <> to_state
    RETURNING device_id
), first AS (
    SELECT DISTINCT ON (device.id, input.id, input.ts)
           input.r, input.n, device.id AS device_id, input.id, input.ts
    FROM input JOIN device USING (r)
    ORDER BY device.id, input.id, input.ts, input.r
), accepted AS (
    SELECT first.r, array_agg(first.n) AS places
    FROM first JOIN stored ON stored.device_id = first.device_id
         AND stored.event_id = first.id AND stored.ts = first.ts
    GROUP BY first.r
)
SELECT request.r, device.id IS NOT NULL, accepted.places,
       (SELECT count(*) FROM outbox),
       (SELECT array_agg(DISTINCT updated.unit_id) FROM changed
        JOIN updated ON updated.id = changed.device_id WHERE updated.unit_id IS NOT NULL)
FROM request LEFT JOIN device USING (r) LEFT JOIN accepted USING (r)
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


def _cursor(db) -> psycopg.Cursor:
    """A cursor with server-side binding on this thread's connection, kept for as long as
    the connection, whose `prepare=True` statements PostgreSQL parses and plans once per
    connection instead of once per request (half of the statement's cost).

    Django turns prepared statements off on its connections (prepare_threshold None, for
    poolers in transaction mode; PgBouncer ≥ 1.21 handles them); a threshold that is never
    reached turns them back on for explicit `prepare=True` only. Django's own cursors bind
    on the client side and never prepare, whatever the threshold."""
    db.close_if_health_check_failed()
    db.ensure_connection()
    cursor = getattr(db, "_ingest_cursor", None)
    if cursor is None or cursor.connection is not db.connection:
        db.connection.prepare_threshold = 2**31 - 1
        cursor = db._ingest_cursor = psycopg.Cursor(db.connection)
    return cursor


@dataclass(slots=True, eq=False)
class _Request:
    """One request's events on their way to the database, as JSON fragments of the
    statement's two arrays; `outcome` is (device found, places stored) once stored, or the
    exception that storing them raised. `done` is held until then (a bare lock is the
    cheapest way to wake one thread)."""

    r: int
    json_request: bytes
    json_events: bytes  # comma-separated objects
    done: threading.Lock
    outcome: object = None


_LEAD = object()  # the outcome that hands the group's lead to the request's thread
_request_ids = itertools.count()


class _Group:
    """Concurrent requests of one process, stored by one statement (one commit).

    The first thread to arrive leads: it takes every request waiting (its own included),
    runs the statement on its own connection, hands each request its outcome, and passes the
    lead to a request that arrived meanwhile, so that no thread serves others for long.
    Requests that arrive while a statement runs wait for the next one: an idle server stores
    each request at once, a busy one a few per statement, which costs PostgreSQL about half
    as much CPU per request (fewer statements, commits and wake-ups). Every request is
    answered after the statement holding its events has committed, as before. Inside a
    transaction of the caller's (tests, services), a request is stored alone, in it.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.waiting: list[_Request] = []
        self.busy = False

    def store(self, request: _Request, db) -> tuple[bool, set[int]]:
        with self.lock:
            self.waiting.append(request)
            lead = not self.busy
            self.busy = True
        if not lead:
            request.done.acquire()
            if request.outcome is not _LEAD:
                return _outcome(request)
        with self.lock:
            group, self.waiting = self.waiting, []
        try:
            outcomes = _store_group(db, group)
        except BaseException as exc:  # never leave the others waiting
            outcomes = [exc] * len(group)
            raise
        finally:
            with self.lock:
                if self.waiting:
                    self.waiting[0].outcome = _LEAD
                    self.waiting[0].done.release()
                else:
                    self.busy = False
            for member, outcome in zip(group, outcomes, strict=True):
                member.outcome = outcome
                if member is not request:
                    member.done.release()
        return _outcome(request)


def _outcome(request: _Request) -> tuple[bool, set[int]]:
    if isinstance(request.outcome, BaseException):
        raise request.outcome
    return request.outcome


_group = _Group()


def _store_group(db, group: list[_Request]) -> list:
    """Outcomes of the group's requests. If the statement fails, each request is tried alone,
    so that one request's failure (a deadlock with a sweep, say) is only its own."""
    try:
        return _execute(db, group)
    except Exception:
        if len(group) == 1:
            raise
    outcomes = []
    for request in group:
        try:
            outcomes.append(_execute(db, [request])[0])
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _execute(db, group: list[_Request]) -> list[tuple[bool, set[int]]]:
    with db.wrap_database_errors:
        cursor = _cursor(db)
        cursor.execute(
            _STATEMENT,
            {
                "requests": _json_array(r.json_request for r in group),
                "events": _json_array(r.json_events for r in group),
            },
            prepare=True,
        )
        rows = {row[0]: row for row in cursor.fetchall()}
    _, _, _, outboxed, activated_units = rows[group[0].r]
    if outboxed:
        _wake(settings.DEVICE_EVENTS_WAKE_TASK)
    for unit_id in activated_units or ():
        _wake("devices.tasks.monitoring_sync", unit_id)  # billing counts active devices
    return [(rows[r.r][1], set(rows[r.r][2] or ())) for r in group]


def _json_array(items) -> str:
    return (b"[" + b",".join(items) + b"]").decode()


def ingest(*, token: str, raw_events, now: datetime | None = None) -> list[dict]:
    """Store one request's events; per-event results. Raises IngestError for the request.
    Returns only after the events are committed."""
    now = now or datetime.now(UTC)
    if not token or len(token) > 200:
        raise IngestError(401, "unauthorized", "missing or malformed device token")
    digest = token_hash(token)
    db = connections[DEFAULT_DB_ALIAS]
    # Database errors are Django's (and mark the connection for a health check), as through
    # connection.cursor().
    with db.wrap_database_errors:
        cursor = _cursor(db)
        known = []

        def metrics() -> frozenset[str]:
            if not known:
                known.append(_metrics_for(digest, cursor))
            return known[0]

        try:
            events, results = validate(raw_events, metrics, now)
        except IngestError as exc:
            if exc.status != 401:
                metrics()  # a stranger learns nothing about the batch: 401 comes first
            raise
        if not events:
            metrics()  # nothing to store, but the device is authenticated all the same
            return results
    r = next(_request_ids)
    request = _Request(
        r=r,
        json_request=orjson.dumps({"r": r, "token": digest, "now": now, **_device_facts(events)}),
        json_events=orjson.dumps(
            [
                {"r": r, "n": n, "id": e.id, "ts": e.ts, "kind": e.type, "vals": e.values}
                for n, e in enumerate(events)
            ]
        )[1:-1],
        done=threading.Lock(),
    )
    request.done.acquire()
    # Inside the caller's transaction, the events are stored in it, alone.
    if db.in_atomic_block:
        found, places = _store_group(db, [request])[0]
    else:
        found, places = _group.store(request, db)
    if not found:
        raise IngestError(401, "unauthorized", "unknown or revoked device token")
    place = 0
    for result in results:
        if result["result"] == "pending":
            result["result"] = "accepted" if place in places else "duplicate"
            place += 1
    return results


# After a wake-up fails, the broker is left alone for this long: a dead broker must not make
# every alarm-bearing request wait on a connection attempt. The consumer's beat pass picks the
# rows up once the broker is back, so a skipped wake-up costs seconds, not events.
WAKE_PAUSE_S = 5.0
# One quick retry covers a pooled connection the broker closed; not the default's three.
_WAKE_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}
_wake_paused_until = 0.0


def _wake(task: str, *args) -> None:
    global _wake_paused_until
    if not task or time.monotonic() < _wake_paused_until:
        return
    from celery import current_app

    try:
        current_app.send_task(task, args=args, retry_policy=_WAKE_RETRY)
    except Exception:
        _wake_paused_until = time.monotonic() + WAKE_PAUSE_S
        logger.warning("broker unreachable: wake-ups paused for %s s", WAKE_PAUSE_S, exc_info=True)
