"""The ingest contract in the served OpenAPI schema (devices/openapi.py) is what the endpoints
do: every example in it is posted to its real endpoint with a real device token and answered as
documented, and every code it lists is one that ingest gives."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from devices import telemetry
from devices.ingest import EVENT_TYPES

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/ingest"
TELEMETRY = "/api/v1/{token}/telemetry"
ATTRIBUTES = "/api/v1/{token}/attributes"


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def resolve(schema: dict, node: dict) -> dict:
    """A schema node with its `$ref` (or a lone `allOf` around one) followed."""
    if len(node.get("allOf", ())) == 1:
        node = node["allOf"][0]
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def enum(schema: dict, component: str, field: str) -> list[str]:
    properties = schema["components"]["schemas"][component]["properties"]
    return resolve(schema, properties[field])["enum"]


def post(client, schema: dict, path: str, token: str, body: bytes, *, as_device: bool = True):
    """POST the way the schema tells a device to: the token in the path, or in the header of
    the operation's security scheme."""
    headers = {}
    for requirement in schema["paths"][path]["post"].get("security", []):
        for name in requirement:
            header = schema["components"]["securitySchemes"][name]["name"]
            if as_device:
                headers[f"HTTP_{header.upper()}"] = f"Device {token}"
    return client.post(path.format(token=token), body, content_type="application/json", **headers)


