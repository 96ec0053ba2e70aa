"""Ingest (DESIGN §7): per-event results, idempotency, authentication, limits, activation,
ThingsBoard's payload shapes, and no 500 for any payload."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import services, telemetry
from devices.models import Device, DeviceEvent, DeviceTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def provisioned(vendor, smoke_detector, vince):
    device, token = services.device_provision(
        vendor=vendor, device_model=smoke_detector, serial="SA-0001", by=vince
    )
    return device, token


@pytest.fixture
def placed(provisioned, alice_unit, alice):
    """Shipped, claimed by alice's shop and placed: its first report activates it."""
    device, token = provisioned
    Device.objects.filter(pk=device.pk).update(state=Device.State.SHIPPED)
    device.refresh_from_db()
    device = services.device_claim(
        unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    services.device_place(
        device=device,
        by=alice,
        building="主楼",
        floor=1,
        space_type="shop_floor",
        description="收银台上方",
    )
    return device, token


def now_iso(**delta):
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def post(client, token, events, **extra):
    return client.post(
        "/api/v1/ingest",
        json.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
        **extra,
    )


def readings(device):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM devices_reading WHERE device_id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_a_batch_is_stored_and_answered_per_event(client, placed):
    device, token = placed
    response = post(
        client,
        token,
        [
            {"id": "e1", "ts": now_iso(), "type": "heartbeat", "values": {"battery_pct": 91}},
            {"id": "e2", "ts": now_iso(), "type": "reading", "values": {"smoke": 0.1}},
            {"id": "e3", "ts": now_iso(), "type": "alarm", "values": {"smoke": 1.8}},
        ],
    )

    assert response.status_code == 202
    assert [r["result"] for r in response.json()["results"]] == ["accepted"] * 3
    assert readings(device) == 3
    assert list(DeviceEvent.objects.values_list("event_id", "type")) == [("e3", "alarm")]
    device.refresh_from_db()
    assert device.state == Device.State.ACTIVE
    assert device.battery_pct == 91
    assert device.next_heartbeat_due_at > device.last_seen_at
    assert DeviceTransition.objects.filter(
        device=device, from_state="claimed", to_state="active"
    ).exists()


def test_the_same_event_twice_is_one_row(client, placed):
    device, token = placed
    event = {"id": "dup", "ts": now_iso(), "type": "alarm", "values": {}}
    first = post(client, token, [event, event])
    second = post(client, token, [event])

    assert [r["result"] for r in first.json()["results"]] == ["accepted", "duplicate"]
    assert second.json()["results"][0]["result"] == "duplicate"
    assert readings(device) == 1
    assert DeviceEvent.objects.count() == 1


def test_a_wrong_or_revoked_token_is_refused_and_nothing_stored(client, placed, alice):
    device, token = placed
    assert (
        post(client, "dv_not-a-token", [{"id": "a", "ts": now_iso(), "type": "test"}]).status_code
        == 401
    )
    services.device_token_rotate(device=device, by=alice)
    response = post(client, token, [{"id": "b", "ts": now_iso(), "type": "test"}])

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert readings(device) == 0
    assert not DeviceEvent.objects.exists()


def test_oversized_batches_are_refused(client, placed):
    _device, token = placed
    many = [{"id": f"e{n}", "ts": now_iso(), "type": "heartbeat"} for n in range(501)]
    assert post(client, token, many).status_code == 413
    big = [{"id": "e", "ts": now_iso(), "type": "reading", "values": {"x": "y" * 199}}] * 1400
    assert post(client, token, big).status_code == 413


def test_a_future_event_is_rejected_and_the_rest_kept(client, placed):
    device, token = placed
    response = post(
        client,
        token,
        [
            {"id": "late", "ts": now_iso(minutes=10), "type": "heartbeat"},
            {"id": "ok", "ts": now_iso(), "type": "heartbeat"},
            {"id": "odd", "ts": now_iso(), "type": "sneeze"},
            {"id": "bad", "ts": now_iso(), "type": "reading", "values": {"nope": 1}},
        ],
    )

    results = response.json()["results"]
    assert response.status_code == 202
    assert [(r["result"], r.get("error")) for r in results] == [
        ("rejected", "ts_in_future"),
        ("accepted", None),
        ("rejected", "unknown_type"),
        ("rejected", "unknown_metric"),
    ]
    assert readings(device) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"smoke": 0.2},
        {"ts": 1795330000000, "values": {"smoke": 0.2}},
        [{"ts": 1795330000000, "values": {"smoke": 0.2}}, {"smoke": 0.3}],
    ],
    ids=["plain", "with-ts", "list"],
)
def test_thingsboard_payload_shapes(client, placed, body):
    device, token = placed
    response = client.post(
        f"/api/v1/{token}/telemetry", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 200
    assert all(r["result"] == "accepted" for r in response.json()["results"])
    again = client.post(
        f"/api/v1/{token}/telemetry", json.dumps(body), content_type="application/json"
    )
    samples = body if isinstance(body, list) else [body]
    if all("ts" in sample for sample in samples):  # a retried timed sample is a duplicate
        assert all(r["result"] == "duplicate" for r in again.json()["results"])
    assert readings(device) >= len(samples)


def test_thingsboard_attributes_keep_the_firmware(client, placed):
    device, token = placed
    response = client.post(
        f"/api/v1/{token}/attributes",
        json.dumps({"firmware": "2.4.1", "battery_pct": 77}),
        content_type="application/json",
    )

    assert response.status_code == 200
    device.refresh_from_db()
    assert (device.firmware_version, device.battery_pct) == ("2.4.1", 77)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": json_values,
                    "ts": st.one_of(json_values, st.datetimes().map(lambda d: d.isoformat())),
                    "type": st.sampled_from(["heartbeat", "reading", "alarm", "x"]) | json_values,
                    "values": json_values,
                },
            ),
            max_size=5,
        ).map(lambda events: json.dumps({"events": events}).encode()),
    ),
    authorization=st.one_of(st.none(), st.text(max_size=40), st.just("Device ")),
)
def test_ingest_never_answers_500(client, placed, body, authorization):
    _device, token = placed
    headers = {"HTTP_AUTHORIZATION": authorization or f"Device {token}"}
    response = client.post("/api/v1/ingest", body, content_type="application/json", **headers)
    assert response.status_code in {202, 400, 401, 413}
    tb = client.post(f"/api/v1/{token}/telemetry", body, content_type="application/json")
    assert tb.status_code in {200, 400, 401, 413}


def test_partitions_are_made_ahead_and_dropped_after_the_retention(settings):
    settings.TELEMETRY_RETENTION_DAYS = 3
    today = datetime.now(UTC).date()
    telemetry.partitions_ensure(today=today, ahead_days=5)
    days = telemetry.partitions()
    assert today + timedelta(days=5) in days
    assert today - timedelta(days=3) in days

    telemetry.partitions_drop_expired(today=today + timedelta(days=2))
    assert min(telemetry.partitions()) == today - timedelta(days=1)
    telemetry.partitions_ensure(today=today)  # leave the usual days for the other tests
