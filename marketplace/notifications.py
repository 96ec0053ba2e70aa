"""Telling a vendor that one of its revisions changed status (e-mail to its owners and
managers, in their organisation's language)."""

from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership
from marketplace.models import SolutionRevision


def revision_status_send(*, revision_id: int) -> bool:
    revision = (
        SolutionRevision.objects.select_related("solution__vendor__organisation")
        .filter(pk=revision_id)
        .first()
    )
    if revision is None:
        return False
    last = revision.transitions.order_by("-at", "-pk").first()
    recipients = list(
        Membership.objects.filter(
            organisation=revision.solution.vendor.organisation,
            role__in=[Membership.Role.OWNER, Membership.Role.MANAGER],
        ).values_list("user__email", flat=True)
    )
    if not recipients:
        return False
    with translation.override("zh-hans"):
        subject = _("%(solution)s r%(number)s is now %(status)s") % {
            "solution": revision.name,
            "number": revision.number,
            "status": revision.get_status_display(),
        }
        body = "\n\n".join(
            part
            for part in [
                subject,
                last.reason if last else "",
                _("Certificate: %(number)s") % {"number": revision.certificate_number}
                if revision.certificate_number
                else "",
            ]
            if part
        )
    send_mail(subject, body, None, recipients)
    return True
