"""The reviewers' pages (authority members only; everyone else gets 404): the review queue,
reference standards and their versions, the review of one revision (checklist, decision,
certificate actions), and the public certificate verification page and PDF (no login).

Views parse input, read through marketplace.selectors and write through one
marketplace.services function; a service's PermissionDenied (a viewer writing) answers 403.
An htmx request gets the page's partial (`template#part`); every form also works without JS.
"""

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import form_add_service_errors
from accounts.models import Membership, Organisation
from config.htmx import page_or_partial, redirect_after_write
from marketplace import certificates, selectors, services
from marketplace.forms.review import (
    BandForm,
    CertificateActionForm,
    DecisionForm,
    RequirementForm,
    StandardCreateForm,
    StandardUpdateForm,
    VerdictForm,
)
from marketplace.models import TIER_ORDER, ReferenceStandard, SolutionRevision

QUEUE_PER_PAGE = 50
EXPIRING_WITHIN_DAYS = 60
Status = SolutionRevision.Status


def _authority(request: HttpRequest) -> Membership:
    """The authority membership the person works in (the current organisation when it is an
    authority); 404 for anyone who belongs to no authority."""
    current = request.membership
    if current is not None and current.organisation.kind == Organisation.Kind.AUTHORITY:
        return current
    return selectors.authority_membership_for(user=request.user)


