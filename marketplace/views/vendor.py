"""The vendor's workspace: its profile, device models and solutions with their revisions.

Pages work for the organisation the person is working in (request.membership) when it is a
vendor; anything else is 404. Objects are looked up through selectors scoped to the person,
so another vendor's device model, solution or draft answers 404. Writes go through one
marketplace.services function; a viewer is refused with 403 before a form is even shown.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import form_add_service_errors
from accounts.models import Membership, Organisation
from config.htmx import page_or_partial, redirect_after_write
from marketplace import selectors, services
from marketplace.forms.vendor import (
    DeviceModelForm,
    RevisionForm,
    SolutionForm,
    VendorProfileForm,
    bom_formset,
)
from marketplace.models import DeviceModel, Solution, SolutionRevision, Vendor

OPEN_STATUSES = {SolutionRevision.Status.SUBMITTED, SolutionRevision.Status.IN_REVIEW}


def _vendor_membership(request: HttpRequest) -> Membership:
    membership: Membership | None = request.membership
    if membership is None or membership.organisation.kind != Organisation.Kind.VENDOR:
        raise Http404("Not working for a vendor")
    return membership


def _current_vendor(request: HttpRequest) -> tuple[Membership, Vendor]:
    membership = _vendor_membership(request)
    vendor = selectors.vendor_profile_of(user=request.user, organisation=membership.organisation)
    if vendor is None:
        raise Http404("The vendor profile is not filled in yet")
    return membership, vendor


def _role_in(request: HttpRequest, organisation_id: int) -> Membership | None:
    """The person's membership in an organisation, from the list the middleware loaded."""
    return next((m for m in request.memberships if m.organisation_id == organisation_id), None)


def _require_write(request: HttpRequest, organisation_id: int) -> None:
    membership = _role_in(request, organisation_id)
    if membership is None or not membership.can_write:
        raise PermissionDenied("Viewers do not change the vendor's catalogue")


# Home and profile ----------------------------------------------------------------------------


@login_required
def vendor_home(request: HttpRequest) -> HttpResponse:
    membership = _vendor_membership(request)
    vendor = selectors.vendor_profile_of(user=request.user, organisation=membership.organisation)
    context = {
        "organisation": membership.organisation,
        "vendor": vendor,
        "may_write": membership.can_write,
        "may_manage": membership.can_manage,
        "device_models": selectors.device_model_list_for_vendor(vendor=vendor) if vendor else [],
        "solutions": selectors.solution_list_for_vendor(vendor=vendor) if vendor else [],
    }
    return render(
        request, page_or_partial(request, "marketplace/vendor_home.html", "solutions"), context
    )


@login_required
@require_http_methods(["GET", "POST"])
def vendor_profile(request: HttpRequest) -> HttpResponse:
    membership = _vendor_membership(request)
    if not membership.can_manage:
        raise PermissionDenied("Only owners and managers edit the vendor profile")
    organisation = membership.organisation
    vendor = selectors.vendor_profile_of(user=request.user, organisation=organisation)
    form = VendorProfileForm(request.POST or None, instance=vendor)
    if request.method == "POST" and form.is_valid():
        try:
            services.vendor_profile_save(
                organisation=organisation, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, reverse("marketplace:vendor_home"))
    context = {"form": form, "vendor": vendor, "organisation": organisation}
    return render(
        request, page_or_partial(request, "marketplace/vendor_profile_form.html", "form"), context
    )


# Device models -------------------------------------------------------------------------------


@login_required
def device_model_list(request: HttpRequest) -> HttpResponse:
    membership, vendor = _current_vendor(request)
    context = {
        "vendor": vendor,
        "may_write": membership.can_write,
        "device_models": selectors.device_model_list_for_vendor(vendor=vendor),
    }
    return render(request, "marketplace/vendor_device_models.html", context)


def _device_model_form_response(request, form, device_model: DeviceModel | None):
    context = {"form": form, "device_model": device_model}
    return render(
        request,
        page_or_partial(request, "marketplace/vendor_device_model_form.html", "form"),
        context,
    )


