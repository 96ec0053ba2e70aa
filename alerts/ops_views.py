"""The platform staff's view of notifications that did not go out (DESIGN §4: "dead → shown
in the ops console"): failed ones waiting for their next try and dead ones given up, newest
first, with the last error and a button to send one again now.

Only platform staff (`is_staff`) see it; anyone else gets 404, as for anything not theirs.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import User
from alerts import selectors
from alerts.models import Notification
from alerts.services import delivery
from config.htmx import page_or_partial, paginate

TEMPLATE = "alerts/ops_notifications.html"
PER_PAGE = 50


def _require_staff(user: User) -> None:
    if not user.is_staff:
        raise Http404


@login_required
@vary_on_headers("HX-Request")
def notification_failures(request: HttpRequest) -> HttpResponse:
    _require_staff(request.user)
    status = request.GET.get("status", "")
    page = paginate(request, selectors.notification_undelivered_list(status=status), PER_PAGE)
    context = {
        "page_obj": page,
        "status": status if status in selectors.UNDELIVERED else "",
        "statuses": [(value, Notification.Status(value).label) for value in selectors.UNDELIVERED],
    }
    return render(request, page_or_partial(request, TEMPLATE, "results"), context)


@login_required
@require_POST
def notification_retry(request: HttpRequest) -> HttpResponse:
    _require_staff(request.user)
    notification = selectors.notification_get(raw_id=request.POST.get("notification", ""))
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
