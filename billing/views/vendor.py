"""A vendor's orders to fulfil (prepare, ship, refund, receive leased devices back) and its
monthly settlements, as a page and as CSV.

Orders are read through billing.selectors (another vendor's order answers 404) and changed
through one billing service per action. Preparing and shipping are day-to-day work (every
role but a viewer); refunds are for owners and managers, as the service decides.
"""

import csv
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms import form_add_service_errors
from accounts.models import Organisation
from billing import selectors
from billing.forms import RefundForm, VendorOrderFilterForm, yuan_text
from billing.models import Lease, LedgerEntry, Order
from billing.services import orders as order_services
from billing.services import payments
from billing.services.subscriptions import lease_return_receive
from billing.views.common import (
    PER_PAGE,
    error_message,
    may_manage,
    may_write,
    redirect_after_write,
    snapshot_view,
    template_for,
    timeline,
)

Status = Order.Status
# A lease whose devices the vendor can take back.
RETURNABLE = {Lease.Status.ENDING, Lease.Status.DEFAULTED}


def vendor_order_url(order: Order) -> str:
    return reverse("billing:vendor-order", args=[order.public_id])


# Orders to fulfil ------------------------------------------------------------------------------


@login_required
def vendor_order_list(request: HttpRequest) -> HttpResponse:
    form = VendorOrderFilterForm(request.GET or None)
    orders = form.filter(selectors.vendor_order_list_for(user=request.user)).order_by(
        F("paid_at").desc(nulls_last=True), "-created_at"
    )
    page = Paginator(orders, PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"order": order, "solution": snapshot_view(order.snapshot)} for order in page]
    context = {"form": form, "page_obj": page, "rows": rows}
    return render(
        request, template_for(request, "billing/vendor_order_list.html", "results"), context
    )


def _vendor_order_response(request: HttpRequest, order: Order, status=200, **forms):
    organisation_id = order.vendor.organisation_id
    context = {
        "order": order,
        "solution": snapshot_view(order.snapshot),
        "lines": order.lines.all(),
        "refunds": order.refunds.all(),
        "leases": [
            {"lease": lease, "returnable": lease.status in RETURNABLE}
            for lease in order.leases.order_by("-created_at")
        ],
        "timeline": timeline(order.transitions.select_related("by"), Status),
        "may_write": may_write(request, organisation_id),
        "may_manage": may_manage(request, organisation_id),
        "refund_form": forms.get("refund_form") or RefundForm(refundable=order.refundable),
        "refundable": order.status in Order.PAID_STATES and order.refundable > 0,
    }
    return render(request, "billing/vendor_order_detail.html", context, status=status)


@login_required
def vendor_order_detail(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.vendor_order_get_for(user=request.user, public_id=public_id)
    return _vendor_order_response(request, order)


@login_required
@require_POST
def vendor_order_prepare(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.vendor_order_get_for(user=request.user, public_id=public_id)
    try:
        order_services.order_prepare(order=order, by=request.user)
    except ValidationError as exc:
        error_message(request, exc)
    return redirect_after_write(request, vendor_order_url(order))


@login_required
@require_POST
def vendor_order_refund(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.vendor_order_get_for(user=request.user, public_id=public_id)
    form = RefundForm(request.POST, refundable=order.refundable)
    if form.is_valid():
        try:
            payments.order_refund(
                order=order,
                by=request.user,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect_after_write(request, vendor_order_url(order))
    order.refresh_from_db()
    return _vendor_order_response(request, order, status=400, refund_form=form)


@login_required
@require_POST
def vendor_lease_return(request: HttpRequest, public_id) -> HttpResponse:
    lease = selectors.vendor_lease_get_for(user=request.user, public_id=public_id)
    try:
        lease_return_receive(lease=lease, by=request.user)
    except ValidationError as exc:
        error_message(request, exc)
    return redirect_after_write(request, vendor_order_url(lease.order))


# Settlements -----------------------------------------------------------------------------------


def _vendor_organisation(request: HttpRequest) -> Organisation:
    """The vendor the person works for: the current organisation, or their first vendor."""
    current = request.membership
    if current is not None and current.organisation.kind == Organisation.Kind.VENDOR:
        return current.organisation
    for membership in request.memberships:
        if membership.organisation.kind == Organisation.Kind.VENDOR:
            return membership.organisation
    raise Http404("Not a member of any vendor")


def _month(year: str, month: str) -> date:
    try:
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise Http404("No such month") from exc


FIGURES = [
    ("sales", LedgerEntry.Kind.SALE),
    ("instalments", LedgerEntry.Kind.LEASE_INSTALMENT),
    ("monitoring", LedgerEntry.Kind.MONITORING_FEE),
    ("deposits", LedgerEntry.Kind.DEPOSIT),
    ("commission", LedgerEntry.Kind.COMMISSION),
    ("refunds", LedgerEntry.Kind.REFUND_REVERSAL),
]


@login_required
def settlement_list(request: HttpRequest) -> HttpResponse:
    organisation = _vendor_organisation(request)
    months = selectors.settlement_months(vendor_organisation=organisation)
    for row in months:
        row["month"] = timezone.localtime(row["month"]).date()
    return render(
        request,
        "billing/settlement_list.html",
        {"organisation": organisation, "months": months},
    )


def _entry_order_number(entry: LedgerEntry) -> str:
    if entry.order_id:
        return entry.order.number
    if entry.lease_id:
        return entry.lease.order.number
    return ""


def _month_entries(request: HttpRequest, year: str, month: str):
    organisation = _vendor_organisation(request)
    first_day = _month(year, month)
    entries = list(selectors.ledger_for(vendor_organisation=organisation, month=first_day))
    rows = [
        {
            "entry": entry,
            "at": timezone.localtime(entry.occurred_at),
            "kind": entry.get_kind_display(),
            "order_number": _entry_order_number(entry),
        }
        for entry in entries
    ]
    totals = {name: sum(e.amount for e in entries if e.kind == kind) for name, kind in FIGURES}
    totals["payout"] = sum(entry.amount for entry in entries)
    return organisation, first_day, rows, totals


@login_required
def settlement_detail(request: HttpRequest, year: str, month: str) -> HttpResponse:
    organisation, first_day, rows, totals = _month_entries(request, year, month)
    context = {"organisation": organisation, "month": first_day, "rows": rows, "totals": totals}
    return render(request, "billing/settlement_detail.html", context)


@login_required
def settlement_csv(request: HttpRequest, year: str, month: str) -> HttpResponse:
    """The month's ledger rows for a spreadsheet: yuan with two decimals, and a byte-order
    mark so that Excel reads the Chinese names as UTF-8."""
    _organisation, first_day, rows, _totals = _month_entries(request, year, month)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="settlement-{first_day:%Y-%m}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Date"), _("Kind"), _("Order"), _("Memo"), _("Amount (¥)")])
    for row in rows:
        writer.writerow(
            [
                f"{row['at']:%Y-%m-%d %H:%M}",
                row["kind"],
                row["order_number"],
                row["entry"].memo,
                yuan_text(row["entry"].amount),
            ]
        )
    return response
