"""What a certified solution costs *this* unit: quantities from the bill of materials and the
unit's facts, then per-device prices. Pure arithmetic in integer fen; no database writes."""

from dataclasses import dataclass, field

from marketplace.models import SolutionRevision
from units.models import Unit


@dataclass(frozen=True)
class QuoteLine:
    device_model_id: int
    device_model_name: str
    rule: str
    quantity: int


@dataclass(frozen=True)
class Quote:
    revision_id: int
    months: int
    devices: int
    lines: list[QuoteLine] = field(default_factory=list)
    currency: str = "CNY"
    # Buying: hardware and installation now, monitoring every month.
    purchase_upfront: int = 0
    monitoring_monthly: int = 0
    purchase_total: int = 0
    # Leasing (None when the solution is not leased): installation, deposit and first month now.
    lease_offered: bool = False
    lease_deposit: int | None = None
    lease_monthly: int | None = None
    lease_first_payment: int | None = None
    lease_total: int | None = None
    lease_term_months: int | None = None
    lease_buyout: int | None = None


def quote_for(*, revision: SolutionRevision, unit: Unit, months: int) -> Quote:
    """Total cost over `months` bought vs leased. Lease totals count installation, every
    month's lease and monitoring fees, for at least the minimum term; the deposit is
    returned at the end, so it is shown but not counted."""
    if months < 1:
        raise ValueError("months must be at least 1")
    lines = [
        QuoteLine(
            device_model_id=line.device_model_id,
            device_model_name=line.device_model.name,
            rule=line.rule,
            quantity=line.quantity_for(unit),
        )
        for line in revision.bom.all()
    ]
    devices = sum(line.quantity for line in lines)
    installation = devices * revision.installation_fee
    monitoring_monthly = devices * revision.monitoring_fee
    purchase_upfront = devices * revision.purchase_price + installation
    quote = {
        "revision_id": revision.pk,
        "months": months,
        "devices": devices,
        "lines": lines,
        "currency": revision.currency,
        "purchase_upfront": purchase_upfront,
        "monitoring_monthly": monitoring_monthly,
        "purchase_total": purchase_upfront + months * monitoring_monthly,
    }
    if revision.offers_lease:
        term = max(months, revision.lease_min_months)
        lease_monthly = devices * revision.lease_monthly_fee
        quote |= {
            "lease_offered": True,
            "lease_deposit": devices * revision.lease_deposit,
            "lease_monthly": lease_monthly,
            "lease_first_payment": installation + devices * revision.lease_deposit + lease_monthly,
            "lease_term_months": term,
            "lease_total": installation + term * (lease_monthly + monitoring_monthly),
            "lease_buyout": devices * revision.lease_buyout_price
            if revision.lease_buyout_price is not None
            else None,
        }
    return Quote(**quote)
