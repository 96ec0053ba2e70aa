"""Sending notifications: the outbox's consumer (DESIGN §3.4, §4, §6).

A Notification row is written in the transaction that raises or escalates its alert; after
commit `notifications_send` gets its id. Sending is at least once:

- each row is *claimed* before its transport runs, with a conditional UPDATE (status pending
  or failed, due now → one more attempt, and `next_attempt_at` pushed a lease ahead), so a
  concurrent sender skips it, and a sender killed mid-send leaves a row that becomes due again
  when the lease runs out;
- `notifications_retry_due` (beat, every few seconds) sends every row that is due: failed
  ones after their backoff, and those whose sender died;
- each message carries the row's idempotency key, so a provider that honours keys delivers
  a re-sent message once.

A try that fails is retried after 10 s, 30 s, 2 min, 10 min, then every 30 min, until
`settings.NOTIFICATION_MAX_ATTEMPTS`; then, or at once on a permanent error, the row is dead
and shown in the ops view (`/ops/notifications/`), where staff may send it again.

These functions are not one transaction: every claim and every outcome commits on its own,
and no transaction stays open while a message is on the wire.
"""

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from alerts.models import Alert, AlertEntry, Channel, DeliveryAttempt, Notification
from alerts.transports import TransportError, transport_for

logger = logging.getLogger(__name__)

Status = Notification.Status
SENDABLE = (Status.PENDING, Status.FAILED)
# A claimed row is left alone this long; longer than any transport may take (timeouts 5-10 s).
LEASE = timedelta(seconds=60)
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
# In-app first (the console shows it at once), then the channels people notice soonest.
CHANNEL_ORDER = {Channel.IN_APP: 0, Channel.SMS: 1, Channel.WEBHOOK: 2, Channel.EMAIL: 3}
# A pass stops claiming after this long, well inside the tasks' soft time limit (60 s); what
# it did not reach stays due and goes out with the next retry pass.
SEND_BUDGET_S = 40.0
ERROR_LENGTH = 500


