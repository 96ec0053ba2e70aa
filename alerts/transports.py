"""How a notification leaves: one small transport per channel (healthchecks' transports).

Each transport's `notify(notification)` returns when the message is handed over and raises
`TransportError(message, permanent=...)` when it is not: permanent when trying again cannot
help (an address refused, an endpoint gone), temporary otherwise. Delivery
(alerts.services.delivery) decides about retries and logs every try; transports only send.
The notification arrives with its alert, unit, region, device and placement loaded.
"""

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.mail import language_of
from alerts import links
from alerts.models import Alert, Channel, Notification, WebhookEndpoint
from alerts.sms import SmsError, sms_send
from devices.models import Placement

logger = logging.getLogger(__name__)

SMS_MAX_CHARS = 140
TEMPORARY_CLIENT_ERRORS = frozenset({408, 425, 429})


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# What every message says ------------------------------------------------------------------


def _placement(alert: Alert) -> Placement | None:
    try:
        return alert.device.placement
    except Placement.DoesNotExist:
        return None


def placement_text(alert: Alert) -> str:
    """Where the device is, in the active language: "Main building, floor 1, Shop floor
    (above the till)"; empty when it was never placed."""
    placement = _placement(alert)
    if placement is None:
        return ""
    text = _("%(building)s, floor %(floor)s, %(space)s") % {
        "building": placement.building,
        "floor": placement.floor,
        "space": placement.get_space_type_display(),
    }
    return f"{text} ({placement.description})" if placement.description else text


def alert_page_url(alert: Alert) -> str:
    """The alert's page, for a person with an account."""
    return settings.SITE_URL + reverse("alerts:detail", args=[alert.public_id])


def language_for(notification: Notification) -> str:
    """The language saved on the recipient's account; Chinese, the platform's language, for
    recipients without one (unit contacts, responder desks, phone numbers on a roster)."""
    return language_of(notification.user)


