"""The demo's alert history (`load_demo` → `load_alerts_demo`): eight weeks of handled alerts
on the demo devices, so that the alert pages and the reviewer's dashboard show real response
times, while the consoles start empty for the live simulated alarm."""

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from alerts.management.commands.load_alerts_demo import HISTORY, demo_alert_id
from alerts.models import Alert, AlertEntry, Kind, Notification
from alerts.selectors import console_alerts_for
from oversight import dashboards, rollups
from tests.oversight.test_dashboards import page_tables
from units.models import Region

pytestmark = pytest.mark.django_db
Action, Outcome = AlertEntry.Action, Alert.Outcome
FIRE_DESK = "firedesk@demo.safeunit.cn"
HUANGPU = "310101"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo() -> str:
    output = StringIO()
    call_command("load_demo", stdout=output)
    return output.getvalue()


def demo_alerts():
    ids = [demo_alert_id(index) for index in range(len(HISTORY))]
    return Alert.objects.filter(public_id__in=ids)


def test_the_history_is_eight_weeks_of_handled_alerts_with_stamps_in_order():
    load_demo()

    alerts = list(demo_alerts().select_related("unit", "acknowledged_by", "resolved_by"))
    assert len(alerts) == len(HISTORY) == 12
    assert {alert.unit.name for alert in alerts} == {"林记咖啡"}
    kinds = Counter(alert.kind for alert in alerts)
    assert set(kinds) == {
        Kind.FIRE,
        Kind.BATTERY,
        Kind.OFFLINE,
        Kind.TAMPER,
    }
    fires = [alert for alert in alerts if alert.kind == Kind.FIRE]
    assert sum(alert.outcome == Outcome.FALSE_ALARM for alert in fires) == 3  # of 8
    assert {Outcome.INCIDENT, Outcome.FALSE_ALARM, Outcome.TEST, Outcome.DEVICE_FAULT} <= {
        alert.outcome for alert in alerts
    }
    handlers = {alert.acknowledged_by.email for alert in alerts} | {
        alert.resolved_by.email for alert in alerts if alert.resolved_by
    }
    assert {FIRE_DESK, "park@demo.safeunit.cn", "merchant@demo.safeunit.cn"} <= handlers

    now = timezone.now()
    for alert in alerts:
        assert alert.status == Alert.Status.RESOLVED, alert
        assert now - timedelta(weeks=8) < alert.raised_at < now - timedelta(days=1)
        assert alert.first_event_at <= alert.raised_at < alert.first_notified_at
        assert alert.first_notified_at - alert.raised_at <= timedelta(seconds=1)
        assert timedelta(seconds=20) <= alert.acknowledged_at - alert.raised_at
        assert alert.acknowledged_at - alert.raised_at <= timedelta(minutes=4)
        if alert.dispatched_at:
            assert alert.acknowledged_at < alert.dispatched_at < alert.resolved_at
        assert timedelta(minutes=5) <= alert.resolved_at - alert.raised_at
        assert alert.resolved_at - alert.raised_at <= timedelta(minutes=40)

        timeline = list(alert.entries.order_by("at", "pk"))
        actions = [entry.action for entry in timeline]
        assert actions[:2] == [Action.RAISED, Action.NOTIFIED], alert
        assert actions[-1] == Action.RESOLVED and timeline[-1].note, alert
        assert Action.ACKNOWLEDGED in actions
        assert (Action.DISPATCHED in actions) == (alert.dispatched_at is not None)
        assert [entry.at for entry in timeline] == sorted(entry.at for entry in timeline)
        acknowledged = timeline[actions.index(Action.ACKNOWLEDGED)]
        assert (acknowledged.at, acknowledged.by) == (alert.acknowledged_at, alert.acknowledged_by)
        assert timeline[-1].at == alert.resolved_at

        sent = list(alert.notifications.all())
        assert sent and {n.status for n in sent} == {Notification.Status.SENT}
        assert min(n.sent_at for n in sent) == alert.first_notified_at
    assert any(alert.dispatched_at for alert in alerts)


def test_the_alert_page_shows_the_handling_and_who_was_told(client_for):
    load_demo()
    merchant = User.objects.get(email="merchant@demo.safeunit.cn")
    alert = (
        demo_alerts()
        .filter(unit__name="林记咖啡", kind=Kind.FIRE, dispatched_at__isnull=False)
        .earliest("raised_at")
    )

    response = client_for(merchant).get(reverse("alerts:detail", args=[alert.public_id]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="alert-outcome"' in page
    assert alert.entries.get(action=Action.RESOLVED).note in page
    assert "刘强" in page  # the fire desk acknowledged and dispatched it
    who_was_told = page.split('id="notifications"')[1]
    recipients = {notification.recipient for notification in alert.notifications.all()}
    assert "林生" in recipients and "陈静" in recipients  # the shop and the park office
    for recipient in recipients:
        assert recipient in who_was_told


def test_the_consoles_start_empty():
    load_demo()
    fire_desk = User.objects.get(email=FIRE_DESK)

    assert list(console_alerts_for(user=fire_desk)) == []
    assert not Alert.objects.filter(status__in=Alert.UNRESOLVED).exists()


def test_the_huangpu_dashboard_shows_response_times(client_for):
    load_demo()
    rollups.rollups_refresh_nightly()
    district = Region.objects.get(code=HUANGPU)

    table = dashboards.response_table(region=district)

    rows = {row["scenario_code"] or row["scenario"]: row for row in table.rows}
    overall = table.rows[-1]
    assert overall["alerts"] == 12 and overall["resolved"] == 12
    assert 20 <= overall["ack_p50_s"] <= 240
    assert 5 * 60 <= overall["resolve_p50_s"] <= 40 * 60
    for code in ("fire",):
        assert rows[code]["ack_p50_s"] and rows[code]["resolve_p50_s"], code

    reviewer = User.objects.get(email="reviewer@demo.safeunit.cn")
    response = client_for(reviewer).get(reverse("oversight:dashboard", args=[HUANGPU]))
    assert response.status_code == 200
    shown = page_tables(response)["table-response"]
    _header, *body = shown
    keys = [column.key for column in table.columns]
    for key in ("ack_p50_s", "resolve_p50_s"):
        assert body and all(row[keys.index(key)] not in ("", "—") for row in body), key
        assert body[-1][keys.index(key)] == dashboards.display(overall[key], dashboards.DURATION)


def test_a_second_run_writes_nothing_in_one_query():
    load_demo()
    before = demo_alerts().count(), AlertEntry.objects.count(), Notification.objects.count()

    output = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("load_alerts_demo", stdout=output)

    assert len(queries.captured_queries) == 1
    assert (demo_alerts().count(), AlertEntry.objects.count(), Notification.objects.count()) == (
        before
    )


def test_without_the_demo_devices_it_writes_nothing():
    output = StringIO()
    call_command("load_alerts_demo", stdout=output)

    assert not Alert.objects.exists()
    assert "skipped" in output.getvalue()
