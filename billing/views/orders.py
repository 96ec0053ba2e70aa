"""A unit's orders: made from a quote, placed, paid with a card through Stripe.js, followed
to delivery, with a printable receipt.

Orders are read through billing.selectors (another unit's order answers 404) and changed
through one billing service per action; a service's PermissionDenied (a viewer pressing a
button) answers 403. The order page polls its status while a payment is processing, so the
unit sees it become paid when Stripe's webhook arrives.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.forms import form_add_service_errors
from billing import selectors
from billing.forms import CancelForm, OrderCreateForm, PayForm
from billing.models import Order, Payment
from billing.services import orders as order_services
from billing.services import payments
from billing.views.common import (
    PER_PAGE,
    error_message,
    may_write,
    redirect_after_write,
    snapshot_view,
    template_for,
    timeline,
)
from marketplace import selectors as marketplace_selectors

Status = Order.Status
# Money has changed hands: the receipt exists from then on.
RECEIPT_STATES = Order.PAID_STATES | {Status.REFUNDED}


def order_url(order: Order) -> str:
    return reverse("billing:order", args=[order.public_id])


# My orders -------------------------------------------------------------------------------------


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.order_list_for(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [{"order": order, "solution": snapshot_view(order.snapshot)} for order in page]
    context = {"page_obj": page, "rows": rows}
    return render(request, template_for(request, "billing/order_list.html", "orders"), context)


@login_required
@require_POST
def order_create(request: HttpRequest) -> HttpResponse:
    """The Buy / Lease buttons of a quote. Refusals go back to the quote with the reason."""
    form = OrderCreateForm(
        request.POST, units=marketplace_selectors.catalog_unit_choices(user=request.user)
    )
    quote_url = reverse("marketplace:catalog")
    if form.is_valid():
        data = form.cleaned_data
        quote_url = reverse("marketplace:catalog_quote", args=[data["solution"]])
        quote_url += f"?unit={data['unit'].public_id}"
        try:
            revision = marketplace_selectors.catalog_revision_get(public_id=data["solution"])
        except Http404:
            form.add_error("revision", _("This solution is no longer on the catalog."))
        else:
            if revision.number != data["revision"]:
                form.add_error(
                    "revision",
                    _("A newer revision of this solution was certified; check its quote."),
                )
            else:
                try:
                    order = order_services.order_create(
                        unit=data["unit"], revision=revision, mode=data["mode"], by=request.user
                    )
                except ValidationError as exc:
                    form_add_service_errors(form, exc)
                else:
                    return redirect_after_write(request, order_url(order))
    for field, errors in form.errors.items():
        label = form[field].label if field in form.fields else ""
        for error in errors:
            error_message(request, ValidationError(f"{label}: {error}" if label else error))
    return redirect_after_write(request, quote_url)


# One order -------------------------------------------------------------------------------------


def _processing(order: Order) -> bool:
    return order.status == Status.AWAITING_PAYMENT and any(
        payment.status == Payment.Status.PROCESSING for payment in order.payments.all()
    )


def _order_context(request: HttpRequest, order: Order) -> dict:
    return {
        "order": order,
        "solution": snapshot_view(order.snapshot),
        "lines": order.lines.all(),
        "refunds": order.refunds.all(),
        "leases": order.leases.all(),
        "timeline": timeline(order.transitions.select_related("by"), Status),
        "processing": _processing(order),
        "may_write": may_write(request, order.unit.organisation_id),
        "has_receipt": order.status in RECEIPT_STATES,
        "cancel_form": CancelForm(),
    }


@login_required
def order_detail(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.order_get_for(user=request.user, public_id=public_id)
    return render(request, "billing/order_detail.html", _order_context(request, order))


@login_required
@vary_on_headers("HX-Request")
def order_status(request: HttpRequest, public_id) -> HttpResponse:
    """Polled by the order page every 2 s while a payment is processing."""
    order = selectors.order_get_for(user=request.user, public_id=public_id)
    if not request.htmx:
        return redirect(order_url(order))
    return render(request, "billing/order_detail.html#state", _order_context(request, order))


def _order_action(request: HttpRequest, public_id, action) -> HttpResponse:
    order = selectors.order_get_for(user=request.user, public_id=public_id)
    try:
        action(order)
    except ValidationError as exc:
        error_message(request, exc)
    return redirect_after_write(request, order_url(order))


@login_required
@require_POST
def order_place(request: HttpRequest, public_id) -> HttpResponse:
    return _order_action(
        request,
        public_id,
        lambda order: order_services.order_place(order=order, by=request.user),
    )


@login_required
@require_POST
def order_cancel(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.order_get_for(user=request.user, public_id=public_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            order_services.order_cancel(
                order=order, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            error_message(request, exc)
        return redirect_after_write(request, order_url(order))
    context = _order_context(request, order) | {"cancel_form": form}
    return render(request, "billing/order_detail.html", context, status=400)


@login_required
@require_POST
def order_deliver(request: HttpRequest, public_id) -> HttpResponse:
    return _order_action(
        request,
        public_id,
        lambda order: order_services.order_deliver(order=order, by=request.user),
    )


# Paying ----------------------------------------------------------------------------------------


def _pay_page(request: HttpRequest, order: Order, form: PayForm, errors: list[str]):
    """The card form against a fresh SetupIntent (a failed one cannot be confirmed again)."""
    try:
        setup = payments.payment_setup(order=order, by=request.user)
    except ValidationError as exc:
        error_message(request, exc)
        return redirect(order_url(order))
    context = {
        "order": order,
        "solution": snapshot_view(order.snapshot),
        "form": form,
        "errors": errors,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "stripe_config": {
            "publishableKey": settings.STRIPE_PUBLISHABLE_KEY,
            "clientSecret": setup["client_secret"],
            "setupIntent": setup["setup_intent"],
            "genericError": _("The card could not be confirmed."),
        },
    }
    return render(request, "billing/order_pay.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def order_pay(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.order_get_for(user=request.user, public_id=public_id)
    if _processing(order):
        return redirect(order_url(order))
    if request.method == "GET":
        return _pay_page(request, order, PayForm(), [])
    form = PayForm(request.POST)
    if form.is_valid():
        try:
            payments.order_pay(
                order=order, by=request.user, setup_intent=form.cleaned_data["setup_intent"]
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect(order_url(order))
    # What Stripe.js said is the most precise reason; otherwise the server's.
    client_error = form.cleaned_data.get("client_error", "")
    errors = [client_error] if client_error else [e for es in form.errors.values() for e in es]
    order.refresh_from_db()
    return _pay_page(request, order, PayForm(), errors)


# Receipt ---------------------------------------------------------------------------------------


@login_required
def receipt(request: HttpRequest, public_id) -> HttpResponse:
    order = selectors.order_get_for(user=request.user, public_id=public_id)
    if order.status not in RECEIPT_STATES:
        raise Http404("Nothing has been paid for this order yet")
    context = {
        "order": order,
        "solution": snapshot_view(order.snapshot),
        "lines": order.lines.all(),
        "payments": order.payments.filter(status=Payment.Status.SUCCEEDED),
        "refunds": order.refunds.all(),
    }
    return render(request, "billing/receipt.html", context)
