"""Escalation (issue 6 §3): steps fire after their delay unless someone acknowledges, each
step once however many ticks run; sweep-raised alerts get their first step from the tick."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.models import Alert, AlertEntry, Channel, Kind, Notification
from alerts.services import lifecycle
from alerts.services.escalation import escalations_run
from alerts.services.processing import events_process
from tests.alerts.test_processing import _send, _smoke


def _addresses(step):
    return set(Notification.objects.filter(step=step).values_list("channel", "address"))


@pytest.fixture
def smoke_alert(client, scene):
    _send(client, scene["token"], _smoke())
    events_process()
    return Alert.objects.get()


@pytest.mark.django_db
def test_unacknowledged_the_alert_climbs_the_steps_on_time(smoke_alert, scene):
    raised = smoke_alert.raised_at
    with time_machine.travel(raised + timedelta(seconds=170)):
        assert escalations_run() == 0
    with time_machine.travel(raised + timedelta(seconds=181)):
        assert escalations_run() == 1
        assert escalations_run() == 0  # a second tick finds nothing to do
    step1 = _addresses(1)
    assert (Channel.SMS, "13811110002") in step1  # the backup contact
    assert (Channel.SMS, "021-63000001") in step1  # the subdistrict operations centre
    assert (Channel.SMS, "021-63000000") not in step1
    with time_machine.travel(raised + timedelta(seconds=601)):
        assert escalations_run() == 1
    assert (Channel.SMS, "021-63000000") in _addresses(2)  # the district
    assert (Channel.IN_APP, f"user:{scene['dora'].pk}") in _addresses(2)
    alert = Alert.objects.get()
    assert alert.next_step == 3 and alert.next_step_at is None
    assert alert.entries.filter(action=AlertEntry.Action.ESCALATED).count() == 2


@pytest.mark.django_db
def test_acknowledging_stops_the_escalation(smoke_alert, scene):
    with time_machine.travel(smoke_alert.raised_at + timedelta(seconds=60)):
        lifecycle.alert_acknowledge(alert=smoke_alert, by=scene["fred"])
    with time_machine.travel(smoke_alert.raised_at + timedelta(seconds=3600)):
        assert escalations_run() == 0
    assert not Notification.objects.filter(step__gt=0).exists()
    alert = Alert.objects.get()
    assert alert.acknowledged_by == scene["fred"] and alert.next_step_at is None


@pytest.mark.django_db
def test_a_sweep_raised_alert_is_told_by_the_tick_to_the_units_side_only(scene):
    from alerts.services.sweeps import offline_sweep
    from devices.models import Device

    device = scene["device"]
    overdue = timezone.now() - timedelta(hours=2)
    Device.objects.filter(pk=device.pk).update(next_heartbeat_due_at=overdue)
    assert offline_sweep()["opened"] == 1
    alert = Alert.objects.get(kind=Kind.OFFLINE)
    assert not alert.notifications.exists()
    assert escalations_run() == 1
    told = {address for _c, address in alert.notifications.values_list("channel", "address")}
    assert f"user:{scene['alice'].pk}" in told and f"user:{scene['paula'].pk}" in told
    assert f"user:{scene['fred'].pk}" not in told  # minor: not the fire station
    alert.refresh_from_db()
    assert alert.next_step_at is None  # minor alerts do not escalate