@login_required
@require_http_methods(["GET", "POST"])
def device_model_create(request: HttpRequest) -> HttpResponse:
    membership, vendor = _current_vendor(request)
    _require_write(request, membership.organisation_id)
    form = DeviceModelForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.device_model_save(vendor=vendor, by=request.user, **form.service_fields())
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, reverse("marketplace:vendor_device_models"))
    return _device_model_form_response(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def device_model_edit(request: HttpRequest, public_id) -> HttpResponse:
    device_model = selectors.device_model_get_for_vendor(user=request.user, public_id=public_id)
    _require_write(request, device_model.vendor.organisation_id)
    form = DeviceModelForm(
        request.POST or None,
        request.FILES or None,
        initial=DeviceModelForm.initial_for(device_model),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.device_model_save(
                vendor=device_model.vendor,
                by=request.user,
                device_model=device_model,
                **form.service_fields(),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            device_model.refresh_from_db()  # the service set the refused values on it
        else:
            return redirect_after_write(request, reverse("marketplace:vendor_device_models"))
    return _device_model_form_response(request, form, device_model)


# Solutions and revisions ---------------------------------------------------------------------


def solution_url(solution: Solution) -> str:
    return reverse("marketplace:vendor_solution", args=[solution.public_id])


@login_required
@require_http_methods(["GET", "POST"])
def solution_create(request: HttpRequest) -> HttpResponse:
    membership, vendor = _current_vendor(request)
    _require_write(request, membership.organisation_id)
    form = SolutionForm(request.POST or None)
    bom = bom_formset(request.POST or None, vendor=vendor)
    if request.method == "POST" and form.is_valid() and bom.is_valid():
        try:
            revision = services.solution_create(
                vendor=vendor, by=request.user, bom=bom.lines(), **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, solution_url(revision.solution))
    context = {"form": form, "bom": bom, "vendor": vendor}
    return render(
        request, page_or_partial(request, "marketplace/vendor_solution_form.html", "form"), context
    )


def _solution_response(request, solution: Solution, *, errors=(), status=200) -> HttpResponse:
    revisions = list(selectors.revision_list_for_solution(solution=solution))
    latest = revisions[0] if revisions else None
    membership = _role_in(request, solution.vendor.organisation_id)
    context = {
        "solution": solution,
        "revisions": revisions,
        "may_write": membership is not None and membership.can_write,
        "may_start_revision": latest is not None
        and not latest.is_editable
        and latest.status not in OPEN_STATUSES,
        "errors": errors,
    }
    return render(
        request,
        page_or_partial(request, "marketplace/vendor_solution_detail.html", "revisions"),
        context,
        status=status,
    )


@login_required
def solution_detail(request: HttpRequest, public_id) -> HttpResponse:
    solution = selectors.solution_get_for_vendor(user=request.user, public_id=public_id)
    return _solution_response(request, solution)


@login_required
@require_http_methods(["GET", "POST"])
def revision_edit(request: HttpRequest, public_id, number: int) -> HttpResponse:
    solution = selectors.solution_get_for_vendor(user=request.user, public_id=public_id)
    revision = selectors.revision_get(solution=solution, number=number)
    _require_write(request, solution.vendor.organisation_id)
    if not revision.is_editable:
        return redirect(solution_url(solution))
    form = RevisionForm(request.POST or None, initial=RevisionForm.initial_for(revision))
    bom = bom_formset(request.POST or None, vendor=solution.vendor, revision=revision)
    if request.method == "POST" and form.is_valid() and bom.is_valid():
        try:
            services.revision_edit(
                revision=revision, by=request.user, bom=bom.lines(), **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            revision.refresh_from_db()
        else:
            return redirect_after_write(request, solution_url(solution))
    context = {"form": form, "bom": bom, "solution": solution, "revision": revision}
    return render(
        request, page_or_partial(request, "marketplace/vendor_revision_form.html", "form"), context
    )


@login_required
@require_POST
def revision_submit(request: HttpRequest, public_id, number: int) -> HttpResponse:
    solution = selectors.solution_get_for_vendor(user=request.user, public_id=public_id)
    revision = selectors.revision_get(solution=solution, number=number)
    try:
        services.revision_submit(revision=revision, by=request.user)
    except ValidationError as exc:
        return _solution_response(request, solution, errors=exc.messages)
    return redirect_after_write(request, solution_url(solution))


@login_required
@require_POST
def revision_new(request: HttpRequest, public_id) -> HttpResponse:
    solution = selectors.solution_get_for_vendor(user=request.user, public_id=public_id)
    try:
        draft = services.revision_new_draft(solution=solution, by=request.user)
    except ValidationError as exc:
        return _solution_response(request, solution, errors=exc.messages)
    url = reverse("marketplace:vendor_revision_edit", args=[solution.public_id, draft.number])
    return redirect_after_write(request, url)


urlpatterns = [
    path("vendor/", vendor_home, name="vendor_home"),
    path("vendor/profile/", vendor_profile, name="vendor_profile"),
    path("vendor/device-models/", device_model_list, name="vendor_device_models"),
    path("vendor/device-models/new/", device_model_create, name="vendor_device_model_create"),
    path(
        "vendor/device-models/<uuid:public_id>/edit/",
        device_model_edit,
        name="vendor_device_model_edit",
    ),
    path("vendor/solutions/new/", solution_create, name="vendor_solution_create"),
    path("vendor/solutions/<uuid:public_id>/", solution_detail, name="vendor_solution"),
    path(
        "vendor/solutions/<uuid:public_id>/revisions/<int:number>/edit/",
        revision_edit,
        name="vendor_revision_edit",
    ),
    path(
        "vendor/solutions/<uuid:public_id>/revisions/<int:number>/submit/",
        revision_submit,
        name="vendor_revision_submit",
    ),
    path(
        "vendor/solutions/<uuid:public_id>/new-revision/",
        revision_new,
        name="vendor_revision_new",
    ),
]
