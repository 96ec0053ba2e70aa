"""The transports (issue 6 §4): the SMS provider adapter against a real local HTTP server, the
signed webhook as a receiver verifies it, and the e-mail a recipient reads.

The helpers here (`Receiver`, `alert_for`, `notification_for`) serve the delivery and link
tests too.
"""

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.utils import timezone, translation
from django.utils.html import escape

from alerts.models import Alert, Channel, Kind, Notification, Severity, WebhookEndpoint
from alerts.transports import (
    EmailTransport,
    InAppTransport,
    SmsTransport,
    TransportError,
    WebhookTransport,
    sms_text,
)

# A local peer: an SMS provider or a city platform ---------------------------------------------


class Receiver:
    """What a local HTTP peer saw. It answers the queued statuses in turn (then 200) and,
    like a provider that honours idempotency keys, delivers each key once however often it
    is sent."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay_s = 0.0
        self.delivered: Counter = Counter()
        self.lock = threading.Lock()
        self.url = ""

    def keys_sent(self) -> Counter:
        return Counter(request["headers"].get("Idempotency-Key") for request in self.requests)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if receiver.delay_s:
            time.sleep(receiver.delay_s)
        with receiver.lock:
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            key = self.headers.get("Idempotency-Key")
            receiver.requests.append(
                # Header names are case-insensitive (HTTP/1.1), as in this mapping.
                {"path": self.path, "headers": self.headers, "body": body, "status": status}
            )
            if 200 <= status < 300 and key not in receiver.delivered:
                receiver.delivered[key] += 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "refused"}')

    def log_message(self, *args):
        pass


@contextmanager
def running_receiver():
    """A local HTTP peer on a free loopback port, for as long as the block runs."""
    peer = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.receiver = peer
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()


def point_sms_at(peer: Receiver, settings) -> Receiver:
    """The SMS adapter pointed at the local peer."""
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = peer.url + "/sms/send"
    settings.SMS_HTTP_TOKEN = "sms-token-1"
    settings.SMS_HTTP_TIMEOUT_S = 1
    return peer


@pytest.fixture
def receiver():
    with running_receiver() as peer:
        yield peer


@pytest.fixture
def sms_provider(receiver, settings):
    return point_sms_at(receiver, settings)


# Rows ---------------------------------------------------------------------------------------


def alert_for(scene, *, kind=Kind.FIRE, severity=Severity.CRITICAL, **fields) -> Alert:
    now = timezone.now()
    shop = scene["shop"]
    return Alert.objects.create(
        device=scene["device"],
        unit=shop,
        region=shop.region,
        kind=kind,
        severity=severity,
        life_safety=kind == Kind.FIRE,
        first_event_at=now,
        last_event_at=now,
        raised_at=now,
        **fields,
    )


def notification_for(alert: Alert, channel: str, address: str, *, user=None, step=0, **fields):
    return Notification.objects.create(
        alert=alert,
        step=step,
        channel=channel,
        user=user,
        recipient=fields.pop("recipient", user.full_name if user else "张阿姨"),
        address=address,
        idempotency_key=f"{alert.public_id}:{step}:{channel}:{address}",
        **fields,
    )


def loaded(notification: Notification) -> Notification:
    """The row as delivery hands it to a transport."""
    return Notification.objects.select_related(
        "user", "alert__unit", "alert__region", "alert__device__placement"
    ).get(pk=notification.pk)


# SMS ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sms_adapter_posts_json_with_the_idempotency_key(scene, sms_provider):
    alert = alert_for(scene)
    sms = notification_for(alert, Channel.SMS, "13722220001", recipient="值班员王")

    SmsTransport().notify(loaded(sms))

    (request,) = sms_provider.requests
    assert request["path"] == "/sms/send"
    assert request["headers"]["Idempotency-Key"] == sms.idempotency_key
    assert request["headers"]["Authorization"] == "Bearer sms-token-1"
    assert request["headers"]["Content-Type"].startswith("application/json")
    body = json.loads(request["body"])
    assert body["to"] == "13722220001"
    assert body["idempotency_key"] == sms.idempotency_key
    text = body["text"]
    assert len(text) <= 140
    assert "/a/" in text and scene["shop"].name in text


@pytest.mark.django_db
def test_an_sms_keeps_its_link_whole_when_the_place_is_long(scene):
    alert = alert_for(scene)
    scene["shop"].name = "田子坊" * 40
    scene["shop"].save(update_fields=["name"])
    sms = notification_for(alert, Channel.SMS, "13722220001")

    text = sms_text(loaded(sms))

    assert len(text) <= 140
    assert text.split()[-1].startswith("http://") and text.split()[-1].endswith("/")
    assert "…" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (400, True), (401, True)]
)
def test_the_provider_answer_says_whether_a_retry_can_help(scene, sms_provider, status, permanent):
    alert = alert_for(scene)
    sms = notification_for(alert, Channel.SMS, "13722220001")
    sms_provider.statuses = [status]

    with pytest.raises(TransportError) as refused:
        SmsTransport().notify(loaded(sms))

    assert refused.value.permanent is permanent
    assert str(status) in refused.value.message


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_in_time_is_a_temporary_failure(scene, sms_provider):
    alert = alert_for(scene)
    sms = notification_for(alert, Channel.SMS, "13722220001")
    sms_provider.delay_s = 1.5  # the adapter waits 1 s (SMS_HTTP_TIMEOUT_S)

    with pytest.raises(TransportError) as refused:
        SmsTransport().notify(loaded(sms))

    assert refused.value.permanent is False
    assert "timed out" in refused.value.message


@pytest.mark.django_db
def test_an_unreachable_provider_is_a_temporary_failure(scene, settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/sms"  # discard port: nothing listens
    alert = alert_for(scene)
    sms = notification_for(alert, Channel.SMS, "13722220001")

    with pytest.raises(TransportError) as refused:
        SmsTransport().notify(loaded(sms))

    assert refused.value.permanent is False


@pytest.mark.django_db
def test_the_console_backend_sends_nothing_over_the_wire(scene, settings, receiver):
    settings.SMS_BACKEND = "console"
    settings.SMS_HTTP_URL = receiver.url
    alert = alert_for(scene)

    SmsTransport().notify(loaded(notification_for(alert, Channel.SMS, "13722220001")))

    assert receiver.requests == []


# Webhook ------------------------------------------------------------------------------------


@pytest.fixture
def city_platform(scene, receiver):
    return WebhookEndpoint.objects.create(
        name="黄浦城运平台",
        region=scene["regions"]["district"],
        url=receiver.url + "/hooks/safeunit",
        secret="whsec-city-1",
    )


def _verify(request: dict, secret: str, *, tolerance_s: int = 300) -> dict:
    """What the receiving platform does: check the timestamp and recompute the HMAC."""
    timestamp = request["headers"]["X-SafeUnit-Timestamp"]
    assert abs(time.time() - int(timestamp)) < tolerance_s
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-SafeUnit-Signature"], f"sha256={expected}")
    return json.loads(request["body"])


@pytest.mark.django_db
def test_the_webhook_is_signed_so_that_the_receiver_can_verify_it(scene, receiver, city_platform):
    alert = alert_for(scene, summary="烟雾浓度 0.9")
    hook = notification_for(alert, Channel.WEBHOOK, city_platform.url, recipient=city_platform.name)

    WebhookTransport().notify(loaded(hook))

    (request,) = receiver.requests
    assert request["path"] == "/hooks/safeunit"
    assert request["headers"]["Idempotency-Key"] == hook.idempotency_key
    payload = _verify(request, "whsec-city-1")
    assert payload["alert"]["id"] == str(alert.public_id)
    assert (payload["alert"]["kind"], payload["alert"]["severity"]) == ("fire", "critical")
    assert payload["alert"]["status"] == "open"
    assert payload["alert"]["raised_at"] == alert.raised_at.isoformat()
    assert payload["alert"]["acknowledged_at"] is None
    assert payload["unit"]["name"] == scene["shop"].name
    assert payload["region"]["code"] == scene["shop"].region.code
    assert payload["device"]["serial"] == "SA-0001"
    assert payload["placement"]["building"] == "主楼" and payload["placement"]["floor"] == 1
    # A forged body (or another secret) does not verify.
    tampered = dict(request, body=request["body"].replace(b'"open"', b'"resolved"'))
    with pytest.raises(AssertionError):
        _verify(tampered, "whsec-city-1")
    with pytest.raises(AssertionError):
        _verify(request, "another-secret")


@pytest.mark.django_db
def test_a_webhook_answering_5xx_is_temporary_and_a_redirect_permanent(
    scene, receiver, city_platform
):
    alert = alert_for(scene)
    hook = notification_for(alert, Channel.WEBHOOK, city_platform.url)
    receiver.statuses = [502, 301]

    with pytest.raises(TransportError) as first:
        WebhookTransport().notify(loaded(hook))
    with pytest.raises(TransportError) as second:
        WebhookTransport().notify(loaded(hook))

    assert first.value.permanent is False
    assert second.value.permanent is True  # never re-sent somewhere else


@pytest.mark.django_db
def test_a_switched_off_endpoint_is_not_called(scene, receiver, city_platform):
    alert = alert_for(scene)
    hook = notification_for(alert, Channel.WEBHOOK, city_platform.url)
    WebhookEndpoint.objects.filter(pk=city_platform.pk).update(active=False)

    with pytest.raises(TransportError) as refused:
        WebhookTransport().notify(loaded(hook))

    assert refused.value.permanent is True
    assert receiver.requests == []


# E-mail and in-app --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_email_names_the_alert_and_carries_a_working_link(scene, mailoutbox, client):
    alert = alert_for(scene, summary="烟雾浓度 0.9")
    fred = scene["fred"]
    email = notification_for(alert, Channel.EMAIL, fred.email, user=fred)

    EmailTransport().notify(loaded(email))

    (message,) = mailoutbox
    assert message.to == [fred.email]
    with translation.override("zh-hans"):  # nobody told us fred's language: Chinese
        kind, severity = alert.get_kind_display(), alert.get_severity_display()
    assert kind in message.subject and severity in message.subject
    assert scene["shop"].name in message.subject and "主楼" in message.subject
    assert message.extra_headers["X-SafeUnit-Idempotency-Key"] == email.idempotency_key
    assert f"/alerts/{alert.public_id}/" in message.body
    assert "收银台上方" in message.body and "SA-0001" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f"/alerts/{alert.public_id}/" in html
    link = next(word for word in message.body.split() if "/a/" in word)
    assert link in html
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert escape(scene["shop"].name) in page.content.decode()


@pytest.mark.django_db
def test_each_person_reads_the_alert_in_their_own_language(scene, mailoutbox):
    """alice reads English; bob, her colleague, never chose (Chinese); a unit contact has no
    account (Chinese, the platform's language)."""
    alice, bob = scene["alice"], scene["bob"]
    alice.language = "en"
    alice.save(update_fields=["language"])
    alert = alert_for(scene)
    to_alice = notification_for(alert, Channel.EMAIL, alice.email, user=alice)
    to_bob = notification_for(alert, Channel.EMAIL, bob.email, user=bob)
    to_contact = notification_for(alert, Channel.EMAIL, "zhang@example.cn")

    for notification in (to_alice, to_bob, to_contact):
        EmailTransport().notify(loaded(notification))

    english, chinese, contact = mailoutbox
    with translation.override("en"):
        kind_en, severity_en = alert.get_kind_display(), alert.get_severity_display()
    with translation.override("zh-hans"):
        kind_zh, severity_zh = alert.get_kind_display(), alert.get_severity_display()
    assert f"[{severity_en}] {kind_en}" in english.subject
    assert "Acknowledge, dispatch or resolve it without logging in:" in english.body
    for message in (chinese, contact):
        assert f"【{severity_zh}】{kind_zh}" in message.subject
        assert "无需登录" in message.body and "without logging in" not in message.body
    assert sms_text(loaded(to_alice)).startswith(f"[SafeUnit] {severity_en} {kind_en}:")
    assert not sms_text(loaded(to_bob)).startswith("[SafeUnit] ")


@pytest.mark.django_db
def test_a_retried_email_keeps_its_message_id(scene, mailoutbox):
    alert = alert_for(scene)
    email = notification_for(alert, Channel.EMAIL, "zhang@example.cn")

    EmailTransport().notify(loaded(email))
    EmailTransport().notify(loaded(email))

    first, second = mailoutbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]


@pytest.mark.django_db
def test_in_app_has_nothing_to_send(scene, mailoutbox, receiver):
    alert = alert_for(scene)
    row = notification_for(alert, Channel.IN_APP, f"user:{scene['fred'].pk}", user=scene["fred"])

    InAppTransport().notify(loaded(row))

    assert mailoutbox == [] and receiver.requests == []


def test_backoff_grows_then_stays_at_half_an_hour():
    from alerts.services.delivery import backoff_after

    assert [backoff_after(n) for n in range(1, 8)] == [
        timedelta(seconds=10),
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(minutes=30),
        timedelta(minutes=30),
    ]
