"""The device ingest contract (DESIGN §7) in the OpenAPI schema.

The ingest endpoints are plain Django views (devices/ingest_views.py; config/wsgi.py gives the
same answers on its fast path), so drf-spectacular's generator never meets them. `ingest_paths`,
a POSTPROCESSING_HOOKS entry, adds them: each route has a stand-in APIView here, never routed,
whose `@extend_schema` the generator turns into an operation the way it does for every DRF view
(serializers into components, examples, security).

The serializers describe payloads and validate nothing (devices/ingest.py does); the limits and
codes come from devices/ingest.py and the settings. tests/devices/test_ingest_openapi.py posts
every example to the real endpoints and provokes every listed code, so this description cannot
drift from the behaviour. The text is the firmware-facing contract, in English like the error
messages it documents.
"""

import re

from django.conf import settings
from drf_spectacular.drainage import warn
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from devices import urls_ingest
from devices.ingest import MAX_ID, MAX_VALUES

# Where config/urls.py mounts devices.urls_ingest (tests/test_openapi.py checks every routed
# path against the schema's).
MOUNT = "api/v1/"
TAG = "ingest"
PATH_PREFIX = "^/" + MOUNT.rstrip("/")  # as the generator anchors SCHEMA_PATH_PREFIX
MAX_FUTURE_MIN = settings.INGEST_MAX_FUTURE_S // 60

# Choice sets, with labels that say what each value means (they become the enums' descriptions;
# ENUM_NAME_OVERRIDES names them).
EVENT_TYPE_CHOICES = [
    ("heartbeat", "alive; values may carry battery, signal and firmware"),
    ("reading", "numbers named after the device model's metrics"),
    ("alarm", "an alarm; values.cause says what (smoke, gas, …)"),
    ("fault", "the device is faulty"),
    ("tamper", "the device was tampered with"),
    ("test", "a test of the device"),
    ("battery", "the battery is low"),
]

RESULT_CHOICES = [
    ("accepted", "stored by this request"),
    ("duplicate", "already stored (same device, id and ts): retrying is safe"),
    ("rejected", "not stored; `error` says why"),
]
EVENT_ERROR_CHOICES = [
    ("bad_event", "the event is not a JSON object"),
    ("bad_id", f"id missing, empty, not a string or over {MAX_ID} characters"),
    ("unknown_type", "type is not one of the event types"),
    ("bad_ts", "ts is neither ISO-8601 text nor epoch milliseconds, or out of range"),
    ("ts_without_timezone", "ts is ISO-8601 text without a UTC offset"),
    ("ts_in_future", f"ts is over {MAX_FUTURE_MIN} minutes ahead of the server's clock"),
    (
        "ts_too_old",
        f"ts is before the telemetry retention ({settings.TELEMETRY_RETENTION_DAYS} days)",
    ),
    (
        "bad_values",
        f"values is not an object of at most {MAX_VALUES} scalars (a reading: of numbers,"
        " at least one)",
    ),
    ("unknown_metric", "a reading names a metric its device model does not declare"),
]
REQUEST_ERROR_CHOICES = [
    ("unauthorized", "401: no `Authorization: Device <token>`, or an unknown or revoked token"),
    ("bad_json", "400: the body is not JSON"),
    ("bad_batch", '400: the body is not {"events": [...]} (ThingsBoard: an object or a list)'),
    ("too_large", f"413: the body is over {settings.INGEST_MAX_BYTES} bytes"),
    ("too_many_events", f"413: over {settings.INGEST_MAX_EVENTS} events or samples"),
]

