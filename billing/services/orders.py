"""Orders from a quote, and their way to the unit: place, cancel before payment, prepare,
ship, deliver (DESIGN §4). Paying and refunding are in `payments`."""

import contextlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record, membership_require
from billing import gateway
from billing.models import Lease, Order, OrderLine, Payment
from billing.services.common import first_status, status_change
from marketplace.models import AcquisitionMode, SolutionRevision
from marketplace.quotes import quote_for
from units.models import Unit

Status = Order.Status


def _order_number(today) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('billing_order_seq')")
        (sequence,) = cursor.fetchone()
    return f"SO-{today:%Y}-{sequence:06d}"


def _snapshot(revision: SolutionRevision) -> dict:
    """What the unit is buying, frozen: later revisions or a withdrawn certificate never
    change an order."""
    solution = revision.solution
    fields = [
        "name",
        "name_en",
        "purchase_price",
        "installation_fee",
        "lease_monthly_fee",
        "lease_min_months",
        "lease_deposit",
        "lease_buyout_price",
        "monitoring_fee",
        "warranty_months",
        "repair_sla_hours",
        "certificate_number",
        "currency",
    ]
    return {field: getattr(revision, field) for field in fields} | {
        "revision": revision.number,
        "valid_until": revision.valid_until.isoformat() if revision.valid_until else None,
        "solution_id": solution.pk,
        "tier": solution.tier,
        "scenario": solution.scenario.code,
        "scenario_name": solution.scenario.name,
        "scenario_name_en": solution.scenario.name_en,
        "vendor": solution.vendor.organisation.name,
    }


def _unit_payer(order_or_unit, by: User) -> None:
    unit = order_or_unit if isinstance(order_or_unit, Unit) else order_or_unit.unit
    membership_require(organisation=unit.organisation, user=by, manage=False)


def _vendor_staff(order: Order, by: User) -> None:
    membership_require(organisation=order.vendor.organisation, user=by, manage=False)


@transaction.atomic
def order_create(*, unit: Unit, revision: SolutionRevision, mode: str, by: User) -> Order:
    """A draft order from this unit's quote: one line per device model of the bill of
    materials, and every price frozen."""
    _unit_payer(unit, by)
    if mode not in AcquisitionMode.values:
        raise ValidationError({"mode": _("Choose purchase or lease.")})
    revision = (
        SolutionRevision.objects.select_related(
            "solution__vendor__organisation", "solution__scenario"
        )
        .prefetch_related("bom__device_model")
        .get(pk=revision.pk)
    )
    if revision.status != SolutionRevision.Status.CERTIFIED:
        raise ValidationError({"revision": _("This solution is not certified at the moment.")})
    if mode == AcquisitionMode.LEASE and not revision.offers_lease:
        raise ValidationError({"mode": _("This solution is not offered for lease.")})
    months = revision.lease_min_months or 1
    quote = quote_for(revision=revision, unit=unit, months=months)
    if quote.devices == 0:
        raise ValidationError(
            {"revision": _("By this unit's facts it needs no devices of this solution.")}
        )
    now = timezone.now()
    amounts = {
        "devices": quote.devices,
        "installation_total": quote.devices * revision.installation_fee,
        "monitoring_monthly_total": quote.monitoring_monthly,
    }
    if mode == AcquisitionMode.PURCHASE:
        amounts |= {
            "hardware_total": quote.devices * revision.purchase_price,
            "amount_due": quote.purchase_upfront,
        }
    else:
        amounts |= {
            "deposit_total": quote.lease_deposit,
            "lease_monthly_total": quote.lease_monthly,
            "lease_term_months": revision.lease_min_months,
            "lease_buyout_total": quote.lease_buyout,
            "amount_due": quote.lease_first_payment,
        }
    order = Order.objects.create(
        number=_order_number(now),
        unit=unit,
        vendor=revision.solution.vendor,
        revision=revision,
        mode=mode,
        snapshot=_snapshot(revision),
        currency=revision.currency,
        created_by=by,
        created_at=now,
        **amounts,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            device_model_id=line.device_model_id,
            name=line.device_model_name,
            model_number=next(
                b.device_model.model_number
                for b in revision.bom.all()
                if b.device_model_id == line.device_model_id
            ),
            rule=line.rule,
            quantity=line.quantity,
        )
        for line in quote.lines
        if line.quantity
    )
    first_status(order, by=by)
    audit_record(actor=by, action="order.create", target=order, organisation=unit.organisation)
    return order


@transaction.atomic
def order_place(*, order: Order, by: User) -> Order:
    """Confirm a draft: it now waits for payment (if the solution is still certified)."""
    _unit_payer(order, by)
    if not SolutionRevision.objects.filter(
        pk=order.revision_id, status=SolutionRevision.Status.CERTIFIED
    ).exists():
        raise ValidationError(
            _("This solution is no longer certified; the order cannot be placed.")
        )
    return status_change(order, to=Status.AWAITING_PAYMENT, allowed_from={Status.DRAFT}, by=by)


def order_cancel(*, order: Order, by: User, reason: str = "") -> Order:
    """Before payment only. An unfinished PaymentIntent is cancelled at Stripe first, so it
    cannot succeed afterwards."""
    _unit_payer(order, by)
    if order.payments.filter(status=Payment.Status.PROCESSING).exists():
        raise ValidationError(_("A payment for this order is being processed; wait for it."))
    for payment in order.payments.filter(status=Payment.Status.FAILED):
        # Already cancelled, or failed for good: either way it can no longer succeed.
        with contextlib.suppress(gateway.GatewayError):
            gateway.payment_intent_cancel(payment.stripe_payment_intent)
    with transaction.atomic():
        return status_change(
            order,
            to=Status.CANCELLED,
            allowed_from={Status.DRAFT, Status.AWAITING_PAYMENT},
            by=by,
            reason=reason,
        )


@transaction.atomic
def order_prepare(*, order: Order, by: User) -> Order:
    """The vendor starts fulfilling a paid order."""
    _vendor_staff(order, by)
    return status_change(order, to=Status.FULFILLING, allowed_from={Status.PAID}, by=by)


@transaction.atomic
def order_ship(*, order: Order, by: User, carrier: str, tracking_number: str) -> Order:
    _vendor_staff(order, by)
    errors = {}
    if not carrier.strip():
        errors["carrier"] = _("Enter the carrier.")
    if not tracking_number.strip():
        errors["tracking_number"] = _("Enter the tracking number.")
    if errors:
        raise ValidationError(errors)
    return status_change(
        order,
        to=Status.SHIPPED,
        allowed_from={Status.PAID, Status.FULFILLING},
        by=by,
        carrier=carrier.strip()[:64],
        tracking_number=tracking_number.strip()[:64],
        shipped_at=timezone.now(),
    )


def order_deliver(*, order: Order, by: User) -> Order:
    """The unit confirms the delivery. A lease starts on this day."""
    from billing.services.subscriptions import lease_start

    try:
        _unit_payer(order, by)
    except PermissionDenied:
        _vendor_staff(order, by)
    with transaction.atomic():
        order = status_change(
            order,
            to=Status.COMPLETED,
            allowed_from={Status.SHIPPED},
            by=by,
            completed_at=timezone.now(),
        )
        lease = order.leases.filter(status=Lease.Status.PENDING).first()
        if lease is not None:
            lease_start(lease=lease, by=by, today=timezone.localdate())
    return order
