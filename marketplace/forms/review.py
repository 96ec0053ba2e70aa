"""Forms of the reviewers' pages: standards (prices typed in yuan, stored in fen), checklist
verdicts, decisions and certificate actions."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.models import (
    AcquisitionMode,
    Requirement,
    RequirementVerdict,
    Review,
    Scenario,
    Tier,
)


class YuanField(forms.DecimalField):
    """An amount typed in yuan (12.50) and cleaned to integer fen (1250): no floats."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(max_digits=12, decimal_places=2, **kwargs)

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int(amount * 100)


class StandardCreateForm(forms.Form):
    scenario = forms.ModelChoiceField(
        label=_("Scenario"), queryset=Scenario.objects.all(), to_field_name="code"
    )
    title = forms.CharField(label=_("Title (Chinese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    allowed_modes = forms.MultipleChoiceField(
        label=_("Acquisition modes allowed"),
        choices=AcquisitionMode.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    monitoring_fee_min = YuanField(label=_("Monitoring fee floor (¥ per device per month)"))
    monitoring_fee_max = YuanField(label=_("Monitoring fee ceiling (¥ per device per month)"))


class StandardUpdateForm(StandardCreateForm):
    """A draft's titles, modes and monitoring-fee band (its scenario is fixed)."""

    scenario = None


class RequirementForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=16)
    text = forms.CharField(label=_("Text (Chinese)"), widget=forms.Textarea(attrs={"rows": 2}))
    text_en = forms.CharField(label=_("Text (English)"), widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=_("Kind"), choices=Requirement.Kind.choices)
    threshold = forms.DecimalField(
        label=_("Threshold (performance only)"), max_digits=12, decimal_places=3, required=False
    )
    threshold_unit = forms.CharField(label=_("Threshold unit"), max_length=16, required=False)
    tiers = forms.MultipleChoiceField(
        label=_("Tiers that must meet it"),
        choices=Tier.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class BandForm(forms.Form):
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices)
    price_min = YuanField(label=_("Price floor per device (¥)"))
    price_max = YuanField(label=_("Price ceiling per device (¥)"))


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Verdict"), choices=RequirementVerdict.Verdict.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    evidence = forms.FileField(label=_("Evidence"), required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=Review.Decision.choices, widget=forms.RadioSelect
    )
    reasons = forms.CharField(
        label=_("Reasons"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to request changes or to reject; the vendor reads them."),
    )


class CertificateActionForm(forms.Form):
    ACTIONS = [
        ("suspend", _("Suspend")),
        ("reinstate", _("Reinstate")),
        ("revoke", _("Revoke")),
    ]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The vendor and the units that bought this solution are told."),
    )
