"""Forms for the units pages. They parse input; the rules (a unit sits in a grid, a shift ends
after it starts, phone formats) belong to units.services, whose errors the views put back on
these forms with accounts.forms.form_add_service_errors."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from units import selectors
from units.models import Region, Unit

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class UnitFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *Unit.Kind.choices]
    )
    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Search by name")}),
    )


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, region: Region) -> str:
        if region.parent_id is None:
            return f"{region.name} ({region.code})"
        return f"{region.parent.name} › {region.name} ({region.code})"


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit: Unit) -> str:
        return f"{unit.name} ({unit.get_kind_display()})"


class UnitForm(forms.Form):
    """The unit profile. Only grids are offered as the region, yet any region code is accepted
    here: the service owns the rule and refuses a district with an error on `region`."""

    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Unit.Kind.choices)
    parent = UnitChoiceField(
        label=_("Inside unit"),
        queryset=Unit.objects.none(),
        to_field_name="public_id",
        required=False,
        help_text=_("The park, estate, building or scenic area this unit is part of, if any."),
    )
    region = RegionChoiceField(
        label=_("Grid"),
        queryset=Region.objects.select_related("parent"),
        to_field_name="code",
        help_text=_("The grid of the subdistrict that the unit is in."),
    )
    address = forms.CharField(label=_("Address"), max_length=300)
    floor_area_m2 = forms.IntegerField(label=_("Floor area (m²)"), min_value=1)
    floors = forms.IntegerField(label=_("Floors"), min_value=1, initial=1)
    shops_inside = forms.IntegerField(label=_("Shops inside"), min_value=0, initial=0)
    households = forms.IntegerField(label=_("Households"), min_value=0, initial=0)
    elevators = forms.IntegerField(label=_("Elevators"), min_value=0, initial=0)
    entrances = forms.IntegerField(label=_("Entrances and exits"), min_value=1, initial=1)
    daily_visitors = forms.IntegerField(label=_("Daily visitors"), min_value=0, initial=0)
    responsible_name = forms.CharField(label=_("First responsible person"), max_length=100)
    responsible_phone = forms.CharField(
        label=_("Responsible person's phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args, organisation: Organisation, unit: Unit | None = None, **kwargs):
        if unit is not None:
            kwargs.setdefault("initial", self.initial_for(unit))
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = selectors.unit_parent_choices_for(
            organisation=organisation, exclude=unit
        )
        grids = self.fields["region"].queryset.filter(level=Region.Level.GRID).order_by("code")
        region_field = self.fields["region"]
        region_field.choices = [("", "---------")] + [
            (grid.code, region_field.label_from_instance(grid)) for grid in grids
        ]

    @staticmethod
    def initial_for(unit: Unit) -> dict:
        initial = {name: getattr(unit, name) for name in UnitForm.base_fields}
        initial["parent"] = unit.parent.public_id if unit.parent_id else None
        initial["region"] = unit.region.code
        return initial


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    relation = forms.CharField(
        label=_("Role"),
        max_length=100,
        required=False,
        help_text=_("For example: shop manager, night guard."),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(label=_("E-mail address"), required=False)


class ContactMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])


def _datetime_local(label) -> forms.DateTimeField:
    """A datetime-local input, read and shown in the current time zone (Asia/Shanghai)."""
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
    )


class ShiftForm(forms.Form):
    starts_at = _datetime_local(_("Starts"))
    ends_at = _datetime_local(_("Ends"))
    contact_name = forms.CharField(label=_("On-duty contact"), max_length=100)
    contact_phone = forms.CharField(
        label=_("On-duty phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
