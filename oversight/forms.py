"""Forms for the programme pages. They parse input; the rules (a region inside the
authority's, a kind the scenario applies to, a deadline in the future) belong to
oversight.services, whose errors the views put back on these forms by field."""

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from marketplace.models import Scenario
from units.models import Region, Unit

SORT_CHOICES = [("tier", _("Tier, then price")), ("price", _("Price, lowest first"))]


class ScenarioChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, scenario: Scenario) -> str:
        english = (get_language() or "").startswith("en")
        return (scenario.name_en if english else "") or scenario.name


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, region: Region) -> str:
        return f"{region.name} · {region.get_level_display()} ({region.code})"


class ProgrammeForm(forms.Form):
    """Offers the authority's own regions; any code is parsed, so that the service's rule
    answers a region outside with an error on `region`."""

    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("For example: every shop in Tianzifang has fire-safety monitoring."),
    )
    region = RegionChoiceField(
        label=_("Region"), queryset=Region.objects.all(), to_field_name="code"
    )
    unit_kind = forms.ChoiceField(label=_("Units of kind"), choices=Unit.Kind.choices)
    scenario = ScenarioChoiceField(
        label=_("Must be covered for"), queryset=Scenario.objects.all(), to_field_name="code"
    )
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["region"]
        field.widget.choices = [
            (region.code, field.label_from_instance(region)) for region in regions
        ]


class HomeSortForm(forms.Form):
    """How a unit's home page orders the certified options: the unit's choice."""

    sort = forms.ChoiceField(label=_("Order options by"), choices=SORT_CHOICES, required=False)

    def sort_value(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else "") or "tier"
