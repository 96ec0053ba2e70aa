"""The units pages: unit profiles and their emergency contacts, the authorities' region
browser, responders and their duty rosters.

Views parse input, read through units.selectors (which answer 404 for "missing" and "not
yours" alike) and write through one units.services function. An htmx request gets the page's
partial (`template#part`); every action also works as a plain form POST that redirects back.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import form_add_service_errors
from accounts.models import Membership, Organisation
from config.htmx import page_or_partial, paginate, redirect_after_write
from units import selectors, services
from units.forms import ContactForm, ContactMoveForm, ShiftForm, UnitFilterForm, UnitForm
from units.models import DutyShift, EmergencyContact, Responder, Unit

UNITS_PER_PAGE = 25
SHIFTS_PER_PAGE = 50
RESPONDERS_PER_PAGE = 50


# Units ---------------------------------------------------------------------------------------


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    filters = UnitFilterForm(request.GET)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    units = selectors.unit_search_for(
        user=request.user, kind=criteria.get("kind", ""), name=criteria.get("q", "")
    )
    # The middleware already holds the user's memberships: "may edit" costs no query per row.
    managed = {m.organisation_id for m in request.memberships if m.can_manage}
    page = paginate(request, units, UNITS_PER_PAGE)
    rows = [{"unit": unit, "may_edit": unit.organisation_id in managed} for unit in page]
    current = request.membership
    context = {
        "filters": filters,
        "page_obj": page,
        "rows": rows,
        "may_create": current is not None
        and current.organisation.kind == Organisation.Kind.UNIT
        and current.can_manage,
    }
    return render(request, page_or_partial(request, "units/unit_list.html", "results"), context)


def _current_unit_manager(request: HttpRequest) -> Organisation:
    """Units are created for the organisation the person is working in, by its owner or a
    manager, and only when it is a unit operator."""
    membership: Membership | None = request.membership
    if (
        membership is None
        or membership.organisation.kind != Organisation.Kind.UNIT
        or not membership.can_manage
    ):
        raise PermissionDenied("Only an owner or manager of a unit organisation adds units")
    return membership.organisation


def _unit_form_response(request: HttpRequest, form: UnitForm, unit: Unit | None) -> HttpResponse:
    context = {"form": form, "unit": unit}
    return render(request, page_or_partial(request, "units/unit_form.html", "form"), context)


@login_required
@require_http_methods(["GET", "POST"])
def unit_create(request: HttpRequest) -> HttpResponse:
    organisation = _current_unit_manager(request)
    form = UnitForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_create(
                organisation=organisation, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, unit_url(unit))
    return _unit_form_response(request, form, unit=None)


def unit_url(unit: Unit) -> str:
    return reverse("units:detail", args=[unit.public_id])


def _unit_role(request: HttpRequest, unit: Unit) -> Membership | None:
    return selectors.unit_membership_for(user=request.user, unit=unit)


@login_required
def unit_detail(request: HttpRequest, public_id) -> HttpResponse:
    unit = selectors.unit_get_for(user=request.user, public_id=public_id)
    # For htmx this is the contacts section asking to be redrawn (its "cancel" button).
    return _contacts_response(request, unit)


def _detail_context(
    request: HttpRequest, unit: Unit, *, role: Membership | None, **contacts_extra
) -> dict:
    return {
        **_contacts_context(request, unit, role=role, **contacts_extra),
        "may_edit": role is not None and role.can_manage,
        "parent_visible": selectors.unit_is_visible_to(user=request.user, unit_id=unit.parent_id),
        "children": selectors.unit_children_for(user=request.user, unit=unit),
        "grantees": selectors.unit_grantee_list(unit=unit),
    }


@login_required
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, public_id) -> HttpResponse:
    unit = selectors.unit_get_for(user=request.user, public_id=public_id)
    role = _unit_role(request, unit)
    if role is None or not role.can_manage:
        raise PermissionDenied("Only the unit's owners and managers edit its profile")
    form = UnitForm(request.POST or None, organisation=unit.organisation, unit=unit)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            if changes:
                services.unit_update(unit=unit, by=request.user, **changes)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            unit.refresh_from_db()  # the service set the rejected values on our instance
        else:
            return redirect_after_write(request, unit_url(unit))
    return _unit_form_response(request, form, unit=unit)


# Emergency contacts --------------------------------------------------------------------------


def _contacts_context(
    request: HttpRequest,
    unit: Unit,
    *,
    role: Membership | None,
    form: ContactForm | None = None,
    editing: EmergencyContact | None = None,
    error: str = "",
) -> dict:
    return {
        "unit": unit,
        "contacts": list(selectors.contact_list(unit=unit)),
        "may_write_contacts": role is not None and role.can_write,
        "contact_form": form,
        "editing": editing,
        "contacts_error": error,
    }


def _contacts_response(
    request: HttpRequest, unit: Unit, status: int = 200, **extra
) -> HttpResponse:
    """The contacts section alone for htmx; otherwise the whole detail page around it (the
    non-JS path: an add/edit form opens inside the page)."""
    role = _unit_role(request, unit)
    if request.htmx:
        context = _contacts_context(request, unit, role=role, **extra)
        return render(request, "units/unit_detail.html#contacts", context, status=status)
    context = _detail_context(request, unit, role=role, **extra)
    return render(request, "units/unit_detail.html", context, status=status)


def _contact_writer(request: HttpRequest, public_id) -> Unit:
    """The unit, when the user may change its contacts: 404 for outsiders, 403 for viewers
    (including other organisations that were granted a view)."""
    unit = selectors.unit_get_for(user=request.user, public_id=public_id)
    role = _unit_role(request, unit)
    if role is None or not role.can_write:
        raise PermissionDenied("Viewers may not change emergency contacts")
    return unit


def _after_contact_write(request: HttpRequest, unit: Unit) -> HttpResponse:
    if request.htmx:
        return _contacts_response(request, unit)
    return redirect(unit_url(unit) + "#contacts")


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, public_id) -> HttpResponse:
    unit = _contact_writer(request, public_id)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_create(unit=unit, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return _after_contact_write(request, unit)
    return _contacts_response(request, unit, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, public_id, contact_id: int) -> HttpResponse:
    unit = _contact_writer(request, public_id)
    contact = selectors.contact_get(unit=unit, contact_id=contact_id)
    initial = {name: getattr(contact, name) for name in ContactForm.base_fields}
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return _after_contact_write(request, unit)
    return _contacts_response(request, unit, form=form, editing=contact)


@login_required
@require_POST
def contact_delete(request: HttpRequest, public_id, contact_id: int) -> HttpResponse:
    unit = _contact_writer(request, public_id)
    contact = selectors.contact_get(unit=unit, contact_id=contact_id)
    services.contact_delete(contact=contact, by=request.user)
    return _after_contact_write(request, unit)


@login_required
@require_POST
def contact_move(request: HttpRequest, public_id, contact_id: int) -> HttpResponse:
    unit = _contact_writer(request, public_id)
    contact = selectors.contact_get(unit=unit, contact_id=contact_id)
    form = ContactMoveForm(request.POST)
    if not form.is_valid():
        return _contacts_response(request, unit, status=400, error=form.errors.as_text())
    step = -1 if form.cleaned_data["direction"] == "up" else 1
    try:
        services.contact_move(contact=contact, by=request.user, position=contact.position + step)
    except ValidationError as exc:
        return _contacts_response(request, unit, error=" ".join(exc.messages))
    return _after_contact_write(request, unit)


# Region browser ------------------------------------------------------------------------------


@login_required
def region_home(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation if request.membership else None
    authority = selectors.authority_get_for(user=request.user, organisation=organisation)
    return _region_response(request, authority.region)


@login_required
def region_detail(request: HttpRequest, code: str) -> HttpResponse:
    region = selectors.region_get_for(user=request.user, code=code)
    return _region_response(request, region)


def _region_response(request: HttpRequest, region) -> HttpResponse:
    page = paginate(
        request, selectors.unit_list_in_region(region=region).order_by("name", "pk"), UNITS_PER_PAGE
    )
    context = {"region": region, "page_obj": page}
    if not request.htmx:
        counts = selectors.unit_kind_counts_in_region(region=region)
        context |= {
            "breadcrumb": selectors.region_breadcrumb_for(user=request.user, region=region),
            "children": selectors.region_children_with_counts(region=region).order_by("code"),
            "kind_counts": [(label, counts.get(kind, 0)) for kind, label in Unit.Kind.choices],
            "unit_total": sum(counts.values()),
        }
    return render(request, page_or_partial(request, "units/region_detail.html", "units"), context)


# Responders and rosters ----------------------------------------------------------------------


@login_required
def responder_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    responders = selectors.responder_list_with_duty_for(user=request.user, at=now)
    context = {"page_obj": paginate(request, responders, RESPONDERS_PER_PAGE), "now": now}
    return render(
        request, page_or_partial(request, "units/responder_list.html", "results"), context
    )


def _roster_context(
    request: HttpRequest,
    responder: Responder,
    *,
    form: ShiftForm | None = None,
    editing: DutyShift | None = None,
) -> dict:
    now = timezone.now()
    role = selectors.responder_membership_for(user=request.user, responder=responder)
    shifts = selectors.shift_list_current_and_upcoming(responder=responder, at=now)
    return {
        "responder": responder,
        "page_obj": paginate(request, shifts, SHIFTS_PER_PAGE),
        "now": now,
        "may_write_roster": role is not None and role.can_write,
        "shift_form": form,
        "editing": editing,
        "time_zone": timezone.get_current_timezone_name(),
    }


def _roster_response(request: HttpRequest, responder: Responder, **extra) -> HttpResponse:
    context = _roster_context(request, responder, **extra)
    return render(request, page_or_partial(request, "units/roster.html", "roster"), context)


def _roster_writer(request: HttpRequest, public_id) -> Responder:
    """The responder, when the user is staff or above in its own organisation: 404 for those
    who cannot see it, 403 for an authority's reviewer or a viewer."""
    responder = selectors.responder_get_for(user=request.user, public_id=public_id)
    role = selectors.responder_membership_for(user=request.user, responder=responder)
    if role is None or not role.can_write:
        raise PermissionDenied("Only the responder's staff edit its duty roster")
    return responder