# Queue ---------------------------------------------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    membership = _authority(request)
    page = Paginator(selectors.review_queue_for(user=request.user), QUEUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    rows = [
        {"revision": revision, "days_waiting": (now - revision.submitted_at).days}
        for revision in page
    ]
    context = {
        "membership": membership,
        "page_obj": page,
        "rows": rows,
        "expiring": selectors.certificates_expiring_for(
            user=request.user, within_days=EXPIRING_WITHIN_DAYS
        )[:QUEUE_PER_PAGE],
        "expiring_days": EXPIRING_WITHIN_DAYS,
    }
    return render(
        request, page_or_partial(request, "marketplace/review_queue.html", "queue"), context
    )


# Standards -----------------------------------------------------------------------------------


def standard_url(standard: ReferenceStandard) -> str:
    return reverse("marketplace:standard", args=[standard.scenario.code, standard.version])


@login_required
def standards(request: HttpRequest) -> HttpResponse:
    membership = _authority(request)
    form = StandardCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            standard = services.standard_create(
                authority=membership.organisation, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, standard_url(standard))
    context = {
        "standards": selectors.standard_list_for(user=request.user),
        "form": form,
        "may_write": membership.can_write,
    }
    return render(
        request, page_or_partial(request, "marketplace/standard_list.html", "create"), context
    )


def _standard_response(request, standard, **forms) -> HttpResponse:
    standard = selectors.standard_get_for(
        user=request.user, scenario_code=standard.scenario.code, version=standard.version
    )
    membership = next(
        (m for m in request.memberships if m.organisation_id == standard.authority_id), None
    )
    editable = standard.status == ReferenceStandard.Status.DRAFT and bool(
        membership and membership.can_write
    )
    context = {
        "standard": standard,
        "bands": sorted(standard.bands.all(), key=lambda band: TIER_ORDER[band.tier]),
        "editable": editable,
        "requirement_form": forms.get("requirement_form") or RequirementForm(),
        "band_form": forms.get("band_form") or BandForm(),
        "update_form": forms.get("update_form")
        or StandardUpdateForm(
            initial={
                "title": standard.title,
                "title_en": standard.title_en,
                "allowed_modes": standard.allowed_modes,
                "monitoring_fee_min": Decimal(standard.monitoring_fee_min) / 100,
                "monitoring_fee_max": Decimal(standard.monitoring_fee_max) / 100,
            }
        ),
        "publish_errors": forms.get("publish_errors", []),
        # A write refused on a version that is no longer a draft: its forms are not shown,
        # so the refusal is shown at the top instead.
        "refusals": [
            error
            for name in ("requirement_form", "band_form", "update_form")
            if forms.get(name) is not None
            for error in forms[name].non_field_errors()
        ],
    }
    return render(
        request, page_or_partial(request, "marketplace/standard_detail.html", "body"), context
    )


@login_required
def standard_detail(request: HttpRequest, scenario_code: str, version: int) -> HttpResponse:
    standard = selectors.standard_get_for(
        user=request.user, scenario_code=scenario_code, version=version
    )
    return _standard_response(request, standard)


def _standard_form_post(request, scenario_code, version, *, form_class, service, context_key):
    """The draft-standard forms all work alike: validate, call one service, redirect back
    (or redraw the page for htmx), or show the errors under the fields they name."""
    standard = selectors.standard_get_for(
        user=request.user, scenario_code=scenario_code, version=version
    )
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(standard=standard, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            if not request.htmx:
                return redirect(standard_url(standard))
            form = None
    return _standard_response(request, standard, **{context_key: form})


@login_required
@require_POST
def standard_update(request, scenario_code: str, version: int) -> HttpResponse:
    return _standard_form_post(
        request,
        scenario_code,
        version,
        form_class=StandardUpdateForm,
        service=services.standard_update,
        context_key="update_form",
    )


@login_required
@require_POST
def standard_requirement_add(request, scenario_code: str, version: int) -> HttpResponse:
    return _standard_form_post(
        request,
        scenario_code,
        version,
        form_class=RequirementForm,
        service=services.standard_requirement_add,
        context_key="requirement_form",
    )


@login_required
@require_POST
def standard_band_set(request, scenario_code: str, version: int) -> HttpResponse:
    return _standard_form_post(
        request,
        scenario_code,
        version,
        form_class=BandForm,
        service=services.standard_band_set,
        context_key="band_form",
    )


@login_required
@require_POST
def standard_publish(request, scenario_code: str, version: int) -> HttpResponse:
    standard = selectors.standard_get_for(
        user=request.user, scenario_code=scenario_code, version=version
    )
    try:
        services.standard_publish(standard=standard, by=request.user)
    except ValidationError as exc:
        return _standard_response(request, standard, publish_errors=exc.messages)
    return redirect_after_write(request, standard_url(standard))


# Review of one revision ----------------------------------------------------------------------


def review_url(revision: SolutionRevision) -> str:
    return reverse("marketplace:review", args=[revision.solution.public_id, revision.number])


def _checklist(revision: SolutionRevision, review, row_forms: dict) -> list[dict]:
    """One row per requirement that the revision's tier must meet, with its verdict so far."""
    verdicts = {v.requirement_id: v for v in review.verdicts.all()} if review else {}
    rows = []
    for requirement in revision.standard.requirements.all():
        if revision.solution.tier not in requirement.tiers:
            continue
        verdict = verdicts.get(requirement.pk)
        form = row_forms.get(requirement.pk) or VerdictForm(
            prefix=f"r{requirement.pk}",
            initial={"verdict": verdict.verdict, "note": verdict.note} if verdict else None,
        )
        rows.append({"requirement": requirement, "verdict": verdict, "form": form})
    return rows


def _review_response(request, public_id, number, **extra) -> HttpResponse:
    revision = selectors.review_revision_get_for(
        user=request.user, public_id=public_id, number=number
    )
    membership = _authority(request)
    review = selectors.review_of(revision)
    standard = revision.standard
    band = next((b for b in standard.bands.all() if b.tier == revision.solution.tier), None)
    in_review = review is not None and revision.status == Status.IN_REVIEW
    context = {
        "revision": revision,
        "solution": revision.solution,
        "standard": standard,
        "review": review,
        "band": band,
        "price_in_band": band is None
        or band.price_min <= revision.purchase_price <= band.price_max,
        "fee_in_band": standard.monitoring_fee_min
        <= revision.monitoring_fee
        <= standard.monitoring_fee_max,
        "checklist": _checklist(revision, review, extra.get("row_forms", {})),
        "in_review": in_review,
        "problems": services.certification_problems(revision, review) if in_review else [],
        "decision_form": extra.get("decision_form") or DecisionForm(),
        "certificate_form": extra.get("certificate_form") or CertificateActionForm(),
        "start_errors": extra.get("start_errors", []),
        "may_write": membership.can_write,
        "transitions": revision.transitions.all(),
    }
    partial = extra.get("partial", "work")
    return render(
        request, page_or_partial(request, "marketplace/review_detail.html", partial), context
    )


@login_required
def review_detail(request: HttpRequest, public_id, number: int) -> HttpResponse:
    return _review_response(request, public_id, number)


@login_required
@require_POST
def review_start(request: HttpRequest, public_id, number: int) -> HttpResponse:
    revision = selectors.review_revision_get_for(
        user=request.user, public_id=public_id, number=number
    )
    try:
        services.review_start(revision=revision, by=request.user)
    except ValidationError as exc:
        return _review_response(request, public_id, number, start_errors=exc.messages)
    return redirect_after_write(request, review_url(revision))


@login_required
@require_POST
def review_verdict(request, public_id, number: int, requirement_id: int) -> HttpResponse:
    revision = selectors.review_revision_get_for(
        user=request.user, public_id=public_id, number=number
    )
    review = selectors.review_of(revision)
    requirement = next(
        (r for r in revision.standard.requirements.all() if r.pk == requirement_id), None
    )
    if review is None or requirement is None:
        raise Http404
    form = VerdictForm(request.POST, request.FILES, prefix=f"r{requirement.pk}")
    if form.is_valid():
        try:
            services.review_verdict_set(
                review=review, by=request.user, requirement=requirement, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            if not request.htmx:
                return redirect(review_url(revision))
            form = None
    row_forms = {requirement.pk: form} if form is not None else {}
    return _review_response(request, public_id, number, row_forms=row_forms)


@login_required
@require_POST
def review_decision(request: HttpRequest, public_id, number: int) -> HttpResponse:
    revision = selectors.review_revision_get_for(
        user=request.user, public_id=public_id, number=number
    )
    review = selectors.review_of(revision)
    if review is None:
        raise Http404
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.review_decide(review=review, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, review_url(revision))
    return _review_response(request, public_id, number, decision_form=form)


CERTIFICATE_ACTIONS = {
    "suspend": services.certificate_suspend,
    "reinstate": services.certificate_reinstate,
    "revoke": services.certificate_revoke,
}


@login_required
@require_POST
def certificate_action(request: HttpRequest, public_id, number: int) -> HttpResponse:
    revision = selectors.review_revision_get_for(
        user=request.user, public_id=public_id, number=number
    )
    form = CertificateActionForm(request.POST)
    if form.is_valid():
        change = CERTIFICATE_ACTIONS[form.cleaned_data["action"]]
        try:
            change(revision=revision, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, review_url(revision))
    return _review_response(request, public_id, number, certificate_form=form)


# Public verification -------------------------------------------------------------------------


def certificate(request: HttpRequest, number: str) -> HttpResponse:
    """Anyone, signed in or not, may verify a certificate by its number."""
    revision = selectors.certificate_get(number=number)
    context = {"facts": certificates.certificate_facts(revision), "revision": revision}
    return render(request, "marketplace/certificate_detail.html", context)


def certificate_pdf(request: HttpRequest, number: str) -> HttpResponse:
    revision = selectors.certificate_get(number=number)
    response = HttpResponse(certificates.certificate_pdf(revision), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{revision.certificate_number}.pdf"'
    return response


CERTIFICATE_NUMBER = r"(?P<number>[A-Za-z0-9_-]+)"
REVIEW = "reviews/<uuid:public_id>/r<int:number>/"
STANDARD = "standards/<slug:scenario_code>/v<int:version>/"

urlpatterns = [
    path("reviews/", review_queue, name="review_queue"),
    path(REVIEW, review_detail, name="review"),
    path(REVIEW + "start/", review_start, name="review_start"),
    path(REVIEW + "verdicts/<int:requirement_id>/", review_verdict, name="review_verdict"),
    path(REVIEW + "decision/", review_decision, name="review_decision"),
    path(REVIEW + "certificate/", certificate_action, name="certificate_action"),
    path("standards/", standards, name="standards"),
    path(STANDARD, standard_detail, name="standard"),
    path(STANDARD + "edit/", standard_update, name="standard_update"),
    path(STANDARD + "requirements/", standard_requirement_add, name="standard_requirement_add"),
    path(STANDARD + "bands/", standard_band_set, name="standard_band_set"),
    path(STANDARD + "publish/", standard_publish, name="standard_publish"),
    re_path(rf"^certificates/{CERTIFICATE_NUMBER}\.pdf$", certificate_pdf, name="certificate_pdf"),
    re_path(rf"^certificates/{CERTIFICATE_NUMBER}/$", certificate, name="certificate"),
]
