"""With a real Celery worker on the configured broker (issue 6 tests): an alarm reaches its
people through ingest → wake-up → processor → sender, and with the broker down ingest still
stores every event and answers at once; the alarm waits only for the processor's beat pass."""

import logging
import time

import pytest
from celery import Celery
from django.utils import timezone

from alerts.models import Alert, Notification
from alerts.tasks import events_process
from config.celery import app as celery_app
from devices import ingest
from devices.models import DeviceEvent
from tests.alerts.test_processing import _send, _smoke

pytestmark = pytest.mark.celery


def _wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_an_alarm_reaches_the_fire_station_through_the_worker(client, scene, celery_worker):
    before = timezone.now()
    _send(client, scene["token"], _smoke())

    assert _wait_for(lambda: Alert.objects.filter(first_notified_at__isnull=False).exists())
    alert = Alert.objects.get()
    assert alert.first_notified_at - before < timezone.timedelta(seconds=10)
    fred_in_app = Notification.objects.get(alert=alert, address=f"user:{scene['fred'].pk}")
    assert _wait_for(lambda: Notification.objects.get(pk=fred_in_app.pk).status == "sent")


def test_with_the_broker_down_ingest_still_stores_and_the_beat_pass_catches_up(
    client, scene, celery_worker, caplog, monkeypatch
):
    # Wake-ups that earlier tests left on the broker would process the event at once.
    celery_app.control.purge()
    time.sleep(0.5)  # the one the worker may hold runs on an empty outbox
    monkeypatch.setattr(ingest, "_wake_paused_until", 0.0)  # and is put back afterwards
    # Ingest publishes through the current app: one whose broker refuses connections (set as
    # the write URL, which CELERY_BROKER_URL in the environment does not override).
    broker_down = Celery("broker-down", set_as_current=False)
    broker_down.conf.broker_write_url = "redis://127.0.0.1:1/0"
    broker_down.set_current()
    try:
        with caplog.at_level(logging.WARNING, logger="devices.ingest"):
            _send(client, scene["token"], _smoke("e-1"))  # 202 although the wake-up failed
            _send(client, scene["token"], _smoke("e-2"))  # within the pause: not even tried
    finally:
        celery_app.set_current()
    assert [r.getMessage() for r in caplog.records if r.name == "devices.ingest"] == [
        f"broker unreachable: wake-ups paused for {ingest.WAKE_PAUSE_S} s"
    ]
    time.sleep(1)
    assert not Alert.objects.exists()
    # Committed, waiting in the outbox.
    assert DeviceEvent.objects.filter(processed_at__isnull=True).count() == 2

    events_process.delay()  # what beat sends every few seconds, once the broker is back
    assert _wait_for(lambda: Alert.objects.filter(first_notified_at__isnull=False).exists())
    assert not DeviceEvent.objects.filter(processed_at__isnull=True).exists()
    assert Alert.objects.get().event_count == 2
