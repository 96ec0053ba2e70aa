"""The alert pages: the responder console, one alert's page, a unit's alert history and a
member's notification preferences.

Reads go through alerts.selectors (an alert or unit the user may not see answers 404); each
button calls one alerts.services function with `via=console`. A PermissionDenied from the
service (a viewer, an authority) answers 403; a ValidationError (no outcome, already
acknowledged) is shown where the person pressed. An htmx request gets the part of the page it
swaps (`template#part`): the console's list or one of its rows, the alert page's handling
section, a preference card. Everything also works without scripts: plain forms post and are
redirected back.
"""

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.forms import form_add_service_errors
from alerts import selectors
from alerts.forms import HistoryFilterForm, NoteForm, PreferenceForm, ResolveForm
from alerts.models import LIFE_SAFETY_KINDS, Alert, AlertEntry, Kind, Severity
from alerts.services import lifecycle
from alerts.services.preferences import preference_update
from devices.models import Placement
from units.selectors import contact_list, unit_get_for

HISTORY_PER_PAGE = 50
CONSOLE = AlertEntry.Via.CONSOLE


def alert_url(alert: Alert) -> str:
    return reverse("alerts:detail", args=[alert.public_id])


def _placement(alert: Alert) -> Placement | None:
    try:
        return alert.device.placement
    except Placement.DoesNotExist:
        return None


# The console ----------------------------------------------------------------------------------


def _row_context() -> dict:
    """What every console row needs, worked out once for all the rows of a page (a template
    loop or a reverse() per row costs milliseconds over 200 rows)."""
    return {
        "outcome_options": format_html_join(
            "",
            '<option value="{}">{}</option>',
            ((outcome.value, outcome.label) for outcome in Alert.PERSON_OUTCOMES),
        ),
        "console_url": reverse("alerts:console"),
    }


