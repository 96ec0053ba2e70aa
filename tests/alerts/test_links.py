"""The signed link in an alert's e-mail or SMS (issue 6 §6): it acts once, without a login;
a forged, expired or used link is refused and says which."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from alerts import links
from alerts.models import Alert, AlertEntry, Channel, Notification
from tests.alerts.test_transports import alert_for, notification_for


@pytest.fixture
def alert(scene):
    return alert_for(scene)


@pytest.fixture
def fred_email(scene, alert):
    fred = scene["fred"]
    return notification_for(alert, Channel.EMAIL, fred.email, user=fred)


def _path(notification: Notification) -> str:
    return urlsplit(links.link_for(notification)).path


@pytest.mark.django_db
def test_a_link_shows_the_alert_and_acknowledges_it_once(client, scene, alert, fred_email):
    path = _path(fred_email)
    assert path.startswith("/a/") and len(path) < 80

    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert alert.get_kind_display() in html and "SA-0001" in html
    assert "主楼" in html and "收银台上方" in html
    assert 'id="link-acknowledge"' in html and 'id="link-resolve"' in html
    assert page["Cache-Control"].startswith("max-age=0")

    done = client.post(path, {"action": "acknowledge"})

    assert done.status_code == 200
    assert 'id="link-done"' in done.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == scene["fred"]
    entry = alert.entries.get(action=AlertEntry.Action.ACKNOWLEDGED)
    assert (entry.via, entry.by) == (AlertEntry.Via.LINK, scene["fred"])
    assert Notification.objects.get(pk=fred_email.pk).link_used_at is not None

    again = client.post(path, {"action": "dispatch"})
    assert again.status_code == 410
    assert 'data-reason="used"' in again.content.decode()
    assert "already used" in again.content.decode()
    assert client.get(path).status_code == 410
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED  # the second press did nothing


@pytest.mark.django_db
def test_a_link_sent_to_a_contact_without_an_account_resolves_in_their_name(client, alert):
    sms = notification_for(alert, Channel.SMS, "13811110001", recipient="张阿姨")

    response = client.post(
        _path(sms), {"action": "resolve", "outcome": "false_alarm", "note": "炒菜的油烟"}
    )

    assert response.status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == (Alert.Status.RESOLVED, Alert.Outcome.FALSE_ALARM)
    entry = alert.entries.get(action=AlertEntry.Action.RESOLVED)
    assert entry.by is None and entry.via == AlertEntry.Via.LINK
    assert "张阿姨" in entry.note and "炒菜的油烟" in entry.note


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token: "2" + token,  # another notification's id, same signature
        lambda token: signing.TimestampSigner(salt="another.salt").sign("1"),  # other salt
        lambda token: "not-a-token",
    ],
    ids=["signature", "id", "salt", "garbage"],
)
def test_a_forged_link_is_refused(client, alert, fred_email, tamper):
    token = links.link_token(fred_email)

    response = client.get(f"/a/{tamper(token)}/")
    posted = client.post(f"/a/{tamper(token)}/", {"action": "acknowledge"})

    assert response.status_code == 400 and posted.status_code == 400
    assert 'data-reason="invalid"' in response.content.decode()
    assert "not valid" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


@pytest.mark.django_db
def test_an_expired_link_is_refused(client, settings, alert, fred_email):
    path = _path(fred_email)

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.ALERT_LINK_MAX_AGE_S + 5)):
        page = client.get(path)
        posted = client.post(path, {"action": "acknowledge"})

    assert page.status_code == 410 and posted.status_code == 410
    assert 'data-reason="expired"' in page.content.decode()
    assert "expired" in page.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert Notification.objects.get(pk=fred_email.pk).link_used_at is None


@pytest.mark.django_db
def test_resolving_without_an_outcome_names_the_field_and_keeps_the_link(client, alert, fred_email):
    path = _path(fred_email)

    response = client.post(path, {"action": "resolve", "outcome": ""})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_outcome_errors"' in html
    assert "Outcome: Choose an outcome to resolve the alert." in html
    assert Notification.objects.get(pk=fred_email.pk).link_used_at is None
    assert client.post(path, {"action": "resolve", "outcome": "test"}).status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == (Alert.Status.RESOLVED, Alert.Outcome.TEST)


@pytest.mark.django_db
def test_an_action_that_already_happened_does_not_use_up_the_link(client, scene, alert, fred_email):
    from alerts.services import lifecycle

    lifecycle.alert_acknowledge(alert=alert, by=scene["alice"])
    path = _path(fred_email)

    page = client.get(path).content.decode()
    assert 'id="link-acknowledge"' not in page and 'id="link-dispatch"' in page
    refused = client.post(path, {"action": "acknowledge"})  # a stale page

    assert refused.status_code == 400
    assert "already acknowledged" in refused.content.decode()
    assert Notification.objects.get(pk=fred_email.pk).link_used_at is None
    assert client.post(path, {"action": "dispatch"}).status_code == 200
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DISPATCHED


@pytest.mark.django_db
def test_the_link_form_needs_its_csrf_token(alert, fred_email):
    browser = Client(enforce_csrf_checks=True)
    path = _path(fred_email)

    assert browser.post(path, {"action": "acknowledge"}).status_code == 403

    page = browser.get(path)
    token = page.cookies["csrftoken"].value
    response = browser.post(path, {"action": "acknowledge", "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED


@pytest.mark.django_db
def test_a_resolved_alert_offers_nothing_more(client, scene, alert, fred_email):
    from alerts.services import lifecycle

    lifecycle.alert_resolve(alert=alert, by=scene["alice"], outcome=Alert.Outcome.TEST)

    page = client.get(_path(fred_email)).content.decode()

    assert 'id="link-closed"' in page and 'id="link-form"' not in page


@pytest.mark.django_db
def test_link_act_uses_a_link_once_even_when_pressed_twice(alert, fred_email):
    token = links.link_token(fred_email)

    links.link_act(token=token, action="acknowledge")
    with pytest.raises(links.LinkUsed):
        links.link_act(token=token, action="dispatch")