# Components that serializers cannot express (a map of scalars, ThingsBoard's union of shapes);
# ingest_paths registers them.
VALUES = ResolvedComponent(
    name="IngestValues",
    type=ResolvedComponent.SCHEMA,
    object="IngestValues",
    schema={
        "type": "object",
        "maxProperties": MAX_VALUES,
        "additionalProperties": {
            "oneOf": [
                {"type": "number"},
                {"type": "string", "maxLength": 200},
                {"type": "boolean"},
            ]
        },
        "description": (
            f"Up to {MAX_VALUES} named scalars (names up to 64 characters, integers within"
            " ±2^53). A reading's are numbers named after its device model's metrics. From"
            " any event, `battery_pct` (or `battery`), `signal_dbm` (or `rssi`) and"
            " `firmware` (or `fw_version`) update the device."
        ),
    },
)
EPOCH_MS = {
    "type": "number",
    "minimum": 0,
    "exclusiveMinimum": True,
    "maximum": 32503680000000,
    "exclusiveMaximum": True,
    "description": "Milliseconds since the Unix epoch (UTC).",
}
THINGSBOARD_SAMPLE = ResolvedComponent(
    name="ThingsBoardSample",
    type=ResolvedComponent.SCHEMA,
    object="ThingsBoardSample",
    schema={
        "type": "object",
        "properties": {"ts": EPOCH_MS, "values": VALUES.ref},
        "required": ["ts", "values"],
    },
)
THINGSBOARD_SAMPLES = ResolvedComponent(
    name="ThingsBoardSamples",
    type=ResolvedComponent.SCHEMA,
    object="ThingsBoardSamples",
    schema={
        "oneOf": [
            VALUES.ref,
            THINGSBOARD_SAMPLE.ref,
            {
                "type": "array",
                "maxItems": settings.INGEST_MAX_EVENTS,
                "items": {"oneOf": [VALUES.ref, THINGSBOARD_SAMPLE.ref]},
            },
        ],
        "description": (
            "ThingsBoard's shapes: `{\"key\": value}` (stamped with the server's time),"
            ' `{"ts": ms, "values": {...}}`, or a list of these.'
        ),
    },
)
DEVICE_TOKEN = ResolvedComponent(
    name="deviceToken",
    type=ResolvedComponent.SECURITY_SCHEMA,
    object="deviceToken",
    schema={
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "A device's own token, not a personal API token: `Authorization: Device dv_…`"
            " (the word `Device`, a space, the token shown once when the device was"
            " provisioned or its token rotated)."
        ),
    },
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date-time", "maxLength": 40},
            EPOCH_MS,
        ]
    }
)
class TimestampField(serializers.Field):
    """ISO-8601 text with a UTC offset, or epoch milliseconds."""


@extend_schema_field(VALUES.ref)
class ValuesField(serializers.DictField):
    pass


class IngestEventSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=MAX_ID,
        help_text="The device's id for the event; with ts, what makes a retry a duplicate.",
    )
    ts = TimestampField(
        help_text=(
            "When it happened: ISO-8601 with a UTC offset, or epoch milliseconds. At most"
            f" {MAX_FUTURE_MIN} minutes ahead, and within the telemetry retention"
            f" ({settings.TELEMETRY_RETENTION_DAYS} days)."
        )
    )
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES)
    values = ValuesField(required=False, allow_null=True)


class IngestBatchSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=IngestEventSerializer(), max_length=settings.INGEST_MAX_EVENTS
    )


class IngestEventResultSerializer(serializers.Serializer):
    id = serializers.CharField(
        allow_null=True, help_text="The event's id, null when it sent no string."
    )
    result = serializers.ChoiceField(choices=RESULT_CHOICES)
    error = serializers.ChoiceField(
        choices=EVENT_ERROR_CHOICES, required=False, help_text="Only when rejected."
    )


class IngestResultsSerializer(serializers.Serializer):
    results = serializers.ListField(
        child=IngestEventResultSerializer(),
        help_text="One per event (or sample), in the order sent.",
    )


class IngestErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(choices=REQUEST_ERROR_CHOICES)
    message = serializers.CharField()