def backoff_after(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def notifications_send(*, notification_ids: Iterable[int]) -> int:
    """Send each notification that is still due, in-app rows first; returns how many went
    out. One recipient's failure never stops the others."""
    deadline = time.monotonic() + SEND_BUDGET_S
    rows = list(
        Notification.objects.filter(pk__in=list(notification_ids), status__in=SENDABLE).values_list(
            "pk", "channel", "alert_id"
        )
    )
    rows.sort(key=lambda row: (CHANNEL_ORDER.get(row[1], len(CHANNEL_ORDER)), row[2], row[0]))
    sent = 0
    for pk, _channel, _alert_id in rows:
        if time.monotonic() > deadline:
            break  # the rest stays due: the next retry pass sends it
        sent += _send_one(pk)
    return sent


def notifications_dispatch(notification_ids: list[int]) -> None:
    """Right after the transaction that wrote them: the in-app rows are delivered here and
    now (no network: the console reads them), the others are queued for a worker, so that a
    slow mail server never delays the next alarm's processing."""
    from alerts.tasks import notifications_send as send_task

    in_app = set(
        Notification.objects.filter(pk__in=notification_ids, channel=Channel.IN_APP).values_list(
            "pk", flat=True
        )
    )
    if in_app:
        notifications_send(notification_ids=in_app)
    others = [pk for pk in notification_ids if pk not in in_app]
    if others:
        send_task.delay(others)


def notifications_retry_due(*, limit: int = 500) -> int:
    """Send the rows that are due (the partial index `notification_due_idx`): failed ones whose
    backoff has passed, and rows whose sender died holding them. Returns how many went out."""
    due = list(
        Notification.objects.filter(status__in=SENDABLE, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    return notifications_send(notification_ids=due)


def _claim(pk: int) -> Notification | None:
    """Take the row for one try and load it with what its message needs; None when it is
    not ours to send (sent, dead, not due, or held by another sender whose lease runs)."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=pk, status__in=SENDABLE, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if claimed != 1:
        return None
    return Notification.objects.select_related(
        "user", "alert__unit", "alert__region", "alert__device__placement"
    ).get(pk=pk)


def _send_one(pk: int) -> int:
    notification = _claim(pk)
    if notification is None:
        return 0
    attempt = notification.attempts  # ours: nobody else claims it while the lease runs
    started = time.monotonic()
    error: TransportError | None = None
    try:
        transport_for(notification.channel).notify(notification)
    except TransportError as exc:
        error = exc
    except SoftTimeLimitExceeded:
        raise  # the task is out of time: the lease brings the row back to the next pass
    except Exception as exc:  # a bug in one transport must not stop the other recipients
        logger.exception(
            "Notification %s: unexpected error in the %s transport", pk, notification.channel
        )
        error = TransportError(f"{type(exc).__name__}: {exc}")
    duration_ms = int((time.monotonic() - started) * 1000)
    if error is None:
        _mark_sent(notification, duration_ms)
        return 1
    _mark_failed(notification, attempt, error, duration_ms)
    return 0


def _mark_sent(notification: Notification, duration_ms: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        Notification.objects.filter(pk=notification.pk).update(
            status=Status.SENT, sent_at=now, last_error=""
        )
        DeliveryAttempt.objects.create(
            notification=notification, at=now, ok=True, duration_ms=duration_ms
        )
        # The alert's first message out: stamped once, by whichever send gets here first.
        Alert.objects.filter(pk=notification.alert_id, first_notified_at__isnull=True).update(
            first_notified_at=now
        )


def _mark_failed(
    notification: Notification, attempt: int, error: TransportError, duration_ms: int
) -> None:
    now = timezone.now()
    message = error.message[:ERROR_LENGTH]
    dead = error.permanent or attempt >= settings.NOTIFICATION_MAX_ATTEMPTS
    with transaction.atomic():
        # Only while the row is still ours: a sender that outlived its lease does not
        # overwrite what the sender that took over decided.
        ours = Notification.objects.filter(
            pk=notification.pk, attempts=attempt, status__in=SENDABLE
        ).update(
            status=Status.DEAD if dead else Status.FAILED,
            last_error=message,
            next_attempt_at=now if dead else now + backoff_after(attempt),
        )
        DeliveryAttempt.objects.create(
            notification=notification, at=now, ok=False, error=message, duration_ms=duration_ms
        )
        if ours and dead:
            # The handling must show who was never reached, not only who was.
            AlertEntry.objects.create(
                alert_id=notification.alert_id,
                at=now,
                action=AlertEntry.Action.NOTE,
                note=(
                    _("Gave up sending to %(recipient)s by %(channel)s: %(error)s")
                    % {
                        "recipient": notification.recipient,
                        "channel": notification.get_channel_display(),
                        "error": message,
                    }
                )[:500],
            )
    log = logger.warning if dead else logger.info
    log(
        "Notification %s (%s to %s) attempt %s failed%s: %s",
        notification.pk,
        notification.channel,
        notification.recipient,
        attempt,
        ", given up" if dead else "",
        message,
    )


@transaction.atomic
def notification_retry_now(*, notification: Notification, by: User) -> bool:
    """Staff send a failed or dead notification again (from the ops view), with a fresh set of
    attempts; False when it has been sent or is already waiting to go."""
    from alerts.tasks import notifications_send as send_task

    changed = Notification.objects.filter(
        pk=notification.pk, status__in=(Status.FAILED, Status.DEAD)
    ).update(status=Status.PENDING, attempts=0, next_attempt_at=timezone.now())
    if changed != 1:
        return False
    audit_record(
        actor=by,
        action="notification.retry",
        target=notification,
        changes={"status": [notification.status, Status.PENDING]},
    )
    transaction.on_commit(lambda: send_task.delay([notification.pk]))
    return True
