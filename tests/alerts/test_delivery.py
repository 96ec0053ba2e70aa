"""Delivery (issue 6 §4, DESIGN §6 "no alarm is lost"): claimed sends, backoff, dead letters
in the ops view, and a sender killed mid-send that still delivers once per key."""

import json
import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from alerts import tasks
from alerts.models import Alert, Channel, Notification, WebhookEndpoint
from alerts.services import delivery
from alerts.services.delivery import notifications_retry_due, notifications_send
from tests.alerts.test_transports import (
    alert_for,
    notification_for,
    point_sms_at,
    running_receiver,
)

Status = Notification.Status


def _state(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification


@pytest.fixture
def receiver():
    with running_receiver() as peer:
        yield peer


@pytest.fixture
def sms_provider(receiver, settings):
    return point_sms_at(receiver, settings)


@pytest.fixture
def alert(scene):
    return alert_for(scene)


# Sending ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_step_goes_out_in_app_first_and_stamps_the_alert_once(scene, alert, sms_provider):
    fred = scene["fred"]
    email = notification_for(alert, Channel.EMAIL, fred.email, user=fred)
    sms = notification_for(alert, Channel.SMS, "13722220001", recipient="值班员王")
    in_app = notification_for(alert, Channel.IN_APP, f"user:{fred.pk}", user=fred)
    order = []
    real = delivery.transport_for

    def spy(channel):
        order.append(channel)
        return real(channel)

    with mock.patch.object(delivery, "transport_for", side_effect=spy):
        assert notifications_send(notification_ids=[email.pk, sms.pk, in_app.pk]) == 3

    assert order[0] == Channel.IN_APP
    for row in (email, sms, in_app):
        row = _state(row)
        assert (row.status, row.attempts, row.last_error) == (Status.SENT, 1, "")
        assert row.sent_at is not None
        assert list(row.delivery_attempts.values_list("ok", flat=True)) == [True]
    alert.refresh_from_db()
    first = alert.first_notified_at
    assert first == _state(in_app).sent_at  # the console had it first
    assert sms_provider.keys_sent() == {sms.idempotency_key: 1}

    later = notification_for(alert, Channel.SMS, "13811110002", step=1)
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        notifications_send(notification_ids=[later.pk])
    alert.refresh_from_db()
    assert alert.first_notified_at == first  # set once
    # Sending an id again (a redelivered task) sends nothing twice.
    assert notifications_send(notification_ids=[email.pk, sms.pk, in_app.pk, later.pk]) == 0
    assert sms_provider.keys_sent()[sms.idempotency_key] == 1


@pytest.mark.django_db
def test_one_recipients_failure_does_not_stop_the_others(scene, alert, sms_provider):
    broken = notification_for(alert, Channel.SMS, "13800000000", recipient="坏号码")
    fine = notification_for(alert, Channel.SMS, "13722220001")
    sms_provider.statuses = [400]  # the first SMS out is refused

    with mock.patch.object(
        delivery.transport_for(Channel.EMAIL), "notify", side_effect=RuntimeError("bug")
    ):
        buggy = notification_for(alert, Channel.EMAIL, "zhang@example.cn")
        sent = notifications_send(notification_ids=[broken.pk, fine.pk, buggy.pk])

    assert sent == 1
    assert _state(broken).status == Status.DEAD
    assert _state(fine).status == Status.SENT
    buggy = _state(buggy)
    assert buggy.status == Status.FAILED and "RuntimeError: bug" in buggy.last_error


@pytest.mark.django_db
def test_a_5xx_is_retried_after_its_backoff(scene, alert, sms_provider):
    sms = notification_for(alert, Channel.SMS, "13722220001")
    sms_provider.statuses = [500]
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        notifications_send(notification_ids=[sms.pk])
    sms = _state(sms)
    assert (sms.status, sms.attempts) == (Status.FAILED, 1)
    assert "500" in sms.last_error
    assert sms.next_attempt_at == start + timedelta(seconds=10)

    with time_machine.travel(start + timedelta(seconds=9)):
        assert notifications_retry_due() == 0  # not yet
    with time_machine.travel(start + timedelta(seconds=11)):
        assert notifications_retry_due() == 1

    sms = _state(sms)
    assert (sms.status, sms.attempts, sms.last_error) == (Status.SENT, 2, "")
    assert list(sms.delivery_attempts.values_list("ok", flat=True)) == [False, True]
    assert sms_provider.keys_sent() == {sms.idempotency_key: 2}  # the same key both times
    assert sms_provider.delivered == {sms.idempotency_key: 1}


@pytest.mark.django_db
def test_a_4xx_is_given_up_at_once(scene, alert, sms_provider):
    sms = notification_for(alert, Channel.SMS, "13722220001")
    sms_provider.statuses = [400]

    notifications_send(notification_ids=[sms.pk])

    sms = _state(sms)
    assert (sms.status, sms.attempts) == (Status.DEAD, 1)
    assert "400" in sms.last_error
    # The alert's timeline says who was never reached.
    note = alert.entries.get(action="note").note
    assert note.startswith(f"Gave up sending to {sms.recipient} by SMS") and "400" in note
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert notifications_retry_due() == 0
    assert len(sms_provider.requests) == 1
    alert.refresh_from_db()
    assert alert.first_notified_at is None


@pytest.mark.django_db
def test_a_failing_webhook_backs_off_then_dies_after_the_last_attempt(
    scene, alert, receiver, settings
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 6
    endpoint = WebhookEndpoint.objects.create(
        name="城运平台", region=scene["regions"]["city"], url=receiver.url + "/h", secret="s3"
    )
    hook = notification_for(alert, Channel.WEBHOOK, endpoint.url)
    receiver.statuses = [503] * 10
    now = timezone.now()
    waits = []

    for _attempt in range(6):
        with time_machine.travel(now, tick=False):
            assert notifications_retry_due() == 0
        hook = _state(hook)
        waits.append(hook.next_attempt_at - now)
        now = hook.next_attempt_at

    assert hook.status == Status.DEAD and hook.attempts == 6
    assert waits[:5] == [
        timedelta(seconds=10),
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
    ]
    assert "503" in hook.last_error
    assert hook.delivery_attempts.count() == 6
    # Every try was signed afresh and carried the same key.
    assert len(receiver.requests) == 6
    assert {request["headers"]["Idempotency-Key"] for request in receiver.requests} == {
        hook.idempotency_key
    }
    for request in receiver.requests:
        assert json.loads(request["body"])["alert"]["id"] == str(alert.public_id)
        assert request["headers"]["X-SafeUnit-Signature"].startswith("sha256=")


# A sender killed mid-send -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_sender_killed_mid_send_is_replaced_after_its_lease_once_per_key(
    scene, alert, sms_provider
):
    """The sender claimed the desk's SMS, handed it to the provider and died before writing
    down that it had; the other recipient's SMS was still pending. After the lease, the retry
    pass sends both; the provider delivers each key once."""
    desk = notification_for(alert, Channel.SMS, "13722220001", recipient="值班员王")
    contact = notification_for(alert, Channel.SMS, "13811110001")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        # The dead sender's claim: one attempt, the row leased for a minute.
        claimed = Notification.objects.filter(pk=desk.pk, status=Status.PENDING).update(
            attempts=1, next_attempt_at=start + delivery.LEASE
        )
        assert claimed == 1
        from alerts.sms import sms_send

        sms_send(to=desk.address, text="…", idempotency_key=desk.idempotency_key)

        # While the lease runs, nobody sends the claimed row again.
        assert notifications_send(notification_ids=[desk.pk]) == 0
    with time_machine.travel(start + timedelta(seconds=30)):
        assert notifications_retry_due() == 1  # only the other recipient
    assert _state(desk).status == Status.PENDING

    with time_machine.travel(start + delivery.LEASE + timedelta(seconds=1)):
        assert notifications_retry_due() == 1
        assert notifications_retry_due() == 0

    assert _state(desk).status == Status.SENT and _state(desk).attempts == 2
    assert _state(contact).status == Status.SENT
    assert sms_provider.keys_sent() == {desk.idempotency_key: 2, contact.idempotency_key: 1}
    assert sms_provider.delivered == {desk.idempotency_key: 1, contact.idempotency_key: 1}


@pytest.mark.celery
def test_after_a_restart_the_worker_delivers_what_a_killed_sender_held(
    celery_worker, scene, sms_provider
):
    """The same with the real worker on the real broker: a row left claimed by a sender that
    died (its lease over) is delivered by the beat's retry task, once."""
    alert = alert_for(scene)
    desk = notification_for(alert, Channel.SMS, "13722220001")
    Notification.objects.filter(pk=desk.pk).update(
        attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )

    tasks.notifications_retry.delay()
    deadline = time.monotonic() + 20
    while _state(desk).status != Status.SENT and time.monotonic() < deadline:
        time.sleep(0.1)

    assert desk.status == Status.SENT and desk.attempts == 2
    assert sms_provider.keys_sent() == {desk.idempotency_key: 1}
    assert Alert.objects.get(pk=alert.pk).first_notified_at is not None


# The ops view -------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    from tests.factories import UserFactory

    return UserFactory(email="sam@safeunit.cn", full_name="Sam", is_staff=True)


def _dead(alert, address, error="SMS provider answered 400: bad number"):
    return notification_for(
        alert, Channel.SMS, address, status=Status.DEAD, attempts=8, last_error=error
    )


@pytest.mark.django_db
def test_staff_see_dead_and_failed_notifications_newest_first(
    scene, alert, staff, client_for, django_assert_max_num_queries
):
    old = _dead(alert, "13800000001")
    old.created_at = timezone.now() - timedelta(hours=1)
    old.save(update_fields=["created_at"])
    failing = notification_for(
        alert, Channel.EMAIL, "x@example.cn", status=Status.FAILED, attempts=2, last_error="boom"
    )
    notification_for(alert, Channel.SMS, "13800000009", status=Status.SENT)
    client = client_for(staff)

    page = client.get(reverse("alerts:ops-notifications")).content.decode()

    assert page.index(f"notification-{failing.pk}") < page.index(f"notification-{old.pk}")
    assert "SMS provider answered 400: bad number" in page and "boom" in page
    assert "13800000009" not in page  # sent: nothing to see
    dead_only = client.get(reverse("alerts:ops-notifications"), {"status": "dead"})
    assert f"notification-{failing.pk}" not in dead_only.content.decode()

    for n in range(30):
        _dead(alert, f"1390000{n:04d}")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("alerts:ops-notifications"))
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_ops_view_is_only_for_staff(scene, alert, charlie, client_for, client):
    dead = _dead(alert, "13800000001")
    url = reverse("alerts:ops-notifications")
    retry = reverse("alerts:ops-notification-retry")

    for outsider in (scene["alice"], scene["fred"], charlie):
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(outsider).post(retry, {"notification": dead.pk}).status_code == 404
    assert client.get(url).status_code == 302  # to the login page
    assert _state(dead).status == Status.DEAD


