"""The vendor's device pages: its stock (filters, counts per state, label sheets), bulk
provisioning by CSV with a live progress bar, one device's page (credentials, return and
restock), fulfilment of a paid order (serials to its lines, then shipping), lease returns, and
the fleet's health at the units it supplied (never where a device is placed, nor its alerts).

The stock, imports and fleet are the vendor's the person works for (request.membership); a
person working for no vendor gets 404. A device, an import or an order is looked up through a
selector scoped to the person, so another vendor's answers 404. Writes go through one service
each, whose PermissionDenied (a viewer) answers 403 and whose ValidationError is shown under
the field it names. An htmx request gets the page's partial; everything works without scripts.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import form_add_service_errors
from accounts.models import Membership, Organisation
from billing import selectors as billing_selectors
from billing.forms import ShipForm
from billing.models import Order
from config.htmx import page_or_partial
from devices import imports, labels, selectors, services
from devices.forms.vendor import (
    AllocateForm,
    FleetFilterForm,
    ImportForm,
    InventoryFilterForm,
    ProvisionForm,
)
from devices.models import Device, InventoryImport
from marketplace import selectors as marketplace_selectors
from marketplace.models import Vendor

PER_PAGE = 50
IMPORTS_SHOWN = 20
RETURNS_SHOWN = 200
State = Device.State
# Orders whose devices are still being put together.
FULFILLING = {Order.Status.PAID, Order.Status.FULFILLING}


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _refused(request: HttpRequest) -> int:
    """A form shown again with its errors: 400, except to htmx, which swaps only 2xx."""
    return 200 if request.htmx else 400


def _vendor(request: HttpRequest) -> tuple[Membership, Vendor]:
    """The vendor the person works for now; 404 for anyone else."""
    membership: Membership | None = request.membership
    if membership is None or membership.organisation.kind != Organisation.Kind.VENDOR:
        raise Http404("Not working for a vendor")
    vendor = marketplace_selectors.vendor_profile_of(
        user=request.user, organisation=membership.organisation
    )
    if vendor is None:
        raise Http404("The vendor profile is not filled in yet")
    return membership, vendor


def _role(request: HttpRequest, organisation_id: int) -> Membership | None:
    return next((m for m in request.memberships if m.organisation_id == organisation_id), None)


def _may(request: HttpRequest, organisation_id: int, *, manage: bool = False) -> bool:
    membership = _role(request, organisation_id)
    if membership is None:
        return False
    return membership.can_manage if manage else membership.can_write


def _district(unit) -> str:
    """The name of the district a unit is in, in the page's language."""
    district = selectors.unit_district(unit)
    if district is None:
        return ""
    return district.display_name("en" if (get_language() or "").startswith("en") else None)


