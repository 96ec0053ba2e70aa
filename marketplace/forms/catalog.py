"""Forms for the catalog pages. They only parse what a unit asks for (filters, sort, a unit
and a term); the reads go through marketplace.selectors, which never pick a vendor."""

import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from marketplace.models import AcquisitionMode, Tier

DEFAULT_MONTHS = 36
MAX_MONTHS = 120
MAX_COMPARED = 4

# Only price or tier, the unit's choice: nothing a vendor could pay to be placed by.
SORT_CHOICES = [
    ("price", _("Price, lowest first")),
    ("-price", _("Price, highest first")),
    ("tier", _("Tier, low to high")),
]


class _UnitTermForm(forms.Form):
    """A unit to quote for (shown as the units the person's organisations run) and a term."""

    unit = forms.UUIDField(label=_("Quote for unit"), required=False, widget=forms.Select)
    months = forms.IntegerField(
        label=_("Months"), required=False, min_value=1, max_value=MAX_MONTHS, initial=DEFAULT_MONTHS
    )

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].widget.choices = [("", _("No unit (prices only)"))] + [
            (str(unit.public_id), f"{unit.name} ({unit.get_kind_display()})") for unit in units
        ]

    def clean_months(self) -> int:
        return self.cleaned_data["months"] or DEFAULT_MONTHS


class CatalogFilterForm(_UnitTermForm):
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=[("", _("All tiers")), *Tier.choices]
    )
    mode = forms.ChoiceField(
        label=_("Acquisition"),
        required=False,
        choices=[("", _("Purchase or lease")), *AcquisitionMode.choices],
    )
    vendor = forms.UUIDField(label=_("Vendor"), required=False, widget=forms.Select)
    max_price = forms.DecimalField(
        label=_("Max price per device (¥)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    field_order = ["tier", "mode", "vendor", "max_price", "sort", "unit", "months"]

    def __init__(self, *args, vendors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].widget.choices = [("", _("All vendors"))] + [
            (str(vendor.public_id), vendor.organisation.name) for vendor in vendors
        ]

    def clean_max_price(self) -> int | None:
        """Yuan on the page, fen in the database."""
        price = self.cleaned_data["max_price"]
        return None if price is None else int(price * 100)

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or "price"

    def selector_filters(self) -> dict:
        """The filters as marketplace.selectors.catalog_revisions takes them (the valid ones)."""
        data = getattr(self, "cleaned_data", {})
        return {
            "tier": data.get("tier") or None,
            "mode": data.get("mode") or None,
            "vendor_public_id": data.get("vendor"),
            "max_price": data.get("max_price"),
            "sort": data.get("sort") or "price",
        }


class SolutionListField(forms.Field):
    """The solutions ticked for comparison: repeated `s` parameters, each a solution id."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": _("Choose solutions from the catalog."),
        "required": _("Tick at least one solution to compare."),
    }

    def to_python(self, value) -> list[uuid.UUID]:
        if not value:
            return []
        try:
            return list(dict.fromkeys(uuid.UUID(str(item)) for item in value))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value) -> None:
        super().validate(value)
        if len(value) > MAX_COMPARED:
            raise forms.ValidationError(
                ngettext(
                    "Compare at most %(max)d solution at a time; you chose %(count)d.",
                    "Compare at most %(max)d solutions at a time; you chose %(count)d.",
                    MAX_COMPARED,
                )
                % {"max": MAX_COMPARED, "count": len(value)},
                code="too_many",
            )


class CompareForm(_UnitTermForm):
    s = SolutionListField(label=_("Solutions"))


class QuoteForm(_UnitTermForm):
    pass
