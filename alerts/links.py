"""Signed, single-use, expiring links to act on an alert from an e-mail or a text message.

A link speaks for the recipient of one notification (who may have no account): whoever holds
it may acknowledge, dispatch or resolve that alert once, without logging in, until it
expires (`settings.ALERT_LINK_MAX_AGE_S`). The token is the notification's id signed with
django.core.signing under a salt of its own (so no other signed value of the platform works
here) and a timestamp; using it stamps `Notification.link_used_at` with a conditional UPDATE,
so two presses of the same link act once.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alerts.models import Alert, AlertEntry, Notification

SALT = "safeunit.alerts.action-link"
ACTIONS = ("acknowledge", "dispatch", "resolve")


class LinkError(Exception):
    """Why a link cannot be used; `status` is the HTTP answer and `reason` a short code."""

    status = 400
    reason = "invalid"
    message = _("This link is not valid. It may have been copied incompletely or altered.")


class LinkForged(LinkError):
    pass


class LinkExpired(LinkError):
    status = 410
    reason = "expired"
    message = _("This link has expired. Open the alert in SafeUnit to act on it.")


class LinkUsed(LinkError):
    status = 410
    reason = "used"
    message = _("This link was already used; each link works once. Open the alert in SafeUnit.")


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def link_token(notification: Notification) -> str:
    return _signer().sign(signing.b62_encode(notification.pk))


def link_for(notification: Notification) -> str:
    """The absolute URL to put in a message: short enough for an SMS (/a/<token>/)."""
    return settings.SITE_URL + reverse("alerts:link", args=[link_token(notification)])


def link_open(token: str) -> Notification:
    """The notification a link was sent in, with its alert; raises LinkForged, LinkExpired or
    LinkUsed. Opening does not use the link up; acting does (`link_act`)."""
    try:
        value = _signer().unsign(token, max_age=settings.ALERT_LINK_MAX_AGE_S)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkForged from None
    try:
        pk = signing.b62_decode(value)
    except (ValueError, IndexError):
        raise LinkForged from None
    notification = (
        Notification.objects.select_related(
            "user", "alert__unit", "alert__region", "alert__device__placement"
        )
        .filter(pk=pk)
        .first()
    )
    if notification is None:
        raise LinkForged
    if notification.link_used_at is not None:
        raise LinkUsed
    return notification


@transaction.atomic
def link_act(*, token: str, action: str, outcome: str = "", note: str = "") -> Alert:
    """Use a link: acknowledge, dispatch or resolve its alert as the notification's recipient
    (via=link, by=the recipient's account if any). The link is used up only when the action
    succeeds: an alert that is already acknowledged leaves it usable for dispatch or resolve."""
    from alerts.services import lifecycle

    if action not in ACTIONS:
        raise ValidationError({"action": _("Choose what to do.")})
    notification = link_open(token)
    used = Notification.objects.filter(pk=notification.pk, link_used_at__isnull=True).update(
        link_used_at=timezone.now()
    )
    if used != 1:
        raise LinkUsed
    common = {
        "alert": notification.alert,
        "by": notification.user,
        "via": AlertEntry.Via.LINK,
        "note": _link_note(notification, note),
    }
    if action == "acknowledge":
        return lifecycle.alert_acknowledge(**common)
    if action == "dispatch":
        return lifecycle.alert_dispatch(**common)
    return lifecycle.alert_resolve(outcome=outcome, **common)


def _link_note(notification: Notification, note: str) -> str:
    """Who held the link, for the timeline, when it was not someone with an account."""
    note = note.strip()
    if notification.user_id is not None:
        return note
    holder = f"{notification.recipient} ({notification.get_channel_display()})"
    return f"{holder}: {note}" if note else holder
