"""Demo orders: the estate manager has bought the demo vendor's electrical-fire kit, paid by
card through the configured Stripe (localstripe in the demo), and the vendor is preparing it.
The merchant has no orders yet: buying and leasing in the browser is theirs to try.

Idempotent: nothing is added when the estate already has an order.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from billing import gateway
from billing.models import Order
from billing.services import orders, payments
from marketplace.models import SolutionRevision
from units.models import Unit

ESTATE = "春江小区"
ESTATE_MANAGER = "estate@demo.safeunit.cn"
VENDOR_OWNER = "vendor@demo.safeunit.cn"
SOLUTION = "电气火灾监测套装"
TEST_CARD = "pm_card_visa"  # Stripe's test card 4242 4242 4242 4242


class Command(BaseCommand):
    help = "Add the demo's orders (needs the configured Stripe, localstripe in the demo)."

    def handle(self, *args, **options):
        estate = Unit.objects.filter(name=ESTATE).first()
        revision = SolutionRevision.objects.filter(
            name=SOLUTION, status=SolutionRevision.Status.CERTIFIED
        ).first()
        if estate is None or revision is None:
            self.stdout.write(_("Demo orders skipped: load the units and marketplace demo first."))
            return
        if Order.objects.filter(unit=estate).exists():
            self.stdout.write(_("Demo orders already there."))
            return
        manager = User.objects.get(email=ESTATE_MANAGER)
        vendor_owner = User.objects.get(email=VENDOR_OWNER)
        try:
            with transaction.atomic():
                order = orders.order_create(
                    unit=estate, revision=revision, mode="purchase", by=manager
                )
                order = orders.order_place(order=order, by=manager)
            payment = payments.order_pay(order=order, by=manager, payment_method=TEST_CARD)
            # The web process that receives webhooks is not up yet: ask Stripe directly.
            payments.payment_intent_sync(payment_intent=payment.stripe_payment_intent)
            order.refresh_from_db()
            orders.order_prepare(order=order, by=vendor_owner)
        except (gateway.GatewayError, ValidationError) as exc:
            self.stdout.write(_("Demo orders skipped: Stripe is not reachable (%s).") % exc)
            return
        self.stdout.write(
            _("Demo order %(number)s: %(unit)s bought %(solution)s (paid, being prepared).")
            % {"number": order.number, "unit": ESTATE, "solution": SOLUTION}
        )