def _shown_once(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # a token must not stay in any cache
    return response


def device_url(device: Device) -> str:
    return reverse("devices:inventory_device", args=[device.public_id])


# Stock ---------------------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def inventory(request: HttpRequest) -> HttpResponse:
    membership, vendor = _vendor(request)
    device_models = selectors.vendor_device_models(vendor=vendor)
    filters = InventoryFilterForm(request.GET, device_models=device_models)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    scope = {
        "user": request.user,
        "vendor": vendor,
        "device_model": criteria.get("model"),
        "serial": criteria.get("q", ""),
    }
    counts = selectors.device_state_counts(devices=selectors.vendor_inventory_for(**scope))
    state = criteria.get("state", "")
    devices = selectors.vendor_inventory_for(state=state, **scope)
    page = Paginator(devices, PER_PAGE).get_page(request.GET.get("page"))
    label_query = request.GET.copy()
    label_query.pop("page", None)
    context = {
        "vendor": vendor,
        "filters": filters,
        "page_obj": page,
        "devices": list(page),
        "state": state,
        "counts": [
            {"state": value, "label": label, "count": counts.get(value, 0)}
            for value, label in State.choices
        ],
        "total": sum(counts.values()),
        "matching": page.paginator.count,
        "label_query": label_query.urlencode(),
        "label_parts": _label_parts(page.paginator.count),
        "may_write": membership.can_write,
    }
    return render(
        request, page_or_partial(request, "devices/vendor_inventory.html", "results"), context
    )


@login_required
@require_http_methods(["GET", "POST"])
def provision(request: HttpRequest) -> HttpResponse:
    """One device by hand: its token is on the answer and nowhere else."""
    membership, vendor = _vendor(request)
    if not membership.can_write:
        raise PermissionDenied("Viewers do not provision devices")
    device_models = selectors.vendor_device_models(vendor=vendor)
    form = ProvisionForm(
        request.POST if request.method == "POST" else None, device_models=device_models
    )
    if request.method == "POST" and form.is_valid():
        try:
            device, token = services.device_provision(
                vendor=vendor,
                device_model=form.cleaned_data["model"],
                serial=form.cleaned_data["serial"],
                by=request.user,
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            device = selectors.vendor_device_detail_for(
                user=request.user, public_id=device.public_id
            )
            context = _device_context(request, device) | {"new_token": token}
            return _shown_once(render(request, "devices/vendor_device.html", context))
    status = 200 if request.method == "GET" else 400
    return render(request, "devices/vendor_provision.html", {"form": form}, status=status)


# Bulk provisioning ---------------------------------------------------------------------------


def import_url(inventory_import: InventoryImport) -> str:
    return reverse("devices:import", args=[inventory_import.public_id])


@login_required
@require_http_methods(["GET", "POST"])
def import_create(request: HttpRequest) -> HttpResponse:
    membership, vendor = _vendor(request)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if request.method == "POST":
        if not membership.can_write:
            raise PermissionDenied("Viewers do not provision devices")
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > imports.MAX_BYTES:
                    raise ValidationError({"file": _("The file is larger than 8 MB: split it.")})
                inventory_import = imports.inventory_import_create(
                    vendor=vendor, by=request.user, name=upload.name, content=upload.read()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return _redirect(request, import_url(inventory_import))
    context = {
        "form": form,
        "may_write": membership.can_write,
        "imports": selectors.inventory_import_list_for(user=request.user, vendor=vendor)[
            :IMPORTS_SHOWN
        ],
    }
    status = 200 if request.method == "GET" or not form.errors else _refused(request)
    return render(request, "devices/vendor_import.html", context, status=status)


def _label_parts(count: int) -> list[dict]:
    """The PDFs that print `count` labels, MAX_LABELS each: [{part, first, last}, …]."""
    per = labels.MAX_LABELS
    return [
        {"part": part, "first": (part - 1) * per + 1, "last": min(part * per, count)}
        for part in range(1, (count + per - 1) // per + 1)
    ]


@login_required
@vary_on_headers("HX-Request")
def import_detail(request: HttpRequest, public_id) -> HttpResponse:
    """The import's progress (polled every second by htmx until it ends) and its report."""
    inventory_import = selectors.inventory_import_get_for(user=request.user, public_id=public_id)
    refused = [
        error | {"message": imports.error_message(error)} for error in inventory_import.errors
    ]
    context = {
        "import": inventory_import,
        "refused": refused,
        "unlisted": inventory_import.error_count - len(refused),
        "label_parts": _label_parts(inventory_import.created_count),
    }
    response = render(
        request, page_or_partial(request, "devices/vendor_import_detail.html", "report"), context
    )
    response["Cache-Control"] = "no-cache"
    return response


# Labels --------------------------------------------------------------------------------------


def _uuids(values: list[str]) -> list[uuid.UUID] | None:
    try:
        return [uuid.UUID(value) for value in values]
    except ValueError:
        return None


@login_required
def label_sheet(request: HttpRequest) -> HttpResponse:
    """A PDF of labels: for the devices ticked (?device=…), an order's devices (?order=…), an
    import's devices (?import=…) or the stock page's filters; MAX_LABELS per file, the rest
    in parts (?part=2, …)."""
    _membership, vendor = _vendor(request)
    chosen = _uuids(request.GET.getlist("device"))
    if chosen is None:
        return HttpResponseBadRequest(_("device: not a device identifier."))
    try:
        part = max(1, int(request.GET.get("part", "1")))
    except ValueError:
        return HttpResponseBadRequest(_("part: not a number."))
    scope = {"user": request.user, "vendor": vendor}
    name = "labels"
    if chosen:
        devices = selectors.vendor_inventory_for(**scope).filter(public_id__in=chosen)
    elif request.GET.get("order"):
        order_id = _uuids([request.GET["order"]])
        if not order_id:
            raise Http404("No such order")
        order = billing_selectors.vendor_order_get_for(user=request.user, public_id=order_id[0])
        devices = selectors.vendor_inventory_for(**scope).filter(order_line__order=order)
        name = f"labels-{order.number}"
    elif request.GET.get("import"):
        import_id = _uuids([request.GET["import"]])
        if not import_id:
            raise Http404("No such import")
        inventory_import = selectors.inventory_import_get_for(
            user=request.user, public_id=import_id[0]
        )
        devices = selectors.vendor_inventory_for(inventory_import=inventory_import, **scope)
        name = f"labels-{timezone.localtime(inventory_import.created_at):%Y%m%d-%H%M}"
    else:
        filters = InventoryFilterForm(
            request.GET, device_models=selectors.vendor_device_models(vendor=vendor)
        )
        if not filters.is_valid():
            field, errors = next(iter(filters.errors.items()))
            return HttpResponseBadRequest(f"{field}: {' '.join(errors)}")
        devices = selectors.vendor_inventory_for(
            state=filters.cleaned_data["state"],
            device_model=filters.cleaned_data["model"],
            serial=filters.cleaned_data["q"],
            **scope,
        )
    per = labels.MAX_LABELS
    chunk = devices.select_related("device_model")[(part - 1) * per : part * per]
    pdf = labels.labels_pdf(chunk, title=_("Device labels"))
    response = HttpResponse(pdf, content_type="application/pdf")
    suffix = f"-{part}" if part > 1 else ""
    response["Content-Disposition"] = f'inline; filename="{name}{suffix}.pdf"'
    return response


# One device ----------------------------------------------------------------------------------


def _device_context(request: HttpRequest, device: Device) -> dict:
    organisation_id = device.vendor.organisation_id
    return {
        "device": device,
        "district": _district(device.unit),
        "transitions": selectors.device_transition_list(device=device),
        "may_write": _may(request, organisation_id),
        "may_manage": _may(request, organisation_id, manage=True),
        # Offered for a leased device coming back, or one that never reached a unit (a
        # parcel sent back); the service itself would also take back a bought device.
        "receivable": device.state not in {State.IN_STOCK, State.RETURNED, State.RETIRED}
        and (
            device.unit_id is None
            or (device.lease is not None and device.lease.status in selectors.LEASE_RETURNING)
        ),
        "has_credentials": bool(device.token_prefix)
        and device.state not in {State.RETURNED, State.RETIRED},
    }


@login_required
def device_detail(request: HttpRequest, public_id) -> HttpResponse:
    device = selectors.vendor_device_detail_for(user=request.user, public_id=public_id)
    return render(request, "devices/vendor_device.html", _device_context(request, device))


def _device_answer(request: HttpRequest, device: Device, token: str) -> HttpResponse:
    device = selectors.vendor_device_detail_for(user=request.user, public_id=device.public_id)
    context = _device_context(request, device) | {"new_token": token}
    if request.htmx:
        return _shown_once(render(request, "devices/vendor_device.html#credentials", context))
    return _shown_once(render(request, "devices/vendor_device.html", context))


@login_required
@require_POST
def device_token(request: HttpRequest, public_id) -> HttpResponse:
    """A new token, shown on this answer only (it is stored hashed)."""
    device = selectors.vendor_device_detail_for(user=request.user, public_id=public_id)
    try:
        token = services.device_token_rotate(device=device, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _redirect(request, device_url(device))
    return _device_answer(request, device, token)


def _back(request: HttpRequest, device: Device) -> str:
    return (
        reverse("devices:returns") if request.POST.get("back") == "returns" else device_url(device)
    )


@login_required
@require_POST
def device_returned(request: HttpRequest, public_id) -> HttpResponse:
    """The device is physically back: unbound from its unit, credentials revoked."""
    device = selectors.vendor_device_detail_for(user=request.user, public_id=public_id)
    try:
        services.device_return(device=device, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(serial)s is received back.") % {"serial": device.serial})
    return _redirect(request, _back(request, device))


@login_required
@require_POST
def device_restock(request: HttpRequest, public_id) -> HttpResponse:
    """Refurbished: in stock again with a new claim code and a new token, shown once."""
    device = selectors.vendor_device_detail_for(user=request.user, public_id=public_id)
    try:
        device, token = services.device_restock(device=device, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _redirect(request, _back(request, device))
    messages.success(request, _("%(serial)s is back in stock.") % {"serial": device.serial})
    return _device_answer(request, device, token)


@login_required
def returns(request: HttpRequest) -> HttpResponse:
    membership, vendor = _vendor(request)
    coming_back, received = selectors.vendor_returns_for(user=request.user, vendor=vendor)
    coming_back = list(coming_back[:RETURNS_SHOWN])
    context = {
        "coming_back": [
            {"device": device, "district": _district(device.unit)} for device in coming_back
        ],
        "received": list(received[:RETURNS_SHOWN]),
        "may_write": membership.can_write,
        "shown": RETURNS_SHOWN,
    }
    return render(request, "devices/vendor_returns.html", context)


# Fulfilment ----------------------------------------------------------------------------------


def fulfil_url(order: Order) -> str:
    return reverse("devices:fulfil", args=[order.public_id])


def _fulfil_response(request: HttpRequest, order: Order, *, status=200, **forms) -> HttpResponse:
    lines = selectors.order_allocation(order=order)
    missing = sum(max(0, line.quantity - len(line.allocated)) for line in lines)
    open_ = order.status in FULFILLING
    context = {
        "order": order,
        "lines": lines,
        "missing": missing,
        "allocated": sum(len(line.allocated) for line in lines),
        "may_write": _may(request, order.vendor.organisation_id),
        "may_allocate": open_ and missing > 0,
        "may_ship": open_,
        "allocate_form": forms.get("allocate_form") or AllocateForm(),
        "ship_form": forms.get("ship_form") or ShipForm(),
    }
    return render(
        request,
        page_or_partial(request, "devices/vendor_fulfil.html", "fulfilment"),
        context,
        status=status,
    )


@login_required
def fulfil(request: HttpRequest, public_id) -> HttpResponse:
    order = billing_selectors.vendor_order_get_for(user=request.user, public_id=public_id)
    return _fulfil_response(request, order)


@login_required
@require_POST
def fulfil_allocate(request: HttpRequest, public_id) -> HttpResponse:
    order = billing_selectors.vendor_order_get_for(user=request.user, public_id=public_id)
    form = AllocateForm(request.POST)
    if form.is_valid():
        try:
            allocated = services.devices_allocate(
                order=order, by=request.user, serials=form.cleaned_data["serials"]
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(count)s devices allocated to order %(number)s.")
                % {"count": len(allocated), "number": order.number},
            )
            return _redirect(request, fulfil_url(order))
    return _fulfil_response(request, order, status=_refused(request), allocate_form=form)


@login_required
@require_POST
def fulfil_ship(request: HttpRequest, public_id) -> HttpResponse:
    """Ships the order and its devices together; refused while devices are missing."""
    order = billing_selectors.vendor_order_get_for(user=request.user, public_id=public_id)
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            services.order_ship(order=order, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Order %(number)s is shipped.") % {"number": order.number})
            return _redirect(request, fulfil_url(order))
    order.refresh_from_db()
    return _fulfil_response(request, order, status=_refused(request), ship_form=form)


# Fleet ---------------------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def fleet(request: HttpRequest) -> HttpResponse:
    """Health of the devices the vendor supplied, for maintenance: the unit's name and
    district, never where a device is placed."""
    _membership, vendor = _vendor(request)
    filters = FleetFilterForm(
        request.GET, device_models=selectors.vendor_device_models(vendor=vendor)
    )
    criteria = filters.cleaned_data if filters.is_valid() else {}
    now = timezone.now()
    summary = selectors.fleet_summary(
        devices=selectors.vendor_fleet_for(
            user=request.user, vendor=vendor, device_model=criteria.get("model")
        ),
        now=now,
    )
    devices = selectors.vendor_fleet_for(
        user=request.user,
        vendor=vendor,
        state=criteria.get("state", ""),
        low_battery=criteria.get("low_battery", False),
        stale=criteria.get("stale", False),
        device_model=criteria.get("model"),
        now=now,
    )
    page = Paginator(devices, PER_PAGE).get_page(request.GET.get("page"))
    stale_before = now - selectors.FLEET_STALE_AFTER
    rows = [
        {
            "device": device,
            "district": _district(device.unit),
            "low_battery": device.battery_pct is not None
            and device.battery_pct < selectors.LOW_BATTERY_PCT,
            "stale": device.last_seen_at is None or device.last_seen_at < stale_before,
        }
        for device in page
    ]
    context = {"filters": filters, "summary": summary, "page_obj": page, "rows": rows}
    return render(
        request, page_or_partial(request, "devices/vendor_fleet.html", "results"), context
    )


urlpatterns = [
    path("vendor/devices/", inventory, name="inventory"),
    path("vendor/devices/new/", provision, name="provision"),
    path("vendor/devices/import/", import_create, name="import_create"),
    path("vendor/devices/imports/<uuid:public_id>/", import_detail, name="import"),
    path("vendor/devices/labels/", label_sheet, name="labels"),
    path("vendor/devices/<uuid:public_id>/", device_detail, name="inventory_device"),
    path("vendor/devices/<uuid:public_id>/token/", device_token, name="inventory_token"),
    path("vendor/devices/<uuid:public_id>/returned/", device_returned, name="inventory_returned"),
    path("vendor/devices/<uuid:public_id>/restock/", device_restock, name="inventory_restock"),
    path("vendor/returns/", returns, name="returns"),
    path("vendor/orders/<uuid:public_id>/devices/", fulfil, name="fulfil"),
    path(
        "vendor/orders/<uuid:public_id>/devices/allocate/",
        fulfil_allocate,
        name="fulfil_allocate",
    ),
    path("vendor/orders/<uuid:public_id>/devices/ship/", fulfil_ship, name="fulfil_ship"),
    path("vendor/fleet/", fleet, name="fleet"),
]
