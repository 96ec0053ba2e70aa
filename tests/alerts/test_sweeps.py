"""Health sweeps (issue 6 §5): offline after heartbeat + grace, self-resolving when the device
reports again; low battery; two concurrent sweeps never double-alert."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from alerts.models import Alert, AlertEntry, Kind
from alerts.services.sweeps import battery_sweep, offline_sweep
from devices.models import Device, DeviceTransition
from tests.alerts.test_processing import _send


def _due(device, when):
    Device.objects.filter(pk=device.pk).update(next_heartbeat_due_at=when)


@pytest.mark.django_db
def test_within_the_grace_nothing_happens_past_it_the_device_goes_offline(scene):
    device = scene["device"]
    grace = device.grace_s()
    _due(device, timezone.now() - timedelta(seconds=grace - 30))
    assert offline_sweep()["offline"] == 0
    _due(device, timezone.now() - timedelta(seconds=grace + 30))
    assert offline_sweep() == {"offline": 1, "opened": 1, "cleared": 0}
    device.refresh_from_db()
    assert device.state == Device.State.OFFLINE
    assert DeviceTransition.objects.filter(device=device, to_state="offline").count() == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.status) == (Kind.OFFLINE, "minor", "open")
    assert offline_sweep()["opened"] == 0  # already offline: no second alert


@pytest.mark.django_db
def test_a_heartbeat_back_resolves_the_offline_alert(client, scene):
    device = scene["device"]
    _due(device, timezone.now() - timedelta(days=1))
    offline_sweep()
    _send(
        client,
        scene["token"],
        {"id": "h-1", "ts": timezone.now().isoformat(), "type": "heartbeat", "values": {}},
    )
    assert offline_sweep()["cleared"] == 1
    alert = Alert.objects.get()
    assert (alert.status, alert.outcome) == ("resolved", "cleared")
    assert alert.entries.filter(action=AlertEntry.Action.RESOLVED, by=None).exists()


@pytest.mark.django_db
def test_low_battery_opens_once_and_clears_when_replaced(scene):
    device = scene["device"]
    Device.objects.filter(pk=device.pk).update(battery_pct=9)
    assert battery_sweep()["opened"] == 1
    assert battery_sweep()["opened"] == 0
    Device.objects.filter(pk=device.pk).update(battery_pct=100)
    assert battery_sweep()["cleared"] == 1
    assert Alert.objects.get(kind=Kind.BATTERY).outcome == "cleared"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_make_one_offline_alert_per_device(scene):
    devices = [scene["device"]]
    for n in range(2, 40):
        device = Device.objects.get(pk=scene["device"].pk)
        device.pk, device.serial, device.token_hash = None, f"SA-{n}", None
        device.public_id = uuid.uuid4()
        device.save()
        devices.append(device)
    Device.objects.update(next_heartbeat_due_at=timezone.now() - timedelta(days=1))
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(offline_sweep())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result["offline"] for result in results) == len(devices)
    assert Alert.objects.filter(kind=Kind.OFFLINE).count() == len(devices)
    assert DeviceTransition.objects.filter(to_state="offline").count() == len(devices)
