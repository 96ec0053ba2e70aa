"""A device's alarm through ingest to an alert and its first notifications (issue 6 §2–3)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertEntry, Channel, Kind, Notification, Severity
from alerts.services.processing import events_process
from devices.models import DeviceEvent
from tests import factories
from units.models import DutyShift, Responder


def _send(client, token, *events):
    response = client.post(
        reverse("ingest"),
        {"events": list(events)},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )
    assert response.status_code == 202, response.content
    return response.json()


def _smoke(event_id="e-1", ts=None):
    from django.utils import timezone

    return {
        "id": event_id,
        "ts": (ts or timezone.now()).isoformat(),
        "type": "alarm",
        "values": {"cause": "smoke", "smoke_density": 0.9},
    }


def _told(alert) -> set[tuple[str, str]]:
    return set(alert.notifications.values_list("channel", "address"))


@pytest.mark.django_db
def test_a_smoke_alarm_tells_exactly_the_right_people(client, scene):
    _send(client, scene["token"], _smoke())
    assert events_process() == 1

    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.status) == (Kind.FIRE, Severity.CRITICAL, "open")
    assert alert.life_safety and alert.unit == scene["shop"] and alert.event_count == 1
    assert alert.scenario.code == "fire" and alert.rule.cause == "smoke"
    told = _told(alert)
    in_app = {address for channel, address in told if channel == Channel.IN_APP}
    people = {scene[name].pk for name in ("alice", "bob", "paula", "fred", "olga")}
    assert in_app == {f"user:{pk}" for pk in people}  # not vera (viewer), not quentin, fiona…
    sms = {address for channel, address in told if channel == Channel.SMS}
    # The fire station's duty desk on the roster, the ops centre's desk, the first contact.
    assert {"13722220001", "021-63000001", "13811110001"} <= sms
    assert "13811110002" not in sms  # the backup contact waits for step 1
    assert "021-62000119" not in sms  # another district's fire station
    assert "021-63000000" not in sms  # the district centre waits for step 2
    assert f"user:{scene['quentin'].pk}" not in in_app
    assert alert.next_step == 1 and alert.next_step_at is not None
    assert list(alert.entries.values_list("action", flat=True)) == [
        AlertEntry.Action.RAISED,
        AlertEntry.Action.NOTIFIED,
    ]
    assert DeviceEvent.objects.get().processed_at is not None


@pytest.mark.django_db
def test_duplicate_and_repeated_events_make_one_alert(client, scene):
    _send(client, scene["token"], _smoke("e-1"))
    _send(client, scene["token"], _smoke("e-1"))  # the same event again: stored once
    _send(client, scene["token"], _smoke("e-2"))  # the detector repeats itself
    events_process()

    alert = Alert.objects.get()
    assert alert.event_count == 2
    assert Notification.objects.filter(step=0).count() == alert.notifications.count()
    first = set(alert.notifications.values_list("idempotency_key", flat=True))
    _send(client, scene["token"], _smoke("e-3"))
    events_process()
    assert set(Alert.objects.get().notifications.values_list("idempotency_key", flat=True)) == first


@pytest.mark.django_db
def test_battery_and_tamper_are_minor_and_major_and_stay_on_the_units_side(client, scene):
    _send(
        client,
        scene["token"],
        {"id": "b-1", "ts": _smoke()["ts"], "type": "battery", "values": {"battery_pct": 9}},
        {"id": "t-1", "ts": _smoke()["ts"], "type": "tamper", "values": {}},
    )
    events_process()
    battery = Alert.objects.get(kind=Kind.BATTERY)
    tamper = Alert.objects.get(kind=Kind.TAMPER)
    assert (battery.severity, tamper.severity) == (Severity.MINOR, Severity.MAJOR)
    assert not battery.life_safety and battery.next_step_at is None  # minor: no escalation
    fred = f"user:{scene['fred'].pk}"
    assert fred not in {address for _c, address in _told(battery)}


@pytest.mark.django_db
def test_a_test_press_is_recorded_and_resolved(client, scene):
    _send(client, scene["token"], {"id": "x-1", "ts": _smoke()["ts"], "type": "test"})
    events_process()
    alert = Alert.objects.get()
    assert (alert.kind, alert.status, alert.outcome) == (Kind.TEST, "resolved", "test")


@pytest.mark.django_db
def test_a_cleared_fault_resolves_itself(client, scene):
    ts = _smoke()["ts"]
    _send(
        client, scene["token"], {"id": "f-1", "ts": ts, "type": "fault", "values": {"code": "E4"}}
    )
    events_process()
    assert Alert.objects.get().status == "open"
    _send(
        client,
        scene["token"],
        {"id": "f-2", "ts": ts, "type": "fault", "values": {"code": "E4", "cleared": True}},
    )
    events_process()
    alert = Alert.objects.get()
    assert (alert.status, alert.outcome) == ("resolved", "cleared")


@pytest.mark.django_db
def test_muted_preferences_never_silence_life_safety(client, scene):
    from alerts.models import NotificationPreference

    NotificationPreference.objects.create(
        user=scene["alice"],
        organisation=scene["shop"].organisation,
        email=False,
        sms=False,
        muted_kinds=[Kind.TAMPER],
    )
    scene["alice"].phone = "13800000009"
    scene["alice"].save()
    _send(client, scene["token"], _smoke("e-1"))
    _send(client, scene["token"], {"id": "t-1", "ts": _smoke()["ts"], "type": "tamper"})
    events_process()
    fire = _told(Alert.objects.get(kind=Kind.FIRE))
    tamper = _told(Alert.objects.get(kind=Kind.TAMPER))
    assert (Channel.SMS, "13800000009") in fire and (Channel.EMAIL, "alice@example.cn") in fire
    assert (Channel.SMS, "13800000009") not in tamper
    assert (Channel.EMAIL, "alice@example.cn") not in tamper
    assert (Channel.IN_APP, f"user:{scene['alice'].pk}") in tamper  # the app still lists it


@pytest.mark.django_db
def test_routing_a_new_alert_costs_the_same_queries_however_many_responders_cover_it(
    client, scene, regions
):
    def routed_queries(event_id):
        _send(client, scene["token"], _smoke(event_id))
        with CaptureQueriesContext(connection) as queries:
            assert events_process() == 1
        Alert.objects.update(  # so that the next smoke opens a new alert
            status=Alert.Status.RESOLVED, outcome=Alert.Outcome.TEST, resolved_at=timezone.now()
        )
        return len(queries)

    before = routed_queries("e-1")
    for number in range(3):  # three more fire stations with members, two with a roster
        owner = factories.UserFactory(email=f"station{number}@example.cn")
        station = factories.responder_for(
            owner,
            name=f"消防站{number}",
            kind=Responder.Kind.FIRE_STATION,
            regions=[regions["district"]],
            phone=f"021-6100000{number}",
        )
        if number:
            DutyShift.objects.create(
                responder=station,
                starts_at=timezone.now() - timedelta(hours=1),
                ends_at=timezone.now() + timedelta(hours=1),
                contact_name="值班员",
                contact_phone=f"1370000000{number}",
            )

    assert routed_queries("e-2") == before
    told = _told(Alert.objects.latest("raised_at"))
    assert {("sms", "021-61000000"), ("sms", "13700000001"), ("sms", "13700000002")} <= told
