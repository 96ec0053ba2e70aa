"""Forms of the vendor's device pages. They parse what a person typed, picked, uploaded or
scanned; the rules (whose serial, in stock, how many a line needs) are devices.services'."""

from urllib.parse import parse_qs, urlsplit

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from devices.models import Device
from marketplace.models import DeviceModel

# The states a vendor's stock page filters by (everything a device can be).
STATE_CHOICES = [("", _("All states")), *Device.State.choices]
# A fleet device is with a unit: these are the states it can be in.
FLEET_STATES = [
    Device.State.CLAIMED,
    Device.State.ACTIVE,
    Device.State.OFFLINE,
    Device.State.FAULTY,
    Device.State.MAINTENANCE,
    Device.State.RETIRED,
]


class DeviceModelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, device_model: DeviceModel) -> str:
        return f"{device_model.name} ({device_model.model_number})"


def _model_field(required: bool = False, **kwargs) -> DeviceModelChoiceField:
    return DeviceModelChoiceField(
        label=_("Device model"),
        queryset=DeviceModel.objects.none(),
        to_field_name="public_id",
        required=required,
        error_messages={"invalid_choice": _("Choose one of your device models.")},
        **kwargs,
    )


class _WithDeviceModels(forms.Form):
    def __init__(self, *args, device_models: QuerySet[DeviceModel], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = device_models


class InventoryFilterForm(_WithDeviceModels):
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATE_CHOICES)
    model = _model_field(empty_label=_("All models"))
    q = forms.CharField(
        label=_("Serial number"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Search by serial")}),
    )


class ProvisionForm(_WithDeviceModels):
    """One device by hand (a sample, a replacement); a batch comes as a CSV file."""

    model = _model_field(required=True, empty_label=None)
    serial = forms.CharField(
        label=_("Serial number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "One device per row: serial, model_number and optionally firmware, with or "
            "without a header row. Up to 100,000 rows (8 MB); UTF-8 or Excel's Chinese CSV."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


def serials_from(text: str) -> list[str]:
    """Serial numbers typed or scanned, one per line (commas and tabs also separate). A
    scanned label gives its claim address: the serial is taken from it. Repeats count once."""
    serials = []
    for line in text.replace(",", "\n").replace("\t", "\n").splitlines():
        value = line.strip()
        if "://" in value and "serial=" in value:
            value = (parse_qs(urlsplit(value).query).get("serial") or [""])[0].strip()
        if value and value not in serials:
            serials.append(value)
    return serials


class AllocateForm(forms.Form):
    serials = forms.CharField(
        label=_("Serial numbers"),
        widget=forms.Textarea(
            attrs={"rows": 6, "autocomplete": "off", "autofocus": True, "spellcheck": "false"}
        ),
        help_text=_("One per line, typed or scanned from the labels."),
    )

    def clean_serials(self) -> list[str]:
        serials = serials_from(self.cleaned_data["serials"])
        if not serials:
            raise forms.ValidationError(_("Enter at least one serial number."))
        if any(len(serial) > 64 for serial in serials):
            raise forms.ValidationError(_("A serial number has at most 64 characters."))
        return serials


class FleetFilterForm(_WithDeviceModels):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All states")), *[(s.value, s.label) for s in FLEET_STATES]],
    )
    model = _model_field(empty_label=_("All models"))
    low_battery = forms.BooleanField(label=_("Battery below 20 %"), required=False)
    stale = forms.BooleanField(label=_("Not seen for 24 hours"), required=False)
