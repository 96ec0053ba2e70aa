"""The one endpoint Stripe posts its events to."""

from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services.webhooks import webhook_receive


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        webhook_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except ValueError:
        return HttpResponseBadRequest("invalid payload or signature")
    except Exception:
        # Stored with its error; Stripe retries, and billing_reprocess_events can too.
        return HttpResponse("processing failed", status=500)
    return HttpResponse("ok")