def _after_shift_write(request: HttpRequest, responder: Responder) -> HttpResponse:
    if request.htmx:
        return _roster_response(request, responder)
    return redirect(reverse("units:roster", args=[responder.public_id]))


@login_required
def roster(request: HttpRequest, public_id) -> HttpResponse:
    responder = selectors.responder_get_for(user=request.user, public_id=public_id)
    return _roster_response(request, responder)


@login_required
@require_http_methods(["GET", "POST"])
def shift_create(request: HttpRequest, public_id) -> HttpResponse:
    responder = _roster_writer(request, public_id)
    form = ShiftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.duty_shift_create(responder=responder, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return _after_shift_write(request, responder)
    return _roster_response(request, responder, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def shift_edit(request: HttpRequest, public_id, shift_id: int) -> HttpResponse:
    responder = _roster_writer(request, public_id)
    shift = selectors.shift_get(responder=responder, shift_id=shift_id)
    initial = {name: getattr(shift, name) for name in ShiftForm.base_fields}
    form = ShiftForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.duty_shift_update(shift=shift, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return _after_shift_write(request, responder)
    return _roster_response(request, responder, form=form, editing=shift)


@login_required
@require_POST
def shift_delete(request: HttpRequest, public_id, shift_id: int) -> HttpResponse:
    responder = _roster_writer(request, public_id)
    shift = selectors.shift_get(responder=responder, shift_id=shift_id)
    services.duty_shift_delete(shift=shift, by=request.user)
    return _after_shift_write(request, responder)
