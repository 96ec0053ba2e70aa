"""Forms of the alert pages. They check shape only; what may happen to an alert (who acts,
from which status, which outcome) is alerts.services.lifecycle's, and its errors are shown
under the field they name."""

from decimal import Decimal

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from alerts.models import LIFE_SAFETY_KINDS, Alert, Kind, Target
from marketplace.models import Scenario
from units.models import Unit


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who was called, what was found."),
    )


class ResolveForm(forms.Form):
    # Not required here: the service says why an outcome is needed, in one wording for the
    # console, the alert page and the API.
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[
            ("", _("Choose an outcome…")),
            *[(o.value, o.label) for o in Alert.PERSON_OUTCOMES],
        ],
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *Kind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Alert.Status.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any outcome")), *Alert.Outcome.choices],
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


MUTABLE_KINDS = [(kind.value, kind.label) for kind in Kind if kind not in LIFE_SAFETY_KINDS]


class PreferenceForm(forms.Form):
    email = forms.BooleanField(label=_("E-mail"), required=False)
    sms = forms.BooleanField(label=_("SMS"), required=False)
    # Every kind is a valid value, so that a life-safety kind reaches the service and is
    # refused with its reason; only the kinds that can be muted are offered.
    muted_kinds = forms.MultipleChoiceField(
        label=_("Mute these kinds"),
        required=False,
        choices=Kind.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["muted_kinds"].widget.choices = MUTABLE_KINDS


# Escalation policies ---------------------------------------------------------------------------


class ScenarioChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, scenario: Scenario) -> str:
        return scenario.name_en if get_language() == "en" else scenario.name


class PolicyForm(forms.Form):
    """What a policy is called and which alerts it covers. Whether the steps make sense, and
    whether the authority has such a policy already, is alerts.services.policies' to say."""

    authority = forms.ChoiceField(label=_("Authority"))
    name = forms.CharField(label=_("Name"), max_length=200)
    scenario = ScenarioChoiceField(
        label=_("Scenario"),
        queryset=Scenario.objects.order_by("position", "code"),
        required=False,
        empty_label=_("Any scenario"),
    )
    unit_kind = forms.ChoiceField(
        label=_("Kind of unit"),
        required=False,
        choices=[("", _("Any kind of unit")), *Unit.Kind.choices],
    )

    def __init__(self, *args, authorities=(), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # what a policy covers is fixed once it exists
            for name in ("authority", "scenario", "unit_kind"):
                del self.fields[name]
            return
        authorities = list(authorities)
        self.authorities = {str(a.organisation.public_id): a for a in authorities}
        self.fields["authority"].choices = [
            (key, f"{a.organisation.name} · {a.region.name}") for key, a in self.authorities.items()
        ]
        if len(authorities) == 1:
            self.fields["authority"].widget = forms.HiddenInput()
            self.fields["authority"].initial = next(iter(self.authorities))

    def clean_authority(self):
        return self.authorities[self.cleaned_data["authority"]]


class StepForm(forms.Form):
    delay_minutes = forms.DecimalField(
        label=_("After (minutes) unacknowledged"),
        min_value=0,
        max_digits=7,
        decimal_places=2,
    )
    # Not required here: the service says "choose who is told", naming the step.
    targets = forms.MultipleChoiceField(
        label=_("Who is told"),
        required=False,
        choices=Target.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class BaseStepFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this step")

    def steps(self) -> list[dict]:
        """The kept rows, in page order, as the service takes them (delays in seconds)."""
        return [
            {
                "delay_s": int(round(form.cleaned_data["delay_minutes"] * 60)),
                "targets": form.cleaned_data.get("targets") or [],
            }
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def carried_over(self) -> tuple[list[dict], int]:
        """The rows as typed, valid or not, without the removed and the empty ones, and how
        many empty rows there were: what the form shows again when a step is added (nothing
        is saved or checked then)."""
        rows, empty = [], 0
        for form in self.forms:
            if "DELETE" in form.fields and form["DELETE"].value():
                continue
            delay = form["delay_minutes"].value()
            targets = form["targets"].value() or []
            if delay in (None, "") and not targets:
                empty += 1
                continue
            rows.append({"delay_minutes": delay, "targets": targets})
        return rows, empty


def step_formset(data=None, *, steps=None, extra: int = 1) -> BaseStepFormSet:
    """`steps`: the rows to start from, as (delay_s, targets) pairs or carried-over rows."""
    initial = []
    for step in steps or []:
        if isinstance(step, dict):
            initial.append(step)
        else:
            delay_s, targets = step
            initial.append({"delay_minutes": minutes(delay_s), "targets": list(targets)})
    formset_class = forms.formset_factory(
        StepForm, formset=BaseStepFormSet, extra=extra, can_delete=True
    )
    return formset_class(data, initial=initial, prefix="steps")


def minutes(delay_s: int) -> Decimal:
    """Seconds as minutes with two decimals; any whole number of seconds comes back as it was
    (an error under 0.5 s)."""
    return (Decimal(delay_s) / 60).quantize(Decimal("0.01")).normalize() + Decimal(0)
