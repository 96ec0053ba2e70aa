"""A unit's device pages: claim a delivered device (typed or from its QR label), say where it
is, see the unit's devices with their health, and one device's page with its telemetry chart,
events, state timeline and credentials.

Reads go through devices.selectors (a device of a unit the user may not see answers 404);
writes through one devices.services function each, whose PermissionDenied (a viewer, a park
office) answers 403 and whose ValidationError is shown under the field it names. An htmx
request gets the page's partial (`template#part`); everything also works without scripts.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import form_add_service_errors
from accounts.models import Organisation
from config.htmx import page_or_partial
from devices import charts, selectors, services
from devices.forms.unit import ClaimForm, DeviceFilterForm, PlacementForm
from devices.models import Device, Placement

PER_PAGE = 50
# The chart's two views: how far back, and the width of the buckets averaged in PostgreSQL.
RANGES = {
    "24h": (timedelta(hours=24), timedelta(minutes=5), gettext_lazy("24 hours")),
    "7d": (timedelta(days=7), timedelta(hours=1), gettext_lazy("7 days")),
}
EVENTS_SHOWN = 20


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _refused(request: HttpRequest) -> int:
    """The status of a form shown again with its errors: 400, except to htmx, which swaps
    only successful answers into the page."""
    return 200 if request.htmx else 400


def _role(request: HttpRequest, device: Device):
    """The user's membership in the organisation that owns the device's unit (None for a
    park office, an authority or a responder, who only look)."""
    return next(
        (m for m in request.memberships if m.organisation_id == device.unit.organisation_id),
        None,
    )


def _require_writer(request: HttpRequest, device: Device) -> None:
    membership = _role(request, device)
    if membership is None or not membership.can_write:
        raise PermissionDenied("Only the unit's owners, managers and staff place its devices")


def _placement(device: Device) -> Placement | None:
    try:
        return device.placement
    except Placement.DoesNotExist:
        return None


def detail_url(device: Device) -> str:
    return reverse("devices:detail", args=[device.public_id])


# Claiming -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest) -> HttpResponse:
    """Serial and claim code, typed or from the label's QR code (?serial=&code=): the code
    only prefills the form, the person still confirms and picks the unit."""
    units = selectors.device_claim_unit_choices(user=request.user)
    if not units.exists():
        raise PermissionDenied("Only owners, managers and staff of a unit claim devices")
    if request.method == "GET":
        form = ClaimForm(
            units=units,
            initial={
                "serial": request.GET.get("serial", "")[:64],
                "claim_code": request.GET.get("code", "")[:16],
            },
        )
        return render(request, "devices/unit_claim.html", {"form": form})
    form = ClaimForm(request.POST, units=units)
    if form.is_valid():
        data = form.cleaned_data
        try:
            device = services.device_claim(
                unit=data["unit"],
                by=request.user,
                serial=data["serial"],
                claim_code=data["claim_code"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(serial)s now belongs to %(unit)s. Say where it is placed.")
                % {"serial": device.serial, "unit": data["unit"].name},
            )
            return _redirect(request, reverse("devices:placement", args=[device.public_id]))
    return render(
        request,
        page_or_partial(request, "devices/unit_claim.html", "form"),
        {"form": form},
        status=_refused(request),
    )


# Placement ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def placement(request: HttpRequest, public_id) -> HttpResponse:
    device = selectors.device_detail_for(user=request.user, public_id=public_id)
    _require_writer(request, device)
    current = _placement(device)
    if request.method == "GET":
        initial = {}
        if current is not None:  # changing a placement starts from the current one
            initial = {name: getattr(current, name) for name in PlacementForm.base_fields}
        form = PlacementForm(unit=device.unit, initial=initial)
        return render(request, "devices/unit_placement.html", {"device": device, "form": form})
    form = PlacementForm(request.POST, unit=device.unit)
    if form.is_valid():
        try:
            services.device_place(device=device, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The placement of %(serial)s is saved.") % {"serial": device.serial}
            )
            return _redirect(request, detail_url(device))
    return render(
        request,
        page_or_partial(request, "devices/unit_placement.html", "form"),
        {"device": device, "form": form},
        status=_refused(request),
    )


# The unit's devices ---------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def device_list(request: HttpRequest) -> HttpResponse:
    filters = DeviceFilterForm(
        request.GET, units=selectors.device_filter_unit_choices(user=request.user)
    )
    criteria = filters.cleaned_data if filters.is_valid() else {}
    now = timezone.now()
    devices = selectors.device_search_for(
        user=request.user,
        unit=criteria.get("unit"),
        state=criteria.get("state", ""),
        low_battery=criteria.get("low_battery", False),
        offline=criteria.get("offline", False),
        serial=criteria.get("q", ""),
        now=now,
    )
    page = Paginator(devices, PER_PAGE).get_page(request.GET.get("page"))
    writable = {m.organisation_id for m in request.memberships if m.can_write}
    rows = [
        {
            "device": device,
            "placement": _placement(device),
            "overdue": selectors.device_overdue(device, now=now),
            "low_battery": device.battery_pct is not None
            and device.battery_pct < selectors.LOW_BATTERY_PCT,
            "may_place": device.unit.organisation_id in writable,
        }
        for device in page
    ]
    context = {
        "filters": filters,
        "page_obj": page,
        "rows": rows,
        "may_claim": any(
            m.can_write and m.organisation.kind == Organisation.Kind.UNIT
            for m in request.memberships
        ),
        "low_battery_pct": selectors.LOW_BATTERY_PCT,
    }
    return render(request, page_or_partial(request, "devices/unit_list.html", "results"), context)


# One device -----------------------------------------------------------------------------------


def _telemetry_context(request: HttpRequest, device: Device) -> dict:
    """The chart of one of the model's metrics over the last 24 h or 7 d."""
    metrics = [
        metric
        for metric in device.device_model.metrics or []
        if isinstance(metric, dict) and metric.get("name")
    ]
    wanted = request.GET.get("metric")
    metric = next((m for m in metrics if m["name"] == wanted), metrics[0] if metrics else None)
    range_key = request.GET.get("range") if request.GET.get("range") in RANGES else "24h"
    span, bucket, range_label = RANGES[range_key]
    context = {
        "metrics": metrics,
        "metric": metric,
        "range": range_key,
        "ranges": [(key, label) for key, (_span, _bucket, label) in RANGES.items()],
        "chart": None,
    }
    if metric is None:
        return context
    end = timezone.now()
    start = end - span
    points = selectors.device_telemetry(
        device=device, metric=metric["name"], start=start, end=end, bucket=bucket
    )
    unit = str(metric.get("unit") or "")
    title = _("%(metric)s over the last %(range)s") % {
        "metric": f"{metric['name']} ({unit})" if unit else metric["name"],
        "range": range_label,
    }
    context["chart"] = charts.line_chart(
        points=points,
        start=start,
        end=end,
        title=title,
        unit=unit,
        low=_number_or_none(metric.get("min")),
        high=_number_or_none(metric.get("max")),
        gap=bucket * 3,
        chart_id="telemetry-chart",
    )
    context["point_count"] = len(points)
    return context


