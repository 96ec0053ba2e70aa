"""A unit's leases (next payment, end of the term and the choice there) and its invoices and
monitoring subscriptions. Reads through billing.selectors, the choice through
billing.services.subscriptions.lease_choose."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import form_add_service_errors
from billing import selectors
from billing.forms import LeaseChooseForm
from billing.models import Lease, Payment
from billing.services.subscriptions import add_months, lease_choose
from billing.views.common import (
    PER_PAGE,
    may_write,
    redirect_after_write,
    snapshot_view,
    template_for,
    timeline,
)


def next_payment_date(lease: Lease, today: date) -> date | None:
    """The next monthly instalment of a running lease. The first month of a new lease was
    paid with the order; a renewal's term is billed from its first day."""
    if lease.status not in Lease.RUNNING or lease.start_date is None:
        return None
    first = 0 if lease.renewed_from_id else 1
    for months in range(first, lease.term_months):
        due = add_months(lease.start_date, months)
        if due >= today:
            return due
    return None


def choice_opens_on(lease: Lease) -> date | None:
    if lease.end_date is None:
        return None
    return lease.end_date - timedelta(days=settings.LEASE_ENDING_NOTICE_DAYS)


def choice_open(lease: Lease, today: date) -> bool:
    opens = choice_opens_on(lease)
    return lease.status in Lease.RUNNING and opens is not None and today >= opens


def lease_url(lease: Lease) -> str:
    return reverse("billing:lease", args=[lease.public_id])


@login_required
def lease_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    page = Paginator(selectors.lease_list_for(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "lease": lease,
            "solution": snapshot_view(lease.order.snapshot),
            "next_payment": next_payment_date(lease, today),
            "choice_open": choice_open(lease, today),
        }
        for lease in page
    ]
    context = {"page_obj": page, "rows": rows}
    return render(request, template_for(request, "billing/lease_list.html", "leases"), context)


def _lease_response(request: HttpRequest, lease: Lease, form=None, status=200) -> HttpResponse:
    today = timezone.localdate()
    context = {
        "lease": lease,
        "order": lease.order,
        "solution": snapshot_view(lease.order.snapshot),
        "next_payment": next_payment_date(lease, today),
        "choice_open": choice_open(lease, today),
        "choice_opens_on": choice_opens_on(lease),
        "notice_days": settings.LEASE_ENDING_NOTICE_DAYS,
        "may_write": may_write(request, lease.unit.organisation_id),
        "form": form or LeaseChooseForm(initial={"choice": lease.end_choice or None}),
        "invoices": lease.invoices.all(),
        "timeline": timeline(lease.transitions.select_related("by"), Lease.Status),
        "buyout_processing": lease.payments.filter(status=Payment.Status.PROCESSING).exists(),
    }
    return render(request, "billing/lease_detail.html", context, status=status)


@login_required
def lease_detail(request: HttpRequest, public_id) -> HttpResponse:
    lease = selectors.lease_get_for(user=request.user, public_id=public_id)
    return _lease_response(request, lease)


@login_required
@require_POST
def lease_choose_view(request: HttpRequest, public_id) -> HttpResponse:
    lease = selectors.lease_get_for(user=request.user, public_id=public_id)
    form = LeaseChooseForm(request.POST)
    if form.is_valid():
        try:
            lease_choose(lease=lease, by=request.user, choice=form.cleaned_data["choice"])
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, lease_url(lease))
    lease.refresh_from_db()
    return _lease_response(request, lease, form=form, status=400)


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.invoice_list_for(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page_obj": page,
        "invoices": page,
        "subscriptions": selectors.monitoring_list_for(user=request.user),
    }
    return render(request, template_for(request, "billing/invoice_list.html", "invoices"), context)
