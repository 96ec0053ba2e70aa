"""The page behind a signed link in an alert's e-mail or SMS (/a/<token>/): see the alert and
acknowledge, dispatch or resolve it once, without logging in (alerts.links).

GET opens the link without using it; POST acts through `links.link_act` (one service), which
uses the link up only when the action succeeds. A forged link answers 400, an expired or used
one 410, each saying which. CSRF protection applies to the form as everywhere else.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.forms import form_add_service_errors
from alerts import links
from alerts.models import Alert
from alerts.transports import placement_text

TEMPLATE = "alerts/link.html"


class LinkActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("acknowledge", _("Acknowledge")),
            ("dispatch", _("Dispatch")),
            ("resolve", _("Resolve")),
        ]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Choose when resolving…"))]
        + [
            (value, label)
            for value, label in Alert.Outcome.choices
            if value in Alert.PERSON_OUTCOMES
        ],
        help_text=_("Needed to resolve: what the alert turned out to be."),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional: who went, what was found."),
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == "resolve" and not data.get("outcome"):
            self.add_error("outcome", _("Choose an outcome to resolve the alert."))
        return data


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


def _alert_context(alert: Alert) -> dict:
    return {
        "alert": alert,
        "placement": placement_text(alert),
        "unresolved": alert.status in Alert.UNRESOLVED,
        "may_acknowledge": alert.status == Alert.Status.OPEN,
        "may_dispatch": alert.status in (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def link_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        notification = links.link_open(token)
    except links.LinkError as refused:
        return _page(request, {"refused": refused}, status=refused.status)
    if request.method == "GET":
        context = _alert_context(notification.alert) | {"form": LinkActionForm()}
        return _page(request, context)
    form = LinkActionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            alert = links.link_act(
                token=token, action=data["action"], outcome=data["outcome"], note=data["note"]
            )
        except links.LinkError as refused:  # used meanwhile, by another press of the link
            return _page(request, {"refused": refused}, status=refused.status)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            notification.alert.refresh_from_db()
        else:
            return _page(request, _alert_context(alert) | {"done": data["action"]})
    return _page(request, _alert_context(notification.alert) | {"form": form}, status=400)


urlpatterns = [
    path("a/<str:token>/", link_page, name="link"),
]