def _number_or_none(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _detail_context(request: HttpRequest, device: Device) -> dict:
    membership = _role(request, device)
    now = timezone.now()
    return {
        "device": device,
        "placement": _placement(device),
        "overdue": selectors.device_overdue(device, now=now),
        "low_battery": device.battery_pct is not None
        and device.battery_pct < selectors.LOW_BATTERY_PCT,
        "may_write": membership is not None and membership.can_write,
        "may_manage": membership is not None and membership.can_manage,
        "is_member": membership is not None,
        "events": selectors.device_events_recent(device=device, limit=EVENTS_SHOWN),
        "transitions": selectors.device_transition_list(device=device),
        "states": Device.State,
        **_telemetry_context(request, device),
    }


@login_required
@vary_on_headers("HX-Request")
def detail(request: HttpRequest, public_id) -> HttpResponse:
    device = selectors.device_detail_for(user=request.user, public_id=public_id)
    if request.htmx and request.htmx.target == "telemetry":  # the chart's toggles
        return render(
            request,
            "devices/unit_detail.html#telemetry",
            {"device": device, **_telemetry_context(request, device)},
        )
    return render(request, "devices/unit_detail.html", _detail_context(request, device))


@login_required
@require_POST
def token_rotate(request: HttpRequest, public_id) -> HttpResponse:
    """A new device token, shown on this answer only (it is stored hashed)."""
    device = selectors.device_detail_for(user=request.user, public_id=public_id)
    try:
        token = services.device_token_rotate(device=device, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _redirect(request, detail_url(device))
    device.refresh_from_db(fields=["token_hash", "token_prefix"])
    context = _detail_context(request, device) | {"new_token": token}
    if request.htmx:
        response = render(request, "devices/unit_detail.html#credentials", context)
    else:
        response = render(request, "devices/unit_detail.html", context)
    response["Cache-Control"] = "no-store"  # the token must not stay in any cache
    return response


urlpatterns = [
    path("devices/", device_list, name="list"),
    path("devices/claim/", claim, name="claim"),
    path("devices/<uuid:public_id>/", detail, name="detail"),
    path("devices/<uuid:public_id>/placement/", placement, name="placement"),
    path("devices/<uuid:public_id>/token/", token_rotate, name="token"),
]
