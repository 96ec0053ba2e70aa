"""The ingest endpoints (DESIGN §7): plain Django views, no session or DRF machinery in the
way of a device. Every answer is JSON; no payload gets a 500 (the code paths below turn every
bad input into a 4xx with a code).

The answers themselves are plain functions of (token or Authorization header, body) giving
(status, JSON bytes): the views below wrap them for Django, and config/wsgi.py calls the same
functions straight from WSGI for the hot path, so both give the same answer to any payload.
"""

import hashlib
from datetime import UTC, datetime

import orjson
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from devices.ingest import IngestError, ingest, parse_body


def _error(exc: IngestError) -> tuple[int, bytes]:
    return exc.status, orjson.dumps({"error": exc.code, "message": exc.message})


def _device_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme == "Device" else ""


def batch_answer(authorization: str, body: bytes) -> tuple[int, bytes]:
    """POST /api/v1/ingest: the status and JSON body answering this Authorization header and
    request body."""
    try:
        token = _device_token(authorization)
        if not token:
            raise IngestError(401, "unauthorized", "send Authorization: Device <token>")
        payload = parse_body(body)
        if not isinstance(payload, dict) or "events" not in payload:
            raise IngestError(400, "bad_batch", 'send {"events": [...]}')
        results = ingest(token=token, raw_events=payload["events"])
    except IngestError as exc:
        return _error(exc)
    return 202, orjson.dumps({"results": results})


def _thingsboard_events(body, kind: str) -> list[dict]:
    """ThingsBoard's shapes — {"k": v}, {"ts": ms, "values": {...}} or a list of these — as
    our events. They carry no id, so the id is a digest of the timestamp and values: a
    gateway's retry of the same sample is recognised as a duplicate."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    samples = body if isinstance(body, list) else [body]
    events = []
    for sample in samples:
        if isinstance(sample, dict) and "values" in sample and "ts" in sample:
            ts, values = sample["ts"], sample["values"]
        else:
            ts, values = now_ms, sample
        digest = hashlib.sha1(orjson.dumps([ts, values], option=orjson.OPT_SORT_KEYS))
        events.append(
            {"id": f"tb-{digest.hexdigest()[:24]}", "ts": ts, "type": kind, "values": values}
        )
    return events


# ThingsBoard's device routes, /api/v1/<token>/<route>, and the kind of event each makes.
THINGSBOARD_KINDS = {"telemetry": "reading", "attributes": "heartbeat"}


def thingsboard_answer(token: str, route: str, body: bytes) -> tuple[int, bytes]:
    """POST /api/v1/<token>/telemetry or /attributes: status and JSON body."""
    try:
        payload = parse_body(body)
        if not isinstance(payload, dict | list):
            raise IngestError(400, "bad_batch", "send an object or a list of objects")
        events = _thingsboard_events(payload, THINGSBOARD_KINDS[route])
        results = ingest(token=token, raw_events=events)
    except IngestError as exc:
        return _error(exc)
    return 200, orjson.dumps({"results": results})


def _json(answer: tuple[int, bytes]) -> HttpResponse:
    status, body = answer
    return HttpResponse(body, status=status, content_type="application/json")


@csrf_exempt
@require_POST
def batch(request):
    """POST /api/v1/ingest with `Authorization: Device <token>` and {"events": [...]}."""
    return _json(batch_answer(request.headers.get("Authorization", ""), request.body))


@csrf_exempt
@require_POST
def thingsboard_telemetry(request, token: str):
    """POST /api/v1/<token>/telemetry (ThingsBoard device API)."""
    return _json(thingsboard_answer(token, "telemetry", request.body))


@csrf_exempt
@require_POST
def thingsboard_attributes(request, token: str):
    """POST /api/v1/<token>/attributes: firmware, battery… kept on the device; counts as a
    heartbeat."""
    return _json(thingsboard_answer(token, "attributes", request.body))