# Examples: tests/devices/test_ingest_openapi.py posts each request example to its endpoint (at
# the examples' time) and expects every event accepted, and the answer shown where there is one.
BATCH_EXAMPLE = {
    "events": [
        {
            "id": "evt-000121",
            "ts": "2025-03-14T08:00:00+08:00",
            "type": "heartbeat",
            "values": {"battery_pct": 91, "signal_dbm": -87, "firmware": "2.4.1"},
        },
        {"id": "evt-000122", "ts": 1741910460000, "type": "reading", "values": {"smoke": 0.12}},
        {
            "id": "evt-000123",
            "ts": "2025-03-14T00:02:05Z",
            "type": "alarm",
            "values": {"cause": "smoke", "smoke": 1.8},
        },
    ]
}
BATCH_ANSWER = {
    "results": [{"id": event["id"], "result": "accepted"} for event in BATCH_EXAMPLE["events"]]
}


def _refusal(status: int, code: str, message: str) -> OpenApiExample:
    return OpenApiExample(
        code, value={"error": code, "message": message}, response_only=True, status_codes=[status]
    )


def _refused(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(IngestErrorSerializer, description=description, examples=list(examples))


TOKEN_PARAMETER = OpenApiParameter(
    "token",
    str,
    OpenApiParameter.PATH,
    description="The device's token (`dv_…`), as ThingsBoard firmware puts it in the path.",
)
THINGSBOARD_RESPONSES = {
    200: OpenApiResponse(
        IngestResultsSerializer,
        description=(
            "A result per sample, as for a batch. Samples carry no id: theirs is `tb-` and a"
            " digest of ts and values, so a gateway's retry of a timed sample is a duplicate."
        ),
    ),
    400: _refused("`bad_json`, or `bad_batch`: neither an object nor a list of objects."),
    401: _refused("`unauthorized`: an unknown or revoked token."),
    413: _refused(
        f"`too_large` (over {settings.INGEST_MAX_BYTES} bytes) or `too_many_events` (over"
        f" {settings.INGEST_MAX_EVENTS} samples)."
    ),
}


def _stand_in(**schema) -> type[APIView]:
    """An APIView carrying one ingest view's schema for the generator; never routed."""

    class IngestContract(APIView):
        parser_classes = [JSONParser]
        renderer_classes = [JSONRenderer]

        @extend_schema(tags=[TAG], **schema)
        def post(self, request, *args, **kwargs):
            raise NotImplementedError("documentation only: devices/ingest_views.py answers")

    return IngestContract


# devices.urls_ingest's route names → their contract.
CONTRACTS = {
    "ingest": _stand_in(
        operation_id="ingest_batch",
        summary="Post a device's events",
        description=(
            f"Up to {settings.INGEST_MAX_EVENTS} events and {settings.INGEST_MAX_BYTES // 1024}"
            " KB per request, authenticated as the device (`Authorization: Device <token>`)."
            " Each event is answered in `results`, in the order sent: `accepted`, `duplicate`"
            " (already stored: a retry is safe) or `rejected` with an `error` code; a rejected"
            " event does not stop the rest of the batch. The answer comes once they are committed."
            " Alarm, fault, tamper, battery and test events go on to the alerts. A refused"
            " request (400, 401, 413) stores nothing."
        ),
        auth=[{DEVICE_TOKEN.name: []}],
        request=OpenApiRequest(
            IngestBatchSerializer,
            examples=[
                OpenApiExample(
                    "batch",
                    summary="A heartbeat, a reading and an alarm",
                    value=BATCH_EXAMPLE,
                    request_only=True,
                )
            ],
        ),
        responses={
            202: OpenApiResponse(
                IngestResultsSerializer,
                description="A result per event, in the order sent.",
                examples=[
                    OpenApiExample(
                        "batch",
                        summary="Every event accepted",
                        value=BATCH_ANSWER,
                        response_only=True,
                        status_codes=[202],
                    )
                ],
            ),
            400: _refused(
                "The body is not JSON, or not a batch.",
                _refusal(400, "bad_json", "the body is not JSON"),
                _refusal(400, "bad_batch", 'send {"events": [...]}'),
            ),
            401: _refused(
                "No device token, or an unknown or revoked one"
                ' ("unknown or revoked device token").',
                _refusal(401, "unauthorized", "send Authorization: Device <token>"),
            ),
            413: _refused(
                "Too large a request.",
                _refusal(413, "too_large", f"at most {settings.INGEST_MAX_BYTES} bytes"),
                _refusal(413, "too_many_events", f"at most {settings.INGEST_MAX_EVENTS} events"),
            ),
        },
    ),
    "ingest-tb-telemetry": _stand_in(
        operation_id="ingest_thingsboard_telemetry",
        summary="Post telemetry the ThingsBoard way",
        description=(
            "ThingsBoard's device API, so existing firmware and gateways work unchanged: the"
            " token in the path, a sample or a list of samples in the body. Each sample is"
            " stored as a `reading` (numbers named after the device model's metrics), with"
            " the batch's limits and per-event results."
        ),
        auth=[],
        parameters=[TOKEN_PARAMETER],
        request=OpenApiRequest(
            THINGSBOARD_SAMPLES.ref,
            examples=[
                OpenApiExample(
                    "key_values",
                    summary='{"key": value}, stamped with the server\'s time',
                    value={"smoke": 0.05},
                    request_only=True,
                ),
                OpenApiExample(
                    "timed",
                    summary='{"ts": ms, "values": {...}}',
                    value={"ts": 1741910520000, "values": {"smoke": 0.07}},
                    request_only=True,
                ),
                OpenApiExample(
                    "list",
                    summary="A list of samples",
                    value=[
                        {"ts": 1741910580000, "values": {"smoke": 0.08}},
                        {"ts": 1741910640000, "values": {"smoke": 0.09}},
                    ],
                    request_only=True,
                ),
            ],
        ),
        responses=THINGSBOARD_RESPONSES,
    ),
    "ingest-tb-attributes": _stand_in(
        operation_id="ingest_thingsboard_attributes",
        summary="Post attributes the ThingsBoard way",
        description=(
            "ThingsBoard's client attributes: each sample counts as a `heartbeat`, and its"
            " battery, signal and firmware are kept on the device. The same body shapes and"
            " answers as telemetry."
        ),
        auth=[],
        parameters=[TOKEN_PARAMETER],
        request=OpenApiRequest(
            THINGSBOARD_SAMPLES.ref,
            examples=[
                OpenApiExample(
                    "attributes",
                    summary="Firmware and battery",
                    value={"firmware": "2.4.1", "battery_pct": 77},
                    request_only=True,
                )
            ],
        ),
        responses=THINGSBOARD_RESPONSES,
    ),
}


def ingest_paths(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: the ingest routes' operations, generated from CONTRACTS.
    List it before drf-spectacular's enum hook, which then names these enums too."""
    registry = generator.registry
    for component in (VALUES, THINGSBOARD_SAMPLE, THINGSBOARD_SAMPLES, DEVICE_TOKEN):
        registry.register_on_missing(component)
    for pattern in urls_ingest.urlpatterns:
        contract = CONTRACTS.get(pattern.name)
        if contract is None:
            warn(f"ingest route {pattern.name!r} has no contract in devices/openapi.py")
            continue
        route = MOUNT + str(pattern.pattern)
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        view = generator.create_view(contract.as_view(), "POST", request)
        view.request = spectacular_settings.GET_MOCK_REQUEST("POST", path, view, request)
        operation = view.schema.get_operation(path, route, PATH_PREFIX, "POST", registry)
        operation["requestBody"]["required"] = True  # (a raw schema body is not marked so)
        result["paths"][path] = {"post": operation}
    result["components"] = registry.build(spectacular_settings.APPEND_COMPONENTS)
    return result