@pytest.mark.django_db
def test_retry_now_sends_a_dead_notification_again(
    scene, alert, staff, client_for, sms_provider, django_capture_on_commit_callbacks
):
    dead = _dead(alert, "13722220001")
    client = client_for(staff)

    def run_now(ids):  # the worker, in-process
        return tasks.notifications_send.apply(args=[ids])

    with (
        mock.patch.object(tasks.notifications_send, "delay", side_effect=run_now) as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("alerts:ops-notification-retry"),
            {"notification": dead.pk, "next": "/ops/notifications/?status=dead"},
        )

    assert response.status_code == 302 and response["Location"] == "/ops/notifications/?status=dead"
    queued.assert_called_once_with([dead.pk])
    dead = _state(dead)
    assert (dead.status, dead.attempts) == (Status.SENT, 1)
    assert sms_provider.keys_sent() == {dead.idempotency_key: 1}
    page = client.get(reverse("alerts:ops-notifications")).content.decode()
    assert f"notification-{dead.pk}" not in page
    from accounts.models import AuditEntry

    assert AuditEntry.objects.filter(action="notification.retry", actor=staff).count() == 1


@pytest.mark.django_db
def test_retry_now_from_the_page_with_htmx_swaps_the_row(
    scene, alert, staff, client_for, django_capture_on_commit_callbacks
):
    dead = _dead(alert, "13722220001")
    client = client_for(staff)

    with (
        mock.patch.object(tasks.notifications_send, "delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("alerts:ops-notification-retry"),
            {"notification": dead.pk},
            HTTP_HX_REQUEST="true",
        )
        again = client.post(
            reverse("alerts:ops-notification-retry"),
            {"notification": dead.pk},
            HTTP_HX_REQUEST="true",
        )

    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="notification-{dead.pk}"')
    assert "sent again now" in html and "<html" not in html
    assert "no longer failed or dead" in again.content.decode()
    queued.assert_called_once_with([dead.pk])
    assert (_state(dead).status, dead.attempts) == (Status.PENDING, 0)
