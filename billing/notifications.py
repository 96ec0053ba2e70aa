"""E-mails about money: a vendor's new order to fulfil, a unit's overdue instalment or fee, a
lease ending, a default or a lapse (to the unit and its vendor), and a withdrawn
certificate (to every unit that bought the solution). Each person reads it in the language
saved on their account; each names the order so that either side can find it."""

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.mail import Email, email_send_per_language
from accounts.models import Organisation
from accounts.selectors import managers_of
from billing.models import Lease, MonitoringSubscription, Order
from marketplace.models import SolutionRevision


def _send(organisations, compose: Callable[[], tuple[str, list[str]]]) -> bool:
    """`compose()` gives the subject and the lines in the active language; it is called once
    per language among the organisations' owners and managers."""

    def email() -> Email:
        subject, lines = compose()
        return Email(subject, "\n\n".join(line for line in lines if line))

    managers = managers_of(*(organisation.pk for organisation in organisations))
    return email_send_per_language(recipients=managers, compose=email) > 0


def order_paid_send(*, order_id: int) -> bool:
    order = Order.objects.select_related("unit", "vendor__organisation").get(pk=order_id)

    def compose():
        subject = _("New order %(number)s to fulfil") % {"number": order.number}
        return subject, [
            subject,
            ngettext(
                "%(unit)s paid for %(devices)s device of %(solution)s.",
                "%(unit)s paid for %(devices)s devices of %(solution)s.",
                order.devices,
            )
            % {
                "unit": order.unit.name,
                "devices": order.devices,
                "solution": order.snapshot["name"],
            },
            settings.SITE_URL + reverse("billing:vendor-order", args=[order.public_id]),
        ]

    return _send([order.vendor.organisation], compose)


def notice_send(*, kind: str, object_id: int) -> bool:
    if kind.startswith("lease_"):
        lease = Lease.objects.select_related(
            "order", "unit__organisation", "vendor__organisation"
        ).get(pk=object_id)
        link = settings.SITE_URL + reverse("billing:lease", args=[lease.public_id])

        def compose_lease():
            subjects = {
                "lease_ending": _(
                    "Your lease %(number)s ends on %(date)s: choose what happens next"
                ),
                "lease_past_due": _("A lease instalment for %(number)s could not be collected"),
                "lease_defaulted": _("Lease %(number)s has defaulted"),
            }
            subject = subjects[kind] % {"number": lease.order.number, "date": lease.end_date}
            return subject, [subject, link]

        audience = [lease.unit.organisation]
        if kind == "lease_defaulted":
            audience.append(lease.vendor.organisation)
        return _send(audience, compose_lease)

    subscription = MonitoringSubscription.objects.select_related(
        "unit__organisation", "vendor__organisation"
    ).get(pk=object_id)

    def compose_monitoring():
        subjects = {
            "monitoring_past_due": _("The monitoring fee for %(unit)s could not be collected"),
            "monitoring_lapsed": _("Monitoring for %(unit)s has lapsed"),
        }
        subject = subjects[kind] % {"unit": subscription.unit.name}
        return subject, [
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
    return _send(audience, compose_monitoring)


def revision_buyers_send(*, revision_id: int) -> bool:
    revision = SolutionRevision.objects.select_related("solution").get(pk=revision_id)
    buyers = Organisation.objects.filter(
        units__orders__revision__solution=revision.solution,
        units__orders__paid_at__isnull=False,
    ).distinct()

    def compose():
        subject = _("%(solution)s is now %(status)s") % {
            "solution": revision.name,
            "status": revision.get_status_display(),
        }
        return subject, [
            subject,
            _(
                "Your devices and their monitoring keep working; alarms are routed as before. "
                "New orders of this solution are not possible for now."
            ),
        ]

    return _send(list(buyers), compose)
