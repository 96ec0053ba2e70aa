"""Forms of a unit's device pages. They parse what a person typed or scanned; the rules
(claim codes and their lock, the residential privacy boundary) are devices.services'."""

from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from devices.models import Device, Placement
from units.models import Unit


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit: Unit) -> str:
        return f"{unit.name} ({unit.get_kind_display()})"


class ClaimForm(forms.Form):
    unit = UnitChoiceField(
        label=_("Unit"),
        queryset=Unit.objects.none(),
        to_field_name="public_id",
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of your units.")},
        help_text=_("The unit the device will protect and report to."),
    )
    serial = forms.CharField(
        label=_("Serial number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    claim_code = forms.CharField(
        label=_("Claim code"),
        max_length=16,
        help_text=_("Eight characters, printed with the QR code on the device's label."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def __init__(self, *args, units: QuerySet[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class PlacementForm(forms.Form):
    """Where the device is. The space choices offered follow the unit (an estate's common
    spaces only); any value posted is still judged by the service, whose refusal is shown
    under the field."""

    building = forms.CharField(
        label=_("Building"),
        max_length=100,
        help_text=_("For example: No. 3, the main building, the east gate."),
    )
    floor = forms.IntegerField(
        label=_("Floor"),
        min_value=-10,
        max_value=200,
        help_text=_("Negative for basements: -1 is the first floor underground."),
    )
    space_type = forms.ChoiceField(label=_("Space"), choices=Placement.Space.choices)
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        help_text=_("So that anyone can find it: for example, above the cash desk."),
    )
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-90),
        max_value=Decimal(90),
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-180),
        max_value=Decimal(180),
    )

    def __init__(self, *args, unit: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["space_type"]
        common = Placement.RESIDENTIAL_COMMON
        if unit.kind == Unit.Kind.ESTATE:
            offered = [(value, label) for value, label in field.choices if value in common]
            field.help_text = _(
                "In a residential estate devices go in common spaces only, never inside a home."
            )
        else:
            home = Placement.Space.INSIDE_HOME
            offered = [(value, label) for value, label in field.choices if value != home]
        # Validated against every kind of space, offered only the allowed ones.
        field.widget.choices = offered

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        return cleaned


class DeviceFilterForm(forms.Form):
    unit = UnitChoiceField(
        label=_("Unit"),
        queryset=Unit.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("All units"),
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *Device.State.choices]
    )
    low_battery = forms.BooleanField(label=_("Low battery"), required=False)
    offline = forms.BooleanField(label=_("Offline"), required=False)
    q = forms.CharField(
        label=_("Serial number"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Search by serial")}),
    )

    def __init__(self, *args, units: QuerySet[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
