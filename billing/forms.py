"""Forms of the billing pages. They parse what a person typed; the writes are the services'.
Money is typed in yuan and handed to the services in integer fen."""

from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from billing.models import Lease, Order
from marketplace.models import AcquisitionMode
from units.models import Region


def fen_of(yuan: Decimal) -> int:
    """Exact: the field allows at most two decimals, so no rounding ever happens here."""
    return int(yuan * 100)


def yuan_text(fen: int) -> str:
    """12345 → "123.45", -5 → "-0.05": for CSV files, where the ¥ sign gets in the way."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class OrderCreateForm(forms.Form):
    """The Buy / Lease buttons of a quote: which certified revision, for which of my units."""

    solution = forms.UUIDField(widget=forms.HiddenInput)
    revision = forms.IntegerField(label=_("Solution"), min_value=1, widget=forms.HiddenInput)
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=None,
        to_field_name="public_id",
        error_messages={"invalid_choice": _("Choose one of your units.")},
    )
    mode = forms.ChoiceField(
        label=_("Purchase or lease"),
        choices=AcquisitionMode.choices,
        error_messages={"invalid_choice": _("Choose purchase or lease.")},
    )

    def __init__(self, *args, units: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), max_length=300, required=False)


class PayForm(forms.Form):
    """Posted by static/js/billing-pay.js once Stripe.js has confirmed (or failed to confirm)
    the card against the SetupIntent."""

    setup_intent = forms.CharField(
        label=_("Card"),
        max_length=64,
        error_messages={"required": _("Enter your card details and try again.")},
    )
    # What Stripe.js told the payer; shown back on the page only (Stripe is asked itself).
    client_error = forms.CharField(max_length=300, required=False)


class ShipForm(forms.Form):
    """Carrier and tracking number (used by the devices' fulfilment page, which ships)."""

    carrier = forms.CharField(label=_("Carrier"), max_length=64)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund (¥)"),
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, refundable: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable

    def clean_amount(self) -> int:
        amount = fen_of(self.cleaned_data["amount"])
        if amount > self.refundable:
            raise forms.ValidationError(
                _("At most ¥%(max)s can still be refunded.") % {"max": yuan_text(self.refundable)}
            )
        return amount


class LeaseChooseForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("At the end of the term"),
        choices=Lease.Choice.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose return, buy out or renew."),
            "invalid_choice": _("Choose return, buy out or renew."),
        },
    )


class DistrictChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, region: Region) -> str:
        return region.display_name(get_language())


class VendorOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Every status"))]
        + [(value, label) for value, label in Order.Status.choices if value != Order.Status.DRAFT],
    )
    q = forms.CharField(label=_("Unit name"), required=False, max_length=100)
    district = DistrictChoiceField(
        label=_("District"),
        required=False,
        queryset=Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"),
        to_field_name="code",
        empty_label=_("Every district"),
    )

    def filter(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        """Narrow the vendor's orders (already scoped by the selector) by the valid filters."""
        if self.is_bound:
            self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("status"):
            orders = orders.filter(status=data["status"])
        if data.get("q"):
            orders = orders.filter(unit__name__icontains=data["q"].strip())
        if data.get("district"):
            orders = orders.filter(unit__region__path__startswith=data["district"].path)
        return orders
