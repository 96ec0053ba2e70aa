"""Forms of the vendor workspace. They check shape (numbers, choices, files) and turn yuan
into integer fen; the rules (own device models only, lease terms, who may write) live in
marketplace.services."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from marketplace.models import BomLine, DeviceModel, Scenario, SolutionRevision, Tier, Vendor

DATASHEET_MAX_BYTES = 10 * 1024 * 1024


def fen_to_yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else (Decimal(fen) / 100).quantize(Decimal("0.01"))


class YuanField(forms.DecimalField):
    """An amount typed in yuan (at most 2 decimals), cleaned to integer fen exactly."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(max_digits=14, decimal_places=2, **kwargs)

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int(amount * 100)


class VendorProfileForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = Vendor
        fields = [
            "licence_number",
            "description",
            "contact_name",
            "contact_phone",
            "contact_email",
            "website",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


def metrics_to_text(metrics: list[dict]) -> str:
    def show(value):
        return "" if value is None else str(value)

    return "\n".join(
        ",".join([m.get("name", ""), m.get("unit", ""), show(m.get("min")), show(m.get("max"))])
        for m in metrics
    )


def _number(text: str, line_number: int):
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError(
            _("Line %(line)s: “%(text)s” is not a number.") % {"line": line_number, "text": text}
        ) from None
    if not value.is_finite():
        raise ValidationError(_("Line %(line)s: use a finite number.") % {"line": line_number})
    return int(value) if value == value.to_integral_value() else float(value)


def parse_metrics(text: str) -> list[dict]:
    """One metric per line: `name,unit,min,max` (min and max may be left empty)."""
    metrics = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 4 or not parts[0]:
            raise ValidationError(
                _("Line %(line)s: write name,unit,min,max.") % {"line": line_number}
            )
        name, unit, low, high = parts
        low, high = _number(low, line_number), _number(high, line_number)
        if low is not None and high is not None and low > high:
            raise ValidationError(_("%(name)s: the minimum is above the maximum.") % {"name": name})
        metrics.append({"name": name, "unit": unit, "min": low, "max": high})
    return metrics


class DeviceModelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    model_number = forms.CharField(label=_("Model number"), max_length=64)
    category = forms.ChoiceField(label=_("Category"), choices=DeviceModel.Category.choices)
    scenarios = forms.ModelMultipleChoiceField(
        label=_("Scenarios"), queryset=Scenario.objects.all(), widget=forms.SelectMultiple
    )
    metrics = forms.CharField(
        label=_("Metrics"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: name,unit,min,max — for example smoke,dB/m,0,2."),
    )
    heartbeat_interval_s = forms.IntegerField(label=_("Heartbeat interval (s)"), min_value=10)
    heartbeat_grace_s = forms.IntegerField(label=_("Heartbeat grace (s)"), min_value=0)
    battery_life_months = forms.IntegerField(
        label=_("Battery life (months)"), min_value=0, max_value=32767, required=False
    )
    protocol = forms.ChoiceField(label=_("Protocol"), choices=DeviceModel.Protocol.choices)
    unit_cost = YuanField(label=_("Unit cost (yuan)"))
    datasheet = forms.FileField(
        label=_("Datasheet (PDF, up to 10 MB)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_metrics(self):
        return parse_metrics(self.cleaned_data["metrics"])

    def clean_datasheet(self):
        datasheet = self.cleaned_data.get("datasheet")
        if not datasheet:
            return None
        if datasheet.size > DATASHEET_MAX_BYTES:
            raise ValidationError(_("The datasheet is larger than 10 MB."))
        head = datasheet.read(5)
        datasheet.seek(0)
        if not datasheet.name.lower().endswith(".pdf") or head != b"%PDF-":
            raise ValidationError(_("Upload the datasheet as a PDF file."))
        return datasheet

    @staticmethod
    def initial_for(device_model: DeviceModel) -> dict:
        return {
            "name": device_model.name,
            "model_number": device_model.model_number,
            "category": device_model.category,
            "scenarios": list(device_model.scenarios.all()),
            "metrics": metrics_to_text(device_model.metrics),
            "heartbeat_interval_s": device_model.heartbeat_interval_s,
            "heartbeat_grace_s": device_model.heartbeat_grace_s,
            "battery_life_months": device_model.battery_life_months,
            "protocol": device_model.protocol,
            "unit_cost": fen_to_yuan(device_model.unit_cost),
        }

    def service_fields(self) -> dict:
        """cleaned_data as device_model_save wants it (no datasheet when none was uploaded)."""
        fields = dict(self.cleaned_data)
        if fields.get("datasheet") is None:
            fields.pop("datasheet", None)
        return fields


MONEY_FIELDS = [
    "purchase_price",
    "installation_fee",
    "lease_monthly_fee",
    "lease_deposit",
    "lease_buyout_price",
    "monitoring_fee",
]


class RevisionForm(forms.Form):
    """The fields of a draft revision; prices per installed device, in yuan."""

    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_en = forms.CharField(
        label=_("English description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    purchase_price = YuanField(label=_("Purchase price per device (yuan)"))
    installation_fee = YuanField(label=_("Installation fee per device (yuan)"), initial=0)
    lease_monthly_fee = YuanField(
        label=_("Lease fee per device per month (yuan)"),
        required=False,
        help_text=_("Leave the lease fields empty if you do not lease."),
    )
    lease_min_months = forms.IntegerField(
        label=_("Minimum lease term (months)"), required=False, min_value=1, max_value=32767
    )
    lease_deposit = YuanField(label=_("Lease deposit per device (yuan)"), required=False)
    lease_buyout_price = YuanField(
        label=_("Buy-out price per device at the end (yuan)"), required=False
    )
    monitoring_fee = YuanField(label=_("Monitoring fee per device per month (yuan)"))
    warranty_months = forms.IntegerField(label=_("Warranty (months)"), min_value=0, max_value=32767)
    repair_sla_hours = forms.IntegerField(
        label=_("Repair SLA (hours)"), min_value=0, max_value=32767
    )

    @staticmethod
    def initial_for(revision: SolutionRevision) -> dict:
        initial = {name: getattr(revision, name) for name in RevisionForm.base_fields}
        for name in MONEY_FIELDS:
            initial[name] = fen_to_yuan(initial[name])
        return initial


class SolutionForm(RevisionForm):
    scenario = forms.ModelChoiceField(label=_("Scenario"), queryset=Scenario.objects.all())
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices)

    field_order = ["scenario", "tier"]


class BomLineForm(forms.Form):
    device_model = forms.ModelChoiceField(label=_("Device model"), queryset=DeviceModel.objects)
    rule = forms.ChoiceField(label=_("Quantity rule"), choices=BomLine.Rule.choices)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=32767)
    area_step_m2 = forms.IntegerField(label=_("N m²"), min_value=1, required=False)

    def __init__(self, *args, vendor: Vendor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device_model"].queryset = vendor.device_models.order_by("name")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("rule") == BomLine.Rule.PER_AREA and not cleaned.get("area_step_m2"):
            self.add_error("area_step_m2", _("A per-area rule needs the N in “per N m²”."))
        return cleaned


class BaseBomFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.lines():
            raise ValidationError(_("Add at least one device to the bill of materials."))

    def lines(self) -> list[dict]:
        keys = ["device_model", "rule", "quantity", "area_step_m2"]
        return [
            {key: form.cleaned_data.get(key) for key in keys}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


BomFormSet = forms.formset_factory(BomLineForm, formset=BaseBomFormSet, extra=2, can_delete=True)


def bom_formset(data, *, vendor: Vendor, revision: SolutionRevision | None = None):
    initial = None
    if revision is not None:
        initial = [
            {
                "device_model": line.device_model,
                "rule": line.rule,
                "quantity": line.quantity,
                "area_step_m2": line.area_step_m2,
            }
            for line in revision.bom.all()
        ]
    return BomFormSet(data, initial=initial, prefix="bom", form_kwargs={"vendor": vendor})
