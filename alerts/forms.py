"""Forms of the alert pages. They check shape only; what may happen to an alert (who acts,
from which status, which outcome) is alerts.services.lifecycle's, and its errors are shown
under the field they name."""

from django import forms
from django.utils.translation import gettext_lazy as _

from alerts.models import LIFE_SAFETY_KINDS, Alert, Kind


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
