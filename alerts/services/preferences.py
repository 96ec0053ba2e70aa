"""A member's channels for the alerts of one organisation (issue 6 §7).

Only alerts that are not life-safety follow them: a fire, a gas leak, an entrapment or a
wristband's vitals reach everyone on every channel whatever they chose (DESIGN §4), so muting
one of those kinds is refused rather than silently stored.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User
from accounts.services import audit_record
from alerts.models import LIFE_SAFETY_KINDS, Kind, NotificationPreference


@transaction.atomic
def preference_update(
    *,
    user: User,
    organisation: Organisation,
    email: bool,
    sms: bool,
    muted_kinds: Iterable[str],
) -> NotificationPreference:
    if not Membership.objects.filter(user=user, organisation=organisation).exists():
        raise PermissionDenied("Preferences are kept for the organisations one belongs to")
    muted = sorted(set(muted_kinds))
    unknown = [kind for kind in muted if kind not in Kind.values]
    if unknown:
        raise ValidationError(
            {"muted_kinds": _("Unknown alert kind: %(kinds)s.") % {"kinds": ", ".join(unknown)}}
        )
    life_safety = [Kind(kind).label for kind in muted if kind in LIFE_SAFETY_KINDS]
    if life_safety:
        raise ValidationError(
            {
                "muted_kinds": _(
                    "%(kinds)s alerts are life-safety alerts: they always reach everyone and "
                    "cannot be muted."
                )
                % {"kinds": ", ".join(str(label) for label in life_safety)}
            }
        )
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user,
        organisation=organisation,
        defaults={"email": bool(email), "sms": bool(sms), "muted_kinds": muted},
    )
    audit_record(
        actor=user,
        action="alert_preference.update",
        target=preference,
        organisation=organisation,
        changes={"email": preference.email, "sms": preference.sms, "muted_kinds": muted},
    )
    return preference
