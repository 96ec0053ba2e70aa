"""An alert's handling by a person (DESIGN §4): open → acknowledged → dispatched → resolved.

The console, the single-use link in a message and the API all call these; `via` records
which. Each change locks the alert and checks the status it expects (two responders pressing at
once: one wins, the other is told it already happened), then writes a timeline entry.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert, AlertEntry
from alerts.selectors import alert_can_act

Status = Alert.Status
Via = AlertEntry.Via


def _require_actor(alert: Alert, by: User | None, via: str) -> None:
    # A link in a message speaks for the recipient it was sent to, who may have no account.
    if via == Via.LINK:
        return
    if by is None or not alert_can_act(user=by, alert=alert):
        raise PermissionDenied(_("You cannot act on this alert."))


def _move(
    alert: Alert, *, to: str, allowed_from: tuple, by, via: str, note: str, action: str, **fields
) -> Alert:
    current = (
        Alert.objects.select_for_update().filter(pk=alert.pk).values_list("status", flat=True).get()
    )
    if current not in allowed_from:
        raise ValidationError(
            _("This alert is already %(status)s.") % {"status": Status(current).label.lower()}
        )
    Alert.objects.filter(pk=alert.pk).update(status=to, **fields)
    AlertEntry.objects.create(
        alert=alert,
        action=action,
        by=by,
        via=via,
        from_status=current,
        to_status=to,
        note=note[:500],
    )
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_acknowledge(
    *, alert: Alert, by: User | None, via: str = Via.CONSOLE, note: str = ""
) -> Alert:
    """Someone has it: escalation stops."""
    _require_actor(alert, by, via)
    return _move(
        alert,
        to=Status.ACKNOWLEDGED,
        allowed_from=(Status.OPEN,),
        by=by,
        via=via,
        note=note,
        action=AlertEntry.Action.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
        acknowledged_by=by,
        next_step_at=None,
    )


@transaction.atomic
def alert_dispatch(
    *, alert: Alert, by: User | None, via: str = Via.CONSOLE, note: str = ""
) -> Alert:
    """Someone is on the way. Dispatching an open alert acknowledges it too."""
    _require_actor(alert, by, via)
    now = timezone.now()
    fields = {"dispatched_at": now, "next_step_at": None}
    if alert.status == Status.OPEN:
        fields |= {"acknowledged_at": now, "acknowledged_by": by}
    return _move(
        alert,
        to=Status.DISPATCHED,
        allowed_from=(Status.OPEN, Status.ACKNOWLEDGED),
        by=by,
        via=via,
        note=note,
        action=AlertEntry.Action.DISPATCHED,
        **fields,
    )


@transaction.atomic
def alert_resolve(
    *, alert: Alert, by: User | None, outcome: str, via: str = Via.CONSOLE, note: str = ""
) -> Alert:
    """Closed by a person, with what it turned out to be."""
    _require_actor(alert, by, via)
    if outcome not in Alert.PERSON_OUTCOMES:
        raise ValidationError(
            {
                "outcome": _(
                    "Choose an outcome: incident handled, false alarm, test or device fault."
                )
            }
        )
    now = timezone.now()
    fields = {"resolved_at": now, "resolved_by": by, "outcome": outcome, "next_step_at": None}
    if alert.acknowledged_at is None:
        fields |= {"acknowledged_at": now, "acknowledged_by": by}
    return _move(
        alert,
        to=Status.RESOLVED,
        allowed_from=Alert.UNRESOLVED,
        by=by,
        via=via,
        note=note,
        action=AlertEntry.Action.RESOLVED,
        **fields,
    )


@transaction.atomic
def alert_note(*, alert: Alert, by: User, note: str, via: str = Via.CONSOLE) -> AlertEntry:
    """A line in the timeline (who was called, what was found)."""
    _require_actor(alert, by, via)
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("Write a note.")})
    return AlertEntry.objects.create(
        alert=alert, action=AlertEntry.Action.NOTE, by=by, via=via, note=note[:500]
    )
