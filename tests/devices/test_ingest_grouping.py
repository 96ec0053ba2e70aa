"""Concurrent ingest requests of one process share a statement (devices/ingest.py, _Group):
every guarantee holds per request — stored once whoever sends it, 401 for a stranger, the
outbox, one state change — and one request's failure is only its own."""

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, connections

from devices import ingest as ingest_module
from devices import services
from devices.ingest import IngestError, ingest
from devices.models import Device, DeviceEvent, DeviceTransition

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def offline_devices(vendor, smoke_detector, vince):
    """(device, token) × 4, offline: their next report brings them back."""
    made = [
        services.device_provision(
            vendor=vendor, device_model=smoke_detector, serial=f"SG-{n}", by=vince
        )
        for n in range(4)
    ]
    Device.objects.filter(pk__in=[d.pk for d, _ in made]).update(state=Device.State.OFFLINE)
    return made


@pytest.fixture
def group_sizes(monkeypatch):
    sizes = Counter()
    execute = ingest_module._execute

    def counting(db, group):
        sizes[len(group)] += 1
        time.sleep(0.002)  # let the others gather
        return execute(db, group)

    monkeypatch.setattr(ingest_module, "_execute", counting)
    return sizes


def in_threads(count, work):
    def run(n):
        try:
            work(n)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_requests_keep_every_guarantee(offline_devices, group_sizes):
    ts = datetime.now(UTC).replace(microsecond=0).isoformat()
    answers, refused, lock = [], [], threading.Lock()

    def work(n):
        chance = random.Random(n)
        for _ in range(40):
            device, token = chance.choice(offline_devices)
            event = {
                "id": f"e{chance.randrange(60)}",  # the same events from several threads
                "ts": ts,
                "type": chance.choice(["heartbeat", "alarm"]),
                "values": {"battery_pct": chance.randrange(100)},
            }
            if chance.random() < 0.1:
                try:
                    ingest(token="dv_stranger", raw_events=[event])
                except IngestError as exc:
                    with lock:
                        refused.append(exc.status)
                continue
            result = ingest(token=token, raw_events=[event])[0]["result"]
            with lock:
                answers.append((device.pk, event["id"], event["type"], result))

    in_threads(8, work)

    assert max(group_sizes) > 1  # requests did share statements
    assert set(refused) == {401}
    accepted = Counter(
        (pk, event_id) for pk, event_id, _, result in answers if result == "accepted"
    )
    sent = {(pk, event_id) for pk, event_id, _, _ in answers}
    assert set(accepted) == sent and set(accepted.values()) == {1}  # once, whoever sent it
    with connection.cursor() as cursor:
        # Only this test's devices: transactional tests do not empty the unmanaged readings.
        cursor.execute(
            "SELECT device_id, event_id, kind FROM devices_reading WHERE device_id = ANY(%s)",
            [[device.pk for device, _token in offline_devices]],
        )
        stored = cursor.fetchall()
    assert {(pk, event_id) for pk, event_id, _ in stored} == sent
    assert set(DeviceEvent.objects.values_list("device_id", "event_id")) == {
        (pk, event_id) for pk, event_id, kind in stored if kind == "alarm"
    }
    assert DeviceTransition.objects.filter(from_state="offline", to_state="active").count() == 4
    assert set(Device.objects.values_list("state", flat=True)) == {Device.State.ACTIVE}


def test_one_requests_failure_is_only_its_own(offline_devices, group_sizes, monkeypatch):
    monkeypatch.setattr(ingest_module, "_text", lambda value, limit: True)  # let a NUL through
    device, token = offline_devices[0]
    outcomes = {}

    def work(n):
        value = "bad\x00" if n == 3 else "ok"
        event = {"id": f"p{n}", "ts": datetime.now(UTC).isoformat(), "type": "test"}
        try:
            outcomes[n] = ingest(token=token, raw_events=[{**event, "values": {"k": value}}])
        except DataError:
            outcomes[n] = "failed"

    in_threads(8, work)

    assert outcomes.pop(3) == "failed"
    assert all(results[0]["result"] == "accepted" for results in outcomes.values())
    assert DeviceEvent.objects.count() == 7
