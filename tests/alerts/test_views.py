"""The alert pages as people use them: the duty desk's console (its area only, critical first,
polling, buttons that swap their row), the alert page (everything about the alarm and its
handling, in Shanghai time), a unit's alert history with its false-alarm rates, and who may
see and press what: outsiders get 404, a viewer and an authority may look but not act."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertEntry, Channel, Kind, Notification, Severity
from billing.services.orders import order_create
from devices.models import Device, Placement

pytestmark = pytest.mark.django_db

ROW = re.compile(r'id="alert-([0-9a-f-]{36})"')


def make_alert(
    scene, *, kind=Kind.FIRE, severity=Severity.CRITICAL, device=None, at=None, unit=None, **extra
) -> Alert:
    """An alert as the processor would raise it, with the first line of its timeline."""
    device = device or scene["device"]
    unit = unit or device.unit
    at = at or timezone.now()
    alert = Alert.objects.create(
        device=device,
        unit=unit,
        region=unit.region,
        kind=kind,
        severity=severity,
        life_safety=kind in (Kind.FIRE, Kind.GAS, Kind.ENTRAPMENT, Kind.VITALS),
        first_event_at=at,
        last_event_at=at,
        raised_at=at,
        summary=extra.pop("summary", ""),
        **extra,
    )
    AlertEntry.objects.create(alert=alert, at=at, action=AlertEntry.Action.RAISED)
    return alert


def make_devices(scene, count: int, *, prefix="SB", unit=None) -> list[Device]:
    """More placed, reporting detectors, in alice's shop unless told (ORM: claiming each is
    not the point here)."""
    template = scene["device"]
    devices = Device.objects.bulk_create(
        [
            Device(
                vendor_id=template.vendor_id,
                device_model_id=template.device_model_id,
                serial=f"{prefix}-{index:04d}",
                claim_code="000000",
                unit=unit or template.unit,
                state=Device.State.ACTIVE,
                last_seen_at=timezone.now(),
            )
            for index in range(count)
        ]
    )
    Placement.objects.bulk_create(
        [
            Placement(
                device=device,
                building="主楼",
                floor=2,
                space_type="shop_floor",
                description=f"货架{index}",
            )
            for index, device in enumerate(devices)
        ]
    )
    return devices


def rows(response) -> list[str]:
    return ROW.findall(response.content.decode())


def detail_url(alert):
    return reverse("alerts:detail", args=[alert.public_id])


def action_url(alert, action):
    return reverse(f"alerts:{action}", args=[alert.public_id])


@pytest.fixture
def fire_alert(scene):
    return make_alert(scene, summary="烟感报警")


# The console -----------------------------------------------------------------------------------


def test_the_console_lists_critical_first_then_newest(scene, client_for):
    now = timezone.now()
    minor = make_alert(scene, kind=Kind.BATTERY, severity=Severity.MINOR, at=now)
    old_fire = make_alert(scene, kind=Kind.FIRE, at=now - timedelta(minutes=5))
    major = make_alert(scene, kind=Kind.TAMPER, severity=Severity.MAJOR, at=now)
    new_gas = make_alert(scene, kind=Kind.GAS, at=now - timedelta(minutes=1))
    _resolve(make_alert(scene, kind=Kind.WATER, severity=Severity.MAJOR, at=now), "test")

    response = client_for(scene["alice"]).get(reverse("alerts:console"))

    assert response.status_code == 200
    expected = [new_gas, old_fire, major, minor]
    assert rows(response) == [str(alert.public_id) for alert in expected]
    page = response.content.decode()
    assert "收银台上方" in page and "田子坊" in page  # where, and the park it is in
    assert 'hx-trigger="every 2s' in page
    assert f'data-newest-critical="{new_gas.public_id}"' in page
    assert page.count('class="acknowledge small"') == 4  # alice may act on each
    # The operations centre watches every kind in its subdistrict, in the same order.
    assert rows(client_for(scene["olga"]).get(reverse("alerts:console"))) == rows(response)


def test_a_responder_console_lists_the_kinds_it_handles_in_its_area(scene, client_for):
    fire = make_alert(scene, kind=Kind.FIRE)
    make_alert(scene, kind=Kind.BATTERY, severity=Severity.MINOR)  # the shop's own concern
    lift = make_alert(scene, kind=Kind.ENTRAPMENT, device=make_devices(scene, 1, prefix="EL")[0])

    assert rows(client_for(scene["fred"]).get(reverse("alerts:console"))) == [str(fire.public_id)]
    assert rows(client_for(scene["eli"]).get(reverse("alerts:console"))) == [str(lift.public_id)]
    page = client_for(scene["fred"]).get(reverse("alerts:console")).content.decode()
    assert page.count('class="acknowledge small"') == 1


def test_another_districts_fire_station_and_an_outsider_see_none_of_it(scene, client_for, charlie):
    alert = make_alert(scene)
    theirs = make_alert(
        scene,
        device=make_devices(scene, 1, prefix="SC", unit=scene["charlie_unit"])[0],
        kind=Kind.GAS,
    )

    for name in ("fiona", "quentin"):
        page = client_for(scene[name]).get(reverse("alerts:console")).content.decode()
        assert str(alert.public_id) not in page, name
    assert rows(client_for(scene["fiona"]).get(reverse("alerts:console"))) == [
        str(theirs.public_id)
    ]
    assert rows(client_for(charlie).get(reverse("alerts:console"))) == [str(theirs.public_id)]


def test_unit_members_and_the_park_office_see_their_own_units_alerts(scene, client_for):
    alert = make_alert(scene)

    for name in ("alice", "bob", "vera", "paula", "olga", "fred"):
        assert rows(client_for(scene[name]).get(reverse("alerts:console"))) == [
            str(alert.public_id)
        ], name
    vera_page = client_for(scene["vera"]).get(reverse("alerts:console")).content.decode()
    assert 'class="acknowledge small"' not in vera_page  # a viewer looks, she does not act


def test_the_polling_partial_is_the_list_alone_and_204_when_nothing_changed(scene, client_for):
    client = client_for(scene["fred"])
    make_alert(scene)

    partial = client.get(reverse("alerts:console"), HTTP_HX_REQUEST="true")

    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="console-list"') and "<html" not in body
    version = re.search(r'data-version="([0-9a-f]+)"', body).group(1)
    unchanged = client.get(reverse("alerts:console"), {"v": version}, HTTP_HX_REQUEST="true")
    assert unchanged.status_code == 204
    make_alert(scene, kind=Kind.GAS)
    changed = client.get(reverse("alerts:console"), {"v": version}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and len(rows(changed)) == 2


def test_the_console_costs_the_same_queries_for_1_or_30_alerts(
    scene, client_for, django_assert_max_num_queries
):
    client = client_for(scene["fred"])
    make_alert(scene)
    with CaptureQueriesContext(connection) as one:
        assert len(rows(client.get(reverse("alerts:console")))) == 1

    for device in make_devices(scene, 29):
        make_alert(scene, device=device, kind=Kind.FIRE)

    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(rows(client.get(reverse("alerts:console")))) == 30


# The alert page --------------------------------------------------------------------------------


def test_the_alert_page_shows_the_device_placement_unit_timeline_and_who_was_told(
    scene, client_for
):
    raised = datetime(2025, 3, 1, 2, 0, 5, tzinfo=UTC)  # 10:00:05 in Shanghai
    alert = make_alert(scene, at=raised, summary="烟感报警")
    Alert.objects.filter(pk=alert.pk).update(first_notified_at=raised + timedelta(seconds=1))
    Notification.objects.create(
        alert=alert,
        step=0,
        channel=Channel.SMS,
        responder=scene["fire_station"],
        recipient="值班员王",
        address="13722220001",
        idempotency_key=f"{alert.pk}:0:sms:13722220001",
        status=Notification.Status.SENT,
        attempts=1,
        sent_at=raised + timedelta(seconds=1),
    )

    response = client_for(scene["fred"]).get(detail_url(alert))

    assert response.status_code == 200
    page = response.content.decode()
    for expected in (
        "SA-0001",  # the device
        "收银台上方",  # where it is
        "主楼",
        "2025-03-01 10:00:05",  # raised, in Shanghai time
        "2025-03-01 10:00:06",  # first notified
        "泰康路210弄",  # the unit's address
        "13800000000",  # its responsible person's phone
        "田子坊",  # the park it is in
        "值班员王",  # who was told
        "打浦桥消防站",
    ):
        assert expected in page, expected
    assert page.index("张阿姨") < page.index("李师傅")  # contacts in the order they are called
    assert 'id="acknowledge"' in page and 'id="resolve-form"' in page


@pytest.mark.parametrize("name", ["alice", "bob", "paula", "fred", "olga"])
def test_the_unit_its_park_office_and_its_responders_may_act(scene, client_for, name, fire_alert):
    page = client_for(scene[name]).get(detail_url(fire_alert)).content.decode()

    assert 'id="acknowledge"' in page


def test_a_viewer_and_an_authority_see_the_alert_but_cannot_act(
    scene, client_for, fire_alert, rita
):
    for user in (scene["vera"], rita):
        client = client_for(user)
        page = client.get(detail_url(fire_alert))
        assert page.status_code == 200
        assert 'id="view-only"' in page.content.decode()
        assert 'id="acknowledge"' not in page.content.decode()
        for action in ("acknowledge", "dispatch", "note"):
            assert client.post(action_url(fire_alert, action), {"note": "x"}).status_code == 403
        refused = client.post(action_url(fire_alert, "resolve"), {"outcome": "false_alarm"})
        assert refused.status_code == 403
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.OPEN
    assert not fire_alert.entries.exclude(action=AlertEntry.Action.RAISED).exists()


@pytest.mark.parametrize("name", ["fiona", "quentin", "charlie", "vince"])
def test_outsiders_get_404_on_every_alert_page_and_button(
    scene, client_for, fire_alert, name, request
):
    client = client_for(scene.get(name) or request.getfixturevalue(name))

    assert client.get(detail_url(fire_alert)).status_code == 404
    assert client.get(detail_url(fire_alert), HTTP_HX_REQUEST="true").status_code == 404
    for action in ("acknowledge", "dispatch", "note"):
        assert client.post(action_url(fire_alert, action), {"note": "x"}).status_code == 404
    assert client.post(action_url(fire_alert, "resolve"), {"outcome": "test"}).status_code == 404
    history = reverse("alerts:unit_history", args=[scene["shop"].public_id])
    assert client.get(history).status_code == 404
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.OPEN


def test_a_missing_alert_is_404(scene, client_for):
    url = reverse("alerts:detail", args=["00000000-0000-0000-0000-000000000000"])

    assert client_for(scene["fred"]).get(url).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(scene, client, fire_alert):
    for url in (reverse("alerts:console"), detail_url(fire_alert), reverse("alerts:preferences")):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


# Handling from the console and the page --------------------------------------------------------


def test_fred_acknowledges_from_the_console_and_only_the_row_is_swapped(
    scene, client_for, fire_alert
):
    client = client_for(scene["fred"])

    response = client.post(
        action_url(fire_alert, "acknowledge"),
        {"next": reverse("alerts:console")},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"alert-{fire_alert.public_id}",
    )

    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<article id="alert-{fire_alert.public_id}"')
    assert 'data-status="acknowledged"' in row
    assert 'class="acknowledge small"' not in row and 'class="dispatch secondary small"' in row
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.ACKNOWLEDGED
    assert fire_alert.acknowledged_at is not None and fire_alert.acknowledged_by == scene["fred"]
    entry = fire_alert.entries.get(action=AlertEntry.Action.ACKNOWLEDGED)
    assert (entry.by, entry.via, entry.from_status, entry.to_status) == (
        scene["fred"],
        AlertEntry.Via.CONSOLE,
        "open",
        "acknowledged",
    )


def test_without_scripts_each_button_posts_and_comes_back_to_the_console(
    scene, client_for, fire_alert
):
    client = client_for(scene["fred"])
    console = reverse("alerts:console")

    dispatched = client.post(action_url(fire_alert, "dispatch"), {"next": console})
    assert dispatched.status_code == 302 and dispatched["Location"] == console
    resolved = client.post(
        action_url(fire_alert, "resolve"), {"outcome": "incident", "next": console}
    )
    assert resolved.status_code == 302 and resolved["Location"] == console

    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.RESOLVED and fire_alert.outcome == "incident"
    assert fire_alert.dispatched_at and fire_alert.acknowledged_at and fire_alert.resolved_at
    assert fire_alert.resolved_by == scene["fred"]
    assert list(fire_alert.entries.values_list("action", "via")) == [
        ("raised", "system"),
        ("dispatched", "console"),
        ("resolved", "console"),
    ]
    assert str(fire_alert.public_id) not in client.get(console).content.decode()
    page = client.get(detail_url(fire_alert)).content.decode()
    assert "Incident handled" in page and 'id="acknowledge"' not in page


def test_a_foreign_next_address_is_ignored(scene, client_for, fire_alert):
    response = client_for(scene["fred"]).post(
        action_url(fire_alert, "acknowledge"), {"next": "https://evil.example/"}
    )

    assert response["Location"] == detail_url(fire_alert)


def test_resolving_without_an_outcome_is_refused_naming_the_outcome(scene, client_for, fire_alert):
    client = client_for(scene["fred"])

    page = client.post(action_url(fire_alert, "resolve"), {"outcome": ""})
    assert page.status_code == 400
    assert re.search(r'id="id_outcome_errors".*Outcome: Choose an outcome', page.content.decode())
    row = client.post(
        action_url(fire_alert, "resolve"),
        {"outcome": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"alert-{fire_alert.public_id}",
    )
    assert row.status_code == 200
    assert "Outcome: Choose an outcome" in row.content.decode()
    fire_alert.refresh_from_db()
    assert fire_alert.status == Alert.Status.OPEN


def test_acting_twice_says_what_already_happened(scene, client_for, fire_alert):
    fred, paula = client_for(scene["fred"]), client_for(scene["paula"])
    fred.post(action_url(fire_alert, "acknowledge"))

    late = paula.post(action_url(fire_alert, "acknowledge"), follow=True)
    assert "This alert is already acknowledged." in late.content.decode()
    row = paula.post(
        action_url(fire_alert, "acknowledge"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"alert-{fire_alert.public_id}",
    )
    assert "This alert is already acknowledged." in row.content.decode()
    assert fire_alert.entries.filter(action=AlertEntry.Action.ACKNOWLEDGED).count() == 1


def test_the_alert_page_swaps_its_handling_section_and_takes_notes(scene, client_for, fire_alert):
    client = client_for(scene["alice"])

    response = client.post(
        action_url(fire_alert, "acknowledge"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="handling"
    )
    assert response.status_code == 200
    section = response.content.decode()
    assert section.lstrip().startswith('<section id="handling">')
    assert 'id="handling-done"' in section and 'id="dispatch"' in section
    noted = client.post(
        action_url(fire_alert, "note"),
        {"note": "已电话联系店主，误报"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="handling",
    )
    assert "已电话联系店主，误报" in noted.content.decode()
    empty = client.post(action_url(fire_alert, "note"), {"note": "  "})
    assert empty.status_code == 400 and "Note: Write a note." in empty.content.decode()
    assert fire_alert.entries.filter(action="note", by=scene["alice"], via="console").count() == 1


# A unit's alert history ------------------------------------------------------------------------


def _resolve(alert, outcome):
    Alert.objects.filter(pk=alert.pk).update(
        status=Alert.Status.RESOLVED, outcome=outcome, resolved_at=timezone.now()
    )


def test_the_history_filters_and_shows_false_alarm_rates_per_device(scene, client_for):
    flaky, steady = make_devices(scene, 2, prefix="SH")
    now = timezone.now()
    for index, outcome in enumerate(["false_alarm", "false_alarm", "incident"]):
        alert = make_alert(scene, device=flaky, at=now - timedelta(days=index + 1))
        _resolve(alert, outcome)
    _resolve(make_alert(scene, device=steady, at=now - timedelta(days=10)), "test")
    open_alert = make_alert(scene, kind=Kind.GAS)
    url = reverse("alerts:unit_history", args=[scene["shop"].public_id])
    client = client_for(scene["alice"])

    page = client.get(url).content.decode()
    assert len(rows_in_history(page)) == 5
    assert re.search(r'data-serial="SH-0000">.*?<td>3</td>\s*<td>2</td>.*?67%', page, re.S)
    assert re.search(r'data-serial="SH-0001">.*?<td>1</td>\s*<td>0</td>.*?0%', page, re.S)
    assert rows_in_history(client.get(url, {"status": "open"}).content.decode()) == [
        str(open_alert.public_id)
    ]
    assert len(rows_in_history(client.get(url, {"outcome": "false_alarm"}).content.decode())) == 2
    # The filter reads a Shanghai date: a UTC date is a day off between 16:00 and 24:00 UTC.
    since = timezone.localdate(now - timedelta(days=2)).isoformat()
    recent = client.get(url, {"since": since}, HTTP_HX_REQUEST="true").content.decode()
    assert recent.lstrip().startswith('<section id="results">')
    assert len(rows_in_history(recent)) == 3  # today's gas, yesterday's and the day before's


def rows_in_history(page: str) -> list[str]:
    return re.findall(r'<tr id="alert-([0-9a-f-]{36})"', page)


def test_the_unit_page_links_its_alert_history(scene, client_for):
    page = client_for(scene["alice"]).get(reverse("units:detail", args=[scene["shop"].public_id]))

    assert reverse("alerts:unit_history", args=[scene["shop"].public_id]) in page.content.decode()


def test_the_authority_and_fire_station_may_read_the_history(scene, client_for, rita):
    make_alert(scene)
    url = reverse("alerts:unit_history", args=[scene["shop"].public_id])

    for user in (rita, scene["fred"], scene["paula"], scene["vera"]):
        response = client_for(user).get(url)
        assert response.status_code == 200 and len(rows_in_history(response.content.decode())) == 1


def test_false_alarm_rates_per_solution_follow_the_order_the_device_came_with(
    scene, certified, charlie
):
    from alerts.selectors import alert_list_for, false_alarm_rates

    order = order_create(unit=scene["shop"], revision=certified, mode="purchase", by=scene["alice"])
    Device.objects.filter(pk=scene["device"].pk).update(order_line=order.lines.first())
    unbought = make_devices(scene, 1, prefix="SU")[0]
    for outcome in ("false_alarm", "incident", "false_alarm", "false_alarm"):
        _resolve(make_alert(scene), outcome)
    _resolve(make_alert(scene, device=unbought), "false_alarm")

    rates = false_alarm_rates(alerts=alert_list_for(user=scene["alice"]))

    assert [(row["serial"], row["resolved"], row["false_alarms"]) for row in rates["devices"]] == [
        ("SU-0000", 1, 1),
        ("SA-0001", 4, 3),
    ]
    [solution] = rates["solutions"]
    assert solution["name"] == certified.name
    assert (solution["devices"], solution["resolved"], solution["false_alarms"]) == (1, 4, 3)
    assert solution["rate"] == pytest.approx(0.75)
    # Another unit's member sees none of these rates.
    assert false_alarm_rates(alerts=alert_list_for(user=charlie)) == {
        "devices": [],
        "solutions": [],
    }


def test_the_nav_links_the_console_for_unit_and_responder_members(scene, client_for):
    for name in ("alice", "fred"):
        page = client_for(scene[name]).get(reverse("home")).content.decode()
        assert 'id="nav-alerts"' in page, name


# The operator's admin --------------------------------------------------------------------------


@pytest.fixture
def operator_client(client_for):
    from accounts.models import User

    return client_for(User.objects.create_superuser(email="ops@safeunit.cn", full_name="Ops"))


def test_every_alerts_admin_page_opens(scene, operator_client, fire_alert):
    from django.contrib import admin

    from alerts.models import AlarmRule, EscalationStep, NotificationPreference, WebhookEndpoint
    from alerts.services.preferences import preference_update

    # Rules and policies are seeded (alerts.reference_data, the scene re-seeds them).
    assert AlarmRule.objects.exists() and EscalationStep.objects.exists()
    WebhookEndpoint.objects.create(
        name="城运平台", region=scene["regions"]["district"], url="https://ops.example/", secret="s"
    )
    preference_update(
        user=scene["alice"],
        organisation=scene["shop"].organisation,
        email=True,
        sms=False,
        muted_kinds=["battery"],
    )
    Notification.objects.create(
        alert=fire_alert,
        step=0,
        channel=Channel.EMAIL,
        recipient="Alice",
        address="alice@example.cn",
        idempotency_key="admin-test",
    )
    alert_models = [model for model in admin.site._registry if model._meta.app_label == "alerts"]
    assert {model.__name__ for model in alert_models} >= {
        "AlarmRule",
        "EscalationPolicy",
        "Alert",
        "Notification",
        "NotificationPreference",
        "WebhookEndpoint",
    }
    for model in alert_models:
        changelist = reverse(f"admin:alerts_{model._meta.model_name}_changelist")
        assert operator_client.get(changelist).status_code == 200, model
        assert operator_client.get(changelist, {"q": "SA-0001"}).status_code == 200, model
        first = model.objects.order_by("pk").first()
        assert first is not None, model
        change = reverse(f"admin:alerts_{model._meta.model_name}_change", args=[first.pk])
        assert operator_client.get(change).status_code == 200, model
    assert NotificationPreference.objects.count() == 1


def test_the_admin_retries_a_dead_notification(scene, operator_client, fire_alert):
    dead = Notification.objects.create(
        alert=fire_alert,
        step=0,
        channel=Channel.SMS,
        recipient="值班员王",
        address="13722220001",
        idempotency_key="dead-one",
        status=Notification.Status.DEAD,
        attempts=5,
        last_error="provider down",
    )
    sent = Notification.objects.create(
        alert=fire_alert,
        step=0,
        channel=Channel.EMAIL,
        recipient="Alice",
        address="alice@example.cn",
        idempotency_key="sent-one",
        status=Notification.Status.SENT,
        attempts=1,
    )

    response = operator_client.post(
        reverse("admin:alerts_notification_changelist"),
        {"action": "retry_now", "_selected_action": [dead.pk, sent.pk]},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 notification queued to be sent again." in page
    assert "1 notification was not failed or given up" in page
    dead.refresh_from_db()
    sent.refresh_from_db()
    assert (dead.status, dead.attempts) == (Notification.Status.PENDING, 0)
    assert sent.status == Notification.Status.SENT