def message_context(notification: Notification) -> dict:
    """What the e-mail and SMS say, in the active language."""
    alert = notification.alert
    return {
        "notification": notification,
        "alert": alert,
        "kind": alert.get_kind_display(),
        "severity": alert.get_severity_display(),
        "status": alert.get_status_display(),
        "unit": alert.unit.name,
        "placement": placement_text(alert),
        "device_serial": alert.device.serial,
        "raised_at": timezone.localtime(alert.raised_at),
        "alert_url": alert_page_url(alert),
        "action_url": links.link_for(notification),
        "link_valid_hours": max(1, settings.ALERT_LINK_MAX_AGE_S // 3600),
        "escalated": notification.step > 0,
        "site_name": settings.SITE_NAME,
    }


# Transports ---------------------------------------------------------------------------------


class Transport:
    channel: str

    def notify(self, notification: Notification) -> None:
        raise NotImplementedError


class InAppTransport(Transport):
    """Nothing to send: the console and the inbox read the notification rows."""

    channel = Channel.IN_APP

    def notify(self, notification: Notification) -> None:
        return None


class EmailTransport(Transport):
    channel = Channel.EMAIL

    def notify(self, notification: Notification) -> None:
        with translation.override(language_for(notification)):
            context = message_context(notification)
            subject = _("[%(severity)s] %(kind)s · %(unit)s") % context
            if context["placement"]:
                subject = f"{subject} · {context['placement']}"
            text = render_to_string("alerts/messages/alert_email.txt", context)
            html = render_to_string("alerts/messages/alert_email.html", context)
        key_hash = hashlib.sha256(notification.idempotency_key.encode()).hexdigest()[:40]
        domain = urllib.parse.urlsplit(settings.SITE_URL).hostname or "safeunit.local"
        message = EmailMultiAlternatives(
            subject=subject.replace("\n", " ")[:250],
            body=text,
            to=[notification.address],
            headers={
                # The same notification always has the same Message-ID: a retried e-mail
                # that did arrive the first time is recognisable as a duplicate.
                "Message-ID": f"<{key_hash}@{domain}>",
                "X-SafeUnit-Idempotency-Key": notification.idempotency_key,
            },
        )
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"E-mail address refused: {exc}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise TransportError(
                f"Mail server answered {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"Mail server unreachable: {exc}") from None


def sms_text(notification: Notification) -> str:
    """≤ 140 characters: what, how urgent, where, and the link to act; the unit and the
    placement are shortened to fit, never the link."""
    with translation.override(language_for(notification)):
        context = message_context(notification)
        head = _("[SafeUnit] %(severity)s %(kind)s:") % context
        tail = _("Act: %(link)s") % {"link": context["action_url"]}
        where = " ".join(part for part in (context["unit"], context["placement"]) if part)
    room = SMS_MAX_CHARS - len(head) - len(tail) - 2
    if len(where) > room:
        where = where[: max(room - 1, 0)] + "…" if room > 1 else ""
    return " ".join(part for part in (head, where, tail) if part)


class SmsTransport(Transport):
    channel = Channel.SMS

    def notify(self, notification: Notification) -> None:
        try:
            sms_send(
                to=notification.address,
                text=sms_text(notification),
                idempotency_key=notification.idempotency_key,
            )
        except SmsError as exc:
            raise TransportError(exc.message, permanent=exc.permanent) from None


def webhook_payload(notification: Notification) -> dict:
    """What the city operations platform receives: the alert as it stands now."""
    alert = notification.alert
    placement = _placement(alert)

    def stamp(moment):
        return moment.isoformat() if moment else None

    return {
        "type": "alert.escalated" if notification.step > 0 else "alert.raised",
        "notification": {
            "idempotency_key": notification.idempotency_key,
            "step": notification.step,
        },
        "alert": {
            "id": str(alert.public_id),
            "kind": alert.kind,
            "severity": alert.severity,
            "life_safety": alert.life_safety,
            "status": alert.status,
            "summary": alert.summary,
            "event_count": alert.event_count,
            "url": alert_page_url(alert),
            "raised_at": stamp(alert.raised_at),
            "first_notified_at": stamp(alert.first_notified_at),
            "acknowledged_at": stamp(alert.acknowledged_at),
            "dispatched_at": stamp(alert.dispatched_at),
            "resolved_at": stamp(alert.resolved_at),
            "outcome": alert.outcome or None,
        },
        "unit": {"id": str(alert.unit.public_id), "name": alert.unit.name, "kind": alert.unit.kind},
        "region": {"code": alert.region.code, "name": alert.region.name},
        "device": {"serial": alert.device.serial},
        "placement": None
        if placement is None
        else {
            "building": placement.building,
            "floor": placement.floor,
            "space": placement.space_type,
            "description": placement.description,
            "latitude": str(placement.latitude) if placement.latitude is not None else None,
            "longitude": str(placement.longitude) if placement.longitude is not None else None,
        },
    }


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: what a receiver recomputes."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A signed alert goes to the registered URL or nowhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class WebhookTransport(Transport):
    """A POST signed with the endpoint's secret; the receiver checks the signature and the
    timestamp (to refuse replays) and de-duplicates on the Idempotency-Key."""

    channel = Channel.WEBHOOK

    def notify(self, notification: Notification) -> None:
        endpoint = (
            WebhookEndpoint.objects.filter(
                url=notification.address,
                region__code__in=notification.alert.region.ancestor_codes,
            )
            .order_by("-active", "pk")
            .first()
        )
        if endpoint is None or not endpoint.active:
            raise TransportError("The webhook endpoint was removed or switched off", permanent=True)
        body = json.dumps(
            webhook_payload(notification), ensure_ascii=False, separators=(",", ":")
        ).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            endpoint.url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "SafeUnit-Alerts/1",
                "Idempotency-Key": notification.idempotency_key,
                "X-SafeUnit-Timestamp": timestamp,
                "X-SafeUnit-Signature": webhook_signature(endpoint.secret, timestamp, body),
            },
        )
        try:
            with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_S) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            exc.close()
            permanent = 300 <= exc.code < 500 and exc.code not in TEMPORARY_CLIENT_ERRORS
            raise TransportError(f"Webhook answered {exc.code}", permanent=permanent) from None
        except TimeoutError:
            raise TransportError("Webhook timed out") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(f"Webhook unreachable: {reason}") from None


TRANSPORTS: dict[str, Transport] = {
    transport.channel: transport
    for transport in (InAppTransport(), EmailTransport(), SmsTransport(), WebhookTransport())
}


def transport_for(channel: str) -> Transport:
    try:
        return TRANSPORTS[channel]
    except KeyError:
        raise TransportError(f"No transport for channel {channel!r}", permanent=True) from None
