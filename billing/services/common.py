"""What the billing services share: recording status changes and the platform's commission."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from billing.models import Lease, MonitoringSubscription, Order, StatusChange

_SUBJECT_FIELD = {Order: "order", Lease: "lease", MonitoringSubscription: "subscription"}


def commission_of(amount: int) -> int:
    """The platform's share of `amount` fen, rounded half up, in integers only."""
    return (amount * settings.PLATFORM_COMMISSION_BPS + 5_000) // 10_000


def status_change(
    subject: models.Model,
    *,
    to: str,
    allowed_from: set[str],
    by: User | None,
    reason: str = "",
    **fields,
):
    """Claim the row with a conditional UPDATE (only from `allowed_from`), then record who
    moved it, from what, to what and why. Two concurrent changes: one wins, the other gets a
    clear error."""
    model = type(subject)
    claimed = model.objects.filter(pk=subject.pk, status__in=allowed_from).update(
        status=to, **fields
    )
    if claimed != 1:
        current = model.objects.filter(pk=subject.pk).values_list("status", flat=True).first()
        raise ValidationError(
            _("This cannot become %(to)s while it is %(status)s.")
            % {
                "status": model.Status(current).label if current else "?",
                "to": model.Status(to).label,
            }
        )
    from_status = subject.status
    subject.refresh_from_db()
    StatusChange.objects.create(
        **{_SUBJECT_FIELD[model]: subject},
        from_status=from_status,
        to_status=to,
        by=by,
        reason=reason,
    )
    audit_record(
        actor=by,
        action=f"{model._meta.model_name}.{to}",
        target=subject,
        organisation=subject.unit.organisation,
        changes={"from": from_status, "to": to, "reason": reason},
    )
    return subject


def first_status(subject: models.Model, *, by: User | None, reason: str = "") -> None:
    """The creation of a stateful row, recorded like any other change."""
    StatusChange.objects.create(
        **{_SUBJECT_FIELD[type(subject)]: subject},
        from_status="",
        to_status=subject.status,
        by=by,
        reason=reason,
    )