def _console_context(request: HttpRequest) -> dict:
    alerts = list(selectors.console_alerts_for(user=request.user)[: selectors.CONSOLE_LIMIT])
    fingerprint = hashlib.sha1(
        "|".join(
            f"{alert.public_id}:{alert.status}:{alert.event_count}:{alert.may_act}"
            for alert in alerts
        ).encode()
    ).hexdigest()[:16]
    critical = [alert for alert in alerts if alert.severity == Severity.CRITICAL]
    newest_critical = max(critical, key=lambda alert: alert.raised_at, default=None)
    return {
        "alerts": alerts,
        "version": fingerprint,
        "newest_critical": newest_critical,
        # Milliseconds since the epoch: console.js compares it with the last one it saw.
        "newest_critical_at": int(newest_critical.raised_at.timestamp() * 1000)
        if newest_critical
        else 0,
        "limit": selectors.CONSOLE_LIMIT,
        **_row_context(),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def console(request: HttpRequest) -> HttpResponse:
    """Open alerts in the user's area, critical first, then newest. The list polls itself
    every 2 s; an unchanged list answers 204 and htmx leaves the page alone."""
    context = _console_context(request)
    if request.htmx:
        if request.GET.get("v") == context["version"]:
            return HttpResponse(status=204)
        return render(request, "alerts/console.html#console-list", context)
    return render(request, "alerts/console.html", context)


# One alert --------------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, alert: Alert, **forms) -> dict:
    unit = alert.unit
    return {
        "alert": alert,
        "placement": _placement(alert),
        "unit": unit,
        "park": unit.parent,
        "contacts": contact_list(unit=unit),
        "timeline": selectors.alert_timeline(alert=alert),
        "notifications": selectors.alert_notifications(alert=alert),
        "may_act": alert.may_act,
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "life_safety": alert.kind in LIFE_SAFETY_KINDS,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def detail(request: HttpRequest, public_id) -> HttpResponse:
    alert = selectors.alert_row_get_for(user=request.user, public_id=public_id)
    template = "alerts/alert_detail.html"
    if request.htmx and request.htmx.target == "handling":
        template += "#handling"
    return render(request, template, _detail_context(request, alert))


def _next_url(request: HttpRequest, alert: Alert) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return alert_url(alert)


def _act(request: HttpRequest, public_id, *, form_class, action, done: str) -> HttpResponse:
    """One button on an alert: parse, call the service, and answer where it was pressed."""
    alert = selectors.alert_row_get_for(user=request.user, public_id=public_id)
    form = form_class(request.POST)
    error: ValidationError | None = None
    if form.is_valid():
        try:
            action(alert, form.cleaned_data)
        except ValidationError as exc:
            error = exc
            form_add_service_errors(form, exc)
    else:
        error = ValidationError(form.errors)
    target = request.htmx.target if request.htmx else None
    if target or error is None:
        alert = selectors.alert_row_get_for(user=request.user, public_id=public_id)
    if target == f"alert-{alert.public_id}":  # a console row
        context = {"alert": alert, "row_errors": _errors(form, error), **_row_context()}
        if error is None:
            context["row_done"] = done
        return render(request, "alerts/console.html#alert-row", context)
    if target == "handling":  # the alert page's status, buttons and timeline
        forms = {"resolve_form": form} if form_class is ResolveForm else {"note_form": form}
        context = _detail_context(request, alert, **(forms if error else {}))
        context["handling_errors"] = _errors(form, error)
        context["handling_done"] = done if error is None else ""
        return render(request, "alerts/alert_detail.html#handling", context)
    if error is None:
        messages.success(request, done)
        return redirect(_next_url(request, alert))
    if form.has_error("outcome") or form.has_error("note"):
        forms = {"resolve_form": form} if form_class is ResolveForm else {"note_form": form}
        context = _detail_context(request, alert, **forms)
        context["handling_errors"] = _errors(form, error)
        return render(request, "alerts/alert_detail.html", context, status=400)
    messages.error(request, " ".join(_errors(form, error)))
    return redirect(_next_url(request, alert))


def _errors(form, error: ValidationError | None) -> list[str]:
    """Each message once, prefixed by the field it concerns ("Outcome: choose one…")."""
    if error is None:
        return []
    lines = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        lines += [f"{label}: {message}" if label else str(message) for message in errors]
    return lines or list(error.messages)


@login_required
@require_POST
def acknowledge(request: HttpRequest, public_id) -> HttpResponse:
    return _act(
        request,
        public_id,
        form_class=NoteForm,
        action=lambda alert, data: lifecycle.alert_acknowledge(
            alert=alert, by=request.user, via=CONSOLE, note=data["note"]
        ),
        done=_("Acknowledged: escalation has stopped."),
    )


@login_required
@require_POST
def dispatch(request: HttpRequest, public_id) -> HttpResponse:
    return _act(
        request,
        public_id,
        form_class=NoteForm,
        action=lambda alert, data: lifecycle.alert_dispatch(
            alert=alert, by=request.user, via=CONSOLE, note=data["note"]
        ),
        done=_("Dispatched: someone is on the way."),
    )


@login_required
@require_POST
def resolve(request: HttpRequest, public_id) -> HttpResponse:
    return _act(
        request,
        public_id,
        form_class=ResolveForm,
        action=lambda alert, data: lifecycle.alert_resolve(
            alert=alert, by=request.user, via=CONSOLE, outcome=data["outcome"], note=data["note"]
        ),
        done=_("Resolved."),
    )


@login_required
@require_POST
def note(request: HttpRequest, public_id) -> HttpResponse:
    return _act(
        request,
        public_id,
        form_class=NoteForm,
        action=lambda alert, data: lifecycle.alert_note(
            alert=alert, by=request.user, via=CONSOLE, note=data["note"]
        ),
        done=_("The note is in the timeline."),
    )


# A unit's history -------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def unit_history(request: HttpRequest, public_id) -> HttpResponse:
    unit = unit_get_for(user=request.user, public_id=public_id)
    filters = HistoryFilterForm(request.GET)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    alerts = selectors.unit_alert_history_for(
        user=request.user,
        unit=unit,
        kind=criteria.get("kind", ""),
        status=criteria.get("status", ""),
        outcome=criteria.get("outcome", ""),
        since=criteria.get("since"),
        until=criteria.get("until"),
    )
    page = Paginator(alerts, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    # The rate reads every resolved alert in the period, whatever its status filter says.
    period = selectors.unit_alert_history_for(
        user=request.user,
        unit=unit,
        kind=criteria.get("kind", ""),
        since=criteria.get("since"),
        until=criteria.get("until"),
    )
    context = {
        "unit": unit,
        "filters": filters,
        "page_obj": page,
        "alerts": list(page),
        "rates": selectors.false_alarm_rates(alerts=period),
    }
    template = "alerts/unit_history.html"
    return render(request, f"{template}#results" if request.htmx else template, context)


# Preferences ------------------------------------------------------------------------------------


def _preference_form(preference, organisation, data=None) -> PreferenceForm:
    return PreferenceForm(
        data,
        prefix=str(organisation.public_id),
        initial={
            "email": preference.email,
            "sms": preference.sms,
            "muted_kinds": list(preference.muted_kinds),
        },
    )


def _life_safety_labels() -> list[str]:
    return [Kind(kind).label for kind in Kind if kind in LIFE_SAFETY_KINDS]


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    items = [
        item | {"form": _preference_form(item["preference"], item["organisation"])}
        for item in selectors.preference_list_for(user=request.user)
    ]
    context = {"items": items, "life_safety_kinds": _life_safety_labels()}
    if request.method == "GET":
        return render(request, "alerts/preferences.html", context)

    organisation = selectors.preference_organisation_get_for(
        user=request.user, public_id=request.POST.get("organisation")
    )
    item = next(item for item in items if item["organisation"].pk == organisation.pk)
    form = _preference_form(item["preference"], organisation, request.POST)
    item["form"] = form
    saved = False
    if form.is_valid():
        try:
            item["preference"] = preference_update(
                user=request.user, organisation=organisation, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            saved = True
    if saved and not request.htmx:
        messages.success(
            request, _("Saved your alert channels for %(name)s.") % {"name": organisation.name}
        )
        return redirect("alerts:preferences")
    if request.htmx:
        item["saved"] = saved
        return render(request, "alerts/preferences.html#preference", context | {"item": item})
    return render(request, "alerts/preferences.html", context, status=400)