def request_examples(operation: dict) -> dict[str, object]:
    content = operation["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in content.get("examples", {}).items()}


def timestamps(body) -> list[datetime]:
    """Every `ts` in an example: ISO-8601 text or epoch milliseconds."""
    if isinstance(body, list):
        return [ts for item in body for ts in timestamps(item)]
    if not isinstance(body, dict):
        return []
    found = [ts for value in body.values() for ts in timestamps(value)]
    if isinstance(body.get("ts"), str):
        found.append(datetime.fromisoformat(body["ts"]))
    elif isinstance(body.get("ts"), int | float):
        found.append(datetime.fromtimestamp(body["ts"] / 1000, tz=UTC))
    return found


def event_count(path: str, body) -> int:
    if path == BATCH:
        return len(body["events"])
    return len(body) if isinstance(body, list) else 1  # ThingsBoard: one sample or a list


def stored_readings(device) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM devices_reading WHERE device_id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_the_schema_documents_the_ingest_routes_as_ingest_sees_them(schema):
    operations = {
        path: item["post"]
        for path, item in schema["paths"].items()
        if "ingest" in item.get("post", {}).get("tags", [])
    }
    assert set(operations) == {BATCH, TELEMETRY, ATTRIBUTES}
    device_token = schema["components"]["securitySchemes"]["deviceToken"]
    assert (device_token["type"], device_token["in"], device_token["name"]) == (
        "apiKey",
        "header",
        "Authorization",
    )
    assert operations[BATCH]["security"] == [{"deviceToken": []}]
    assert "security" not in operations[TELEMETRY]  # the token is in the path
    assert set(operations[BATCH]["responses"]) == {"202", "400", "401", "413"}
    for path in (TELEMETRY, ATTRIBUTES):
        assert set(operations[path]["responses"]) == {"200", "400", "401", "413"}
    assert set(enum(schema, "IngestEventRequest", "type")) == EVENT_TYPES
    assert set(enum(schema, "IngestEventResult", "result")) == {
        "accepted",
        "duplicate",
        "rejected",
    }
    events = schema["components"]["schemas"]["IngestBatchRequest"]["properties"]["events"]
    assert events["maxItems"] == settings.INGEST_MAX_EVENTS


def test_every_example_is_answered_as_documented_by_the_real_endpoint(client, schema, placed):
    device, token = placed
    examples = [
        (path, name, body)
        for path in (BATCH, TELEMETRY, ATTRIBUTES)
        for name, body in request_examples(schema["paths"][path]["post"]).items()
    ]
    # The examples the integrators are promised: a batch with a heartbeat, a reading and an
    # alarm; telemetry in each of ThingsBoard's shapes; attributes.
    batch_types = {
        event["type"] for path, _, body in examples if path == BATCH for event in body["events"]
    }
    assert {"heartbeat", "reading", "alarm"} <= batch_types
    telemetry_shapes = {
        "list" if isinstance(body, list) else "timed" if "ts" in body else "key_values"
        for path, _, body in examples
        if path == TELEMETRY
    }
    assert telemetry_shapes == {"key_values", "timed", "list"}
    assert any(path == ATTRIBUTES for path, _, _ in examples)

    # At the examples' own time (a minute after the latest), with partitions for it.
    moment = max(ts for _, _, body in examples for ts in timestamps(body)) + timedelta(minutes=1)
    with time_machine.travel(moment, tick=False):
        telemetry.partitions_ensure(today=moment.astimezone(UTC).date(), ahead_days=0)
        sent = 0
        for path, name, body in examples:
            operation = schema["paths"][path]["post"]
            (success,) = [status for status in operation["responses"] if status.startswith("2")]
            response = post(client, schema, path, token, json.dumps(body).encode())

            assert response.status_code == int(success), (path, name, response.content)
            results = response.json()["results"]
            count = event_count(path, body)
            assert [r["result"] for r in results] == ["accepted"] * count, (path, name, results)
            answer = operation["responses"][success]["content"]["application/json"]
            if name in answer.get("examples", {}):
                assert response.json() == answer["examples"][name]["value"]
            sent += count

        assert stored_readings(device) == sent
        # Sent again (the same moment: even a sample without ts), each event is a duplicate.
        for path, name, body in examples:
            response = post(client, schema, path, token, json.dumps(body).encode())
            results = response.json()["results"]
            assert {r["result"] for r in results} == {"duplicate"}, (path, name, results)
        assert stored_readings(device) == sent


def test_every_rejection_code_the_schema_lists_is_one_ingest_gives(client, schema, placed):
    _device, token = placed
    now = datetime.now(UTC)
    provoke = {
        "bad_event": "not an object",
        "bad_id": {"id": "", "ts": now.isoformat(), "type": "heartbeat"},
        "unknown_type": {"id": "e1", "ts": now.isoformat(), "type": "sneeze"},
        "bad_ts": {"id": "e2", "ts": "yesterday", "type": "heartbeat"},
        "ts_without_timezone": {"id": "e3", "ts": "2025-03-14T08:00:00", "type": "heartbeat"},
        "ts_in_future": {
            "id": "e4",
            "ts": (now + timedelta(seconds=settings.INGEST_MAX_FUTURE_S + 60)).isoformat(),
            "type": "heartbeat",
        },
        "ts_too_old": {
            "id": "e5",
            "ts": (now - timedelta(days=settings.TELEMETRY_RETENTION_DAYS + 1)).isoformat(),
            "type": "heartbeat",
        },
        "bad_values": {
            "id": "e6",
            "ts": now.isoformat(),
            "type": "reading",
            "values": {"smoke": "high"},
        },
        "unknown_metric": {
            "id": "e7",
            "ts": now.isoformat(),
            "type": "reading",
            "values": {"humidity": 40},
        },
    }
    assert set(enum(schema, "IngestEventResult", "error")) == set(provoke)

    response = post(
        client, schema, BATCH, token, json.dumps({"events": list(provoke.values())}).encode()
    )

    assert response.status_code == 202
    assert [(r["result"], r["error"]) for r in response.json()["results"]] == [
        ("rejected", code) for code in provoke
    ]


def test_every_refusal_the_schema_lists_is_one_ingest_gives(client, schema, placed):
    """The batch's documented refusals, example for example, and the ThingsBoard routes'
    statuses and codes."""
    _device, token = placed
    too_large = b" " * (settings.INGEST_MAX_BYTES + 1)
    too_many = settings.INGEST_MAX_EVENTS + 1
    refusals = {  # route: {code: (token, body, send the device header?) that provoke it}
        BATCH: {
            "unauthorized": (token, b'{"events": []}', False),
            "bad_json": (token, b"{", True),
            "bad_batch": (token, b"[]", True),
            "too_large": (token, too_large, True),
            "too_many_events": (token, json.dumps({"events": [{}] * too_many}).encode(), True),
        },
        TELEMETRY: {
            "unauthorized": ("dv_unknown", b'{"smoke": 0.1}', True),
            "bad_json": (token, b"{", True),
            "bad_batch": (token, b'"smoke"', True),
            "too_large": (token, too_large, True),
            "too_many_events": (token, json.dumps([{"smoke": 0.1}] * too_many).encode(), True),
        },
    }
    refusals[ATTRIBUTES] = refusals[TELEMETRY]
    codes = set(enum(schema, "IngestError", "error"))

    for path, provoke in refusals.items():
        assert set(provoke) == codes, path
        responses = schema["paths"][path]["post"]["responses"]
        documented = {
            example["value"]["error"]: (int(status), example["value"])
            for status, response in responses.items()
            for example in response["content"]["application/json"].get("examples", {}).values()
            if not status.startswith("2")
        }
        refused_with = set()
        for code, (path_token, body, as_device) in provoke.items():
            response = post(client, schema, path, path_token, body, as_device=as_device)

            assert response.json()["error"] == code, (path, response.content)
            assert str(response.status_code) in responses, (path, code)
            refused_with.add(str(response.status_code))
            if code in documented:
                assert (response.status_code, response.json()) == documented[code]
        assert refused_with == {status for status in responses if not status.startswith("2")}
        if path == BATCH:  # every code has its example there
            assert set(documented) == codes
