"""The home page ("/") for everyone, the reviewer's home, and the coverage programme pages.

The home page lives here, the top layer, because what it shows reads every app below: a unit
operator sees its units and what the coverage programmes covering them ask, with every
certified option for the scenario; an authority member sees the reviewer's home (the review
queue, certificates expiring soon, programmes at risk). Views parse input, read through
selectors (404 for "missing" and "not yours" alike) and write through one
oversight.services function; an htmx request gets the page's partial (`template#part`).
"""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import form_add_service_errors
from accounts.models import Membership, Organisation
from config.htmx import page_or_partial, paginate, redirect_after_write
from marketplace import selectors as marketplace_selectors
from oversight import selectors, services
from oversight.forms import SORT_CHOICES, HomeSortForm, ProgrammeForm
from oversight.models import CoverageProgramme
from units.selectors import unit_list_for

HOME_UNITS = 50
QUEUE_ON_HOME = 10
EXPIRING_WITHIN_DAYS = 60
EXPIRING_ON_HOME = 20
PROGRAMMES_PER_PAGE = 25
UNITS_PER_PAGE = 25


def _current_kind(request: HttpRequest) -> str | None:
    membership = request.membership
    return membership.organisation.kind if membership else None


# Home ----------------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; for a signed-in person, the start page of the
    organisation they work in."""
    if not request.user.is_authenticated:
        return render(request, "accounts/landing.html")
    if _current_kind(request) == Organisation.Kind.AUTHORITY:
        return render(request, "oversight/reviewer_home.html", _reviewer_context(request))
    membership = request.membership
    context = {"membership": membership}
    if _current_kind(request) == Organisation.Kind.UNIT:
        units = list(
            unit_list_for(user=request.user).filter(organisation=membership.organisation)[
                :HOME_UNITS
            ]
        )
        sort = HomeSortForm(request.GET).sort_value()
        context |= {
            "units": units,
            "requirements": selectors.unit_home_requirements(units=units, sort=sort),
            "sort": sort,
            "sort_choices": SORT_CHOICES,
        }
    return render(request, "oversight/home.html", context)


def _authority_membership(request: HttpRequest) -> Membership:
    """The authority membership the person works in (the current organisation when it is an
    authority); 404 for anyone in no authority."""
    current = request.membership
    if current is not None and current.organisation.kind == Organisation.Kind.AUTHORITY:
        return current
    return marketplace_selectors.authority_membership_for(user=request.user)


def _reviewer_context(request: HttpRequest) -> dict:
    membership = _authority_membership(request)
    now = timezone.now()
    queue = marketplace_selectors.review_queue_for(user=request.user)
    queue_rows = [
        {
            "revision": revision,
            "days_waiting": (now - revision.submitted_at).days if revision.submitted_at else 0,
        }
        for revision in queue[:QUEUE_ON_HOME]
    ]
    expiring = marketplace_selectors.certificates_expiring_for(
        user=request.user, within_days=EXPIRING_WITHIN_DAYS
    )
    return {
        "membership": membership,
        "queue_rows": queue_rows,
        "queue_total": queue.count() if len(queue_rows) == QUEUE_ON_HOME else len(queue_rows),
        "expiring": expiring[:EXPIRING_ON_HOME],
        "expiring_days": EXPIRING_WITHIN_DAYS,
        "attention": selectors.programmes_needing_attention_for(user=request.user),
        "at_risk_days": selectors.AT_RISK_DAYS,
        "at_risk_pct": selectors.AT_RISK_BELOW_PCT,
    }


@login_required
def reviewer_home(request: HttpRequest) -> HttpResponse:
    return render(request, "oversight/reviewer_home.html", _reviewer_context(request))


# Programmes ----------------------------------------------------------------------------------


def _authority(request: HttpRequest):
    organisation = request.membership.organisation if request.membership else None
    return selectors.programme_authority_for(user=request.user, organisation=organisation)


def _may_write(request: HttpRequest, organisation_id: int) -> bool:
    """Staff and above of the programme's authority (the middleware holds the memberships)."""
    return any(
        membership.organisation_id == organisation_id and membership.can_write
        for membership in request.memberships
    )


def programme_url(programme: CoverageProgramme) -> str:
    return reverse("oversight:programme", args=[programme.public_id])


@login_required
@require_http_methods(["GET", "POST"])
def programme_list(request: HttpRequest) -> HttpResponse:
    authority = _authority(request)
    regions = selectors.programme_region_choices(authority=authority)
    form = ProgrammeForm(request.POST or None, regions=regions)
    if request.method == "POST" and form.is_valid():
        try:
            programme = services.programme_create(
                authority=authority, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, programme_url(programme))
    page = paginate(request, selectors.programme_list_for(user=request.user), PROGRAMMES_PER_PAGE)
    context = {
        "authority": authority,
        "page_obj": page,
        "rows": [
            {"programme": programme, "progress": selectors.programme_progress(programme=programme)}
            for programme in page
        ],
        "form": form,
        "may_write": _may_write(request, authority.organisation_id),
    }
    # A POST that comes back here has errors: htmx redraws the form, a browser the page.
    partial = "create" if request.method == "POST" else "programmes"
    return render(
        request, page_or_partial(request, "oversight/programme_list.html", partial), context
    )


@login_required
def programme_detail(request: HttpRequest, public_id) -> HttpResponse:
    programme = selectors.programme_get_for(user=request.user, public_id=public_id)
    page = paginate(
        request, selectors.programme_uncovered_units(programme=programme), UNITS_PER_PAGE
    )
    context = {
        "programme": programme,
        "progress": selectors.programme_progress(programme=programme),
        "page_obj": page,
        "may_write": _may_write(request, programme.authority.organisation_id),
        "at_risk_days": selectors.AT_RISK_DAYS,
        "at_risk_pct": selectors.AT_RISK_BELOW_PCT,
    }
    template = page_or_partial(request, "oversight/programme_detail.html", "uncovered")
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def programme_edit(request: HttpRequest, public_id) -> HttpResponse:
    programme = selectors.programme_get_for(user=request.user, public_id=public_id)
    regions = selectors.programme_region_choices(authority=programme.authority)
    initial = {
        "name": programme.name,
        "region": programme.region.code,
        "unit_kind": programme.unit_kind,
        "scenario": programme.scenario.code,
        "deadline": programme.deadline,
    }
    form = ProgrammeForm(request.POST or None, initial=initial, regions=regions)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.programme_update(programme=programme, by=request.user, **changes)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            programme.refresh_from_db()
        else:
            return redirect_after_write(request, programme_url(programme))
    context = {"programme": programme, "form": form}
    template = page_or_partial(request, "oversight/programme_form.html", "form")
    return render(request, template, context)


@login_required
@require_POST
def programme_delete(request: HttpRequest, public_id) -> HttpResponse:
    programme = selectors.programme_get_for(user=request.user, public_id=public_id)
    services.programme_delete(programme=programme, by=request.user)
    return redirect_after_write(request, reverse("oversight:programmes"))


@login_required
def programme_uncovered_csv(request: HttpRequest, public_id) -> HttpResponse:
    """The units the programme page lists as not covered, all of them, for a spreadsheet (a
    byte-order mark so that Excel reads the Chinese names as UTF-8)."""
    programme = selectors.programme_get_for(user=request.user, public_id=public_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"uncovered-{programme.public_id}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(selectors.uncovered_csv_header())
    units = selectors.programme_uncovered_units(programme=programme).iterator(chunk_size=2000)
    writer.writerows(selectors.uncovered_csv_rows(units))
    return response
