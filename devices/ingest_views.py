"""The ingest endpoints (DESIGN §7): plain Django views, no session or DRF machinery in the
way of a device. Every answer is JSON; no payload gets a 500 (the code paths below turn every
bad input into a 4xx with a code)."""

import hashlib
from datetime import UTC, datetime

import orjson
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from devices.ingest import IngestError, ingest, parse_body


def _json(payload, status: int) -> HttpResponse:
    return HttpResponse(orjson.dumps(payload), status=status, content_type="application/json")


def _error(exc: IngestError) -> HttpResponse:
    return _json({"error": exc.code, "message": exc.message}, exc.status)


def _device_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme == "Device" else ""


@csrf_exempt
@require_POST
def batch(request):
    """POST /api/v1/ingest with `Authorization: Device <token>` and {"events": [...]}."""
    try:
        token = _device_token(request)
        if not token:
            raise IngestError(401, "unauthorized", "send Authorization: Device <token>")
        body = parse_body(request.body)
        if not isinstance(body, dict) or "events" not in body:
            raise IngestError(400, "bad_batch", 'send {"events": [...]}')
        results = ingest(token=token, raw_events=body["events"])
    except IngestError as exc:
        return _error(exc)
    return _json({"results": results}, 202)


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


def _thingsboard(request, token: str, kind: str):
    try:
        body = parse_body(request.body)
        if not isinstance(body, dict | list):
            raise IngestError(400, "bad_batch", "send an object or a list of objects")
        results = ingest(token=token, raw_events=_thingsboard_events(body, kind))
    except IngestError as exc:
        return _error(exc)
    return _json({"results": results}, 200)


@csrf_exempt
@require_POST
def thingsboard_telemetry(request, token: str):
    """POST /api/v1/<token>/telemetry (ThingsBoard device API)."""
    return _thingsboard(request, token, "reading")


@csrf_exempt
@require_POST
def thingsboard_attributes(request, token: str):
    """POST /api/v1/<token>/attributes: firmware, battery… kept on the device; counts as a
    heartbeat."""
    return _thingsboard(request, token, "heartbeat")
