"""With a real Celery worker on the configured broker (issue 6 tests): an alarm reaches its
people through ingest → wake-up → processor → sender, and a lost wake-up (the broker was down
when ingest tried to send it) only delays the alarm until the processor's beat pass."""

import time

import pytest
from django.utils import timezone

from alerts.models import Alert, Notification
from alerts.tasks import events_process
from config.celery import app as celery_app
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


def test_a_lost_wake_up_only_delays_the_alarm_until_the_beat_pass(
    client, scene, celery_worker, settings
):
    # Wake-ups that earlier tests left on the broker would process the event at once.
    celery_app.control.purge()
    time.sleep(0.5)  # the one the worker may hold runs on an empty outbox
    settings.DEVICE_EVENTS_WAKE_TASK = ""  # as if the broker had refused the wake-up
    _send(client, scene["token"], _smoke())
    time.sleep(1)
    assert not Alert.objects.exists()
    assert DeviceEvent.objects.get().processed_at is None  # committed, waiting in the outbox

    events_process.delay()  # what beat sends every few seconds
    assert _wait_for(lambda: Alert.objects.filter(first_notified_at__isnull=False).exists())
    assert DeviceEvent.objects.get().processed_at is not None
