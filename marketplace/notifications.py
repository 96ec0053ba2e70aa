"""Telling a vendor that one of its revisions changed status (e-mail to its owners and
managers, each in the language saved on their account)."""

from django.utils.translation import gettext as _

from accounts.mail import Email, email_send_per_language
from accounts.selectors import managers_of
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
    recipients = managers_of(revision.solution.vendor.organisation_id)

    def compose() -> Email:
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
        return Email(subject, body)

    return email_send_per_language(recipients=recipients, compose=compose) > 0
