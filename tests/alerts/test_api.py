"""The alerts API with real personal tokens: the same people see and press the same things as
on the pages (outsiders 404, a viewer or an authority 403 when acting), the buttons write the
timeline with `via=api`, a missing outcome is a 400 naming `outcome`, and a button pressed
too late is a 409 that says what happened."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertEntry, Channel, Kind, Notification, Severity
from tests.alerts.test_views import make_alert, make_devices

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/alerts/"


def one(alert, action=""):
    return f"{ALERTS}{alert.public_id}/" + (f"{action}/" if action else "")


@pytest.fixture
def fire_alert(scene):
    alert = make_alert(scene, summary="烟感报警")
    Notification.objects.create(
        alert=alert,
        step=0,
        channel=Channel.SMS,
        responder=scene["fire_station"],
        recipient="打浦桥消防站 · 值班员王",
        address="13722220001",
        idempotency_key=f"{alert.pk}:0:sms:13722220001",
        status=Notification.Status.SENT,
        attempts=1,
        sent_at=timezone.now(),
    )
    return alert


def ids(response) -> list[str]:
    data = response.json()
    return [row["id"] for row in (data["results"] if isinstance(data, dict) else data)]


# Reading ---------------------------------------------------------------------------------------


def test_the_list_has_the_alerts_i_may_see_with_filters(scene, api_client_for, charlie):
    now = timezone.now()
    fire = make_alert(scene, at=now - timedelta(hours=2))
    battery = make_alert(scene, kind=Kind.BATTERY, severity=Severity.MINOR, at=now)
    theirs = make_alert(
        scene,
        device=make_devices(scene, 1, prefix="SC", unit=scene["charlie_unit"])[0],
        kind=Kind.GAS,
    )
    alice = api_client_for(scene["alice"])

    response = alice.get(ALERTS)

    assert response.status_code == 200
    assert ids(response) == [str(battery.public_id), str(fire.public_id)]  # newest first
    row = response.json()["results"][1]
    assert row["kind"] == "fire" and row["severity"] == "critical" and row["status"] == "open"
    assert row["unit"]["id"] == str(scene["shop"].public_id) and row["park"]["name"] == "田子坊"
    assert row["device"]["serial"] == "SA-0001"
    assert row["placement"]["description"] == "收银台上方"
    assert row["may_act"] is True
    assert ids(alice.get(ALERTS, {"kind": "fire"})) == [str(fire.public_id)]
    assert ids(alice.get(ALERTS, {"status": "resolved"})) == []
    since = (now - timedelta(hours=1)).isoformat()
    assert ids(alice.get(ALERTS, {"since": since})) == [str(battery.public_id)]
    assert ids(alice.get(ALERTS, {"unit": str(scene["shop"].public_id)})) != []
    assert ids(alice.get(ALERTS, {"unit": str(scene["charlie_unit"].public_id)})) == []
    bad = alice.get(ALERTS, {"kind": "volcano"})
    assert bad.status_code == 400 and "kind" in bad.json()
    assert ids(api_client_for(charlie).get(ALERTS)) == [str(theirs.public_id)]
    assert ids(api_client_for(scene["fiona"]).get(ALERTS)) == [str(theirs.public_id)]
    assert api_client_for(scene["vera"]).get(ALERTS).json()["results"][0]["may_act"] is False


def test_the_list_pages_with_a_cursor(scene, api_client_for):
    for device in make_devices(scene, 3):
        make_alert(scene, device=device)
    client = api_client_for(scene["alice"])

    first = client.get(ALERTS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert second["next"] is None


def test_one_alert_has_its_timeline_and_who_was_told(scene, api_client_for, fire_alert, rita):
    for user in (scene["alice"], scene["fred"], scene["paula"], scene["vera"], rita):
        response = api_client_for(user).get(one(fire_alert))
        assert response.status_code == 200, user

    data = api_client_for(scene["fred"]).get(one(fire_alert)).json()
    assert data["id"] == str(fire_alert.public_id) and data["summary"] == "烟感报警"
    assert data["unit"]["responsible_phone"] == "13800000000"
    assert [contact["name"] for contact in data["unit"]["contacts"]] == ["张阿姨", "李师傅"]
    assert data["device"]["serial"] == "SA-0001" and "battery_pct" in data["device"]
    assert [entry["action"] for entry in data["timeline"]] == ["raised"]
    assert data["timeline"][0]["by"] is None
    [notification] = data["notifications"]
    assert notification["channel"] == "sms" and notification["status"] == "sent"
    assert notification["responder"] == "打浦桥消防站"
    assert data["may_act"] is True
    assert api_client_for(rita).get(one(fire_alert)).json()["may_act"] is False


@pytest.mark.parametrize("name", ["fiona", "quentin", "charlie", "vince"])
def test_outsiders_get_404_on_every_endpoint_of_an_alert(
    scene, api_client_for, fire_alert, name, request
):
    client = api_client_for(scene.get(name) or request.getfixturevalue(name))

    assert client.get(one(fire_alert)).status_code == 404
    for action in ("acknowledge", "dispatch", "notes"):
        assert client.post(one(fire_alert, action), {"note": "x"}).status_code == 404
    assert client.post(one(fire_alert, "resolve"), {"outcome": "test"}).status_code == 404
    assert str(fire_alert.public_id) not in ids(client.get(ALERTS))
    assert str(fire_alert.public_id) not in ids(client.get("/api/v1/console/"))
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.OPEN


def test_anonymous_requests_are_refused(scene, fire_alert):
    from rest_framework.test import APIClient

    client = APIClient()
    assert client.get(ALERTS).status_code in (401, 403)
    assert client.post(one(fire_alert, "acknowledge")).status_code in (401, 403)


# Acting ----------------------------------------------------------------------------------------


def test_acknowledge_dispatch_resolve_through_the_api(scene, api_client_for, fire_alert):
    client = api_client_for(scene["fred"])

    acknowledged = client.post(one(fire_alert, "acknowledge"), {"note": "收到"}, format="json")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_at"] is not None
    dispatched = client.post(one(fire_alert, "dispatch"), {}, format="json")
    assert dispatched.status_code == 200 and dispatched.json()["dispatched_at"] is not None
    resolved = client.post(
        one(fire_alert, "resolve"), {"outcome": "false_alarm", "note": "厨房油烟"}, format="json"
    )
    assert resolved.status_code == 200
    data = resolved.json()
    assert data["status"] == "resolved" and data["outcome"] == "false_alarm"
    assert [(e["action"], e["via"], e["by"]) for e in data["timeline"]] == [
        ("raised", "system", None),
        ("acknowledged", "api", "Fred"),
        ("dispatched", "api", "Fred"),
        ("resolved", "api", "Fred"),
    ]
    assert data["timeline"][1]["note"] == "收到" and data["timeline"][3]["note"] == "厨房油烟"
    fire_alert.refresh_from_db()
    assert fire_alert.resolved_by == scene["fred"] and fire_alert.resolved_at is not None


def test_resolving_without_an_outcome_is_a_400_naming_it(scene, api_client_for, fire_alert):
    client = api_client_for(scene["alice"])

    missing = client.post(one(fire_alert, "resolve"), {}, format="json")
    cleared = client.post(one(fire_alert, "resolve"), {"outcome": "cleared"}, format="json")

    assert missing.status_code == 400 and list(missing.json()) == ["outcome"]
    assert cleared.status_code == 400 and list(cleared.json()) == ["outcome"]
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.OPEN


def test_pressing_too_late_is_a_409_with_the_reason(scene, api_client_for, fire_alert):
    fred, paula = api_client_for(scene["fred"]), api_client_for(scene["paula"])
    assert fred.post(one(fire_alert, "acknowledge")).status_code == 200

    again = paula.post(one(fire_alert, "acknowledge"))
    assert again.status_code == 409
    assert again.json() == {"detail": "This alert is already acknowledged."}
    fred.post(one(fire_alert, "resolve"), {"outcome": "test"}, format="json")
    late = paula.post(one(fire_alert, "dispatch"))
    assert late.status_code == 409 and "already resolved" in late.json()["detail"]
    assert fire_alert.entries.filter(action=AlertEntry.Action.ACKNOWLEDGED).count() == 1


def test_a_viewer_and_an_authority_may_not_act(scene, api_client_for, fire_alert, rita):
    for user in (scene["vera"], rita):
        client = api_client_for(user)
        assert client.post(one(fire_alert, "acknowledge")).status_code == 403
        assert client.post(one(fire_alert, "dispatch")).status_code == 403
        refused = client.post(one(fire_alert, "resolve"), {"outcome": "test"}, format="json")
        assert refused.status_code == 403
        assert client.post(one(fire_alert, "notes"), {"note": "x"}).status_code == 403
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.OPEN
    assert fire_alert.entries.count() == 1


def test_notes_go_into_the_timeline(scene, api_client_for, fire_alert):
    client = api_client_for(scene["bob"])

    created = client.post(one(fire_alert, "notes"), {"note": "已疏散顾客"}, format="json")
    empty = client.post(one(fire_alert, "notes"), {"note": ""}, format="json")

    assert created.status_code == 201
    assert created.json()["action"] == "note" and created.json()["via"] == "api"
    assert empty.status_code == 400 and list(empty.json()) == ["note"]
    assert fire_alert.entries.filter(action="note", note="已疏散顾客", by=scene["bob"]).exists()


# The console -----------------------------------------------------------------------------------


def test_the_console_endpoint_lists_my_area_critical_first(scene, api_client_for):
    now = timezone.now()
    tamper = make_alert(scene, kind=Kind.TAMPER, severity=Severity.MAJOR, at=now)
    fire = make_alert(scene, kind=Kind.FIRE, at=now - timedelta(minutes=3))
    resolved = make_alert(scene, kind=Kind.GAS, at=now)
    Alert.objects.filter(pk=resolved.pk).update(
        status=Alert.Status.RESOLVED, outcome="test", resolved_at=now
    )

    assert ids(api_client_for(scene["olga"]).get("/api/v1/console/")) == [
        str(fire.public_id),
        str(tamper.public_id),
    ]
    assert ids(api_client_for(scene["fred"]).get("/api/v1/console/")) == [str(fire.public_id)]
    assert ids(api_client_for(scene["fiona"]).get("/api/v1/console/")) == []


def test_the_console_endpoint_costs_the_same_queries_for_1_or_30_alerts(
    scene, api_client_for, django_assert_max_num_queries
):
    client = api_client_for(scene["fred"])
    make_alert(scene)
    with CaptureQueriesContext(connection) as one_alert:
        assert len(ids(client.get("/api/v1/console/"))) == 1
    for device in make_devices(scene, 29):
        make_alert(scene, device=device)

    with django_assert_max_num_queries(len(one_alert.captured_queries)):
        assert len(ids(client.get("/api/v1/console/"))) == 30
    with django_assert_max_num_queries(len(one_alert.captured_queries)):
        assert len(ids(client.get(ALERTS))) == 30


# Preferences -----------------------------------------------------------------------------------

PREFERENCES = "/api/v1/alerts/preferences/"


def test_preferences_are_read_and_set_per_organisation(scene, api_client_for, alice_org):
    client = api_client_for(scene["alice"])

    before = client.get(PREFERENCES).json()
    assert before == [
        {
            "organisation": {
                "id": str(alice_org.public_id),
                "name": alice_org.name,
                "kind": "unit",
            },
            "email": True,
            "sms": True,
            "muted_kinds": [],
        }
    ]
    saved = client.put(
        PREFERENCES,
        {
            "organisation": str(alice_org.public_id),
            "email": True,
            "sms": False,
            "muted_kinds": ["battery", "offline"],
        },
        format="json",
    )
    assert saved.status_code == 200
    assert saved.json()["sms"] is False and saved.json()["muted_kinds"] == ["battery", "offline"]
    assert client.get(PREFERENCES).json()[0]["muted_kinds"] == ["battery", "offline"]


def test_muting_a_life_safety_kind_is_a_400_naming_the_field(scene, api_client_for, alice_org):
    response = api_client_for(scene["alice"]).put(
        PREFERENCES,
        {
            "organisation": str(alice_org.public_id),
            "email": False,
            "sms": False,
            "muted_kinds": ["battery", "fire"],
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["muted_kinds"]
    assert "cannot be muted" in response.json()["muted_kinds"][0]


def test_another_organisations_preferences_are_404(scene, api_client_for, alice_org):
    response = api_client_for(scene["fiona"]).put(
        PREFERENCES,
        {"organisation": str(alice_org.public_id), "email": False, "sms": False, "muted_kinds": []},
        format="json",
    )

    assert response.status_code == 404


def test_every_alerts_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    paths = schema["paths"]
    assert {
        "/api/v1/alerts/",
        "/api/v1/alerts/{alert_id}/",
        "/api/v1/alerts/{alert_id}/acknowledge/",
        "/api/v1/alerts/{alert_id}/dispatch/",
        "/api/v1/alerts/{alert_id}/resolve/",
        "/api/v1/alerts/{alert_id}/notes/",
        "/api/v1/alerts/preferences/",
        "/api/v1/console/",
    } <= set(paths)
    resolve = paths["/api/v1/alerts/{alert_id}/resolve/"]["post"]
    assert set(resolve["responses"]) == {"200", "400", "403", "404", "409"}
    assert set(paths["/api/v1/alerts/preferences/"]) >= {"get", "put"}
