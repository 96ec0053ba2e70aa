"""E-mails about money: a vendor's new order to fulfil, a unit's overdue instalment or fee, a
lease ending, a default or a lapse (to the unit and its vendor), and a withdrawn
certificate (to every unit that bought the solution). Written in Chinese, the platform's
language; each names the order so that either side can find it."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation
from billing.models import Lease, MonitoringSubscription, Order
from marketplace.models import SolutionRevision

MANAGERS = [Membership.Role.OWNER, Membership.Role.MANAGER]


def _emails(*organisations: Organisation) -> list[str]:
    return list(
        Membership.objects.filter(organisation__in=organisations, role__in=MANAGERS)
        .values_list("user__email", flat=True)
        .distinct()
    )


def _send(subject: str, lines: list[str], organisations) -> bool:
    recipients = _emails(*organisations)
    if not recipients:
        return False
    send_mail(subject, "\n\n".join(line for line in lines if line), None, recipients)
    return True


def order_paid_send(*, order_id: int) -> bool:
    order = Order.objects.select_related("unit", "vendor__organisation").get(pk=order_id)
    with translation.override("zh-hans"):
        subject = _("New order %(number)s to fulfil") % {"number": order.number}
        lines = [
            subject,
            _("%(unit)s paid for %(devices)s devices of %(solution)s.")
            % {
                "unit": order.unit.name,
                "devices": order.devices,
                "solution": order.snapshot["name"],
            },
            settings.SITE_URL + reverse("billing:vendor-order", args=[order.public_id]),
        ]
    return _send(subject, lines, [order.vendor.organisation])


def notice_send(*, kind: str, object_id: int) -> bool:
    with translation.override("zh-hans"):
        if kind.startswith("lease_"):
            lease = Lease.objects.select_related(
                "order", "unit__organisation", "vendor__organisation"
            ).get(pk=object_id)
            link = settings.SITE_URL + reverse("billing:lease", args=[lease.public_id])
            subjects = {
                "lease_ending": _(
                    "Your lease %(number)s ends on %(date)s: choose what happens next"
                ),
                "lease_past_due": _("A lease instalment for %(number)s could not be collected"),
                "lease_defaulted": _("Lease %(number)s has defaulted"),
            }
            subject = subjects[kind] % {"number": lease.order.number, "date": lease.end_date}
            audience = [lease.unit.organisation]
            if kind == "lease_defaulted":
                audience.append(lease.vendor.organisation)
            return _send(subject, [subject, link], audience)
        subscription = MonitoringSubscription.objects.select_related(
            "unit__organisation", "vendor__organisation"
        ).get(pk=object_id)
        subjects = {
            "monitoring_past_due": _("The monitoring fee for %(unit)s could not be collected"),
            "monitoring_lapsed": _("Monitoring for %(unit)s has lapsed"),
        }
        subject = subjects[kind] % {"unit": subscription.unit.name}
        lines = [
            subject,
            _(
                "Alarms are still routed to responders; the unit shows as not covered "
                "until the fee is paid."
            ),
            settings.SITE_URL + reverse("billing:invoices"),
        ]
        audience = [subscription.unit.organisation]
        if kind == "monitoring_lapsed":
            audience.append(subscription.vendor.organisation)
        return _send(subject, lines, audience)


def revision_buyers_send(*, revision_id: int) -> bool:
    revision = SolutionRevision.objects.select_related("solution").get(pk=revision_id)
    buyers = Organisation.objects.filter(
        units__orders__revision__solution=revision.solution,
        units__orders__paid_at__isnull=False,
    ).distinct()
    with translation.override("zh-hans"):
        subject = _("%(solution)s is now %(status)s") % {
            "solution": revision.name,
            "status": revision.get_status_display(),
        }
        lines = [
            subject,
            _(
                "Your devices and their monitoring keep working; alarms are routed as before. "
                "New orders of this solution are not possible for now."
            ),
        ]
    return _send(subject, lines, list(buyers))
