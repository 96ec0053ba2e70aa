"""The platform staff's view of notifications that did not go out (DESIGN §4: "dead → shown
in the ops console"): failed ones waiting for their next try and dead ones given up, newest
first, with the last error and a button to send one again now.

Only platform staff (`is_staff`) see it; anyone else gets 404, as for anything not theirs.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import User
from alerts.models import Notification
from alerts.services import delivery

TEMPLATE = "alerts/ops_notifications.html"
PER_PAGE = 50
UNDELIVERED = (Notification.Status.FAILED, Notification.Status.DEAD)


def _require_staff(user: User) -> None:
    if not user.is_staff:
        raise Http404


def _undelivered(status: str) -> QuerySet[Notification]:
    statuses = [status] if status in UNDELIVERED else list(UNDELIVERED)
    return (
        Notification.objects.filter(status__in=statuses)
        .select_related("alert__unit")
        .order_by("-created_at", "-pk")
    )


@login_required
@vary_on_headers("HX-Request")
def notification_failures(request: HttpRequest) -> HttpResponse:
    _require_staff(request.user)
    status = request.GET.get("status", "")
    page = Paginator(_undelivered(status), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page,
        "status": status if status in UNDELIVERED else "",
        "statuses": [(value, Notification.Status(value).label) for value in UNDELIVERED],
    }
    template = f"{TEMPLATE}#results" if request.htmx else TEMPLATE
    return render(request, template, context)


@login_required
@require_POST
def notification_retry(request: HttpRequest) -> HttpResponse:
    _require_staff(request.user)
    raw = request.POST.get("notification", "")
    if not raw.isdigit():
        raise Http404
    notification = get_object_or_404(Notification.objects.select_related("alert__unit"), pk=raw)
    if delivery.notification_retry_now(notification=notification, by=request.user):
        message = _("%(channel)s to %(recipient)s: sent again now.") % {
            "channel": notification.get_channel_display(),
            "recipient": notification.recipient,
        }
    else:
        message = _("That notification is no longer failed or dead.")
    notification.refresh_from_db()
    if request.htmx:
        return render(
            request, f"{TEMPLATE}#row", {"notification": notification, "row_message": message}
        )
    messages.success(request, message)
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/ops/") else reverse("alerts:ops-notifications"))


urlpatterns = [
    path("ops/notifications/", notification_failures, name="ops-notifications"),
    path("ops/notifications/retry/", notification_retry, name="ops-notification-retry"),
]
